"""Cut a stream of audio blocks into model windows, and tell speech windows from silence."""

from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np

from .errors import AudioTooShortError


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


def level_db(x: np.ndarray, frame: int) -> np.ndarray:
    """RMS level in dBFS of consecutive non-overlapping frames (one frame if x is shorter), each
    frame's mean removed first: a DC offset is not sound."""
    n_frames = max(1, x.shape[0] // frame)
    usable = x[: n_frames * frame] if x.shape[0] >= frame else x
    power = np.var(usable.reshape(n_frames, -1), axis=1, dtype=np.float64)
    return 10.0 * np.log10(power + 1e-20)


def is_speech(x: np.ndarray, threshold_db: float | None, frame: int) -> bool:
    """True unless the loudest 10 % of frames are all below `threshold_db` (None: always True)."""
    if threshold_db is None:
        return True
    return bool(np.percentile(level_db(x, frame), 90) >= threshold_db)
