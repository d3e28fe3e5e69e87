"""TFLite interpreter backends: ai-edge-litert, tflite-runtime, or TensorFlow's own.

The first importable one is used unless the caller names one. TensorFlow is only
ever imported when it is the named backend or the last one left.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
from typing import Any, Callable

from .errors import BackendUnavailableError, InvalidArgumentError

# name -> (module to import, attribute path of the Interpreter class, distribution for the version)
_BACKENDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "ai-edge-litert": ("ai_edge_litert.interpreter", "Interpreter", ("ai-edge-litert",)),
    "tflite-runtime": ("tflite_runtime.interpreter", "Interpreter", ("tflite-runtime",)),
    "tensorflow": ("tensorflow", "lite.Interpreter", ("tensorflow", "tensorflow-cpu")),
}
BACKENDS = tuple(_BACKENDS)


@dataclasses.dataclass(frozen=True)
class Backend:
    """An importable interpreter package."""

    name: str
    version: str
    interpreter_class: Callable[..., Any]

    def interpreter(self, model_content: bytes, num_threads: int | None) -> Any:
        """A new interpreter over `model_content`, tensors allocated."""
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
