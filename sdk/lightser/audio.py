"""Audio in: paths, file objects, bytes or NumPy arrays -> mono float32 blocks at the model's rate.

Everything is read in blocks, so an hour-long file never sits in memory whole.
The caller's array or file is never modified.
"""

from __future__ import annotations

import io
import itertools
import math
import numbers
import os
import select
import stat
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator, Union

import numpy as np
import soundfile
import soxr

from .errors import AudioError, InvalidArgumentError, NonFiniteAudioError

AudioSource = Union[str, os.PathLike, bytes, bytearray, BinaryIO, np.ndarray]

BLOCK_SAMPLES = 240_000  # samples (all channels) decoded at a time: 5 s of 48 kHz mono, ~1 MB as float32
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 1000.0, 1_000_000.0  # Hz; beyond them the resampler hangs or crashes
MIN_SPEED, MAX_SPEED = 0.5, 2.0  # playback speeds for `change_speed`
RESAMPLE_QUALITY = "HQ"  # soxr's, for every resampling
MAX_AMPLITUDE = 1e30  # float samples (full scale 1.0) above this would overflow float32 arithmetic
_INT_SCALES = {np.dtype(np.int16): 2.0**15, np.dtype(np.int32): 2.0**31}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_INTEGER_SUBTYPES = ("PCM_", "ULAW", "ALAW")  # libsndfile subtypes of integer samples
_SHORT_SUBTYPES = ("PCM_S8", "PCM_U8", "PCM_16", "ULAW", "ALAW")  # at most 16 bits: int16 holds them exactly
_STEPS = {"int16": np.float32(2.0**-15), "int32": np.float32(2.0**-31)}  # full scale -> 1.0
PIPE_WAIT_SECONDS = 10.0  # how long a named pipe may stay without a writer
SALVAGE_FRAMES = 1024  # frames per read when recovering what decodes before damage
_DECODE_ERRORS = (RuntimeError, ValueError)  # libsndfile's errors are RuntimeErrors


def describe(source: object) -> str:
    """A short name for `source` to put in error messages."""
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    if isinstance(source, np.ndarray):
        return f"<array {source.dtype} {source.shape}>"
    if isinstance(source, (bytes, bytearray)):
        return f"<{len(source)} bytes>"
    file_name = getattr(source, "name", None)
    return file_name if isinstance(file_name, str) else f"<{type(source).__name__}>"


def named_bytes(data: bytes, name: str | None) -> io.BytesIO:
    """A file's bytes as a file object that messages name `name` (as `describe` does)."""
    handle = io.BytesIO(data)
    if name is not None:
        handle.name = name  # type: ignore[attr-defined]  # BytesIO takes attributes
    return handle


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


def _check_finite(samples: np.ndarray, source: str) -> None:
    """Reject NaN, infinite, and overflow-prone (> MAX_AMPLITUDE) float samples."""
    peak = float(np.max(np.abs(samples), initial=0.0))
    if not math.isfinite(peak):
        raise NonFiniteAudioError(f"{source}: audio contains NaN or infinite samples")
    if peak > MAX_AMPLITUDE:
        raise NonFiniteAudioError(
            f"{source}: samples reach {peak:.3g}, beyond the {MAX_AMPLITUDE:g} that float32 processing "
            "can take (full scale is 1.0)"
        )


def _to_float(samples: np.ndarray, source: str) -> np.ndarray:
    """A float32 copy of `samples`, integers scaled to [-1, 1); rejects NaN/Inf."""
    native = samples.dtype.newbyteorder("=")  # big-endian int16 is int16 too
    if native in _INT_SCALES:
        return (samples / _INT_SCALES[native]).astype(np.float32)
    if native not in _FLOATS:
        raise InvalidArgumentError(
            f"{source}: dtype {samples.dtype} not supported; use int16, int32, float32 or float64"
        )
    _check_finite(samples, source)
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


def pcm(data: bytes | bytearray | memoryview, dtype: object, name: str) -> np.ndarray:
    """Raw PCM bytes as a 1-D array of samples of `dtype` (int16, int32, float32 or float64, in
    any byte order, e.g. "<i2"), without a copy."""
    try:
        kind = np.dtype(dtype)  # type: ignore[call-overload]
    except TypeError:
        kind = None
    if kind is None or (kind.newbyteorder("=") not in _INT_SCALES and kind.newbyteorder("=") not in _FLOATS):
        raise InvalidArgumentError(f"dtype={dtype!r:.60}: expected int16, int32, float32 or float64")
    size = memoryview(data).nbytes
    if size % kind.itemsize:
        raise InvalidArgumentError(f"{name}: {size} bytes are not a whole number of {kind} samples "
                                   f"({kind.itemsize} bytes each)")
    return np.frombuffer(data, kind)


def _check_array(samples: np.ndarray, source: str) -> None:
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
    _check_array(samples, source)
    for start in range(0, samples.shape[0], block):
        yield _to_float(samples[start : start + block], source)


class _Guarded:
    """The caller's file object as libsndfile's callbacks see it. Positions count from where the
    object stood (so audio is read from there) and are kept here; each read moves the object
    and puts it back where the caller had it, so between reads it is the caller's. Whatever the
    object raises is kept in `error` rather than raised inside the C decoder, which would print
    it and carry on; a seek to before the start leaves the position unmoved."""

    def __init__(self, handle: Any) -> None:
        self.handle, self.base, self.position = handle, handle.tell(), 0
        self.error: Exception | None = None

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_END:
            end = self._at(lambda: self.handle.seek(0, io.SEEK_END))
            if end is None:
                return self.position
            origin = end - self.base
        else:
            origin = self.position if whence == io.SEEK_CUR else 0
        if origin + offset >= 0:  # libsndfile asks for odd places in damaged headers
            self.position = origin + offset
        return self.position

    def read(self, size: int = -1) -> bytes:
        data = self._at(lambda: self.handle.read(size), self.base + self.position)
        if data is not None and not isinstance(data, (bytes, bytearray)):
            self.error, data = self.error or TypeError(f"read() gave {type(data).__name__}, not bytes"), None
        data = b"" if data is None else bytes(data)
        self.position += len(data)
        return data

    def _at(self, action: Callable[[], Any], position: int | None = None) -> Any:
        """`action()` with the object at `position` (None: where it is), then back where the
        caller had it; None if anything raised (kept in `error`)."""
        try:
            theirs = self.handle.tell()
            if position is not None:
                self.handle.seek(position)
            try:
                return action()
            finally:
                self.handle.seek(theirs)
        except Exception as exc:  # noqa: BLE001 - inside a C callback, anything raised is lost
            self.error = self.error or exc
            return None


def _seekable(handle: Any) -> bool:
    """Whether a file object can seek: its `seekable()` says, or, without one, having `seek`."""
    if not hasattr(handle, "seekable"):
        return hasattr(handle, "seek")
    try:
        return bool(handle.seekable())
    except (OSError, ValueError):
        return False


def _path(source: str | os.PathLike, name: str) -> bytes | str | io.BytesIO:
    """What libsndfile opens for a path: the name (as bytes where the system's names are), or
    a pipe's whole stream in memory (libsndfile needs to seek)."""
    if not os.fspath(source):
        raise InvalidArgumentError("audio: got an empty path")
    path = Path(source)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise AudioError(f"{name}: no such file") from None
    except (OSError, ValueError) as exc:  # a name too long or holding a NUL, a folder we may not enter, ...
        raise AudioError(f"{name!r}: cannot open ({getattr(exc, 'strerror', None) or exc})") from None
    if stat.S_ISDIR(mode):
        raise AudioError(f"{name}: is a directory, not an audio file")
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):  # a named pipe, <(...) or /dev/stdin from a pipe
        return io.BytesIO(_pipe_bytes(path, name))
    return os.fsencode(path) if os.name != "nt" else str(path)  # soundfile encodes str strictly


def _pipe_bytes(path: Path, name: str) -> bytes:
    """Everything a named pipe gives, waiting up to PIPE_WAIT_SECONDS for a writer to start
    (opening it blocking would wait for one for ever)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise AudioError(f"{name}: cannot read ({exc.strerror or exc})") from None
    with open(fd, "rb", buffering=0) as pipe:
        if not select.select([pipe], [], [], PIPE_WAIT_SECONDS)[0]:
            raise AudioError(f"{name}: nothing wrote to the pipe within {PIPE_WAIT_SECONDS:g} s")
        try:
            os.set_blocking(fd, True)
            data = pipe.read()
        except OSError as exc:
            raise AudioError(f"{name}: cannot read ({exc.strerror or exc})") from None
    if not data:
        raise AudioError(f"{name}: the pipe closed without giving any data")
    return data


def _file_object(source: Any, name: str) -> Any:
    """A binary, readable file object as libsndfile can take it; a stream that cannot seek (a
    pipe, socket or HTTP body) is read into memory, since libsndfile needs to seek."""
    if isinstance(source, io.TextIOBase):
        raise InvalidArgumentError(f"{name}: a text-mode file; open it in binary mode ('rb')")
    if getattr(source, "closed", False):
        raise InvalidArgumentError(f"{name}: the file object is closed")
    try:
        readable = source.readable() if hasattr(source, "readable") else True
    except (OSError, ValueError):
        readable = False
    if not readable:
        raise InvalidArgumentError(f"{name}: the file object is not open for reading; open it with 'rb'")
    try:
        if _seekable(source) and source.tell() >= 0:
            return source
    except Exception:  # noqa: BLE001 - claims to seek, but cannot tell where it is: read it whole
        pass
    try:
        data = source.read()
    except Exception as exc:  # noqa: BLE001 - the caller's object, whatever it raises
        raise AudioError(f"{name}: cannot read ({exc})") from exc
    if not isinstance(data, (bytes, bytearray)):
        raise AudioError(f"{name}: read() gave {type(data).__name__}, not bytes; open the file in binary mode")
    return io.BytesIO(data)


def _open(source: AudioSource, name: str) -> tuple[soundfile.SoundFile, _Guarded | None]:
    """libsndfile's handle on `source`, and the guard around it when it is a file object."""
    guard = None
    if isinstance(source, (str, os.PathLike)):
        opened: Any = _path(source, name)
        if isinstance(opened, io.BytesIO):
            guard = _Guarded(opened)
    elif isinstance(source, (bytes, bytearray)):
        guard = _Guarded(io.BytesIO(bytes(source)))
    elif not hasattr(source, "read"):
        raise InvalidArgumentError(
            f"audio: got {type(source).__name__}; expected a path, bytes, a binary file object "
            "or a NumPy array"
        )
    else:
        guard = _Guarded(_file_object(source, name))
    try:
        return soundfile.SoundFile(guard if guard is not None else opened), guard
    except (RuntimeError, TypeError, ValueError, OSError) as exc:  # RuntimeError: libsndfile's
        if guard is not None and guard.error is not None:  # the file object failed, not the data
            raise AudioError(f"{name}: cannot read ({guard.error})") from guard.error
        reason = getattr(exc, "error_string", None) or exc  # libsndfile's words, without our object's repr
        if guard is None and "does not exist" in str(reason):  # libsndfile's words for data it cannot parse
            reason = "unrecognised or damaged data"
        where = (f"; read from byte {guard.base}, where the file object stood: seek(0) first?"
                 if guard and guard.base else "")
        raise AudioError(f"{name}: not a readable audio file ({reason}{where})") from exc


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


def _file_blocks(handle: soundfile.SoundFile, guard: _Guarded | None, name: str) -> Iterator[np.ndarray]:
    """The decoded blocks. A decoding error after audio has come out ends the stream there, as
    the end of a truncated file does; one before any raises `AudioError`."""
    block = max(1, BLOCK_SAMPLES // handle.channels)
    integer = handle.subtype.startswith(_INTEGER_SUBTYPES)  # decodes within [-1, 1]: nothing to check
    decoded, damaged = 0, False
    with handle:
        while not damaged:
            start = handle.tell()
            try:
                samples = _read_float(handle, block, integer)
            except _DECODE_ERRORS as exc:
                samples, damaged = _salvaged(handle, start, block), True
                if not decoded and not samples.shape[0]:
                    raise AudioError(f"{name}: decoding failed ({exc})") from exc
            if guard is not None and guard.error is not None:
                raise AudioError(f"{name}: cannot read ({guard.error})") from guard.error
            if samples.shape[0] == 0:
                return
            if not integer:
                _check_finite(samples, name)
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
    stream = soxr.ResampleStream(rate, target_rate, 1, dtype="float32", quality=RESAMPLE_QUALITY)
    for block in itertools.chain((first, second), blocks):
        out = stream.resample_chunk(block)
        if out.size:
            yield out
    tail = stream.resample_chunk(np.zeros(0, np.float32), last=True)
    if tail.size:
        yield tail


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
    handle, guard = _open(source, name)
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
