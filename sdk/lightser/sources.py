"""Where audio comes from: paths, named pipes, bytes and the caller's file objects, opened for
libsndfile without moving or losing what the caller holds."""

from __future__ import annotations

import io
import os
import select
import stat
from pathlib import Path
from typing import Any, BinaryIO, Callable, Union

import numpy as np
import soundfile

from .errors import AudioError, InvalidArgumentError

AudioSource = Union[str, os.PathLike, bytes, bytearray, BinaryIO, np.ndarray]

PIPE_WAIT_SECONDS = 10.0  # how long a named pipe may stay without a writer


def describe(source: object) -> str:
    """A short name for `source` to put in error messages."""
    if isinstance(source, (str, os.PathLike)):
        try:
            return os.fsdecode(source)  # a PathLike's path, not its repr
        except TypeError:  # a PathLike whose __fspath__ gives neither str nor bytes
            return f"<{type(source).__name__}>"
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


class Guarded:
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


def seekable(handle: Any) -> bool:
    """Whether a file object can seek: its `seekable()` says, or, without one, having `seek`."""
    if not hasattr(handle, "seekable"):
        return hasattr(handle, "seek")
    try:
        return bool(handle.seekable())
    except (OSError, ValueError):
        return False


def path_source(source: str | os.PathLike, name: str) -> bytes | str | io.BytesIO:
    """What libsndfile opens for a path: the name (as bytes where the system's names are), or
    a pipe's whole stream in memory (libsndfile needs to seek)."""
    if not os.fspath(source):
        raise InvalidArgumentError("audio: got an empty path")
    path = Path(source)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise AudioError(f"{name}: no such file") from None
    except (OSError, ValueError) as exc:  # a name too long or holding a NUL, a folder we may not enter, ...
        raise AudioError(f"{name}: cannot open ({getattr(exc, 'strerror', None) or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise AudioError(f"{name}: is a directory, not an audio file")
    if stat.S_ISREG(info.st_mode) and info.st_size == 0:
        raise AudioError(f"{name}: not a readable audio file (empty: 0 bytes)")
    if stat.S_ISFIFO(info.st_mode) or stat.S_ISSOCK(info.st_mode):  # a named pipe, <(...) or /dev/stdin from a pipe
        return io.BytesIO(pipe_bytes(path, name))
    return os.fsencode(path) if os.name != "nt" else str(path)  # soundfile encodes str strictly


def pipe_bytes(path: Path, name: str) -> bytes:
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


def file_object(source: Any, name: str) -> Any:
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
        if seekable(source) and source.tell() >= 0:
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


def open_sound(source: AudioSource, name: str) -> tuple[soundfile.SoundFile, Guarded | None]:
    """libsndfile's handle on `source`, and the guard around it when it is a file object."""
    guard = None
    if isinstance(source, (str, os.PathLike)):
        opened: Any = path_source(source, name)
        if isinstance(opened, io.BytesIO):
            guard = Guarded(opened)
    elif isinstance(source, (bytes, bytearray)):
        if not source:
            raise AudioError(f"{name}: not a readable audio file (empty: 0 bytes)")
        guard = Guarded(io.BytesIO(bytes(source)))
    elif not hasattr(source, "read"):
        raise InvalidArgumentError(
            f"audio: got {type(source).__name__}; expected a path, bytes, a binary file object "
            "or a NumPy array"
        )
    else:
        guard = Guarded(file_object(source, name))
    try:
        return soundfile.SoundFile(guard if guard is not None else opened), guard
    except (RuntimeError, TypeError, ValueError, OSError) as exc:  # RuntimeError: libsndfile's
        if guard is not None and guard.error is not None:  # the file object failed, not the data
            raise AudioError(f"{name}: cannot read ({guard.error})") from guard.error
        reason = getattr(exc, "error_string", None) or exc  # libsndfile's words, without our object's repr
        if guard is None and "does not exist" in str(reason):  # libsndfile's words for data it cannot parse
            reason = "unrecognised or damaged data"
        if guard is not None and guard.seek(0, io.SEEK_END) == 0:  # nothing from where the object stood
            reason = "empty: 0 bytes"
        where = (f"; read from byte {guard.base}, where the file object stood: seek(0) first?"
                 if guard and guard.base else "")
        raise AudioError(f"{name}: not a readable audio file ({reason}{where})") from exc
