"""What a prediction returns: small frozen dataclasses."""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np


@dataclasses.dataclass(frozen=True)
class Prediction:
    """The most likely emotion, its probability, and every class's probability (label order)."""

    label: str
    confidence: float
    scores: dict[str, float]

    @classmethod
    def from_probabilities(cls, labels: Sequence[str], probs: np.ndarray) -> Prediction:
        """Build from a probability vector in `labels` order."""
        best = int(np.argmax(probs))
        return cls(labels[best], float(probs[best]), {lab: float(p) for lab, p in zip(labels, probs)})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"label": self.label, "confidence": self.confidence, "scores": dict(self.scores)}


@dataclasses.dataclass(frozen=True)
class Segment:
    """One window of a timeline: seconds from the start, and its prediction (None if silent)."""

    start: float
    end: float
    prediction: Prediction | None

    @property
    def is_speech(self) -> bool:
        """False for windows the silence gate skipped."""
        return self.prediction is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: times, `speech`, and the prediction's fields when there is one."""
        out: dict[str, Any] = {"start": self.start, "end": self.end, "speech": self.is_speech}
        if self.prediction is not None:
            out.update(self.prediction.to_dict())
        return out
