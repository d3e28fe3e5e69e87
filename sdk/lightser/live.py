"""Live audio: chunks pushed as they arrive (a microphone callback) -> a Segment per window, as
soon as the window is complete."""

from __future__ import annotations

import numpy as np

from . import audio, checks
from .errors import InvalidArgumentError
from .results import Segment
from .scorer import WindowScorer


class Listener:
    """Classifies live audio window by window: the first `Segment` comes once a window's worth
    (3 s) has been pushed, then one every hop of the scorer's `WindowPlan` (1.5 s by default);
    `flush` ends a stream with the window that ends at its last sample. Holds about a window
    of audio. Not for sharing between threads: make one per stream. Made by `Recognizer.listen`,
    with the recognizer's `WindowScorer`."""

    def __init__(self, scorer: WindowScorer, sample_rate: float, channels: int, dtype: object = None) -> None:
        if isinstance(channels, bool) or not isinstance(channels, int) or not 1 <= channels <= 1024:
            raise InvalidArgumentError(f"channels={channels!r:.60}: expected an int from 1 to 1024")
        self._scorer, self._channels = scorer, channels
        self._dtype = None if dtype is None else checks.pcm(b"", dtype, "dtype").dtype
        self._rate = checks.check_sample_rate(sample_rate)
        self._plan = scorer.plan
        self._start()

    def _start(self) -> None:
        self._resampler = None if self._rate == self._plan.rate else audio.resample_stream(self._rate, self._plan.rate)
        self._downmix = audio.Downmix()
        self._cutter = self._plan.cutter()

    @property
    def seconds(self) -> float:
        """Seconds of this stream pushed so far (at the model's rate, after resampling)."""
        return self._cutter.total / self._plan.rate

    def __repr__(self) -> str:
        dtype = "" if self._dtype is None else f", dtype={str(self._dtype)!r}"
        return (f"Listener(sample_rate={self._rate:g}, channels={self._channels}{dtype}, seconds={self.seconds:.2f}, "
                f"model={self._scorer.model.metadata.name!r})")

    def push(self, chunk: np.ndarray | bytes | bytearray | memoryview) -> list[Segment]:
        """The windows `chunk` completes (often none): a NumPy array of any length, shape
        (samples,) for one channel or (samples, channels), int16, int32, float32 or float64,
        at the listener's rate; or raw PCM bytes of the `dtype` given to `listen`, channels
        interleaved. Channels are averaged, a channel in opposite phase to the
        first flipped, as for files. A chunk it cannot use raises `InvalidArgumentError` or
        `NonFiniteAudioError`, and the stream goes on as if it had not been pushed."""
        if isinstance(chunk, (bytes, bytearray, memoryview)):
            chunk = self._from_bytes(chunk)
        samples = self._downmix(audio.chunk_float(chunk, self._channels, "chunk"))
        return self._segments(self._cutter.feed(
            samples if self._resampler is None else self._resampler.resample_chunk(samples)))

    def _from_bytes(self, chunk: bytes | bytearray | memoryview) -> np.ndarray:
        """Raw PCM bytes as a (frames, channels) array of the listener's dtype."""
        if self._dtype is None:
            raise InvalidArgumentError("chunk: got bytes; make the listener with dtype= for raw PCM (e.g. "
                                       "listen(16000, dtype='int16')), or push np.frombuffer(chunk, np.int16)")
        samples = checks.pcm(chunk, self._dtype, "chunk")
        if samples.shape[0] % self._channels:
            raise InvalidArgumentError(f"chunk: {samples.shape[0]} samples are not whole frames of "
                                       f"{self._channels} interleaved channels")
        return samples.reshape(-1, self._channels)

    def flush(self) -> list[Segment]:
        """End the stream: the window that ends at its last sample, if the regular ones stopped
        short of it (as `predict_segments` ends a clip), or a shorter stream's only window;
        none for a stream under 0.25 s. The listener then starts afresh, times from 0."""
        cut = [] if self._resampler is None else self._cutter.feed(
            self._resampler.resample_chunk(np.zeros(0, np.float32), last=True))
        if self._cutter.total >= self._plan.minimum:
            cut += self._cutter.last()
        segments = self._segments(cut)
        self._start()
        return segments

    def _segments(self, cut: list[tuple[int, np.ndarray]]) -> list[Segment]:
        rate = self._plan.rate
        return [self._scorer.segment(start / rate, (start + window.shape[0]) / rate, window)
                for start, window in cut]
