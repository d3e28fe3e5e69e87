"""Train/validation/test splits: leave-one-speaker-out (the one we quote) and the paper's random k-fold.

NumPy only, so that fold construction is usable without TensorFlow.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

VALIDATION_SHARE = 0.15  # of each training corpus's speakers, held out to choose the epoch and temperature


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


def validation_speakers(speakers: np.ndarray, corpora: np.ndarray, rows: np.ndarray, share: float,
                         rng: np.random.Generator) -> np.ndarray:
    """About `share` of the speakers of each corpus among `rows` (at least one; none from a corpus
    of fewer than 4 speakers, which could not spare one), sorted."""
    chosen: list[str] = []
    for corpus in np.unique(corpora[rows]):
        voices = np.unique(speakers[rows][corpora[rows] == corpus])
        if len(voices) >= 4:
            chosen += rng.choice(voices, size=max(1, round(share * len(voices))), replace=False).tolist()
    return np.array(sorted(chosen), dtype=speakers.dtype)


def _held_out_fold(name: str, tested: str, test: np.ndarray, speakers: np.ndarray, corpora: np.ndarray,
                   share: float, rng: np.random.Generator) -> Fold:
    """The fold that tests `test` rows (`tested` names them), validates on speakers drawn from the
    rest, trains on the rest."""
    rest = np.setdiff1d(np.arange(len(speakers)), test)
    val_voices = validation_speakers(speakers, corpora, rest, share, rng)
    in_val = np.isin(speakers[rest], val_voices)
    return Fold(name, rest[~in_val], rest[in_val], test, tested, ",".join(val_voices.tolist()))


def corpus_folds(
    speakers: Sequence[str], corpora: Sequence[str], share: float = VALIDATION_SHARE, seed: int = 0
) -> list[Fold]:
    """Leave one corpus out: one fold per corpus, tested on all of it; validation speakers are
    about `share` of each training corpus's speakers."""
    speakers, corpora = np.asarray(speakers), np.asarray(corpora)
    names = sorted(set(corpora.tolist()))
    if len(names) < 2:
        raise ValueError(f"leave-one-corpus-out needs 2 or more corpora, got {names}")
    rng = np.random.default_rng(seed)
    return [_held_out_fold(f"corpus-{c}", c, np.flatnonzero(corpora == c), speakers, corpora, share, rng)
            for c in names]


def corpus_speaker_folds(speakers: Sequence[str], corpora: Sequence[str], corpus: str,
                         share: float = VALIDATION_SHARE, seed: int = 0) -> list[Fold]:
    """Leave one speaker of `corpus` out, with the rest of the pool (its other speakers too) in
    training: one fold per speaker of `corpus`; validation speakers are about `share` of each
    corpus's remaining speakers."""
    speakers, corpora = np.asarray(speakers), np.asarray(corpora)
    voices = sorted(set(speakers[corpora == corpus].tolist()))
    if len(voices) < 2:
        raise ValueError(f"leaving out one speaker of {corpus!r} needs 2 or more of its speakers, got {voices}")
    rng = np.random.default_rng(seed)
    return [_held_out_fold(f"speaker-{voice.replace('/', '-')}", voice, np.flatnonzero(speakers == voice), speakers,
                           corpora, share, rng) for voice in voices]


def speaker_folds(speakers: Sequence[str], corpora: Sequence[str], k: int = 5, share: float = VALIDATION_SHARE,
                  seed: int = 0) -> list[Fold]:
    """Speaker-disjoint k-fold over a pool: each corpus's speakers, shuffled, dealt to the folds in
    turn (so each fold tests some speakers of every corpus with k or more); validation speakers
    are drawn from each fold's training speakers."""
    speakers, corpora = np.asarray(speakers), np.asarray(corpora)
    rng = np.random.default_rng(seed)
    fold_of: dict[str, int] = {}
    turn = 0
    for corpus in sorted(set(corpora.tolist())):
        for voice in rng.permutation(np.unique(speakers[corpora == corpus])):
            fold_of[voice], turn = turn % k, turn + 1
    assignment = np.array([fold_of[s] for s in speakers])
    return [_held_out_fold(f"fold-{f + 1:02d}", f"fold-{f + 1:02d}", np.flatnonzero(assignment == f), speakers,
                           corpora, share, rng) for f in range(k)]
