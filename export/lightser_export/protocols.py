"""Evaluation protocols: leave-one-speaker-out (the one we quote) and the paper's random 10-fold.

Each fold trains a fresh model, exports it to int8 TFLite, and scores both the float
Keras model and the int8 model run through the `lightser` runtime, as users run it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from lightser import Recognizer
from lightser.features import FeatureRecipe, frame_stats

from . import convert, metrics
from .datasets import Dataset
from .featurize import standardise_by
from .train import TrainConfig, fit, predict_probs

REPRESENTATIVE_CLIPS = 300


@dataclasses.dataclass(frozen=True)
class Fold:
    """Indices of one split. For the paper's protocol `val` is the test fold itself."""

    name: str
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    test_speaker: str | None = None
    val_speaker: str | None = None


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


def _stats_by_speaker(raw: np.ndarray, speakers: np.ndarray, rows: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {s: frame_stats(raw[rows[speakers[rows] == s]]) for s in np.unique(speakers[rows])}


def _enrolment_stats(raw: np.ndarray, speakers: np.ndarray, fold: Fold) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each test clip: its speaker's statistics from the speaker's OTHER clips
    (leave-one-clip-out; the scored clip never informs its own normalisation).
    In the paper's protocol: from the speaker's training clips."""
    out = []
    for i in fold.test:
        if fold.test_speaker is None:
            pool = fold.train[speakers[fold.train] == speakers[i]]
        else:
            pool = fold.test[(speakers[fold.test] == speakers[i]) & (fold.test != i)]
        out.append(frame_stats(raw[pool]))
    return out


def _normalise(raw: np.ndarray, speakers: np.ndarray, rows: np.ndarray, mode: str,
               stats: Sequence[tuple[np.ndarray, np.ndarray]] | tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Standardise `raw[rows]` with one (mean, std) for all, or one per row."""
    if mode == "none":
        return raw[rows]
    if isinstance(stats, tuple):
        return standardise_by(raw[rows], np.array(["all"] * len(rows)), {"all": stats})
    keys = np.array([str(i) for i in range(len(rows))])
    return standardise_by(raw[rows], keys, {str(i): s for i, s in enumerate(stats)})


def train_inputs(raw: np.ndarray, speakers: np.ndarray, rows: np.ndarray, config: TrainConfig,
                  global_stats: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """`raw[rows]` standardised as training sees it: per speaker, with `global_stats`, or not at all."""
    if config.normalisation == "speaker":
        per_speaker = _stats_by_speaker(raw, speakers, rows)
        return standardise_by(raw[rows], speakers[rows], per_speaker)
    return _normalise(raw, speakers, rows, config.normalisation, global_stats)


def run_fold(
    dataset: Dataset, raw: np.ndarray, fold: Fold, config: TrainConfig, recipe: FeatureRecipe,
    fold_dir: Path, log: Callable[[str], None] = print, resume: bool = False,
) -> dict[str, Any]:
    """Train (or, with `resume`, reuse matching saved weights), export int8, and score one
    fold every way the protocol asks."""
    labels = np.asarray(dataset.label_indices())
    speakers = np.asarray([u.speaker for u in dataset.utterances])
    n_classes = len(dataset.labels)
    if config.early_stopping:
        train_rows, val_rows = fold.train, fold.val
    else:  # nothing is chosen on the validation rows, so they train too (never the test rows)
        train_rows, val_rows = np.setdiff1d(np.union1d(fold.train, fold.val), fold.test), fold.val[:0]
    global_stats = frame_stats(raw[train_rows])
    x_train = train_inputs(raw, speakers, train_rows, config, global_stats)
    validation = None
    if len(val_rows):
        validation = (train_inputs(raw, speakers, val_rows, config, global_stats), labels[val_rows])
    fitted = fit(x_train, labels[train_rows], n_classes, config, validation=validation,
                 run_dir=fold_dir, desc=fold.name, resume=resume)

    test_modes: dict[str, Any] = {"default": global_stats}
    if config.normalisation == "speaker":
        test_modes["enrolled"] = _enrolment_stats(raw, speakers, fold)

    fold_recipe = recipe if config.normalisation == "none" else recipe.with_stats(*global_stats, config.normalisation)
    rng = np.random.default_rng(config.seed)
    rep_rows = rng.choice(len(x_train), size=min(REPRESENTATIVE_CLIPS, len(x_train)), replace=False)
    model_path = fold_dir / "model-int8.tflite"
    convert.write_model(
        convert.to_tflite(fitted.model, "int8", x_train[rep_rows]), model_path, dataset.labels,
        fold_recipe, "int8", {"fold": fold.name, "config": config.to_dict()},
    )
    rec = Recognizer(model_path)
    y_test = labels[fold.test]
    result: dict[str, Any] = {
        "fold": fold.name, "test_speaker": fold.test_speaker,
        "val_speaker": fold.val_speaker if len(val_rows) else None,
        "n_train": len(train_rows), "n_val": len(val_rows), "n_test": len(fold.test),
        "best_epoch": fitted.best_epoch, "train_seconds": round(fitted.seconds, 1), "resumed": fitted.resumed,
        "val_ua": max((h["val_ua"] for h in fitted.history if "val_ua" in h), default=None), "modes": {},
    }
    for mode, stats in test_modes.items():
        x_test = _normalise(raw, speakers, fold.test, config.normalisation, stats)
        float_pred = predict_probs(fitted.model, x_test).argmax(1)
        int8_on_features = np.array([rec.model.run(x) for x in x_test]).argmax(1)
        runtime_pred = []
        for k, i in enumerate(fold.test):
            user_rec = rec if mode == "default" else rec.for_speaker(*stats[k])
            runtime_pred.append(dataset.labels.index(user_rec.predict(dataset.utterances[i].path).label))
        result["modes"][mode] = {
            "y_true": y_test.tolist(),
            "float": float_pred.tolist(),
            "int8_features": int8_on_features.tolist(),
            "int8_runtime": runtime_pred,
            "agreement_int8_float": float(np.mean(int8_on_features == float_pred)),
        }
        summary = {k: metrics.unweighted_accuracy(y_test, np.asarray(v), n_classes)
                   for k, v in result["modes"][mode].items() if k in ("float", "int8_features", "int8_runtime")}
        log(f"{fold.name} [{mode}] UA " + " ".join(f"{k}={v:.3f}" for k, v in summary.items())
            + f" agreement={result['modes'][mode]['agreement_int8_float']:.3f} best_epoch={fitted.best_epoch}")
    return result
