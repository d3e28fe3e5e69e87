"""Evaluation protocols: leave-one-speaker-out (the one we quote) and the paper's random 10-fold.

Each fold trains a fresh model, exports it to int8 TFLite, and scores both the float
Keras model and the int8 model run through the `lightser` runtime, as users run it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from lightser import NoSpeechError, Recognizer
from lightser.features import FeatureRecipe, frame_stats

from . import convert, metrics
from .datasets import Dataset
from .featurize import normalised, train_inputs, training_set
from .folds import Fold
from .train import TrainConfig, fit, predict_probs

REPRESENTATIVE_CLIPS = 300


def calibration_set(x_train: np.ndarray, n_recorded: int, seed: int) -> np.ndarray:
    """Up to REPRESENTATIVE_CLIPS training inputs for int8 calibration, drawn from the first
    `n_recorded` rows: the clips as recorded, which is what the model hears at run time
    (speed-perturbed copies follow them and would widen the calibrated ranges)."""
    rows = np.random.default_rng(seed).choice(n_recorded, size=min(REPRESENTATIVE_CLIPS, n_recorded), replace=False)
    return x_train[rows]


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


def _runtime_predictions(rec: Recognizer, dataset: Dataset, fold: Fold, mode: str, stats: Any) -> list[int]:
    """Class indices `rec.predict` gives each test clip's file, or `metrics.REFUSED` where its
    speech gate finds no speech; "enrolled" mode standardises each clip with its own enrolment
    statistics (`stats[k]`)."""
    out = []
    for k, i in enumerate(fold.test):
        user_rec = rec if mode == "default" else rec.for_speaker(*stats[k])
        try:
            out.append(dataset.labels.index(user_rec.predict(dataset.utterances[i].path).label))
        except NoSpeechError:
            out.append(metrics.REFUSED)
    return out


def run_fold(
    dataset: Dataset, raws: Sequence[np.ndarray], fold: Fold, config: TrainConfig, recipe: FeatureRecipe,
    fold_dir: Path, log: Callable[[str], None] = print, resume: bool = False,
) -> dict[str, Any]:
    """Train (or, with `resume`, reuse matching saved weights), export int8, and score one
    fold every way the protocol asks. `raws`: raw features as recorded, then at each of
    config.speeds (training only: statistics, validation and test use the recorded clips)."""
    raw = raws[0]
    labels = np.asarray(dataset.label_indices())
    speakers = np.asarray([u.speaker for u in dataset.utterances])
    n_classes = len(dataset.labels)
    train_rows, val_rows = fold.fit_rows(config.early_stopping)
    global_stats = frame_stats(raw[train_rows])
    x_train, y_train = training_set(raws, speakers, labels, train_rows, config.normalisation, global_stats)
    validation = None
    if len(val_rows):
        validation = (train_inputs(raw, speakers, val_rows, config.normalisation, global_stats), labels[val_rows])
    fitted = fit(x_train, y_train, n_classes, config, validation=validation,
                 run_dir=fold_dir, desc=fold.name, resume=resume)

    test_modes: dict[str, Any] = {"default": global_stats}
    if config.normalisation == "speaker":
        test_modes["enrolled"] = _enrolment_stats(raw, speakers, fold)

    fold_recipe = recipe if config.normalisation == "none" else recipe.with_stats(*global_stats, config.normalisation)
    model_path = fold_dir / "model-int8.tflite"
    convert.write_model(
        convert.to_tflite(fitted.model, "int8", calibration_set(x_train, len(train_rows), config.seed)),
        model_path, dataset.labels,
        fold_recipe, "int8", {"fold": fold.name, "config": config.to_dict()},
    )
    recognizers = {"int8_runtime": Recognizer(model_path)}
    if config.test_speeds != (1.0,):
        recognizers["int8_runtime_speeds"] = Recognizer(model_path, speeds=config.test_speeds)
    y_test = labels[fold.test]
    result: dict[str, Any] = {
        "fold": fold.name, "test_speaker": fold.test_speaker,
        "val_speaker": fold.val_speaker if len(val_rows) else None,
        "n_train": len(train_rows), "n_val": len(val_rows), "n_test": len(fold.test),
        "best_epoch": fitted.best_epoch, "train_seconds": round(fitted.seconds, 1), "resumed": fitted.resumed,
        "trained_with": fitted.backend,
        "val_ua": max((h["val_ua"] for h in fitted.history if "val_ua" in h), default=None), "modes": {},
    }
    for mode, stats in test_modes.items():
        x_test = normalised(raw, fold.test, config.normalisation, stats)
        float_pred = predict_probs(fitted.model, x_test).argmax(1)
        int8_on_features = np.array([recognizers["int8_runtime"].model.run(x) for x in x_test]).argmax(1)
        result["modes"][mode] = {
            "y_true": y_test.tolist(),
            "float": float_pred.tolist(),
            "int8_features": int8_on_features.tolist(),
            **{kind: _runtime_predictions(rec, dataset, fold, mode, stats) for kind, rec in recognizers.items()
               if mode == "default" or rec.speeds == (1.0,)},  # for_speaker refuses speed averaging
            "agreement_int8_float": float(np.mean(int8_on_features == float_pred)),
        }
        summary = {k: metrics.unweighted_accuracy(y_test, np.asarray(v), n_classes)
                   for k, v in result["modes"][mode].items() if k not in ("y_true", "agreement_int8_float")}
        log(f"{fold.name} [{mode}] UA " + " ".join(f"{k}={v:.3f}" for k, v in summary.items())
            + f" agreement={result['modes'][mode]['agreement_int8_float']:.3f} best_epoch={fitted.best_epoch}")
    return result
