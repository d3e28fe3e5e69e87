"""Confidence calibration: a softmax temperature fitted on validation speakers, and the expected
calibration error that says whether `Prediction.confidence` means what it says."""

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


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Sum over equal-width confidence bins of (share of clips) x |accuracy - mean confidence|."""
    confidence, correct = np.asarray(confidence, dtype=float), np.asarray(correct, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    return float(sum(abs(correct[which == b].mean() - confidence[which == b].mean()) * np.mean(which == b)
                     for b in range(bins) if np.any(which == b)))
