"""Audio in, decoded and resampled: mono float32 blocks at the model's rate from any source
(`sources` opens files, `checks` checks arguments).

Everything is read in blocks, so an hour-long file never sits in memory whole.
The caller's array or file is never modified.
"""

from __future__ import annotations

import itertools
import os
from typing import Iterator

import numpy as np
import soundfile
import soxr

from .checks import (
    FLOATS,
    INT_SCALES,
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    check_array,
    check_finite,
    check_sample_rate,
    pcm,
)
from .errors import AudioError, InvalidArgumentError
from .sources import AudioSource, Guarded, describe, open_sound

BLOCK_SAMPLES = 240_000  # samples (all channels) decoded at a time: 5 s of 48 kHz mono, ~1 MB as float32
RESAMPLE_QUALITY = "HQ"  # soxr's, for every resampling
_INTEGER_SUBTYPES = ("PCM_", "ULAW", "ALAW")  # libsndfile subtypes of integer samples
_SHORT_SUBTYPES = ("PCM_S8", "PCM_U8", "PCM_16", "ULAW", "ALAW")  # at most 16 bits: int16 holds them exactly
_STEPS = {"int16": np.float32(2.0**-15), "int32": np.float32(2.0**-31)}  # full scale -> 1.0
SALVAGE_FRAMES = 1024  # frames per read when recovering what decodes before damage
_DECODE_ERRORS = (RuntimeError, ValueError)  # libsndfile's errors are RuntimeErrors
_PAGED_FORMATS = ("OGG",)  # formats libsndfile reads as nothing at all when the file is cut short


def _to_float(samples: np.ndarray, source: str) -> np.ndarray:
    """A float32 copy of `samples`, integers scaled to [-1, 1); rejects NaN/Inf."""
    native = samples.dtype.newbyteorder("=")  # big-endian int16 is int16 too
    if native in INT_SCALES:
        return (samples / INT_SCALES[native]).astype(np.float32)
    if native not in FLOATS:
        raise InvalidArgumentError(
            f"{source}: dtype {samples.dtype} not supported; use int16, int32, float32 or float64"
        )
    check_finite(samples, source)
    return samples.astype(np.float32)


def _channel_signs(samples: np.ndarray) -> np.ndarray | None:
    """+1 or -1 per channel of a (frames, channels) block: -1 for a channel in opposite phase to
    the first (correlation below -0.5, as from a microphone wired backwards), which averaging
    would cancel. None while the first channel is silent (nothing to compare with)."""
    x = samples.astype(np.float64)
    power = np.sum(x * x, axis=0)
    if power[0] == 0.0:
        return None
    correlation = (x[:, 0] @ x) / np.sqrt(power[0] * np.maximum(power, 1e-300))
    return np.where(correlation < -0.5, -1.0, 1.0)


def _mono(samples: np.ndarray, signs: np.ndarray | None) -> np.ndarray:
    """Average the channels of a (frames, channels) block, each times its sign (in float64:
    identical channels give back exactly the one channel)."""
    if samples.ndim == 1:
        return samples
    if samples.shape[1] == 1:
        return samples[:, 0]
    if signs is None or np.all(signs > 0):
        return samples.mean(axis=1, dtype=np.float64).astype(np.float32)
    return (samples @ signs / samples.shape[1]).astype(np.float32)


class Downmix:
    """Mono blocks of one stream: channels averaged, each times its sign, with the signs decided
    on the first block where the first channel sounds and kept for the rest of the stream (so
    the polarity never flips part-way)."""

    def __init__(self) -> None:
        self.signs: np.ndarray | None = None

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        if self.signs is None and samples.ndim == 2 and samples.shape[1] > 1:
            self.signs = _channel_signs(samples)
        return _mono(samples, self.signs)


def chunk_float(samples: np.ndarray, channels: int, name: str) -> np.ndarray:
    """A chunk of a live stream of `channels` channels as float32 (samples,) or (samples,
    channels), checked as arrays are for `predict`; its length may be anything, even 0 or 1."""
    if not isinstance(samples, np.ndarray) or isinstance(samples, np.ma.MaskedArray):
        raise InvalidArgumentError(f"{name}: got {type(samples).__name__}; pass a NumPy array, e.g. np.asarray(x), "
                                   "or raw PCM bytes to a listener made with dtype=")
    shape = (channels,) if samples.ndim == 1 else samples.shape[1:]
    if samples.ndim not in (1, 2) or shape != (channels,) or (channels > 1 and samples.ndim == 1):
        expected = "(samples,) or (samples, 1)" if channels == 1 else f"(samples, {channels})"
        raise InvalidArgumentError(f"{name}: shape {samples.shape}; expected {expected} for a stream of "
                                   f"{channels} channel(s) (the `channels` given to listen)")
    return _to_float(samples, name)


def _array_blocks(samples: np.ndarray, block: int, source: str) -> Iterator[np.ndarray]:
    check_array(samples, source)
    for start in range(0, samples.shape[0], block):
        yield _to_float(samples[start : start + block], source)


def _read_float(handle: soundfile.SoundFile, frames: int, integer: bool) -> np.ndarray:
    """Up to `frames` frames as float32 (frames, channels), full scale 1.0. Integer samples are
    read as integers and scaled here, to the same values libsndfile's float conversion gives
    (int to float32, times a power of two): 16-bit PCM then comes out in a sixth of the time."""
    if not integer:
        return handle.read(frames, dtype="float32", always_2d=True)
    dtype = "int16" if handle.subtype in _SHORT_SUBTYPES else "int32"
    return np.multiply(handle.read(frames, dtype=dtype, always_2d=True), _STEPS[dtype], dtype=np.float32)


def _salvaged(handle: soundfile.SoundFile, start: int, frames: int) -> np.ndarray:
    """Up to `frames` frames from `start`, as far as decoding goes (a truncated or damaged
    stream, as a cut FLAC), read again in small steps: a failed read gives back none of its
    frames. What lies past the damage is left unread."""
    pieces, read = [np.zeros((0, handle.channels), np.float32)], 0
    integer = handle.subtype.startswith(_INTEGER_SUBTYPES)
    try:
        handle.seek(start)
        while read < frames and (piece := _read_float(handle, min(SALVAGE_FRAMES, frames - read), integer)).shape[0]:
            pieces.append(piece)
            read += piece.shape[0]
    except _DECODE_ERRORS:
        pass
    return np.concatenate(pieces)


def _file_blocks(handle: soundfile.SoundFile, guard: Guarded | None, name: str) -> Iterator[np.ndarray]:
    """The decoded blocks. A decoding error after audio has come out ends the stream there, as
    the end of a truncated file does; one before any raises `AudioError`. The position is
    counted here, not asked of the handle: GSM 6.10, G.72x and NMS ADPCM files cannot tell it."""
    block = max(1, BLOCK_SAMPLES // handle.channels)
    integer = handle.subtype.startswith(_INTEGER_SUBTYPES)  # decodes within [-1, 1]: nothing to check
    decoded, damaged = 0, False
    with handle:
        while not damaged:
            try:
                samples = _read_float(handle, block, integer)
            except _DECODE_ERRORS as exc:
                samples, damaged = _salvaged(handle, decoded, block), True
                if not decoded and not samples.shape[0]:
                    raise AudioError(f"{name}: decoding failed ({exc})") from exc
            if guard is not None and guard.error is not None:
                raise AudioError(f"{name}: cannot read ({guard.error})") from guard.error
            if samples.shape[0] == 0:
                if not decoded and handle.format in _PAGED_FORMATS:
                    raise AudioError(f"{name}: no audio decoded from this {handle.format} file (empty, or cut "
                                     "short: libsndfile needs its last page)")
                return
            if not integer:
                check_finite(samples, name)
            decoded += samples.shape[0]
            yield samples


def _resampled(blocks: Iterator[np.ndarray], rate: float, target_rate: int) -> Iterator[np.ndarray]:
    """`blocks` at `target_rate`. A source of one block (a clip) takes one soxr call: the same
    samples as streaming it, without the stream's set-up."""
    if rate == target_rate:
        yield from blocks
        return
    first = next(blocks, None)
    second = None if first is None else next(blocks, None)
    if second is None:
        if first is not None:
            yield soxr.resample(first, rate, target_rate, quality=RESAMPLE_QUALITY)
        return
    stream = resample_stream(rate, target_rate)
    for block in itertools.chain((first, second), blocks):
        out = stream.resample_chunk(block)
        if out.size:
            yield out
    tail = stream.resample_chunk(np.zeros(0, np.float32), last=True)
    if tail.size:
        yield tail


def resample_stream(rate: float, target_rate: int) -> soxr.ResampleStream:
    """A soxr stream from `rate` to `target_rate` for mono float32 chunks, at RESAMPLE_QUALITY."""
    return soxr.ResampleStream(rate, target_rate, 1, dtype="float32", quality=RESAMPLE_QUALITY)


def _source_blocks(
    source: AudioSource, sample_rate: float | None, dtype: object = None
) -> tuple[float, Iterator[np.ndarray]]:
    """(source rate, mono float32 blocks at the source rate). Bytes with `dtype` are raw PCM."""
    name = describe(source)
    if dtype is not None:
        if not isinstance(source, (bytes, bytearray, memoryview)):
            raise InvalidArgumentError(f"{name}: dtype= is only for raw PCM bytes")
        if sample_rate is None:
            raise InvalidArgumentError(f"{name}: raw PCM bytes (dtype=) need sample_rate=")
        source = pcm(source, dtype, name)
    if isinstance(source, (list, tuple)):
        raise InvalidArgumentError(
            f"audio: got a {type(source).__name__}; pass a NumPy array, "
            "e.g. np.asarray(samples, dtype=np.float32)"
        )
    if isinstance(source, np.ma.MaskedArray):
        raise InvalidArgumentError(f"{name}: a masked array; pass x.filled(0) or the data you mean")
    if isinstance(source, np.ndarray):
        if sample_rate is None:
            raise InvalidArgumentError(f"{name}: sample_rate= is required for arrays")
        rate = check_sample_rate(sample_rate)
        channels = source.shape[1] if source.ndim == 2 else 1
        block = max(1, BLOCK_SAMPLES // max(1, channels))
        return rate, map(Downmix(), _array_blocks(source, block, name))
    if sample_rate is not None:
        if not isinstance(source, (str, os.PathLike, bytes, bytearray)) and not hasattr(source, "read"):
            raise InvalidArgumentError(
                f"audio: got {type(source).__name__} with sample_rate=; pass a NumPy array, e.g. np.asarray(x)"
            )
        if isinstance(source, (bytes, bytearray)):
            raise InvalidArgumentError(f"{name}: bytes with sample_rate= are raw PCM: pass dtype= too (e.g. "
                                       "'int16'); bytes of an audio file carry their own rate")
        raise InvalidArgumentError(f"{name}: sample_rate= is only for arrays; files carry their own")
    handle, guard = open_sound(source, name)
    if not MIN_SAMPLE_RATE <= handle.samplerate <= MAX_SAMPLE_RATE:
        handle.close()
        raise AudioError(
            f"{name}: sample rate {handle.samplerate} Hz is outside "
            f"{MIN_SAMPLE_RATE:g}..{MAX_SAMPLE_RATE:g} Hz"
        )
    return float(handle.samplerate), map(Downmix(), _file_blocks(handle, guard, name))


def stream(
    source: AudioSource, sample_rate: float | None, target_rate: int, dtype: object = None
) -> Iterator[np.ndarray]:
    """Mono float32 blocks of `source` (raw PCM bytes of `dtype` if given), resampled to `target_rate`."""
    rate, blocks = _source_blocks(source, sample_rate, dtype)
    return _resampled(blocks, rate, target_rate)


def read(source: AudioSource, sample_rate: float | None, target_rate: int) -> np.ndarray:
    """The whole of `source` as one mono float32 array at `target_rate` (for clips, not hours)."""
    blocks = list(stream(source, sample_rate, target_rate))
    if len(blocks) == 1:  # a clip: its one block is already an array of its own, never the caller's
        return blocks[0]
    return np.concatenate([np.zeros(0, np.float32), *blocks])
