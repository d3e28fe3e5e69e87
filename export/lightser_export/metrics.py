"""Classification metrics: UA, WA, macro-F1, per-class recall, confusion matrix."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

REFUSED = -1  # a prediction that is no class: the runtime found no speech in the clip


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts, rows = true class, columns = predicted (REFUSED counts in no column)."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    for t, p in zip(y_true, y_pred):
        if p >= 0:
            matrix[t, p] += 1
    return matrix


def _recalls(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return np.array(
        [np.mean(y_pred[y_true == c] == c) if np.any(y_true == c) else np.nan for c in range(n_classes)]
    )


def unweighted_accuracy(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Mean of per-class recalls over classes present in y_true."""
    return float(np.nanmean(_recalls(y_true, y_pred, n_classes)))


def summary(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str]) -> dict[str, Any]:
    """UA, WA, macro-F1, per-class recall and the confusion matrix, JSON-ready."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    n = len(labels)
    matrix = confusion(y_true, y_pred, n)
    recall = _recalls(y_true, y_pred, n)
    predicted = matrix.sum(axis=0)
    precision = np.divide(np.diag(matrix), predicted, out=np.zeros(n), where=predicted > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(n), where=(precision + recall) > 0)
    present = ~np.isnan(recall)
    return {
        "n": int(len(y_true)),
        "ua": float(np.mean(recall[present])),
        "wa": float(np.mean(y_true == y_pred)),
        "macro_f1": float(np.mean(f1[present])),
        "recall": {lab: (None if np.isnan(r) else float(r)) for lab, r in zip(labels, recall)},
        "confusion": matrix.tolist(),
    }


def expected_calibration_error(confidence: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float:
    """Sum over equal-width confidence bins of (share of clips) x |accuracy - mean confidence|."""
    confidence, correct = np.asarray(confidence, dtype=float), np.asarray(correct, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    return float(sum(abs(correct[which == b].mean() - confidence[which == b].mean()) * np.mean(which == b)
                     for b in range(bins) if np.any(which == b)))
