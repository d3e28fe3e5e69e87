"""TFLite interpreter backends: ai-edge-litert, tflite-runtime, or TensorFlow's own.

The first importable one is used unless the caller names one. TensorFlow is only
ever imported when it is the named backend or the last one left.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.metadata
import os
import sys
import tempfile
import threading
import warnings
from typing import Any, Callable, Iterator

from .errors import BackendUnavailableError, InvalidArgumentError

# name -> (module to import, attribute path of the Interpreter class, distribution for the version)
_BACKENDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "ai-edge-litert": ("ai_edge_litert.interpreter", "Interpreter", ("ai-edge-litert",)),
    "tflite-runtime": ("tflite_runtime.interpreter", "Interpreter", ("tflite-runtime",)),
    "tensorflow": ("tensorflow", "lite.Interpreter", ("tensorflow", "tensorflow-cpu")),
}
BACKENDS = tuple(_BACKENDS)

# Printed to the process's stderr by the TFLite runtime whenever an interpreter is created.
_BANNER = b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
_STDERR_LOCK = threading.Lock()


def _flush_python_stderr() -> None:
    """Flush sys.stderr, which may also be None or closed."""
    with contextlib.suppress(AttributeError, ValueError, OSError):
        sys.stderr.flush()


@contextlib.contextmanager
def _without_banner() -> Iterator[None]:
    """Capture file descriptor 2 for the block, then pass on everything written but `_BANNER`.

    Nothing else is dropped: other output that lands in the window, from any thread, follows
    once the block ends. Without a stderr or a temporary file, stderr is left alone.
    """
    with _STDERR_LOCK, contextlib.ExitStack() as stack:
        try:
            capture = stack.enter_context(tempfile.TemporaryFile())
            saved = os.dup(2)
        except OSError:
            yield
            return
        _flush_python_stderr()
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            _flush_python_stderr()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().splitlines(keepends=True) if line.rstrip() != _BANNER]
            if kept:
                os.write(2, b"".join(kept))


@dataclasses.dataclass(frozen=True)
class Backend:
    """An importable interpreter package."""

    name: str
    version: str
    interpreter_class: Callable[..., Any]

    def interpreter(self, model_content: bytes, num_threads: int | None) -> Any:
        """A new interpreter over `model_content`, tensors allocated, without the runtime's
        "Created ... XNNPACK delegate" line on stderr or TensorFlow's warning that its own
        interpreter is deprecated (the reason `auto` tries ai-edge-litert first)."""
        with _without_banner(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module="tensorflow")
            interpreter = self.interpreter_class(model_content=model_content, num_threads=num_threads)
            interpreter.allocate_tensors()
        return interpreter


def _version(distributions: tuple[str, ...]) -> str:
    for dist in distributions:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "unknown"


def _load(name: str) -> Backend:
    module_name, attribute, distributions = _BACKENDS[name]
    module = importlib.import_module(module_name)
    cls: Any = module
    for part in attribute.split("."):
        cls = getattr(cls, part)
    return Backend(name, _version(distributions), cls)


def load_backend(name: str = "auto") -> Backend:
    """The named backend, or with "auto" the first of BACKENDS that imports."""
    if name != "auto" and name not in _BACKENDS:
        raise InvalidArgumentError(f"backend={name!r}: expected 'auto' or one of {BACKENDS}")
    candidates = BACKENDS if name == "auto" else (name,)
    failures = []
    for candidate in candidates:
        try:
            return _load(candidate)
        except ImportError as exc:
            failures.append(f"{candidate}: {exc}")
    hint = "pip install ai-edge-litert" if name == "auto" else f"pip install {name}"
    raise BackendUnavailableError(
        f"no TFLite interpreter could be imported ({'; '.join(failures)}); run `{hint}`"
    )
