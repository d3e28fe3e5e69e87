"""Model metadata: what a `.tflite` file needs to be used correctly, kept in a JSON sidecar.

`emodb-int8.tflite` travels with `emodb-int8.json`, which records the labels, the
feature recipe, the quantization, the file's sha256, and how the model was trained
and evaluated.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path
from typing import Any, Mapping

from .errors import LightSERError, ModelError
from .features import FeatureRecipe

FORMAT = "lightser-model/1"
QUANTIZATIONS = ("int8", "float16", "float32", "dynamic-range")
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.05, 20.0


@dataclasses.dataclass(frozen=True)
class ModelMetadata:
    """Everything the runtime must know about a model besides its weights."""

    name: str
    labels: tuple[str, ...]
    recipe: FeatureRecipe
    quantization: str
    sha256: str
    training: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    metrics: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    # Softmax temperature fitted on validation speakers so that confidences match accuracy
    # (`model.tempered`); 1.0 leaves the network's probabilities as they are.
    temperature: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "format": FORMAT,
            "name": self.name,
            "labels": list(self.labels),
            "quantization": self.quantization,
            "sha256": self.sha256,
            "features": self.recipe.to_dict(),
            "temperature": self.temperature,
            "training": dict(self.training),
            "metrics": dict(self.metrics),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "metadata") -> ModelMetadata:
        """Parse and validate; every problem is a `ModelError` naming `source`."""
        if data.get("format") != FORMAT:
            raise ModelError(f"{source}: format is {data.get('format')!r}, expected {FORMAT!r}")
        labels_ok = isinstance(data.get("labels"), list) and all(
            isinstance(label, str) and label for label in data["labels"]
        )
        if not labels_ok:
            raise ModelError(f"{source}: labels must be a list of names, got {data.get('labels')!r}")
        temperature = data.get("temperature", 1.0)
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not (
                MIN_TEMPERATURE <= temperature <= MAX_TEMPERATURE):
            raise ModelError(f"{source}: temperature must be a number from {MIN_TEMPERATURE} to {MAX_TEMPERATURE}, "
                             f"got {temperature!r}")
        if not isinstance(data.get("sha256"), str) or not re.fullmatch(r"[0-9a-fA-F]{64}", data["sha256"]):
            raise ModelError(f"{source}: sha256 must be 64 hex digits, got {data.get('sha256')!r}")
        try:
            labels = tuple(str(label) for label in data["labels"])
            meta = cls(
                name=str(data["name"]),
                labels=labels,
                recipe=FeatureRecipe.from_dict(data.get("features")),
                quantization=str(data["quantization"]),
                sha256=str(data["sha256"]).lower(),
                training=dict(data.get("training", {})),
                metrics=dict(data.get("metrics", {})),
                temperature=float(temperature),
            )
        except (KeyError, TypeError, ValueError, ArithmeticError, LightSERError) as exc:
            raise ModelError(f"{source}: invalid metadata ({exc!r})") from exc
        if len(labels) < 2 or len(set(labels)) != len(labels):
            raise ModelError(f"{source}: labels must be 2 or more distinct names, got {list(labels)}")
        if meta.quantization not in QUANTIZATIONS:
            raise ModelError(f"{source}: quantization {meta.quantization!r} not in {QUANTIZATIONS}")
        return meta


def sidecar_path(model_path: str | Path) -> Path:
    """The metadata file that belongs to `model_path` (same name, `.json`)."""
    return Path(model_path).with_suffix(".json")


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def read_metadata(path: str | Path) -> ModelMetadata:
    """Load a metadata JSON file."""
    path = Path(path)
    if path.exists() and not path.is_file():  # a directory, or a FIFO or device that would block
        raise ModelError(f"{path}: metadata is not a regular file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelError(f"{path}: metadata file not found (a model is a .tflite file with its .json beside "
                         "it)") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelError(f"{path}: unreadable metadata ({exc})") from exc
    if not isinstance(data, dict):
        raise ModelError(f"{path}: metadata must be a JSON object")
    return ModelMetadata.from_dict(data, source=str(path))


def write_metadata(meta: ModelMetadata, path: str | Path) -> None:
    """Write metadata as indented JSON."""
    Path(path).write_text(json.dumps(meta.to_dict(), indent=2) + "\n", encoding="utf-8")
