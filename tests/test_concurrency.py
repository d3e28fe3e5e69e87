"""One Recognizer called from many threads gives exactly the serial answers, with no deadlock,
even when some calls fail."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from conftest import encode, voiced
from lightser import AudioError, InvalidArgumentError, LightSERError, NonFiniteAudioError, Recognizer

THREADS, CALLS = 8, 50
TIMEOUT = 300  # seconds for the whole pool: a deadlock fails instead of hanging


def _clips() -> list[tuple[object, float | None]]:
    """50 varied inputs: rates, lengths (0.5 to 3.5 s: one or two windows), channels, dtypes, files."""
    clips: list[tuple[object, float | None]] = []
    for i in range(CALLS):
        rate = (16000, 44100, 8000, 22050, 48000)[i % 5]
        x = voiced(0.5 + 0.06 * i, rate=rate, seed=i)
        kind = i % 4
        if kind == 0:
            clips.append((x, rate))
        elif kind == 1:
            clips.append((np.stack([x, 0.5 * x], axis=1), rate))
        elif kind == 2:
            clips.append((np.round(x * 32767).astype(np.int16), rate))
        else:
            clips.append((encode(x, rate), None))
    return clips


def _run_threads(work, n_threads: int = THREADS):
    """Run work(thread_index) in n threads that start together; their results in thread order."""
    barrier = threading.Barrier(n_threads)

    def start(index):
        barrier.wait(timeout=60)
        return work(index)

    with ThreadPoolExecutor(n_threads) as pool:
        futures = [pool.submit(start, i) for i in range(n_threads)]
        return [f.result(timeout=TIMEOUT) for f in futures]


@pytest.fixture(scope="module")
def clips():
    return _clips()


def test_eight_threads_times_fifty_predictions_equal_serial(recognizer, clips):
    serial = [recognizer.predict(c, sample_rate=r) for c, r in clips]

    def work(index):
        order = list(range(CALLS))
        random.Random(index).shuffle(order)  # each thread its own order, so different clips overlap
        return {i: recognizer.predict(clips[i][0], sample_rate=clips[i][1]) for i in order}

    for results in _run_threads(work):
        assert [results[i] for i in range(CALLS)] == serial
    assert recognizer.model._idle.qsize() <= THREADS + 1  # the interpreter pool stays bounded


def test_timelines_from_threads_equal_serial(recognizer, clips):
    chosen = clips[::10]
    serial = [recognizer.predict_segments(c, sample_rate=r) for c, r in chosen]
    results = _run_threads(lambda _: [recognizer.predict_segments(c, sample_rate=r) for c, r in chosen])
    assert all(r == serial for r in results)


BAD = [
    (np.full(16000, np.nan, np.float32), 16000, NonFiniteAudioError),
    (b"not audio at all", None, AudioError),
    (np.zeros((2, 16000), np.float32), 16000, InvalidArgumentError),
    (voiced(1.0), 10, InvalidArgumentError),
]


def test_failures_in_some_threads_do_not_disturb_the_others(recognizer, clips):
    good = clips[:5]
    serial = [recognizer.predict(c, sample_rate=r) for c, r in good]

    def work(index):
        out = []
        for round_ in range(5):
            if (index + round_) % 2:
                source, rate, error = BAD[(index + round_) % len(BAD)]
                with pytest.raises(error):
                    recognizer.predict(source, sample_rate=rate)
            else:
                out.append([recognizer.predict(c, sample_rate=r) for c, r in good])
        return out

    for results in _run_threads(work):
        assert all(r == serial for r in results)
    assert [recognizer.predict(c, sample_rate=r) for c, r in good] == serial


def test_an_exception_from_a_progress_callback_returns_the_interpreter(recognizer, clips):
    idle = recognizer.model._idle.qsize()

    def boom(seconds):
        raise KeyboardInterrupt  # what a Ctrl-C in a progress bar looks like

    def work(index):
        with pytest.raises(KeyboardInterrupt):
            recognizer.predict(voiced(7.0, seed=index), sample_rate=16000, progress=boom)
        return recognizer.predict(clips[0][0], sample_rate=clips[0][1])

    assert all(p == recognizer.predict(clips[0][0], sample_rate=clips[0][1]) for p in _run_threads(work))
    assert recognizer.model._idle.qsize() >= idle


def test_recognizers_built_in_threads_agree(clips):
    x, rate = clips[0]
    recognizers = _run_threads(lambda _: Recognizer(num_threads=1))
    answers = [r.predict(x, sample_rate=rate) for r in recognizers]
    assert all(a == answers[0] for a in answers)


def test_speaker_recognizers_share_the_model_across_threads(speaker_recognizer, clips):
    recognizer = speaker_recognizer
    mean, std = recognizer.speaker_stats([voiced(3.0, seed=s) for s in range(2)], sample_rate=16000, min_seconds=0)
    enrolled = recognizer.for_speaker(mean, std)
    chosen = clips[:6]
    serial = [(recognizer.predict(c, sample_rate=r), enrolled.predict(c, sample_rate=r)) for c, r in chosen]

    def work(index):
        return [(recognizer.predict(c, sample_rate=r), enrolled.predict(c, sample_rate=r)) for c, r in chosen]

    assert all(r == serial for r in _run_threads(work))


def test_every_thread_error_is_a_lightser_error():
    assert all(issubclass(error, LightSERError) for _, _, error in BAD)
