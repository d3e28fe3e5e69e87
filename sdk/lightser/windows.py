"""Cut a stream of audio blocks into model windows, and tell speech windows from silence and noise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from .errors import AudioTooShortError

PITCH_RATE = 8000


def sliding(
    blocks: Iterable[np.ndarray], length: int, hop: int, minimum: int, name: str
) -> Iterator[tuple[int, np.ndarray]]:
    """(start sample, samples) of each window over the concatenated `blocks`.

    Audio up to `length` samples is one window, as it is (the features pad it).
    Longer audio gets windows every `hop` samples, plus one ending at the last
    sample if the regular ones stop short of it. Fewer than `minimum` samples in
    all raises `AudioTooShortError`. Holds at most `length` + one block in memory.
    """
    buffer = np.zeros(0, np.float32)
    offset = total = next_start = covered = 0
    for block in blocks:
        buffer = np.concatenate([buffer, block])
        total += block.shape[0]
        while next_start + length <= total:
            begin = next_start - offset
            yield next_start, buffer[begin : begin + length]
            covered, next_start = next_start + length, next_start + hop
        keep_from = min(next_start, total - length)
        if keep_from > offset:
            buffer, offset = buffer[keep_from - offset :], keep_from
    if total < minimum:
        seconds = "no samples" if total == 0 else f"{total} samples"
        raise AudioTooShortError(f"{name}: {seconds}, the minimum is {minimum} after resampling")
    if covered == 0:
        yield 0, buffer
    elif covered < total:
        yield total - length, buffer[-length:]


def frame_rows(x: np.ndarray, frame: int) -> np.ndarray:
    """Consecutive non-overlapping frames of `frame` samples as rows (one row if x is shorter)."""
    n_frames = max(1, x.shape[0] // frame)
    return (x[: n_frames * frame] if x.shape[0] >= frame else x).reshape(n_frames, -1)


def level_db(rows: np.ndarray) -> np.ndarray:
    """RMS level in dBFS of each row around its mean: a DC offset is not sound."""
    return 10.0 * np.log10(np.var(rows, axis=1, dtype=np.float64) + 1e-20)


def periodicity(rows: np.ndarray, min_lag: int, max_lag: int) -> np.ndarray:
    """Each row's strongest repetition with a period of `min_lag`..`max_lag` samples: the peak of
    its autocorrelation (around its mean) over those lags, relative to lag 0 (1.0: perfectly
    periodic). A row whose maximum there falls on an end of the range (no peak inside it, as
    in noise) scores 0."""
    centred = rows - rows.mean(axis=1, keepdims=True, dtype=np.float64)
    spectrum = np.fft.rfft(centred, 2 * rows.shape[1], axis=1)
    corr = np.fft.irfft(spectrum.real**2 + spectrum.imag**2, axis=1)[:, : max_lag + 1]
    span = corr[:, min_lag : max_lag + 1] / np.maximum(corr[:, :1], 1e-20)
    best = span.argmax(axis=1)
    inside = (best > 0) & (best < span.shape[1] - 1)
    return np.where(inside, span.max(axis=1), 0.0)


@dataclass(frozen=True)
class SpeechGate:
    """Which windows are speech: loud enough, and (if `voicing`) voiced.

    threshold_db: the loudest 10 % of `frame`-sample frames must reach it (None: no level check).
    voicing: at least `min_voiced` of the frames within `range_db` of the loudest (and above
        `threshold_db`) must repeat with a pitch period of `pitch_hz` at `min_periodicity` or
        more; a window with fewer than `short` such frames needs one. Noise and mains hum
        mostly fail this; music and other pitched sound pass (reports/speech-gate.md).
    """

    rate: int
    frame: int
    threshold_db: float | None
    voicing: bool
    min_periodicity: float = 0.5
    min_voiced: int = 2
    short: int = 8
    range_db: float = 30.0
    pitch_hz: tuple[float, float] = (60.0, 400.0)

    def __call__(self, x: np.ndarray) -> bool:
        rows = frame_rows(x, self.frame)
        levels = level_db(rows)
        if self.threshold_db is not None and np.percentile(levels, 90) < self.threshold_db:
            return False
        return not self.voicing or self._voiced(rows, levels)

    def _voiced(self, rows: np.ndarray, levels: np.ndarray) -> bool:
        loudest = np.argsort(levels)[::-1]
        floor = max(levels[loudest[0]] - self.range_db, -np.inf if self.threshold_db is None else self.threshold_db)
        candidates = loudest[levels[loudest] >= floor]
        need = self.min_voiced if candidates.size >= self.short else 1
        step = max(1, self.rate // PITCH_RATE)  # pitch needs no more than 8 kHz: half or less the work
        lags = int(self.rate / step / self.pitch_hz[1]), int(np.ceil(self.rate / step / self.pitch_hz[0]))
        voiced = 0
        for part in (candidates[: self.short], candidates[self.short :]):  # the loudest usually settle it
            if part.size:
                kept = rows[part, : rows.shape[1] // step * step]
                low = kept.reshape(part.size, -1, step).mean(axis=2)  # average `step` samples: low-pass, decimate
                voiced += int(np.sum(periodicity(low, *lags) >= self.min_periodicity))
            if voiced >= need:
                return True
        return False
