"""Every choice that shapes a training run, checked when it is made (no TensorFlow needed)."""

from __future__ import annotations

import dataclasses
from typing import Any

from lightser.features import NORMALISATIONS
from lightser.speed import MAX_SPEED, MIN_SPEED

VARIANTS = ("int8", "float16", "float32", "dynamic-range")  # the .tflite kinds `convert.to_tflite` writes

@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Every choice that shapes a training run; the defaults are the shipped default model's recipe."""

    epochs: int = 40
    batch_size: int = 32
    learning_rate: float = 5e-4
    schedule: str = "cosine"  # or "constant"
    loss: str = "crossentropy"  # or "focal"
    focal_gamma: float = 2.0
    l2: float = 1e-6
    dropout: float = 0.3
    bn_momentum: float = 0.9
    normalisation: str = "global"  # one of lightser.features.NORMALISATIONS
    # Extra training copies of every clip played this many times as fast (speed perturbation:
    # pitch, formants and tempo move as they do between speakers); () trains on the clips alone.
    speeds: tuple[float, ...] = (0.9, 1.1)
    # Fraction of the clips of each sped-up copy that are also put under a random recording
    # condition (noise, band-limiting or reverberation; `corrupt.py`); the recorded copy stays clean.
    corrupt: float = dataclasses.field(default=0.0, metadata={
        "help": "fraction of the sped-up copies' clips also put under random noise, band-limiting or "
                "reverberation (export/lightser_export/corrupt.py)"})
    # Fraction of the sped-up copies' clips also played at a random level, peak -50 to -1 dBFS,
    # and stored as 16-bit PCM, as a quiet or loud microphone would record them.
    gain: float = 0.0
    # Total optimizer steps, each a batch drawn as `balance` says; 0: `epochs` passes over the
    # data. With steps, `epochs` counts the equal blocks the steps are cut into (a validation,
    # a checkpoint and a progress tick after each).
    steps: int = 0
    # "none": every clip equally often; "corpus-class": each class equally often, and within a
    # class each corpus that has it equally often (so 4 481 nEMO clips do not drown 480 of SAVEE).
    balance: str = "none"
    augment: bool = True  # SpecAugment-style masks on the feature matrix
    time_masks: int = 2
    time_mask_frames: int = 20
    coeff_masks: int = 2
    coeff_mask_width: int = 4
    seed: int = 0
    # True: keep the epoch with the best validation UA. False: train exactly `epochs` and
    # keep the last weights, as the shipped model is trained; a protocol then trains on
    # its validation data too, since nothing is chosen on it.
    early_stopping: bool = False

    def __post_init__(self) -> None:
        choices = {"schedule": ("cosine", "constant"), "loss": ("crossentropy", "focal"),
                   "normalisation": NORMALISATIONS, "balance": ("none", "corpus-class")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name}={getattr(self, name)!r}: expected one of {', '.join(allowed)}")
        at_least = {"epochs": 1, "batch_size": 1, "time_masks": 0, "time_mask_frames": 0, "coeff_masks": 0,
                    "coeff_mask_width": 0, "l2": 0.0, "focal_gamma": 0.0, "seed": 0, "steps": 0}
        for name, least in at_least.items():
            if not getattr(self, name) >= least:
                raise ValueError(f"{name}={getattr(self, name)!r}: expected {least} or more")
        if not 0.0 < self.learning_rate < 1.0:
            raise ValueError(f"learning_rate={self.learning_rate!r}: expected a number in (0, 1)")
        for name in ("dropout", "bn_momentum"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name}={getattr(self, name)!r}: expected a number in [0, 1)")
        if not all(MIN_SPEED <= speed <= MAX_SPEED for speed in self.speeds):
            raise ValueError(f"speeds={self.speeds!r}: expected speeds from {MIN_SPEED} to {MAX_SPEED}")
        for name in ("corrupt", "gain"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name}={getattr(self, name)!r}: expected a fraction between 0 and 1")
            if getattr(self, name) and not self.speeds:
                raise ValueError(f"{name} needs speeds: only the sped-up copies are changed")
        if self.balance != "none" and not self.steps:
            raise ValueError("balance needs steps: balanced batches are drawn, not passed over in order")
        if self.steps and self.steps < self.epochs:
            raise ValueError(f"steps={self.steps}: expected at least one step per block (epochs={self.epochs})")

    @property
    def test_speeds(self) -> tuple[float, ...]:
        """The speeds the evaluation also scores test-time speed averaging at: 1.0 and each training speed."""
        return tuple(sorted({1.0, *self.speeds}))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (tuples as lists, as JSON reads them back)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, fields: dict[str, Any]) -> TrainConfig:
        """The config `to_dict` wrote (lists back to tuples)."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
