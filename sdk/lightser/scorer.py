"""`WindowScorer`: one window of samples at the model's rate in, its `Prediction` out, or why the
speech gate turns it away. What `Recognizer` (clips, timelines, enrolment) and the live `Listener`
both score with."""

from __future__ import annotations

import dataclasses

import numpy as np

from . import features, speed, windows
from .model import Model
from .results import Prediction, Segment


@dataclasses.dataclass(frozen=True)
class WindowScorer:
    """The model, its feature recipe, the window plan, the speech gate and the test-time speeds of
    one recognizer."""

    model: Model
    recipe: features.FeatureRecipe
    plan: windows.WindowPlan
    gate: windows.SpeechGate
    speeds: tuple[float, ...]

    def judge(self, samples: np.ndarray) -> tuple[str | None, float]:
        """(why the speech gate turns the window away, "quiet", "silent" or "unvoiced", or None; the
        share of the window its sound fills: its weight in a clip's average)."""
        return self.gate.judge(samples)

    def scores(self, samples: np.ndarray) -> np.ndarray:
        """Class probabilities of one window (averaged over `speeds`), gate or not."""
        rate = self.recipe.sample_rate
        return np.mean(
            [self.model.run(features.extract(speed.change_speed(samples, s, rate), self.recipe)) for s in self.speeds],
            axis=0,
        )

    def segment(self, start: float, end: float, samples: np.ndarray) -> Segment:
        """The `Segment` of one window, `start` to `end` seconds: its prediction, or why the speech
        gate turns it away."""
        refusal = self.gate.refusal(samples)
        if refusal is not None:
            return Segment(start, end, None, refusal)
        return Segment(start, end, Prediction.from_probabilities(self.model.labels, self.scores(samples)))
