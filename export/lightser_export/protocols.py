"""Evaluation protocols: leave-one-speaker-out (the one we quote) and the paper's random 10-fold.

Each fold trains a fresh model, exports it to int8 TFLite, and scores both the float
Keras model and the int8 model run through the `lightser` runtime, as users run it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from lightser import NoSpeechError, Recognizer
from lightser.features import FeatureRecipe, frame_stats
from lightser.metadata import read_metadata, sidecar_path, write_metadata
from lightser.model import tempered

from . import convert, metrics
from .calibration import fit_temperature
from .datasets import Dataset
from .featurize import normalised, train_inputs, training_set
from .folds import Fold
from .sampling import training_weights
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


def runtime_scores(rec: Recognizer, dataset: Dataset, rows: np.ndarray, stats: Any = None) -> np.ndarray:
    """The scores `rec.predict` gives each clip of `rows` (a row of NaN where its speech gate finds
    no speech); with `stats`, each clip is standardised with its own enrolment statistics (`stats[k]`)."""
    out = np.full((len(rows), len(rec.labels)), np.nan)
    for k, i in enumerate(rows):
        user_rec = rec if stats is None else rec.for_speaker(*stats[k])
        try:
            out[k] = list(user_rec.predict(dataset.utterances[i].path).scores.values())
        except NoSpeechError:
            continue
    return out


def _labels_of(scores: np.ndarray) -> list[int]:
    """Class indices of score rows, `metrics.REFUSED` for refused (NaN) rows."""
    return [int(np.argmax(row)) if np.isfinite(row).all() else metrics.REFUSED for row in scores]


def calibrate(model_path: Path, dataset: Dataset, val_rows: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Fit the temperature of the model at `model_path` on the validation clips as the runtime
    scores them, store it in the model's metadata, and return it with the validation clips'
    expected calibration error before and after (in-sample: the same clips fitted it)."""
    rec = Recognizer(model_path)
    scores = runtime_scores(rec, dataset, val_rows)
    kept = np.isfinite(scores).all(axis=1)
    scores, y = scores[kept], labels[val_rows][kept]
    temperature = fit_temperature(scores, y, rec.model.probability_floor)
    meta = read_metadata(sidecar_path(model_path))
    write_metadata(dataclasses.replace(meta, temperature=temperature), sidecar_path(model_path))
    after = tempered(scores, temperature, rec.model.probability_floor)
    correct = scores.argmax(1) == y
    return {"temperature": temperature, "n": int(kept.sum()),
            "ece_before": metrics.expected_calibration_error(scores.max(1), correct),
            "ece_after": metrics.expected_calibration_error(after.max(1), correct)}


def _calibration(raw: np.ndarray, calibrated: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Per-clip confidence before and after the temperature, and whether the label was right."""
    kept = np.isfinite(calibrated).all(axis=1)
    return {"confidence_raw": np.round(raw[kept].max(1), 4).tolist(),
            "confidence": np.round(calibrated[kept].max(1), 4).tolist(),
            "correct": (calibrated[kept].argmax(1) == y[kept]).astype(int).tolist()}


def run_fold(
    dataset: Dataset, raws: Sequence[np.ndarray], fold: Fold, config: TrainConfig, recipe: FeatureRecipe,
    fold_dir: Path, log: Callable[[str], None] = print, resume: bool = False, speed_averaging: bool = True,
) -> dict[str, Any]:
    """Train (or, with `resume`, reuse matching saved weights, or continue an interrupted run),
    export int8, fit its temperature on the validation speakers (when there are any), and score
    one fold every way the protocol asks. `raws`: raw features as recorded, then at each of
    config.speeds (training only: statistics, validation and test use the recorded clips)."""
    raw = raws[0]
    labels = np.asarray(dataset.label_indices())
    speakers = np.asarray([u.speaker for u in dataset.utterances])
    n_classes = len(dataset.labels)
    train_rows, val_rows = fold.fit_rows(config.early_stopping)
    global_stats = frame_stats(raw[train_rows])
    x_train, y_train = training_set(raws, speakers, labels, train_rows, config.normalisation, global_stats)
    weights = training_weights(dataset, train_rows, len(raws), config.balance)
    validation = None
    if len(val_rows):
        validation = (train_inputs(raw, speakers, val_rows, config.normalisation, global_stats), labels[val_rows])
    fitted = fit(x_train, y_train, n_classes, config, validation=validation,
                 run_dir=fold_dir, desc=fold.name, resume=resume, weights=weights)

    test_modes: dict[str, Any] = {"default": None}
    if config.normalisation == "speaker":
        test_modes["enrolled"] = _enrolment_stats(raw, speakers, fold)

    fold_recipe = recipe if config.normalisation == "none" else recipe.with_stats(*global_stats, config.normalisation)
    model_path = fold_dir / "model-int8.tflite"
    convert.write_model(
        convert.to_tflite(fitted.model, "int8", calibration_set(x_train, len(train_rows), config.seed)),
        model_path, dataset.labels,
        fold_recipe, "int8", {"fold": fold.name, "config": config.to_dict()},
    )
    y_test = labels[fold.test]
    raw_scores = None
    if len(val_rows):
        raw_scores = runtime_scores(Recognizer(model_path), dataset, fold.test)
        temperature = calibrate(model_path, dataset, val_rows, labels)["temperature"]
    recognizers = {"int8_runtime": Recognizer(model_path)}
    if speed_averaging and config.test_speeds != (1.0,):
        recognizers["int8_runtime_speeds"] = Recognizer(model_path, speeds=config.test_speeds)
    result: dict[str, Any] = {
        "fold": fold.name, "test_speaker": fold.test_speaker,
        "val_speaker": fold.val_speaker if len(val_rows) else None,
        "n_train": len(train_rows), "n_val": len(val_rows), "n_test": len(fold.test),
        **({"corpora": [dataset.utterances[i].corpus for i in fold.test]} if len(dataset.corpora()) > 1 else {}),
        "best_epoch": fitted.best_epoch, "train_seconds": round(fitted.seconds, 1), "resumed": fitted.resumed,
        "trained_with": fitted.backend,
        "val_ua": max((h["val_ua"] for h in fitted.history if "val_ua" in h), default=None), "modes": {},
    }
    for mode, stats in test_modes.items():
        x_test = normalised(raw, fold.test, config.normalisation, global_stats if stats is None else stats)
        float_pred = predict_probs(fitted.model, x_test).argmax(1)
        int8_on_features = np.array([recognizers["int8_runtime"].model.run(x) for x in x_test]).argmax(1)
        scores = {kind: runtime_scores(rec, dataset, fold.test, stats) for kind, rec in recognizers.items()
                  if stats is None or rec.speeds == (1.0,)}  # for_speaker refuses speed averaging
        result["modes"][mode] = {
            "y_true": y_test.tolist(),
            "float": float_pred.tolist(),
            "int8_features": int8_on_features.tolist(),
            **{kind: _labels_of(s) for kind, s in scores.items()},
            "agreement_int8_float": float(np.mean(int8_on_features == float_pred)),
        }
        if raw_scores is not None and stats is None:
            result["temperature"] = temperature
            result["calibration"] = _calibration(raw_scores, scores["int8_runtime"], y_test)
        summary = {k: metrics.unweighted_accuracy(y_test, np.asarray(v), n_classes)
                   for k, v in result["modes"][mode].items() if k not in ("y_true", "agreement_int8_float")}
        log(f"{fold.name} [{mode}] UA " + " ".join(f"{k}={v:.3f}" for k, v in summary.items())
            + f" agreement={result['modes'][mode]['agreement_int8_float']:.3f} best_epoch={fitted.best_epoch}")
    return result
