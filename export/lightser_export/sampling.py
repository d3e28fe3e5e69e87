"""Draw probabilities for balanced training batches (NumPy only)."""

from __future__ import annotations

import numpy as np


def corpus_class_weights(corpora: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """One probability per row, summing to 1: every class present is drawn equally often; within
    a class, every corpus that has it equally often; within a corpus and class, every row equally."""
    corpora, labels = np.asarray(corpora), np.asarray(labels)
    weights = np.zeros(len(labels))
    classes = np.unique(labels)
    for c in classes:
        in_class = labels == c
        owners = np.unique(corpora[in_class])
        for corpus in owners:
            rows = in_class & (corpora == corpus)
            weights[rows] = 1.0 / (len(classes) * len(owners) * rows.sum())
    return weights
