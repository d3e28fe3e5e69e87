"""Fit Light-SERNet on feature matrices, keeping the epoch with the best validation UA."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np
from tqdm import tqdm

from . import network
from .config import TrainConfig
from .metrics import unweighted_accuracy


def spec_augment(x: np.ndarray, config: TrainConfig, rng: np.random.Generator) -> np.ndarray:
    """A copy of a (batch, frames, coefficients) array with random time and coefficient bands zeroed."""
    out = x.copy()
    n, frames, coeffs = x.shape
    for i in range(n):
        for _ in range(config.time_masks):
            width = rng.integers(0, min(config.time_mask_frames, frames) + 1)
            start = rng.integers(0, frames - width + 1)
            out[i, start : start + width, :] = 0.0
        for _ in range(config.coeff_masks):
            width = rng.integers(0, min(config.coeff_mask_width, coeffs) + 1)
            start = rng.integers(0, coeffs - width + 1)
            out[i, :, start : start + width] = 0.0
    return out


def _loss(config: TrainConfig) -> keras.losses.Loss:
    """The configured loss (TrainConfig has checked the name)."""
    if config.loss == "focal":
        return keras.losses.CategoricalFocalCrossentropy(gamma=config.focal_gamma, alpha=None)
    return keras.losses.CategoricalCrossentropy()


def _optimizer(config: TrainConfig, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """Adam at the configured rate, cosine-decayed or constant (TrainConfig has checked the name)."""
    rate: Any = config.learning_rate
    if config.schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(config.learning_rate, config.epochs * steps_per_epoch)
    return keras.optimizers.Adam(rate)


@dataclasses.dataclass
class Fitted:
    """A trained model (best weights loaded) and how it got there."""

    model: keras.Model
    history: list[dict[str, float]]
    best_epoch: int
    seconds: float
    backend: str  # the Keras backend that trained the weights
    resumed: bool = False  # weights reused from an earlier run; `seconds` is that run's training time


class _Batches(keras.utils.PyDataset):
    """Mini-batches, SpecAugment applied afresh every epoch when enabled: a shuffled pass over the
    data per epoch, or, with `weights`, `steps` batches per epoch drawn with those probabilities."""

    def __init__(self, x: np.ndarray, targets: np.ndarray, config: TrainConfig, rng: np.random.Generator,
                 weights: np.ndarray | None = None, steps: int = 0) -> None:
        super().__init__()
        self.x, self.targets, self.config, self.rng = x, targets, config, rng
        self.weights, self.steps = weights, steps
        self.on_epoch_end()

    def __len__(self) -> int:
        return len(self.order) // self.config.batch_size if self.weights is not None else int(
            np.ceil(len(self.x) / self.config.batch_size))

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        rows = self.order[i * self.config.batch_size : (i + 1) * self.config.batch_size]
        batch = self.x[rows]
        if self.config.augment:
            batch = spec_augment(batch, self.config, self.rng)
        return batch[..., None], self.targets[rows]

    def on_epoch_end(self) -> None:
        if self.weights is None:
            self.order = self.rng.permutation(len(self.x))
        else:
            self.order = self.rng.choice(len(self.x), size=self.steps * self.config.batch_size, p=self.weights)


class _Tracker(keras.callbacks.Callback):
    """Per-epoch history, validation UA, best weights, a progress bar and, with `run_dir`, a
    checkpoint after every epoch that `fit(resume=True)` continues from."""

    def __init__(self, validation: tuple[np.ndarray, np.ndarray] | None, n_classes: int, bar: tqdm,
                 run_dir: Path | None, fingerprint: dict[str, Any] | None, state: dict[str, Any]) -> None:
        super().__init__()
        self.validation, self.n_classes, self.bar = validation, n_classes, bar
        self.run_dir, self.fingerprint = run_dir, fingerprint
        self.history: list[dict[str, float]] = state.get("history", [])
        self.best: tuple[float, int] = (state.get("best_val_ua", -1.0), state.get("best_epoch", 0))
        self.best_weights: list[np.ndarray] | None = None
        self.started = time.perf_counter() - state.get("seconds", 0.0)  # training time, across interruptions

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        record = {"epoch": epoch + 1, "loss": float((logs or {}).get("loss", np.nan))}
        if self.validation is not None:
            probs = predict_probs(self.model, self.validation[0])
            record["val_ua"] = unweighted_accuracy(self.validation[1], probs.argmax(1), self.n_classes)
            if record["val_ua"] > self.best[0]:
                self.best, self.best_weights = (record["val_ua"], epoch + 1), self.model.get_weights()
                if self.run_dir is not None:
                    self.model.save_weights(self.run_dir / _BEST_SO_FAR)
            self.bar.set_postfix(loss=f"{record['loss']:.3f}", val_ua=f"{record['val_ua']:.3f}", best=self.best[1])
        else:
            self.bar.set_postfix(loss=f"{record['loss']:.3f}")
        self.history.append(record)
        self.bar.update(1)
        if self.run_dir is not None:
            self.model.save(self.run_dir / _CHECKPOINT)
            (self.run_dir / _PROGRESS).write_text(json.dumps(
                {"fingerprint": self.fingerprint, "epochs_done": epoch + 1, "history": self.history,
                 "seconds": time.perf_counter() - self.started,
                 "best_val_ua": self.best[0], "best_epoch": self.best[1]}, indent=1))


_CHECKPOINT, _PROGRESS, _BEST_SO_FAR = "checkpoint.keras", "progress.json", "best-so-far.weights.h5"


def _build(input_shape: tuple[int, ...], n_classes: int, config: TrainConfig) -> keras.Model:
    """A fresh Light-SERNet with the config's regularisation."""
    return network.build(input_shape, n_classes, l2=config.l2, dropout=config.dropout, bn_momentum=config.bn_momentum)


def _fingerprint(config: TrainConfig, *arrays: np.ndarray) -> dict[str, Any]:
    """What a run depends on: its config and a digest of its training (and validation) data."""
    digest = hashlib.sha256()
    for a in arrays:
        digest.update(f"{a.shape} {a.dtype}".encode())
        digest.update(np.ascontiguousarray(a).tobytes())
    return {"config": config.to_dict(), "data_sha256": digest.hexdigest()}


def _resumed(run_dir: Path, fingerprint: dict[str, Any], input_shape: tuple[int, ...], n_classes: int,
             config: TrainConfig) -> Fitted | None:
    """The run saved in `run_dir` if it was trained with exactly `fingerprint`, else None."""
    try:
        saved = json.loads((run_dir / "config.json").read_text())
        record = json.loads((run_dir / "history.json").read_text())
    except (OSError, ValueError):
        return None
    if saved != fingerprint or not (run_dir / "best.weights.h5").is_file():
        return None
    model = _build(input_shape, n_classes, config)
    model.load_weights(run_dir / "best.weights.h5")
    return Fitted(model, record["history"], record["best_epoch"], record["seconds"], resumed=True,
                  backend=record.get("backend", "tensorflow"))


def _checkpoint(run_dir: Path, fingerprint: dict[str, Any]) -> tuple[keras.Model, dict[str, Any]] | None:
    """The model (with its optimizer state) and progress of an interrupted run with exactly
    `fingerprint`, else None."""
    try:
        state = json.loads((run_dir / _PROGRESS).read_text())
    except (OSError, ValueError):
        return None
    if state.get("fingerprint") != fingerprint or not (run_dir / _CHECKPOINT).is_file():
        return None
    return keras.models.load_model(run_dir / _CHECKPOINT), state


def fit(
    x_train: np.ndarray,
    y_train: np.ndarray,
    n_classes: int,
    config: TrainConfig,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    epochs: int | None = None,
    run_dir: Path | None = None,
    desc: str = "train",
    resume: bool = False,
    weights: np.ndarray | None = None,
) -> Fitted:
    """Train from scratch. With `validation`, keep the weights of the epoch with the best
    validation UA; without, train `epochs` (default config.epochs) and keep the last.
    With `config.steps`, an epoch is config.steps / epochs batches drawn with probabilities
    `weights` (one per training row; default uniform). With `resume`, reuse the weights in
    `run_dir` when they were trained with the same config and data, or continue an interrupted
    run from its last epoch, instead of training again."""
    n_epochs = epochs or config.epochs
    fingerprint: dict[str, Any] | None = None  # only a run folder needs one: hashing the data is not free
    checkpoint = None
    if run_dir is not None:
        fingerprint = _fingerprint(dataclasses.replace(config, epochs=n_epochs), x_train, y_train,
                                   *(validation or ()), *(() if weights is None else (weights,)))
        if resume:
            fitted = _resumed(run_dir, fingerprint, x_train.shape[1:], n_classes, config)
            if fitted is not None:
                return fitted
            checkpoint = _checkpoint(run_dir, fingerprint)
        # a crash mid-training must not leave old metadata beside new weights
        (run_dir / "config.json").unlink(missing_ok=True)
        run_dir.mkdir(parents=True, exist_ok=True)
    done = checkpoint[1]["epochs_done"] if checkpoint else 0
    keras.utils.set_random_seed(config.seed + done)
    if config.steps and weights is None:
        weights = np.full(len(x_train), 1.0 / len(x_train))
    batches = _Batches(x_train, keras.utils.to_categorical(y_train, n_classes), config,
                       np.random.default_rng([config.seed, done] if done else config.seed), weights,
                       config.steps // n_epochs)
    if checkpoint:
        model = checkpoint[0]
    else:
        model = _build(x_train.shape[1:], n_classes, config)
        model.compile(optimizer=_optimizer(dataclasses.replace(config, epochs=n_epochs), len(batches)),
                      loss=_loss(config))
    with tqdm(total=n_epochs, initial=done, desc=desc, unit="epoch", leave=False) as bar:
        tracker = _Tracker(validation, n_classes, bar, run_dir, fingerprint, checkpoint[1] if checkpoint else {})
        model.fit(batches, epochs=n_epochs, initial_epoch=done, verbose=0, callbacks=[tracker])
    best_epoch = n_epochs
    if validation is not None and tracker.best[1]:
        if tracker.best_weights is not None:
            model.set_weights(tracker.best_weights)
        else:  # the best epoch came before the interruption
            model.load_weights(run_dir / _BEST_SO_FAR)
        best_epoch = tracker.best[1]
    fitted = Fitted(model, tracker.history, best_epoch, time.perf_counter() - tracker.started,
                    backend=keras.backend.backend())
    if run_dir is not None:
        model.save_weights(run_dir / "best.weights.h5")
        (run_dir / "history.json").write_text(
            json.dumps({"best_epoch": best_epoch, "seconds": fitted.seconds, "backend": fitted.backend,
                        "history": fitted.history}, indent=1)
        )
        (run_dir / "config.json").write_text(json.dumps(fingerprint, indent=1))
        for name in (_CHECKPOINT, _PROGRESS, _BEST_SO_FAR):
            (run_dir / name).unlink(missing_ok=True)
    return fitted


def predict_probs(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """Softmax outputs for (clips, frames, coefficients)."""
    return model.predict(x[..., None], batch_size=256, verbose=0)
