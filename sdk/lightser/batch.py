"""Many inputs, one output each, in input order: in this process, or in a pool of worker
processes that each hold their own copy of the Recognizer (unpickled from its arguments)."""

from __future__ import annotations

import collections
import itertools
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, TypeVar

from .errors import InvalidArgumentError, LightSERError

if TYPE_CHECKING:
    from .recognizer import Recognizer

Item = TypeVar("Item")
Out = TypeVar("Out")
MAX_JOBS = 1024
CHUNK = 8  # items per message to a worker: fewer round trips for short clips, results still come soon
AHEAD = 2  # chunks in flight per worker: one being scored, one waiting
PARENT_CHECK_SECONDS = 1.0  # how often a worker looks whether the process that started it is still there

_recognizer: Recognizer | None = None  # a worker process's own


def check_jobs(jobs: object) -> int:
    """`jobs` as an int from 1 to MAX_JOBS, or `InvalidArgumentError`."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or not 1 <= jobs <= MAX_JOBS:
        raise InvalidArgumentError(f"jobs={jobs!r:.60}: expected an int from 1 to {MAX_JOBS}")
    return jobs


def _leave_with(parent: int) -> None:
    """End this worker once the process that started it is gone (killed, say), rather than
    wait for work for ever."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)


def _start_worker(pickled: bytes, parent: int) -> None:
    """A worker's own Recognizer, loaded afresh from its pickle (never the parent's interpreters,
    whose threads a forked process does not have)."""
    global _recognizer
    _recognizer = pickle.loads(pickled)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    threading.Thread(target=_leave_with, args=(parent,), daemon=True).start()


def _run_chunk(task: Callable[[Recognizer, Any], Out], chunk: list[Any]) -> list[Out]:
    assert _recognizer is not None, "set by _start_worker"
    return [task(_recognizer, item) for item in chunk]


def _chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def ordered(
    recognizer: Recognizer, task: Callable[[Recognizer, Item], Out], items: Iterable[Item], jobs: int
) -> Iterator[Out]:
    """`task(recognizer, item)` for each item, in order, in `jobs` processes (1: this one).
    `task` must be a module-level function; it should return errors as values: an exception it
    raises ends the iteration. Reads `items` only as far as the work in flight needs."""
    if jobs == 1:
        return (task(recognizer, item) for item in items)
    return _pooled(recognizer, task, items, jobs)


def _pooled(
    recognizer: Recognizer, task: Callable[[Recognizer, Item], Out], items: Iterable[Item], jobs: int
) -> Iterator[Out]:
    # Linux: fork, which starts a worker in milliseconds (spawn re-imports NumPy and the TFLite
    # runtime: about 0.3 s of CPU per worker); elsewhere spawn, as fork is unsafe on macOS.
    # Either way a worker's parent is this process, which it watches.
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker,
                               initargs=(pickle.dumps(recognizer), os.getpid()))
    chunks = _chunks(items, CHUNK)
    pending: collections.deque[tuple[Future[list[Out]], list[Item]]] = collections.deque(
        (pool.submit(_run_chunk, task, chunk), chunk) for chunk in itertools.islice(chunks, AHEAD * jobs))
    try:
        while pending:
            future, chunk = pending.popleft()
            done = _outcome(future, task, recognizer, chunk)
            pending.extend((pool.submit(_run_chunk, task, more), more) for more in itertools.islice(chunks, 1))
            yield from done
    except BrokenProcessPool as exc:
        raise LightSERError(f"a worker process ended unexpectedly ({exc}); rerun with jobs=1 to find the "
                            "input") from exc
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _outcome(
    future: Future[list[Out]], task: Callable[[Recognizer, Item], Out], recognizer: Recognizer, chunk: list[Item]
) -> list[Out]:
    """A chunk's outputs from its worker, or, where the chunk could not be sent to one (an open
    file object, a lambda: what pickle cannot copy), from this process."""
    try:
        return future.result()
    except (TypeError, AttributeError, pickle.PicklingError) as exc:
        if "pickle" not in str(exc):  # not the sending of the chunk: a bug, raised as it is
            raise
        return [task(recognizer, item) for item in chunk]
