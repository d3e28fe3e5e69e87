"""Confidence calibration: a softmax temperature fitted on validation speakers, so that
`Prediction.confidence` means what it says (`metrics.expected_calibration_error` measures it)."""

from __future__ import annotations

import numpy as np

from lightser.model import tempered

TEMPERATURES = np.exp(np.linspace(np.log(0.25), np.log(8.0), 121))  # the grid searched


def negative_log_likelihood(probs: np.ndarray, y: np.ndarray) -> float:
    """Mean -log p(true class) (probabilities floored at 1e-6)."""
    return float(-np.mean(np.log(np.maximum(probs[np.arange(len(y)), y], 1e-6))))


def fit_temperature(probs: np.ndarray, y: np.ndarray, floor: float) -> float:
    """The temperature of TEMPERATURES that minimises the negative log-likelihood of `y` under
    `tempered(probs, t, floor)`, as the runtime applies it."""
    losses = [negative_log_likelihood(tempered(probs, t, floor), y) for t in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(losses))])
