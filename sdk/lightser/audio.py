"""Audio in: paths, file objects, bytes or NumPy arrays -> mono float32 blocks at the model's rate.

Everything is read in blocks, so an hour-long file never sits in memory whole.
The caller's array or file is never modified.
"""

from __future__ import annotations

import io
import math
import numbers
import os
from pathlib import Path
from typing import BinaryIO, Iterator, Union

import numpy as np
import soundfile
import soxr

from .errors import AudioError, InvalidArgumentError, NonFiniteAudioError

AudioSource = Union[str, os.PathLike, bytes, bytearray, BinaryIO, np.ndarray]

BLOCK_SECONDS = 10.0
_INT_SCALES = {np.dtype(np.int16): 2.0**15, np.dtype(np.int32): 2.0**31}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def describe(source: object) -> str:
    """A short name for `source` to put in error messages."""
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    if isinstance(source, np.ndarray):
        return f"<array {source.dtype} {source.shape}>"
    if isinstance(source, (bytes, bytearray)):
        return f"<{len(source)} bytes>"
    return f"<{type(source).__name__}>"


def check_sample_rate(sample_rate: object, name: str = "sample_rate") -> float:
    """`sample_rate` as a positive finite float, or an `InvalidArgumentError`."""
    if (
        isinstance(sample_rate, bool)
        or not isinstance(sample_rate, numbers.Real)
        or not math.isfinite(float(sample_rate))
        or float(sample_rate) <= 0
    ):
        raise InvalidArgumentError(f"{name}={sample_rate!r}: expected a positive number of Hz")
    return float(sample_rate)


def _to_float(samples: np.ndarray, source: str) -> np.ndarray:
    """A float32 copy of `samples`, integers scaled to [-1, 1); rejects NaN/Inf."""
    if samples.dtype in _INT_SCALES:
        return (samples / _INT_SCALES[samples.dtype]).astype(np.float32)
    if samples.dtype not in _FLOATS:
        raise InvalidArgumentError(
            f"{source}: dtype {samples.dtype} not supported; use int16, int32, float32 or float64"
        )
    if not np.isfinite(samples).all():
        raise NonFiniteAudioError(f"{source}: audio contains NaN or infinite samples")
    return samples.astype(np.float32)


def _mono(samples: np.ndarray) -> np.ndarray:
    """Average the channels of a (frames, channels) block."""
    return samples.mean(axis=1, dtype=np.float32) if samples.ndim == 2 else samples


def _check_array(samples: np.ndarray, source: str) -> None:
    if samples.ndim not in (1, 2):
        raise InvalidArgumentError(
            f"{source}: expected shape (samples,) or (samples, channels), got {samples.ndim}-D"
        )
    if samples.ndim == 2 and samples.shape[1] > samples.shape[0]:
        raise InvalidArgumentError(
            f"{source}: shape {samples.shape} looks channels-first; "
            "expected (samples, channels): pass the array transposed"
        )


def _array_blocks(samples: np.ndarray, block: int, source: str) -> Iterator[np.ndarray]:
    _check_array(samples, source)
    for start in range(0, samples.shape[0], block):
        yield _mono(_to_float(samples[start : start + block], source))


def _open(source: AudioSource, name: str) -> soundfile.SoundFile:
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            raise AudioError(f"{name}: is a directory, not an audio file")
        if not path.exists():
            raise AudioError(f"{name}: no such file")
    elif isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(bytes(source))
    elif not hasattr(source, "read"):
        raise InvalidArgumentError(
            f"audio: got {type(source).__name__}; expected a path, bytes, a binary file object "
            "or a NumPy array"
        )
    try:
        return soundfile.SoundFile(source)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError, OSError) as exc:
        raise AudioError(f"{name}: not a readable audio file ({exc})") from exc


def _file_blocks(handle: soundfile.SoundFile, block_seconds: float, name: str) -> Iterator[np.ndarray]:
    block = max(1, int(block_seconds * handle.samplerate))
    with handle:
        while True:
            try:
                samples = handle.read(block, dtype="float32", always_2d=True)
            except (soundfile.LibsndfileError, RuntimeError, ValueError) as exc:
                raise AudioError(f"{name}: decoding failed ({exc})") from exc
            if samples.shape[0] == 0:
                return
            if not np.isfinite(samples).all():
                raise NonFiniteAudioError(f"{name}: audio contains NaN or infinite samples")
            yield _mono(samples)


def _resampled(blocks: Iterator[np.ndarray], rate: float, target_rate: int) -> Iterator[np.ndarray]:
    if rate == target_rate:
        yield from blocks
        return
    stream = soxr.ResampleStream(rate, target_rate, 1, dtype="float32", quality="HQ")
    for block in blocks:
        out = stream.resample_chunk(block)
        if out.size:
            yield out
    tail = stream.resample_chunk(np.zeros(0, np.float32), last=True)
    if tail.size:
        yield tail


def _source_blocks(
    source: AudioSource, sample_rate: float | None
) -> tuple[float, float | None, Iterator[np.ndarray]]:
    """(source rate, duration in seconds if known, mono float32 blocks at the source rate)."""
    name = describe(source)
    if isinstance(source, list):
        raise InvalidArgumentError(
            "audio: got a list; pass a NumPy array, e.g. np.asarray(samples, dtype=np.float32)"
        )
    if isinstance(source, np.ndarray):
        if sample_rate is None:
            raise InvalidArgumentError(f"{name}: sample_rate= is required for arrays")
        rate = check_sample_rate(sample_rate)
        block = max(1, int(BLOCK_SECONDS * rate))
        return rate, source.shape[0] / rate if source.ndim else None, _array_blocks(source, block, name)
    if sample_rate is not None:
        raise InvalidArgumentError(f"{name}: sample_rate= is only for arrays; files carry their own")
    handle = _open(source, name)
    if handle.samplerate <= 0:
        handle.close()
        raise AudioError(f"{name}: invalid sample rate {handle.samplerate}")
    duration = handle.frames / handle.samplerate if handle.frames > 0 else None
    return float(handle.samplerate), duration, _file_blocks(handle, BLOCK_SECONDS, name)


def stream(
    source: AudioSource, sample_rate: float | None, target_rate: int
) -> tuple[float | None, Iterator[np.ndarray]]:
    """(duration if known, mono float32 blocks of `source` resampled to `target_rate`)."""
    rate, duration, blocks = _source_blocks(source, sample_rate)
    return duration, _resampled(blocks, rate, target_rate)
