"""The Light-SERNet input pipeline: 16 kHz mono audio -> clipped MFCC matrix.

Small pure NumPy functions, one per step, each checkable on its own; `extract`
chains them. Every constant comes from a `FeatureRecipe`, which is stored in
each model's metadata so that training and runtime cannot drift apart.
The result matches `tf.signal` (stft, linear_to_mel_weight_matrix,
mfccs_from_log_mel_spectrograms) to 1e-4; a test pins it.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import threading
from functools import lru_cache
from typing import Any, Mapping

import numpy as np

from .errors import InvalidArgumentError

_FLOAT32_MAX = 3.4e38
_POSITIVE = 1e-30  # the least value accepted where zero is not
_STAT_LIMIT = 1e4  # standardisation statistics: |mean| and std at most this, std at least its inverse
_MAX_FFT = 2**16
_INTEGER_FIELDS = ("sample_rate", "frame_length", "frame_step", "fft_length", "n_mels", "n_mfcc")
NORMALISATIONS = ("none", "global", "utterance", "speaker")


def _number(value: Any, low: float, integer: bool = False) -> bool:
    """True if `value` is a number (an int if `integer`) in [low, float32 max] (so not NaN)."""
    kind = numbers.Integral if integer else numbers.Real
    return isinstance(value, kind) and not isinstance(value, bool) and low <= value <= _FLOAT32_MAX


def _valid_field(key: str, value: Any) -> bool:
    """Whether `value` has the type and range that recipe field `key` needs."""
    if key in _INTEGER_FIELDS:
        return _number(value, 1, integer=True)
    if key in ("fmin_hz", "fmax_hz"):
        return _number(value, 0.0)
    if key in ("mean", "std"):
        return value is None or (isinstance(value, list) and all(_number(v, -_FLOAT32_MAX) for v in value))
    if key == "normalisation":
        return isinstance(value, str)
    return _number(value, _POSITIVE)  # window_seconds, log_offset, clip, amplitude_percentile


@dataclasses.dataclass(frozen=True)
class FeatureRecipe:
    """Every constant of the input pipeline (units in the field names)."""

    sample_rate: int = 16000
    window_seconds: float = 3.0
    frame_length: int = 1024
    frame_step: int = 256
    fft_length: int = 1024
    n_mels: int = 128
    fmin_hz: float = 80.0
    fmax_hz: float = 7600.0
    n_mfcc: int = 40
    log_offset: float = 1e-6
    clip: float = 10.0
    amplitude_percentile: float = 99.9
    # Per-coefficient standardisation after clipping: "none", "global" (mean/std of the
    # training data), "utterance" (each window's own mean over its frames removed first, then
    # mean/std of the training data so centred) or "speaker" (trained with each speaker's own
    # statistics; mean/std are the fallback used until a speaker's own are supplied).
    normalisation: str = "none"
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    @property
    def window_samples(self) -> int:
        """Samples in one model window."""
        return int(round(self.window_seconds * self.sample_rate))

    @property
    def n_frames(self) -> int:
        """STFT frames in one window (no end padding)."""
        return 1 + (self.window_samples - self.frame_length) // self.frame_step

    @property
    def shape(self) -> tuple[int, int]:
        """Feature matrix shape: (frames, coefficients)."""
        return (self.n_frames, self.n_mfcc)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = dataclasses.asdict(self)
        for key in ("mean", "std"):
            if out[key] is not None:
                out[key] = [float(v) for v in out[key]]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureRecipe:
        """Inverse of `to_dict`: every field present, with its type and range; nothing else."""
        if not isinstance(data, Mapping):
            raise InvalidArgumentError(f"feature recipe: expected a mapping, got {type(data).__name__}")
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(names))
        missing = [name for name in names if name not in data]
        if unknown or missing:
            raise InvalidArgumentError(f"feature recipe: unknown keys {unknown}, missing keys {missing}")
        bad = [name for name in names if not _valid_field(name, data[name])]
        if bad:
            raise InvalidArgumentError(
                "feature recipe: invalid " + ", ".join(f"{k}={data[k]!r}" for k in bad)
            )
        kwargs = dict(data)
        for key in ("mean", "std"):
            if kwargs[key] is not None:
                kwargs[key] = tuple(float(v) for v in kwargs[key])
        recipe = cls(**kwargs)
        recipe.validate()
        return recipe

    def validate(self) -> None:
        """Raise `InvalidArgumentError` unless the constants make a usable pipeline."""
        if self.normalisation not in NORMALISATIONS:
            raise InvalidArgumentError(f"feature recipe: normalisation={self.normalisation!r}")
        if not (
            self.fmin_hz < self.fmax_hz <= self.sample_rate / 2
            and self.frame_length <= self.fft_length <= _MAX_FFT
            and self.frame_length <= self.window_samples
            and self.n_mfcc <= self.n_mels <= self.fft_length // 2 + 1
            and self.amplitude_percentile <= 100
        ):
            raise InvalidArgumentError(
                "feature recipe: inconsistent (need fmin_hz < fmax_hz <= sample_rate / 2, "
                f"frame_length <= fft_length <= {_MAX_FFT}, frame_length <= window, "
                "n_mfcc <= n_mels <= fft_length // 2 + 1, amplitude_percentile <= 100)"
            )
        if (self.normalisation == "none") != (self.mean is None):
            raise InvalidArgumentError("feature recipe: mean/std go with normalisation global, utterance or speaker")
        if self.mean is not None:
            mean = np.asarray(self.mean, dtype=np.float64)
            std = np.asarray(self.std if self.std is not None else (), dtype=np.float64)
            in_range = np.all(np.abs(mean) <= _STAT_LIMIT) and np.all((1 / _STAT_LIMIT <= std) & (std <= _STAT_LIMIT))
            if mean.shape != (self.n_mfcc,) or std.shape != (self.n_mfcc,) or not in_range:
                raise InvalidArgumentError(
                    f"feature recipe: mean/std must be {self.n_mfcc} values each, |mean| <= {_STAT_LIMIT:g} and "
                    f"{1 / _STAT_LIMIT:g} <= std <= {_STAT_LIMIT:g} (where MFCC statistics of real audio lie)"
                )

    def with_stats(
        self, mean: np.ndarray, std: np.ndarray, normalisation: str | None = None
    ) -> FeatureRecipe:
        """A validated copy that standardises with the given per-coefficient statistics."""
        for values in (mean, std):
            kind = np.asarray(values).dtype
            if kind.kind not in "iuf":
                raise InvalidArgumentError(f"feature recipe: mean/std must be real numbers, got {kind}")
        recipe = dataclasses.replace(
            self,
            normalisation=normalisation or self.normalisation,
            mean=tuple(float(v) for v in mean),
            std=tuple(float(v) for v in std),
        )
        recipe.validate()
        return recipe


class _Scratch(threading.local):
    """Per-thread reusable work arrays.

    The pipeline's large temporaries (~1.5 MB) would otherwise be returned to
    the OS and page-faulted back on every call, which costs more than the maths.
    """

    def __init__(self) -> None:
        self.arrays: dict[tuple[str, Any], np.ndarray] = {}  # flat buffers, grown on demand


_SCRATCH = _Scratch()


def _scratch(name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """This thread's work array `name` in `shape`, valid until the next call that asks for it.
    One buffer per name and dtype, as large as the largest shape asked for, so memory stays
    bounded whatever lengths the inputs have."""
    key, size = (name, np.dtype(dtype)), math.prod(shape)
    buffer = _SCRATCH.arrays.get(key)
    if buffer is None or buffer.shape[0] < size:
        buffer = _SCRATCH.arrays[key] = np.empty(size, dtype)
    return buffer[:size].reshape(shape)


def centre_crop(x: np.ndarray, length: int) -> np.ndarray:
    """The middle `length` samples of `x` (x itself when not longer)."""
    if x.shape[0] <= length:
        return x
    start = (x.shape[0] - length) // 2
    return x[start : start + length]


def _top_candidates(values: np.ndarray, k: int) -> np.ndarray:
    """Every element >= some threshold, at least the `k` largest of `values` (1-D, non-negative).

    The threshold is the k-th largest of the maxima of 4k equal blocks, so at least k
    elements reach it; typically only a little more than k do, which makes the
    partial sort that follows cheap.
    """
    blocks = 4 * k
    if values.shape[0] < 8 * blocks:
        return values
    maxima = values[: values.shape[0] - values.shape[0] % blocks].reshape(blocks, -1).max(axis=1)
    threshold = np.partition(maxima, blocks - k)[blocks - k]
    return values[values >= threshold]


def percentile_abs(x: np.ndarray, q: float) -> float:
    """`np.percentile(np.abs(x), q)` (linear interpolation), exactly, via a partial sort of
    only the largest values when q is high."""
    magnitude = np.abs(x, out=_scratch("abs", x.shape, x.dtype))
    n = x.shape[0]
    position = (n - 1) * q / 100.0
    below = int(np.floor(position))
    above = min(below + 1, n - 1)
    top = _top_candidates(magnitude, n - below)
    skipped = n - top.shape[0]  # the candidates are the top of the order: ranks skipped..n-1
    top.partition((below - skipped, above - skipped))
    low, high = float(top[below - skipped]), float(top[above - skipped])
    return low + (position - below) * (high - low)


def normalise_amplitude(x: np.ndarray, percentile: float, out: np.ndarray | None = None) -> np.ndarray:
    """Divide by the `percentile`-th percentile of |x| (+ eps) and clip to [-1, 1], into `out` if given."""
    scale = percentile_abs(x, percentile) + float(np.finfo(np.float32).eps)
    scaled = np.multiply(x, np.float32(1.0 / scale), out=out, dtype=np.float32)
    return np.clip(scaled, -1.0, 1.0, out=scaled)


def fit_window(x: np.ndarray, recipe: FeatureRecipe) -> np.ndarray:
    """Crop, normalise the amplitude of, then zero-pad (floor(pad / 2) samples in front, the
    rest behind) one window of 16 kHz mono audio.

    Returns a per-thread work array, overwritten by the next call: copy it to keep it.
    A fresh 192 kB array per call would be page-faulted in whenever other work has
    returned the memory to the OS, which costs more than the arithmetic.
    """
    cropped = centre_crop(x, recipe.window_samples)
    window = _scratch("window", (recipe.window_samples,), np.float32)
    front = (window.shape[0] - cropped.shape[0]) // 2
    back = front + cropped.shape[0]
    window[:front] = 0.0
    window[back:] = 0.0
    normalise_amplitude(cropped, recipe.amplitude_percentile, out=window[front:back])
    return window


@lru_cache(maxsize=8)
def periodic_hann(length: int) -> np.ndarray:
    """Periodic Hann window (as `tf.signal.hann_window`), float32."""
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(length) / length)).astype(np.float32)


def frames(x: np.ndarray, frame_length: int, frame_step: int) -> np.ndarray:
    """Overlapping frames as a read-only (n_frames, frame_length) view; no end padding."""
    return np.lib.stride_tricks.sliding_window_view(x, frame_length)[::frame_step]


_RFFT_TAKES_OUT = np.lib.NumpyVersion(np.__version__) >= "2.0.0"


def _rfft_rows(x: np.ndarray, n: int, out: np.ndarray) -> np.ndarray:
    """rFFT of each row, written into `out` where NumPy can (>= 2.0, which also keeps float32 in
    single precision; tflite-runtime needs 1.x, which computes in double)."""
    if _RFFT_TAKES_OUT:
        return np.fft.rfft(x, n=n, axis=1, out=out)
    return np.fft.rfft(x, n=n, axis=1)


_FRAMES_PER_BLOCK = 64


def magnitude_spectrum(framed: np.ndarray, fft_length: int) -> np.ndarray:
    """|rFFT| of Hann-windowed frames: (n_frames, fft_length // 2 + 1), float32, computed in
    single precision as `tf.signal.stft` does.

    Works through blocks of frames so that one block's intermediates (~0.5 MB) stay in cache:
    one rFFT call over all 184 frames of a window took three times as long whenever NumPy's
    own temporary buffers were mapped afresh (scripts/profile_stages.py). Returns a
    per-thread work array, overwritten by the next call: copy it to keep it.
    """
    n_frames, frame_length = framed.shape
    n_bins = fft_length // 2 + 1
    magnitude = _scratch("magnitude", (n_frames, n_bins), np.float32)
    hann = periodic_hann(frame_length)
    for first in range(0, n_frames, _FRAMES_PER_BLOCK):
        block = framed[first : first + _FRAMES_PER_BLOCK]
        windowed = np.multiply(block, hann, out=_scratch("windowed", block.shape, np.float32))
        spectrum = _rfft_rows(windowed, fft_length, _scratch("spectrum", (block.shape[0], n_bins), np.complex64))
        np.abs(spectrum, out=magnitude[first : first + block.shape[0]], casting="unsafe")
    return magnitude


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale: 1127 ln(1 + f / 700)."""
    return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)


@lru_cache(maxsize=8)
def mel_filterbank(
    n_mels: int, n_bins: int, sample_rate: int, fmin_hz: float, fmax_hz: float
) -> np.ndarray:
    """Triangular mel weights (n_bins, n_mels) built like `tf.signal.linear_to_mel_weight_matrix`.

    The DC bin gets zero weight; triangles are spaced evenly on the HTK mel scale.
    """
    bin_mel = hz_to_mel(np.linspace(0.0, sample_rate / 2.0, n_bins)[1:])[:, None]
    edges = np.linspace(hz_to_mel(fmin_hz), hz_to_mel(fmax_hz), n_mels + 2)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bin_mel - lower) / (centre - lower)
    falling = (upper - bin_mel) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.vstack([np.zeros((1, n_mels)), weights]).astype(np.float32)


_BANDS_PER_BLOCK = 16


@lru_cache(maxsize=8)
def _mel_blocks(
    n_mels: int, n_bins: int, sample_rate: int, fmin_hz: float, fmax_hz: float
) -> tuple[tuple[int, int, int, int, np.ndarray], ...]:
    """The filterbank cut into blocks of adjacent bands, each with only the bins it weights:
    (first bin, bin stop, first band, band stop, weights). Skips ~90 % of the zeros."""
    weights = mel_filterbank(n_mels, n_bins, sample_rate, fmin_hz, fmax_hz)
    blocks = []
    for first in range(0, n_mels, _BANDS_PER_BLOCK):
        stop = min(first + _BANDS_PER_BLOCK, n_mels)
        used = np.flatnonzero(weights[:, first:stop].any(axis=1))
        lo, hi = (int(used[0]), int(used[-1]) + 1) if used.size else (0, 0)
        blocks.append((lo, hi, first, stop, np.ascontiguousarray(weights[lo:hi, first:stop])))
    return tuple(blocks)


def mel_energies(spectrum: np.ndarray, recipe: FeatureRecipe) -> np.ndarray:
    """`spectrum @ mel_filterbank(...)`, block by block: (n_frames, n_mels) float32.

    Returns a per-thread work array, overwritten by the next call.
    """
    mel = _scratch("mel", (spectrum.shape[0], recipe.n_mels), np.float32)
    blocks = _mel_blocks(recipe.n_mels, spectrum.shape[1], recipe.sample_rate, recipe.fmin_hz, recipe.fmax_hz)
    for lo, hi, first, stop, weights in blocks:
        np.matmul(spectrum[:, lo:hi], weights, out=mel[:, first:stop])
    return mel


@lru_cache(maxsize=8)
def dct_matrix(n_in: int, n_out: int) -> np.ndarray:
    """DCT-II basis (n_in, n_out), scaled as `tf.signal.mfccs_from_log_mel_spectrograms`."""
    n = np.arange(n_in)[:, None]
    k = np.arange(n_out)[None, :]
    basis = 2.0 * np.cos(np.pi * k * (2 * n + 1) / (2.0 * n_in))
    return (basis / np.sqrt(2.0 * n_in)).astype(np.float32)


def mfcc(window: np.ndarray, recipe: FeatureRecipe) -> np.ndarray:
    """Clipped MFCCs (n_frames, n_mfcc) of one fitted window (`fit_window`'s output)."""
    spectrum = magnitude_spectrum(
        frames(window, recipe.frame_length, recipe.frame_step), recipe.fft_length
    )
    mel = mel_energies(spectrum, recipe)
    log_mel = np.log(np.add(mel, np.float32(recipe.log_offset), out=mel), out=mel)
    coeffs = log_mel @ dct_matrix(recipe.n_mels, recipe.n_mfcc)
    return np.clip(coeffs, -recipe.clip, recipe.clip)


def centred(coeffs: np.ndarray) -> np.ndarray:
    """Each coefficient minus its mean over the window's frames of sound, for one window
    (frames, coefficients) or many (..., frames, coefficients). All-zero frames (a short clip's
    zero padding, with a log offset of 1) neither count in the mean nor change."""
    sound = np.any(coeffs != 0, axis=-1, keepdims=True)
    count = np.maximum(np.count_nonzero(sound, axis=-2, keepdims=True), 1)
    mean = np.sum(coeffs * sound, axis=-2, keepdims=True, dtype=np.float32) / count
    return np.where(sound, coeffs - mean, np.float32(0)).astype(np.float32, copy=False)


def standardise(coeffs: np.ndarray, recipe: FeatureRecipe) -> np.ndarray:
    """Apply the recipe's normalisation: its per-coefficient mean/std, if it has them, after
    centring the window on its own mean (`centred`) when it is per utterance."""
    if recipe.normalisation == "utterance":
        coeffs = centred(coeffs)
    if recipe.mean is None or recipe.std is None:
        return coeffs
    mean = np.asarray(recipe.mean, dtype=np.float32)
    std = np.asarray(recipe.std, dtype=np.float32)
    return (coeffs - mean) / std


def unstandardised(x: np.ndarray, recipe: FeatureRecipe) -> np.ndarray:
    """Clipped MFCCs (n_frames, n_mfcc) of the centre window of 16 kHz mono audio (any length)."""
    return mfcc(fit_window(x.astype(np.float32, copy=False), recipe), recipe)


def extract(x: np.ndarray, recipe: FeatureRecipe) -> np.ndarray:
    """Model features (n_frames, n_mfcc): `unstandardised`, then the recipe's standardisation."""
    return standardise(unstandardised(x, recipe), recipe)


def frame_stats(mats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-coefficient mean and std (floored at 1e-3) over every frame of (n, frames, coefficients)."""
    flat = mats.reshape(-1, mats.shape[-1]).astype(np.float64)
    return flat.mean(axis=0), np.maximum(flat.std(axis=0), 1e-3)
