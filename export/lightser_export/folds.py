"""Train/validation/test splits: leave-one-speaker-out (the one we quote) and the paper's random k-fold.

NumPy only, so that fold construction is usable without TensorFlow.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np


@dataclasses.dataclass(frozen=True)
class Fold:
    """Indices of one split. For the paper's protocol `val` is the test fold itself."""

    name: str
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    test_speaker: str | None = None
    val_speaker: str | None = None

    def fit_rows(self, early_stopping: bool) -> tuple[np.ndarray, np.ndarray]:
        """(training, validation) rows. Without early stopping nothing is chosen on the
        validation rows, so they train too (the test rows never do)."""
        if early_stopping:
            return self.train, self.val
        return np.setdiff1d(np.union1d(self.train, self.val), self.test), self.val[:0]


def loso_folds(speakers: Sequence[str]) -> list[Fold]:
    """One fold per speaker; its validation speaker is the next one in sorted order."""
    speakers = np.asarray(speakers)
    order = sorted(set(speakers.tolist()))
    if len(order) < 3:
        raise ValueError(f"leave-one-speaker-out needs 3 or more speakers, got {order}")
    folds = []
    for i, test in enumerate(order):
        val = order[(i + 1) % len(order)]
        train = np.flatnonzero((speakers != test) & (speakers != val))
        folds.append(
            Fold(f"speaker-{test}", train, np.flatnonzero(speakers == val),
                 np.flatnonzero(speakers == test), test, val)
        )
    return folds


def paper_folds(labels: Sequence[int], k: int = 10, seed: int = 0) -> list[Fold]:
    """Random utterance-level stratified k-fold; the test fold doubles as validation (optimistic)."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    assignment = np.empty(len(labels), dtype=int)
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        assignment[members] = (np.arange(len(members)) + rng.integers(k)) % k
    folds = []
    for f in range(k):
        test = np.flatnonzero(assignment == f)
        folds.append(Fold(f"fold-{f + 1:02d}", np.flatnonzero(assignment != f), test, test))
    return folds
