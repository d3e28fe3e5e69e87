"""Live audio: chunks pushed as they arrive (a microphone callback) -> a Segment per window, as
soon as the window is complete."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import soxr

from . import audio
from .errors import InvalidArgumentError
from .results import Segment

if TYPE_CHECKING:
    from .recognizer import Recognizer


class Listener:
    """Classifies live audio window by window: the first `Segment` comes once a window's worth
    (3 s) has been pushed, then one every `hop_seconds` of the recognizer (1.5 s by default);
    `flush` ends a stream with the window that ends at its last sample. Holds about a window
    of audio. Not for sharing between threads: make one per stream."""

    def __init__(self, recognizer: Recognizer, sample_rate: float, channels: int, minimum_seconds: float) -> None:
        if isinstance(channels, bool) or not isinstance(channels, int) or not 1 <= channels <= 1024:
            raise InvalidArgumentError(f"channels={channels!r:.60}: expected an int from 1 to 1024")
        self._recognizer, self._channels = recognizer, channels
        self._rate = audio.check_sample_rate(sample_rate)
        self._model_rate = recognizer.recipe.sample_rate
        self._length = recognizer.recipe.window_samples
        self._hop = int(round(recognizer.hop_seconds * self._model_rate))
        self._minimum = int(round(minimum_seconds * self._model_rate))
        self._start()

    def _start(self) -> None:
        self._resampler = (None if self._rate == self._model_rate else soxr.ResampleStream(
            self._rate, self._model_rate, 1, dtype="float32", quality=audio.RESAMPLE_QUALITY))
        self._downmix = audio.Downmix()
        self._buffer = np.zeros(0, np.float32)
        self._offset = 0  # model-rate sample index of _buffer[0]
        self._next = 0  # where the next regular window starts
        self._covered = 0  # where the last window so far ends

    @property
    def seconds(self) -> float:
        """Seconds of this stream pushed so far (at the model's rate, after resampling)."""
        return (self._offset + self._buffer.shape[0]) / self._model_rate

    def push(self, chunk: np.ndarray) -> list[Segment]:
        """The windows `chunk` completes (often none): a NumPy array of any length, shape
        (samples,) for one channel or (samples, channels), int16, int32, float32 or float64,
        at the listener's rate. Channels are averaged, a channel in opposite phase to the
        first flipped, as for files. A chunk it cannot use raises `InvalidArgumentError` or
        `NonFiniteAudioError`, and the stream goes on as if it had not been pushed."""
        samples = self._downmix(audio.chunk_float(chunk, self._channels, "chunk"))
        return self._take(samples if self._resampler is None else self._resampler.resample_chunk(samples))

    def flush(self) -> list[Segment]:
        """End the stream: the window that ends at its last sample, if the regular ones stopped
        short of it (as `predict_segments` ends a clip), or a shorter stream's only window;
        none for a stream under 0.25 s. The listener then starts afresh, times from 0."""
        segments = [] if self._resampler is None else self._take(self._resampler.resample_chunk(
            np.zeros(0, np.float32), last=True))
        total = self._offset + self._buffer.shape[0]
        if total >= self._minimum and self._covered < total:
            window = self._buffer if self._covered == 0 else self._buffer[-self._length :]
            segments.append(self._segment(total - window.shape[0], window))
        self._start()
        return segments

    def _take(self, samples: np.ndarray) -> list[Segment]:
        """Append model-rate samples; classify every regular window now complete."""
        self._buffer = np.concatenate([self._buffer, samples])
        total = self._offset + self._buffer.shape[0]
        segments = []
        while self._next + self._length <= total:
            begin = self._next - self._offset
            segments.append(self._segment(self._next, self._buffer[begin : begin + self._length]))
            self._next += self._hop
        keep_from = min(self._next, total - self._length)  # a window's worth stays, for `flush`
        if keep_from > self._offset:
            self._buffer, self._offset = self._buffer[keep_from - self._offset :], keep_from
        return segments

    def _segment(self, start: int, window: np.ndarray) -> Segment:
        self._covered = start + window.shape[0]
        rate = self._model_rate
        return Segment(start / rate, self._covered / rate, self._recognizer._prediction(window))
