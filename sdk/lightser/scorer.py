"""`WindowScorer`: one window of samples at the model's rate in, its `Prediction` out, or None where
the speech gate turns it away. What `Recognizer` (clips, timelines, enrolment) and the live `Listener`
both score with."""

from __future__ import annotations

import dataclasses

import numpy as np

from . import features, speed, windows
from .model import Model
from .results import Prediction


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

    def __call__(self, samples: np.ndarray) -> Prediction | None:
        """The window's prediction, or None where the speech gate turns it away."""
        return Prediction.from_probabilities(self.model.labels, self.scores(samples)) if self.gate(samples) else None
