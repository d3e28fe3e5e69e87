"""What every command line of LightSER shares (`lightser`, `lightser-bench`, and the training side's
`lightser-train`): one-line errors, an argparse that reports usage errors so, and C libraries kept quiet."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import Iterator, NoReturn


def error_line(error: object, prog: str = "lightser") -> str:
    """An error as one line, even when a file name holds a line break or other control
    characters (escaped as Python writes them)."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(error))
    return f"{prog}: error: {text}"


def report(error: object, prog: str = "lightser") -> None:
    """One line on stderr per error (see `error_line`)."""
    print(error_line(error, prog), file=sys.stderr, flush=True)


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error reported in one line like every other error (exit 2)."""

    def error(self, message: str) -> NoReturn:
        report(f"{message} (see {self.prog} --help)", self.prog.split()[0])
        raise SystemExit(2)


@contextlib.contextmanager
def quiet_c_libraries() -> Iterator[None]:
    """For the command, what C libraries write straight to file descriptor 2 (mpg123's notes on
    a damaged MP3, ...) goes to the null device, while Python's `sys.stderr`, which carries the
    one-line errors, moves to a copy of the real one (pass `stderr=sys.stderr` to child
    processes). Left alone when sys.stderr is not fd 2."""
    try:
        own = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        own = False
    if not own:
        yield
        return
    python_stderr = sys.stderr
    python_stderr.flush()
    kept, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    # Not closed after the block: loggers set up inside it (TensorFlow's, absl's) keep writing to it.
    sys.stderr = open(kept, "w", encoding=python_stderr.encoding, errors="backslashreplace", buffering=1)
    os.dup2(null, 2)
    os.close(null)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(kept, 2)
        sys.stderr = python_stderr
