"""Argument checks shared by every way audio comes in: numbers, sample rates, arrays and raw PCM."""

from __future__ import annotations

import math
import numbers

import numpy as np

from .errors import InvalidArgumentError, NonFiniteAudioError

MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 1000.0, 1_000_000.0  # Hz; beyond them the resampler hangs or crashes
MAX_AMPLITUDE = 1e30  # float samples (full scale 1.0) above this would overflow float32 arithmetic
INT_SCALES = {np.dtype(np.int16): 2.0**15, np.dtype(np.int32): 2.0**31}  # full scale of each integer type
FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def finite(value: object) -> float | None:
    """`value` as a float if it is a finite real number (or a 0-d array of one, as `np.load`
    gives), else None; bools are not numbers here."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        return None
    return number if math.isfinite(number) else None


def check_sample_rate(sample_rate: object, name: str = "sample_rate") -> float:
    """`sample_rate` (see `finite`) as a float in [MIN_SAMPLE_RATE, MAX_SAMPLE_RATE], or an
    `InvalidArgumentError`."""
    rate = finite(sample_rate)
    if rate is None or not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        shown = f"{sample_rate!r:.60}"
        raise InvalidArgumentError(
            f"{name}={shown}: expected a number of Hz from {MIN_SAMPLE_RATE:g} to {MAX_SAMPLE_RATE:g}"
        )
    return rate


def check_finite(samples: np.ndarray, source: str) -> None:
    """Reject NaN, infinite, and overflow-prone (> MAX_AMPLITUDE) float samples."""
    peak = float(np.max(np.abs(samples), initial=0.0))
    if not math.isfinite(peak):
        raise NonFiniteAudioError(f"{source}: audio contains NaN or infinite samples")
    if peak > MAX_AMPLITUDE:
        raise NonFiniteAudioError(
            f"{source}: samples reach {peak:.3g}, beyond the {MAX_AMPLITUDE:g} that float32 processing "
            "can take (full scale is 1.0)"
        )


def check_array(samples: np.ndarray, source: str) -> None:
    """Reject arrays that are not (samples,) or (samples, channels)."""
    if samples.ndim not in (1, 2):
        raise InvalidArgumentError(
            f"{source}: expected shape (samples,) or (samples, channels), got {samples.ndim}-D"
        )
    if samples.ndim == 2 and samples.shape[1] == 0:
        raise InvalidArgumentError(f"{source}: shape {samples.shape} has no channels")
    if samples.ndim == 2 and 0 < samples.shape[0] < samples.shape[1]:
        raise InvalidArgumentError(
            f"{source}: shape {samples.shape} looks channels-first; "
            "expected (samples, channels): pass the array transposed"
        )


def pcm(data: bytes | bytearray | memoryview, dtype: object, name: str) -> np.ndarray:
    """Raw PCM bytes as a 1-D array of samples of `dtype` (int16, int32, float32 or float64, in
    any byte order, e.g. "<i2"), without a copy."""
    try:
        kind = np.dtype(dtype)  # type: ignore[call-overload]
    except TypeError:
        kind = None
    if kind is None or (kind.newbyteorder("=") not in INT_SCALES and kind.newbyteorder("=") not in FLOATS):
        raise InvalidArgumentError(f"dtype={dtype!r:.60}: expected int16, int32, float32 or float64")
    size = memoryview(data).nbytes
    if size % kind.itemsize:
        raise InvalidArgumentError(f"{name}: {size} bytes are not a whole number of {kind} samples "
                                   f"({kind.itemsize} bytes each)")
    return np.frombuffer(data, kind)
