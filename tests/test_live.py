"""Live audio through `Recognizer.listen`: the same windows and scores as the whole recording."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import voiced
from lightser import InvalidArgumentError, NonFiniteAudioError

RATE = 16000


def _stream(listener, x: np.ndarray, chunk: int) -> list:
    segments = []
    for i in range(0, x.shape[0], chunk):
        segments += listener.push(x[i : i + chunk])
    return segments + listener.flush()


def _same(live: list, whole: list) -> None:
    times = [t for s in live for t in (s.start, s.end)]
    assert times == pytest.approx([t for s in whole for t in (s.start, s.end)])
    for a, b in zip(live, whole):
        assert (a.prediction is None) == (b.prediction is None)
        if a.prediction is not None:
            np.testing.assert_allclose(list(a.prediction.scores.values()), list(b.prediction.scores.values()),
                                       atol=1e-6)


def test_twenty_millisecond_chunks_give_the_timeline_of_the_whole(recognizer):
    x = (voiced(10.3) * 20000).astype(np.int16)
    live = _stream(recognizer.listen(RATE), x, 320)
    assert len(live) == 6 and live[-1].end == pytest.approx(10.3)  # five regular windows and the last one
    _same(live, recognizer.predict_segments(x, sample_rate=RATE))


def test_resampled_stereo_in_odd_chunks(recognizer):
    x = np.stack([voiced(7.0, rate=48000), voiced(7.0, rate=48000, seed=1)], axis=1)
    _same(_stream(recognizer.listen(48000, channels=2), x, 1234), recognizer.predict_segments(x, sample_rate=48000))


def test_a_channel_in_opposite_phase_is_flipped_as_for_files(recognizer):
    x = voiced(4.0)
    stereo = np.stack([x, -x], axis=1)
    live = _stream(recognizer.listen(RATE, channels=2), stereo, 1)  # one frame at a time, too
    assert all(s.is_speech for s in live)
    _same(live, recognizer.predict_segments(stereo, sample_rate=RATE))


def test_windows_come_as_soon_as_they_are_complete(recognizer):
    listener, x = recognizer.listen(RATE), voiced(6.0)
    assert listener.push(x[: 3 * RATE - 1]) == []
    first = listener.push(x[3 * RATE - 1 : 3 * RATE])
    assert [(s.start, s.end) for s in first] == [(0.0, 3.0)] and first[0].is_speech
    assert [s.start for s in listener.push(x[3 * RATE : 6 * RATE])] == [1.5, 3.0]
    assert listener.seconds == 6.0
    assert listener._cutter.buffer.shape[0] <= recognizer.recipe.window_samples  # about a window is held, never more


def test_short_streams_and_a_fresh_start_after_flush(recognizer):
    listener = recognizer.listen(RATE)
    assert listener.push(voiced(0.2)) == [] and listener.flush() == []  # under 0.25 s: no window
    short = voiced(1.25)
    live = listener.push(short) + listener.flush()
    _same(live, recognizer.predict_segments(short, sample_rate=RATE))
    assert listener.seconds == 0.0 and listener.flush() == []


def test_silence_is_a_window_without_prediction(recognizer):
    live = _stream(recognizer.listen(RATE), np.zeros(4 * RATE, np.int16), 800)
    assert [s.is_speech for s in live] == [False, False]


def test_a_bad_chunk_is_refused_and_the_stream_goes_on(recognizer):
    x = voiced(4.0)
    listener = recognizer.listen(RATE)
    listener.push(x[:RATE])
    bad = np.full(160, np.nan)
    with pytest.raises(NonFiniteAudioError):
        listener.push(bad)
    for chunk, message in (([0.0] * 160, "pass a NumPy array"), (np.zeros((2, 160)), "expected \\(samples,\\)"),
                           (np.zeros((160, 2)), "the `channels` given to listen"),
                           (np.zeros(160, np.int8), "dtype int8")):
        with pytest.raises(InvalidArgumentError, match=message):
            listener.push(chunk)
    live = listener.push(x[RATE:]) + listener.flush()
    _same(live, recognizer.predict_segments(x, sample_rate=RATE))


@pytest.mark.parametrize("rate", [0, -1, float("nan"), "16000", 10**400])
def test_bad_rates(recognizer, rate):
    with pytest.raises(InvalidArgumentError, match="sample_rate"):
        recognizer.listen(rate)


@pytest.mark.parametrize("channels", [0, -2, 2.0, True, "2", 5000])
def test_bad_channel_counts(recognizer, channels):
    with pytest.raises(InvalidArgumentError, match="channels"):
        recognizer.listen(RATE, channels)
