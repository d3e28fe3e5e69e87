"""A loaded model: verified `.tflite` bytes, their metadata, and a pool of interpreters."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.resources
import os
import queue
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .backend import Backend, load_backend
from .errors import InvalidArgumentError, ModelError
from .metadata import ModelMetadata, read_metadata, sha256_hex, sidecar_path

DEFAULT_MODEL = "general-int8.tflite"
_TFLITE_IDENTIFIER = b"TFL3"
MAX_THREADS = 256  # interpreter threads; TFLite crashes somewhere above 16 384
_LEAST_PROBABILITY = 1e-6  # the floor of a float model's probabilities under a temperature


def default_model_path() -> Path:
    """The model bundled with the package."""
    return Path(str(importlib.resources.files("lightser.models").joinpath(DEFAULT_MODEL)))


def _bundled_path(name: str) -> Path:
    return default_model_path().with_name(f"{name}.tflite")


def bundled_models(normalisation: str | None = None) -> list[str]:
    """Names of the models shipped in the package (pass one as `model=`), optionally only
    those whose feature recipe uses `normalisation` (one of `features.NORMALISATIONS`)."""
    folder = importlib.resources.files("lightser.models")
    names = sorted(entry.name[: -len(".tflite")] for entry in folder.iterdir() if entry.name.endswith(".tflite"))
    if normalisation is None:
        return names
    return [name for name in names
            if read_metadata(sidecar_path(_bundled_path(name))).recipe.normalisation == normalisation]


def model_path(model: str | os.PathLike[str] | None) -> Path:
    """The `.tflite` file for `model`: a path, a bundled model's name, or None (the default)."""
    if model is None:
        return default_model_path()
    if isinstance(model, (str, os.PathLike)) and not os.fspath(model):
        raise InvalidArgumentError("model: got an empty name; pass None for the default model")
    path = Path(model)
    name = model.removesuffix(".tflite") if isinstance(model, str) else None
    try:
        if path.is_file():
            return path
        names = bundled_models()
        if path.exists() and name not in names:  # a folder does not hide a bundled model
            return path
    except OSError as exc:  # a name too long, ...
        raise ModelError(f"{model}: cannot open ({exc.strerror or exc})") from None
    if name in names:
        return _bundled_path(name)
    raise ModelError(f"{model}: no such model file, nor a bundled model ({', '.join(names)})")


def tempered(probs: np.ndarray, temperature: float, floor: float = _LEAST_PROBABILITY) -> np.ndarray:
    """Probabilities softened (temperature > 1) or sharpened (< 1) as softmax(logits / temperature)
    would be: p ** (1 / temperature), renormalised. Probabilities below `floor` (an int8 output
    rounds anything under half its step to 0) count as `floor`."""
    if temperature == 1.0:
        return probs
    logits = np.log(np.maximum(probs, floor)) / temperature
    out = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return out / out.sum(axis=-1, keepdims=True)


@dataclasses.dataclass(frozen=True)
class _Quant:
    """Affine int8 quantization of one tensor (scale 0: a float tensor)."""

    dtype: Any
    scale: float
    zero_point: int

    @classmethod
    def of(cls, detail: dict[str, Any]) -> _Quant:
        scale, zero_point = detail.get("quantization", (0.0, 0))
        return cls(np.dtype(detail["dtype"]), float(scale), int(zero_point))

    def quantize(self, x: np.ndarray) -> np.ndarray:
        if self.scale == 0.0:
            return x.astype(self.dtype, copy=False)
        info = np.iinfo(self.dtype)
        q = np.round(x / self.scale) + self.zero_point
        return np.clip(q, info.min, info.max).astype(self.dtype)

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        if self.scale == 0.0:
            return q.astype(np.float64)
        return (q.astype(np.float64) - self.zero_point) * self.scale


def _read_verified(path: Path, meta: ModelMetadata) -> bytes:
    """The model's bytes, after checks that keep a damaged file away from the interpreter."""
    try:
        content = path.read_bytes()
    except FileNotFoundError as exc:
        raise ModelError(f"{path}: model file not found") from exc
    except OSError as exc:
        raise ModelError(f"{path}: cannot read model ({exc.strerror or exc})") from exc
    if not content:
        raise ModelError(f"{path}: model file is empty")
    digest = sha256_hex(content)
    if digest != meta.sha256:
        raise ModelError(
            f"{path}: sha256 {digest[:12]}... does not match the metadata's {meta.sha256[:12]}...; "
            "the file is damaged or is not the model the metadata describes"
        )
    if content[4:8] != _TFLITE_IDENTIFIER:
        raise ModelError(f"{path}: not a TFLite flatbuffer (identifier {content[4:8]!r})")
    return content


class Model:
    """A `.tflite` model with its metadata, checked against each other, ready to run.

    Safe to call from several threads: each concurrent call leases its own interpreter.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        backend: str = "auto",
        num_threads: int | None = None,
    ) -> None:
        if num_threads is not None and (
            isinstance(num_threads, bool) or not isinstance(num_threads, int) or not 1 <= num_threads <= MAX_THREADS
        ):
            raise InvalidArgumentError(
                f"num_threads={num_threads!r:.60}: expected an int from 1 to {MAX_THREADS}, or None")
        if path is not None and not isinstance(path, (str, os.PathLike)):
            raise InvalidArgumentError(f"model={path!r}: expected a path to a .tflite file or None")
        self.path = model_path(path)
        if self.path.is_dir():
            raise ModelError(f"{self.path}: is a directory, expected a .tflite file")
        if not self.path.is_file():  # a FIFO or a device would block or never end
            raise ModelError(f"{self.path}: not a regular file, expected a .tflite file")
        self.metadata = read_metadata(sidecar_path(self.path))
        self._content = _read_verified(self.path, self.metadata)
        self.backend: Backend = load_backend(backend)
        self.num_threads = num_threads
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        first = self._new_interpreter()
        self._input, self._output = self._check_tensors(first)
        self._in_quant, self._out_quant = _Quant.of(self._input), _Quant.of(self._output)
        self._idle.put(first)

    @property
    def labels(self) -> tuple[str, ...]:
        """Class names in output order."""
        return self.metadata.labels

    @property
    def size_bytes(self) -> int:
        """Size of the `.tflite` file."""
        return len(self._content)

    def _new_interpreter(self) -> Any:
        try:
            return self.backend.interpreter(self._content, self.num_threads)
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"{self.path}: the interpreter refused the model ({exc})") from exc

    def _check_tensors(self, interpreter: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        try:
            inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
        except (ValueError, RuntimeError) as exc:  # e.g. a tensor name that is not UTF-8
            raise ModelError(f"{self.path}: unreadable tensor details ({exc})") from exc
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelError(f"{self.path}: expected 1 input and 1 output tensor")
        frames, coeffs = self.metadata.recipe.shape
        expected_in, expected_out = (1, frames, coeffs, 1), (1, len(self.labels))
        if tuple(inputs[0]["shape"]) != expected_in:
            raise ModelError(
                f"{self.path}: input tensor shape {tuple(inputs[0]['shape'])} does not match "
                f"the metadata's feature recipe {expected_in}"
            )
        if tuple(outputs[0]["shape"]) != expected_out:
            raise ModelError(
                f"{self.path}: output tensor shape {tuple(outputs[0]['shape'])} does not match "
                f"the metadata's {len(self.labels)} labels"
            )
        is_int8 = np.dtype(inputs[0]["dtype"]) == np.int8
        if is_int8 != (self.metadata.quantization == "int8"):
            raise ModelError(
                f"{self.path}: input tensor is {np.dtype(inputs[0]['dtype'])} but the metadata says "
                f"quantization={self.metadata.quantization!r}"
            )
        return inputs[0], outputs[0]

    @contextlib.contextmanager
    def _lease(self) -> Iterator[Any]:
        try:
            interpreter = self._idle.get_nowait()
        except queue.Empty:
            interpreter = self._new_interpreter()
        try:
            yield interpreter
        finally:
            self._idle.put(interpreter)

    @property
    def input_quantization(self) -> tuple[float, int]:
        """(scale, zero_point) of the input tensor; (0.0, 0) for float input."""
        return self._in_quant.scale, self._in_quant.zero_point

    @property
    def probability_floor(self) -> float:
        """The least probability the model's output tells apart from 0 (half an int8 output step)."""
        return max(self._out_quant.scale / 2, _LEAST_PROBABILITY)

    def run(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities (float64, sum 1) for one (frames, coefficients) feature matrix."""
        expected = self.metadata.recipe.shape
        if features.shape != expected:
            raise InvalidArgumentError(f"features shape {features.shape}, expected {expected}")
        x = self._in_quant.quantize(features[None, :, :, None])
        with self._lease() as interpreter:
            try:
                interpreter.set_tensor(self._input["index"], x)
                interpreter.invoke()
                raw = interpreter.get_tensor(self._output["index"])[0]
            except (ValueError, RuntimeError) as exc:
                raise ModelError(f"{self.path}: inference failed ({exc})") from exc
        probs = np.clip(self._out_quant.dequantize(raw), 0.0, None)
        total = probs.sum()
        if not np.isfinite(total) or total <= 0.0:
            raise ModelError(f"{self.path}: model produced no valid probabilities ({raw!r})")
        return tempered(probs / total, self.metadata.temperature, self.probability_floor)
