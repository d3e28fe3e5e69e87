"""Draw probabilities for balanced training batches (NumPy only)."""

from __future__ import annotations

import numpy as np

from .datasets import Dataset


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


def training_weights(dataset: Dataset, rows: np.ndarray, copies: int, balance: str) -> np.ndarray | None:
    """Draw probabilities of the training set `training_set` stacks from `rows` (`copies` copies of
    each: as recorded, then each speed), or None to pass over it in order (`balance` "none")."""
    if balance == "none":
        return None
    corpora = np.asarray([dataset.utterances[i].corpus for i in rows])
    labels = np.asarray(dataset.label_indices())[rows]
    return np.tile(corpus_class_weights(corpora, labels), copies) / copies
