"""What a prediction returns: small frozen dataclasses."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Literal, Sequence

import numpy as np

from .errors import InvalidArgumentError, LightSERError, NoSpeechError


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
        """JSON-ready form (the same as `dataclasses.asdict`)."""
        return {"label": self.label, "confidence": self.confidence, "scores": dict(self.scores)}

    def to_json(self) -> str:
        """The JSON text of `to_dict`."""
        return json.dumps(self.to_dict())

    def top_k(self, k: int = 3) -> list[tuple[str, float]]:
        """The `k` most likely (label, score) pairs, most likely first (ties in label order)."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise InvalidArgumentError(f"top_k: k={k!r:.60}; expected an int >= 1")
        return sorted(self.scores.items(), key=lambda item: -item[1])[:k]


@dataclasses.dataclass(frozen=True)
class Segment:
    """One window of a timeline: seconds from the start, and its prediction, or None and why the
    speech gate turned the window away (`refusal`: "quiet", "silent" or "unvoiced"; see
    `windows.SpeechGate`)."""

    start: float
    end: float
    prediction: Prediction | None
    refusal: str | None = None

    @property
    def is_speech(self) -> bool:
        """False for windows the silence gate skipped."""
        return self.prediction is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: times, `speech`, and the prediction's fields, or the `refusal`."""
        out: dict[str, Any] = {"start": self.start, "end": self.end, "speech": self.is_speech}
        if self.prediction is not None:
            out.update(self.prediction.to_dict())
        elif self.refusal is not None:
            out["refusal"] = self.refusal
        return out

    def to_json(self) -> str:
        """The JSON text of `to_dict`."""
        return json.dumps(self.to_dict())


Status = Literal["ok", "no-speech", "error"]


def status(error: LightSERError | None) -> Status:
    """"ok" without an error, "no-speech" when the speech gate turned every window away, else "error"."""
    if error is None:
        return "ok"
    return "no-speech" if isinstance(error, NoSpeechError) else "error"


@dataclasses.dataclass(frozen=True)
class Result:
    """One input of a batch (`Recognizer.predict_many`): its position and name, and either its
    prediction or the error that stopped it, kept as a value rather than raised."""

    index: int
    source: str
    prediction: Prediction | None = None
    error: LightSERError | None = None

    def __post_init__(self) -> None:
        if (self.prediction is None) == (self.error is None):
            raise InvalidArgumentError("Result: expected either a prediction or an error")

    @property
    def status(self) -> Status:
        """"ok", "no-speech" (the speech gate turned every window away) or "error" (unreadable, ...)."""
        return status(self.error)

    @property
    def ok(self) -> bool:
        """True when there is a prediction."""
        return self.error is None

    def unwrap(self) -> Prediction:
        """The prediction, or the error raised."""
        if self.prediction is None:
            raise self.error  # type: ignore[misc]  # one of the two is set (__post_init__)
        return self.prediction

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: index, source, status, then the prediction's fields or the error's
        message and type."""
        out: dict[str, Any] = {"index": self.index, "source": self.source, "status": self.status}
        if self.prediction is not None:
            out.update(self.prediction.to_dict())
        if self.error is not None:
            out.update(message=str(self.error), type=type(self.error).__name__)
        return out

    def to_json(self) -> str:
        """The JSON text of `to_dict`."""
        return json.dumps(self.to_dict())
