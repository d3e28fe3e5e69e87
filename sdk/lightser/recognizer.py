"""`Recognizer`: audio in, emotion out. The one class most users need."""

from __future__ import annotations

import copy
import math
import os
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from . import audio, batch, checks, features, sources, speed, windows
from .errors import AudioTooShortError, InvalidArgumentError, LightSERError, NoSpeechError
from .live import Listener
from .model import Model, bundled_models
from .results import Prediction, Result, Segment
from .scorer import WindowScorer

# ~55 s of enrolment about matched the default model, less fell below (reports/enrolment-amount/enrolment-amount.md)
MIN_ENROL_SECONDS = 60.0


class Recognizer:
    """Speech emotion recognition with a Light-SERNet TFLite model.

    model: path to a `.tflite` file with its `.json` metadata beside it (default: the
        bundled EMO-DB int8 model).
    backend: "auto", "ai-edge-litert", "tflite-runtime" or "tensorflow".
    num_threads: interpreter threads per call (None: the backend's default).
    hop_seconds: step between windows of audio longer than one window (default: half a window).
    silence_db: None (the default): no level is asked for, so quiet speech from a far or
        low-gain microphone is classified as loud speech is; only digital silence (windows
        whose loudest 10 % of 64 ms frames stay below -90 dBFS) is skipped. A number: also
        skip windows whose loudest 10 % of 64 ms frames stay below this RMS level (dBFS
        around each frame's mean; full scale = 1.0, or the integer type's range).
    voicing: also skip windows without a voice, judged against the window itself, not its
        loudness: fewer than two of their louder 64 ms frames (one, in a clip under 0.5 s)
        repeat with a pitch of 60-400 Hz (more weakly where the window rises 20 dB above its
        own floor, as syllables do), frames of one or two pure tones do not count, and a
        pitch fixed to the sample is a hum's. Noise, rumble, hum, tones and clicks are
        skipped; whispered speech has no pitch either: pass False to classify such windows
        (docs/speech-gate.md).
    speeds: test-time speed averaging: each window is played at each of these speeds and
        the scores averaged. The default, (1.0,), classifies it as it is. The bundled
        models trained at 0.9, 1.0 and 1.1; (0.9, 1.0, 1.1) scored 0.2-1.3 points more UA
        for the studio model "emodb-int8", at about 3 times the cost, and 0.3 points less
        for the default model. `speaker_stats` and `for_speaker`
        raise `InvalidArgumentError` unless speeds is (1.0,): enrolment statistics
        describe the voice as recorded, not sped up.

    The settings are fixed once made (the attributes are read-only): for others, make another
    Recognizer. One Recognizer serves any number of threads.
    """

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        backend: str = "auto",
        num_threads: int | None = None,
        hop_seconds: float | None = None,
        silence_db: float | None = None,
        voicing: bool = True,
        speeds: Sequence[float] = (1.0,),
    ) -> None:
        self.model = Model(model, backend=backend, num_threads=num_threads)
        self.recipe = self.model.metadata.recipe
        window, one_sample = self.recipe.window_seconds, 1.0 / self.recipe.sample_rate
        hop = checks.finite(window / 2 if hop_seconds is None else hop_seconds)
        if hop is None or not one_sample <= hop <= window:
            raise InvalidArgumentError(
                f"hop_seconds={hop_seconds!r:.60}: expected one sample ({one_sample:g}) <= hop <= {window}"
            )
        level = None if silence_db is None else checks.finite(silence_db)
        if silence_db is not None and level is None:
            raise InvalidArgumentError(f"silence_db={silence_db!r:.60}: expected a finite number or None")
        if not isinstance(voicing, (bool, np.bool_)):
            raise InvalidArgumentError(f"voicing={voicing!r}: expected True or False")
        self.hop_seconds = hop
        self.silence_db = level
        self.voicing = bool(voicing)
        self.plan = windows.WindowPlan.of(self.recipe.sample_rate, self.recipe.window_samples, hop)
        self.gate = windows.SpeechGate(self.plan.rate, self.plan.frame, self.silence_db, self.voicing)
        self.speeds = speed.check_speeds(speeds)
        self._arguments = dict(model=model, backend=backend, num_threads=num_threads, hop_seconds=hop_seconds,
                               silence_db=silence_db, voicing=voicing, speeds=speeds)
        self._fixed = True

    def __repr__(self) -> str:
        meta = self.model.metadata
        return (f"Recognizer(model={meta.name!r}, labels={list(self.labels)}, backend={self.model.backend.name!r}, "
                f"silence_db={self.silence_db}, voicing={self.voicing}, speeds={self.speeds}, "
                f"normalisation={self.recipe.normalisation!r})")

    def __copy__(self) -> Recognizer:
        """A shallow copy, sharing the loaded model (pickling loads it again)."""
        clone = object.__new__(Recognizer)
        clone.__dict__.update(self.__dict__)
        return clone

    def __reduce__(self) -> tuple[Callable[..., Recognizer], tuple[dict[str, object], features.FeatureRecipe]]:
        """Pickled as its arguments and feature recipe (with a speaker's statistics, if any): the
        copy loads the model again, e.g. in a worker process."""
        return _restore, (self._arguments, self.recipe)

    def __setattr__(self, name: str, value: object) -> None:
        if getattr(self, "_fixed", False):
            raise AttributeError(f"Recognizer.{name} is fixed once made; make another Recognizer for other settings")
        object.__setattr__(self, name, value)

    @property
    def labels(self) -> tuple[str, ...]:
        """Class names, in the order of every score vector."""
        return self.model.labels

    def _windows(
        self,
        source: sources.AudioSource,
        sample_rate: float | None,
        progress: Callable[[float], None] | None,
        dtype: object = None,
    ) -> Iterator[tuple[float, float, np.ndarray]]:
        """(start s, end s, samples) of each window. `source` is opened and checked at the call,
        so a bad one raises here rather than at the first window."""
        if progress is not None and not callable(progress):
            raise InvalidArgumentError(f"progress={progress!r}: expected a function of the seconds read, or None")
        blocks = audio.stream(source, sample_rate, self.plan.rate, dtype)
        return self._timed(windows.sliding(blocks, self.plan, sources.describe(source)), progress)

    def _timed(
        self, cut: Iterator[tuple[int, np.ndarray]], progress: Callable[[float], None] | None
    ) -> Iterator[tuple[float, float, np.ndarray]]:
        rate = self.plan.rate
        for start, samples in cut:
            end = (start + samples.shape[0]) / rate
            if progress is not None:
                progress(end)
            yield start / rate, end, samples

    @property
    def scorer(self) -> WindowScorer:
        """What scores one window (samples at the model's rate) with this recognizer's model, feature
        recipe, speech gate and speeds."""
        return WindowScorer(self.model, self.recipe, self.plan, self.gate, self.speeds)

    def iter_segments(
        self,
        source: sources.AudioSource,
        sample_rate: float | None = None,
        *,
        dtype: object = None,
        progress: Callable[[float], None] | None = None,
    ) -> Iterator[Segment]:
        """One `Segment` per window, each as the audio is read (constant memory). A source that
        cannot be read raises at the call, before the first window."""
        cut, scorer = self._windows(source, sample_rate, progress, dtype), self.scorer
        return (scorer.segment(start, end, samples) for start, end, samples in cut)

    def listen(self, sample_rate: float, channels: int = 1, dtype: object = None) -> Listener:
        """A `Listener` for live audio of `channels` channels at `sample_rate`: push chunks as
        they arrive (from a microphone callback), get a `Segment` for each window as soon as it
        is complete, the same windows and scores as `predict_segments` gives for the whole
        recording. dtype: the sample type of chunks pushed as raw PCM bytes (interleaved
        channels), e.g. "int16"; arrays carry their own."""
        return Listener(self.scorer, sample_rate, channels, dtype)

    def predict_segments(
        self,
        source: sources.AudioSource,
        sample_rate: float | None = None,
        *,
        dtype: object = None,
        progress: Callable[[float], None] | None = None,
    ) -> list[Segment]:
        """The timeline: one `Segment` per window; silent windows have no prediction.

        progress: called as each window is read, before it is classified, with the seconds
            of audio read so far.
        """
        return list(self.iter_segments(source, sample_rate, dtype=dtype, progress=progress))

    def predict(
        self,
        source: sources.AudioSource,
        sample_rate: float | None = None,
        *,
        dtype: object = None,
        progress: Callable[[float], None] | None = None,
    ) -> Prediction:
        """The emotion of a whole clip: scores averaged over its speech windows, each weighted by
        the share of its 64 ms frames within 30 dB of its loudest (so a window where speech
        starts after a long silence counts for little).

        source: a path or binary file object (anything libsndfile reads: WAV, FLAC, OGG,
            MP3, ...; a file object is read from its position and put back there),
            bytes of such a file, a NumPy array (int16, int32, float32, float64;
            shape (samples,) or (samples, channels)) with `sample_rate` (1 kHz to 1 MHz),
            or raw mono PCM bytes with `sample_rate` and `dtype` (e.g. "int16", "<f4").
        Raises a `LightSERError` subclass naming the input and the problem.
        """
        total, weights, refusals, scorer = np.zeros(len(self.labels)), 0.0, set(), self.scorer
        for _, _, samples in self._windows(source, sample_rate, progress, dtype):
            refusal, weight = scorer.judge(samples)
            if refusal is None:
                total, weights = total + weight * scorer.scores(samples), weights + weight
            else:
                refusals.add(refusal)
        if weights == 0.0:
            raise NoSpeechError(f"{sources.describe(source)}: no speech found ({self._refusal_text(refusals)})")
        return Prediction.from_probabilities(self.labels, total / weights)

    def predict_many(
        self,
        sources: Iterable[sources.AudioSource],
        sample_rate: float | None = None,
        *,
        dtype: object = None,
        jobs: int = 1,
    ) -> Iterator[Result]:
        """`predict` on each source, lazily, as a `Result` per source in input order: its
        prediction, or the `LightSERError` that stopped it as a value (`status` "no-speech" or
        "error"), so one bad file does not end a batch. `sample_rate`/`dtype` apply to every source.

        jobs: processes to score in (1: this one). Each worker process loads its own copy of
            this recognizer; sources travel to it pickled (paths are cheap, arrays are copied).
            As with any process pool, a script calling this with jobs > 1 should guard its
            top level with `if __name__ == "__main__":`.
        """
        workers = batch.check_jobs(jobs)
        if isinstance(sources, (str, os.PathLike, bytes, bytearray, np.ndarray)) or not isinstance(sources, Iterable):
            raise InvalidArgumentError(f"predict_many: got {type(sources).__name__}; expected an iterable of "
                                       "sources (for one, use predict)")
        items = ((index, source, sample_rate, dtype) for index, source in enumerate(sources))
        return batch.ordered(self, _result, items, workers)

    def _refusal_text(self, refusals: set[str]) -> str:
        """Why the speech gate turned every window away, and the switches that let them through."""
        switches_of = {"quiet": "silence_db=None", "silent": "voicing=False", "unvoiced": "voicing=False"}
        chosen = [(windows.refusal_text(r, self.silence_db), switch) for r, switch in switches_of.items()
                  if r in refusals]
        switches = dict.fromkeys(c[1] for c in chosen)  # in order, once each
        what = " or ".join(c[0] for c in chosen)
        return f"every window is {what}; to classify it anyway pass {' and '.join(switches)}"

    def speaker_stats(
        self,
        clips: sources.AudioSource | Iterable[sources.AudioSource],
        sample_rate: float | None = None,
        *,
        min_seconds: float = MIN_ENROL_SECONDS,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-coefficient feature mean/std over the speech windows of one speaker's clips (a
        list of paths, arrays, ... as `predict` takes, or a single one).

        No labels are needed, but the speech should be plenty and span the speaker's moods:
        in the evaluation (reports/enrolment-amount/enrolment-amount.md), under a minute scored below the
        default model, which needs no enrolment, and neutral speech only below no enrolment
        at all. min_seconds: the least audio in speech windows accepted; less raises
        `AudioTooShortError`. Only for recognizers that `for_speaker` accepts.
        """
        self._check_enrolment("speaker_stats")
        if isinstance(clips, (str, os.PathLike, bytes, bytearray, np.ndarray)) or hasattr(clips, "read"):
            clips = [clips]  # one clip, not an iterable of them
        elif not isinstance(clips, Iterable):
            raise InvalidArgumentError(f"speaker_stats: got {type(clips).__name__}; expected a list of clips")
        least = checks.finite(min_seconds)
        if least is None or least < 0:
            raise InvalidArgumentError(f"min_seconds={min_seconds!r:.60}: expected a finite number >= 0")
        mats, seconds, refusals, given = [], 0.0, set(), 0
        for clip in clips:
            covered, given = 0.0, given + 1
            for start, end, samples in self._windows(clip, sample_rate, None):
                refusal = self.gate.refusal(samples)
                if refusal is None:
                    mats.append(features.unstandardised(samples, self.recipe))
                    seconds += end - max(start, covered)
                    covered = end
                else:
                    refusals.add(refusal)
        if not given:
            raise InvalidArgumentError("speaker_stats: no clips given")
        if not mats:
            raise NoSpeechError(f"speaker_stats: the clips hold no speech ({self._refusal_text(refusals)})")
        if seconds < least:
            raise AudioTooShortError(
                f"speaker_stats: {math.floor(seconds * 10) / 10:.1f} s of audio in speech windows; enrolment "
                f"needs at least {least:g} s "
                "(with less it scored below the default model, which needs none); "
                "pass a smaller min_seconds= to accept less"
            )
        return features.frame_stats(np.stack(mats))

    def for_speaker(self, mean: np.ndarray, std: np.ndarray) -> Recognizer:
        """A Recognizer sharing this one's model that standardises with one speaker's statistics.

        Only for models trained with per-speaker normalisation (`recipe.normalisation ==
        "speaker"`), and only on a recognizer without speed averaging (`speeds == (1.0,)`);
        mean/std usually come from `speaker_stats`.
        """
        self._check_enrolment("for_speaker")
        clone = copy.copy(self)
        try:
            object.__setattr__(clone, "recipe", self.recipe.with_stats(np.asarray(mean), np.asarray(std)))
        except (TypeError, ValueError) as exc:
            raise InvalidArgumentError(f"for_speaker: invalid statistics ({exc})") from exc
        return clone

    def _check_enrolment(self, caller: str) -> None:
        """`InvalidArgumentError` unless the model was trained per speaker and `speeds` is (1.0,)."""
        if self.recipe.normalisation != "speaker":
            raise InvalidArgumentError(
                f"{caller}: model {self.model.metadata.name!r} was trained with "
                f"normalisation={self.recipe.normalisation!r}, not per speaker; bundled models "
                f"for enrolment: {', '.join(bundled_models('speaker')) or 'none'}"
            )
        if self.speeds != (1.0,):
            raise InvalidArgumentError(
                f"{caller}: speeds={self.speeds} cannot be combined with enrolment (the statistics "
                "describe the voice as recorded, not sped up); use speeds=(1.0,)"
            )


def _restore(arguments: dict[str, object], recipe: features.FeatureRecipe) -> Recognizer:
    """A Recognizer made from the arguments of another, with its feature recipe (see `__reduce__`)."""
    recognizer = Recognizer(**arguments)  # type: ignore[arg-type]
    object.__setattr__(recognizer, "recipe", recipe)
    return recognizer


def _result(recognizer: Recognizer, item: tuple[int, sources.AudioSource, float | None, object]) -> Result:
    """One `predict_many` item, with a `LightSERError` as a value."""
    index, source, sample_rate, dtype = item
    try:
        return Result(index, sources.describe(source), recognizer.predict(source, sample_rate, dtype=dtype))
    except LightSERError as exc:
        return Result(index, sources.describe(source), error=exc)
