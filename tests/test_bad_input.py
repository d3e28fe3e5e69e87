"""Bad and odd input through the Python API: a correct answer or a LightSER error, never a crash,
a hang, a silent wrong answer, or a changed input.

Every case goes through `Recognizer.predict`; anything but a `Prediction` or the named
`LightSERError` subclass fails the test.
"""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
import soundfile

from conftest import assert_valid_prediction, encode, voiced
from lightser import (
    AudioError,
    AudioTooShortError,
    InvalidArgumentError,
    LightSERError,
    ModelError,
    NonFiniteAudioError,
    NoSpeechError,
    Recognizer,
)

RATE = 16000


def _scores(p) -> np.ndarray:
    return np.array(list(p.scores.values()))


def _close(a, b, atol: float = 1e-6) -> None:
    np.testing.assert_allclose(_scores(a), _scores(b), atol=atol)


# ---------------------------------------------------------------- arrays


def _with(x: np.ndarray, index: int, value: float) -> np.ndarray:
    x = x.copy()
    x[index] = value
    return x


def _read_only(x: np.ndarray) -> np.ndarray:
    x = x.copy()
    x.flags.writeable = False
    return x


X = voiced(2.0)
STEREO = np.stack([X, 0.5 * X], axis=1)
LONG = voiced(12.0)  # more than one 10 s decode block

# id -> (array, sample_rate, expected error or None for a valid prediction, message fragment)
ARRAYS = {
    "empty": (np.zeros(0, np.float32), RATE, AudioTooShortError, "no audio"),
    "empty-stereo": (np.zeros((0, 2), np.float32), RATE, AudioTooShortError, "no audio"),
    "no-channels": (np.zeros((RATE, 0), np.float32), RATE, InvalidArgumentError, "no channels"),
    "0-d": (np.array(0.5), RATE, InvalidArgumentError, "0-D"),
    "3-d": (X.reshape(-1, 1, 1), RATE, InvalidArgumentError, "3-D"),
    "channels-first": (STEREO.T.copy(), RATE, InvalidArgumentError, "channels-first"),
    "int8": ((X * 100).astype(np.int8), RATE, InvalidArgumentError, "dtype int8"),
    "uint8": ((X * 100 + 128).astype(np.uint8), RATE, InvalidArgumentError, "dtype uint8"),
    "int64": ((X * 2**15).astype(np.int64), RATE, InvalidArgumentError, "dtype int64"),
    "uint16": ((X * 2**14 + 2**15).astype(np.uint16), RATE, InvalidArgumentError, "dtype uint16"),
    "float16": (X.astype(np.float16), RATE, InvalidArgumentError, "dtype float16"),
    "complex64": (X.astype(np.complex64), RATE, InvalidArgumentError, "dtype complex64"),
    "complex128": (X.astype(np.complex128), RATE, InvalidArgumentError, "dtype complex128"),
    "object": (X.astype(object), RATE, InvalidArgumentError, "dtype object"),
    "bool": (X > 0, RATE, InvalidArgumentError, "dtype bool"),
    "str": (X.astype(str), RATE, InvalidArgumentError, "dtype <U"),
    "nan": (_with(X, 100, np.nan), RATE, NonFiniteAudioError, "NaN"),
    "+inf": (_with(X, 0, np.inf), RATE, NonFiniteAudioError, "infinite"),
    "-inf": (_with(X, -1, -np.inf), RATE, NonFiniteAudioError, "infinite"),
    "nan-float64": (_with(X.astype(np.float64), 5, np.nan), RATE, NonFiniteAudioError, "NaN"),
    "nan-stereo": (_with(STEREO, 7, np.nan), RATE, NonFiniteAudioError, "NaN"),
    "nan-second-block": (_with(LONG, 11 * RATE, np.nan), RATE, NonFiniteAudioError, "NaN"),
    "nan-resampled": (_with(voiced(2.0, rate=44100), 10, np.nan), 44100, NonFiniteAudioError, "NaN"),
    "float64-beyond-float32": (X.astype(np.float64) * 1e300, RATE, NonFiniteAudioError, "beyond"),
    "float32-max": (X / np.abs(X).max() * np.finfo(np.float32).max, RATE, NonFiniteAudioError, "beyond"),
    "float32-max-stereo": (STEREO / np.abs(STEREO).max() * 3e38, RATE, NonFiniteAudioError, "beyond"),
    "float32-max-resampled": (voiced(2.0, rate=48000) * 1e38, 48000, NonFiniteAudioError, "beyond"),
    "digital-silence": (np.zeros(2 * RATE, np.float32), RATE, NoSpeechError, "no speech"),
    "below-gate": (X * 1e-4, RATE, NoSpeechError, "no speech"),
    "denormals": (X * np.float32(1e-41), RATE, NoSpeechError, "no speech"),
    "full-scale-clipping": (np.clip(X * 100, -1, 1), RATE, None, ""),
    "int16-full-scale": (np.where(X >= 0, 32767, -32768).astype(np.int16), RATE, None, ""),
    "dc-offset": (X + 0.5, RATE, None, ""),
    "dc-only": (np.full(2 * RATE, 0.25, np.float32), RATE, NoSpeechError, "no speech"),  # an offset is not sound
    "huge-but-finite": (X * 1e29, RATE, None, ""),
    "one-sample": (X[:1], RATE, AudioTooShortError, "minimum"),
    "0.1 s": (X[: RATE // 10], RATE, AudioTooShortError, "minimum"),
    "just-under-minimum": (X[: RATE // 4 - 1], RATE, AudioTooShortError, "minimum"),
    "minimum": (X[: RATE // 4], RATE, None, ""),
    "sample-rate-below-range": (X, 999, InvalidArgumentError, "sample_rate"),
    "sample-rate-above-range": (X, 1_000_001, InvalidArgumentError, "sample_rate"),
    "sample-rate-1": (X, 1, InvalidArgumentError, "sample_rate"),
    "sample-rate-tiny": (X, 1e-300, InvalidArgumentError, "sample_rate"),
    "sample-rate-huge": (X, 1e300, InvalidArgumentError, "sample_rate"),
    "sample-rate-0": (X, 0, InvalidArgumentError, "sample_rate"),
    "sample-rate-negative": (X, -RATE, InvalidArgumentError, "sample_rate"),
    "sample-rate-nan": (X, float("nan"), InvalidArgumentError, "sample_rate"),
    "sample-rate-inf": (X, float("inf"), InvalidArgumentError, "sample_rate"),
    "sample-rate-str": (X, "16000", InvalidArgumentError, "sample_rate"),
    "sample-rate-bool": (X, True, InvalidArgumentError, "sample_rate"),
    "sample-rate-missing": (X, None, InvalidArgumentError, "sample_rate"),
    "sample-rate-lowest": (voiced(2.0, rate=1000), 1000, None, ""),
    "sample-rate-numpy-int": (X, np.int64(RATE), None, ""),
}


@pytest.mark.parametrize("case", list(ARRAYS))
def test_array(recognizer, case):
    x, rate, error, fragment = ARRAYS[case]
    before, writeable = x.copy(), x.flags.writeable
    if error is None:
        assert_valid_prediction(recognizer.predict(x, sample_rate=rate), recognizer.labels)
    else:
        with pytest.raises(error, match=fragment):
            recognizer.predict(x, sample_rate=rate)
        if error is NoSpeechError:  # the timeline has it as silence
            assert not any(s.is_speech for s in recognizer.predict_segments(x, sample_rate=rate))
        else:
            with pytest.raises(error):
                recognizer.predict_segments(x, sample_rate=rate)
    np.testing.assert_array_equal(x, before)
    assert x.flags.writeable == writeable


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda x: np.stack([x, x], axis=1)[:, 0], id="non-contiguous"),
        pytest.param(lambda x: np.repeat(x, 2)[::2], id="strided"),
        pytest.param(lambda x: x[::-1].copy()[::-1], id="negative-stride"),
        pytest.param(_read_only, id="read-only"),
        pytest.param(lambda x: x.astype(">f4"), id="big-endian-float32"),
        pytest.param(lambda x: x.astype(np.float64), id="float64"),
        pytest.param(lambda x: x.astype(">f8"), id="big-endian-float64"),
        pytest.param(lambda x: x[:, None], id="one-column"),
        pytest.param(lambda x: np.asfortranarray(np.stack([x, x], axis=1)), id="fortran-order-stereo"),
        pytest.param(lambda x: np.stack([x] * 6, axis=1), id="six-identical-channels"),
        pytest.param(lambda x: np.memmap(_memmap_file(x), dtype=np.float32, mode="r"), id="read-only-memmap"),
    ],
)
def test_array_layouts_give_the_contiguous_answer(recognizer, variant):
    reference = recognizer.predict(X, sample_rate=RATE)
    x = variant(X)
    before = np.array(x, copy=True)
    _close(recognizer.predict(x, sample_rate=RATE), reference)
    np.testing.assert_array_equal(x, before)


def _memmap_file(x: np.ndarray) -> str:
    import tempfile

    handle, path = tempfile.mkstemp(suffix=".f32")
    with os.fdopen(handle, "wb") as f:
        f.write(x.astype(np.float32).tobytes())
    return path


def test_big_endian_int16_is_int16(recognizer):
    ints = np.round(X * 32767).astype(np.int16)
    _close(recognizer.predict(ints.astype(">i2"), sample_rate=RATE), recognizer.predict(ints, sample_rate=RATE))


def test_digital_silence_is_classified_when_the_gate_is_off(ungated_recognizer):
    p = ungated_recognizer.predict(np.zeros(2 * RATE, np.float32), sample_rate=RATE)
    assert_valid_prediction(p, ungated_recognizer.labels)


@pytest.mark.parametrize("offset", [0.01, 0.3, -1.0])
def test_a_dc_offset_is_not_sound(recognizer, offset):
    with pytest.raises(NoSpeechError):
        recognizer.predict(np.full(2 * RATE, offset, np.float32), sample_rate=RATE)
    quiet_speech_on_the_offset = voiced(2.0) * np.float32(0.05) + np.float32(offset)  # about -40 dBFS around it
    assert_valid_prediction(recognizer.predict(quiet_speech_on_the_offset, sample_rate=RATE), recognizer.labels)


def test_window_boundaries(recognizer):
    window = recognizer.recipe.window_samples
    x = voiced(4.0)
    assert [(s.start, s.end) for s in recognizer.predict_segments(x[:window], sample_rate=RATE)] == [(0.0, 3.0)]
    two = recognizer.predict_segments(x[: window + 1], sample_rate=RATE)
    assert len(two) == 2 and two[-1].end == pytest.approx((window + 1) / RATE)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param([0.1] * RATE, id="list"),
        pytest.param(tuple([0.1] * RATE), id="tuple"),
        pytest.param(None, id="None"),
        pytest.param(5, id="int"),
        pytest.param(0.5, id="float"),
        pytest.param({"samples": [0.1]}, id="dict"),
        pytest.param(memoryview(b"RIFF"), id="memoryview"),
        pytest.param("", id="empty-path"),
    ],
)
def test_sources_that_are_not_audio(recognizer, source):
    with pytest.raises(InvalidArgumentError, match="audio|sample_rate"):
        recognizer.predict(source, sample_rate=RATE if isinstance(source, (list, tuple)) else None)


def test_sample_rate_with_a_file_is_refused(recognizer, tmp_path):
    path = tmp_path / "clip.wav"
    soundfile.write(path, X, RATE)
    with pytest.raises(InvalidArgumentError, match="only for arrays"):
        recognizer.predict(path, sample_rate=RATE)


# ---------------------------------------------------------------- files


@pytest.fixture(scope="module")
def good_wav() -> bytes:
    return encode(X, RATE, "PCM_16")


def _write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_zero_byte_file(recognizer, tmp_path):
    with pytest.raises(AudioError, match=r"empty.wav: not a readable audio file \(empty: 0 bytes\)"):
        recognizer.predict(_write(tmp_path, "empty.wav", b""))
    with pytest.raises(AudioError, match=r"not a readable audio file \(empty: 0 bytes\)"):
        recognizer.predict(b"")


def test_wav_header_without_data(recognizer, tmp_path):
    header = encode(np.zeros(0, np.int16), RATE)
    assert len(header) == 44
    with pytest.raises(AudioTooShortError, match="no audio"):
        recognizer.predict(_write(tmp_path, "header.wav", header))


def test_wav_truncated_in_the_data_gives_the_answer_for_what_is_there(recognizer, tmp_path, good_wav):
    cut = 44 + 2 * RATE  # header + 1 s of 16-bit samples; the header still promises 2 s
    path = _write(tmp_path, "truncated.wav", good_wav[:cut])
    ints = np.frombuffer(good_wav[44:cut], dtype="<i2")
    _close(recognizer.predict(path), recognizer.predict(ints, sample_rate=RATE), atol=1e-5)


@pytest.mark.parametrize("cut", [4, 12, 20, 30, 43])
def test_wav_truncated_in_the_header(recognizer, tmp_path, good_wav, cut):
    with pytest.raises(AudioError):
        recognizer.predict(_write(tmp_path, "cut.wav", good_wav[:cut]))


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_named_wav(recognizer, tmp_path, seed):
    data = np.random.default_rng(seed).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    with pytest.raises(AudioError, match="not a readable audio file"):
        recognizer.predict(_write(tmp_path, "noise.wav", data))


def test_riff_header_then_random_bytes(recognizer, tmp_path):
    data = b"RIFF" + (4000).to_bytes(4, "little") + b"WAVE" + np.random.default_rng(0).bytes(4000)
    with pytest.raises(AudioError):
        recognizer.predict(_write(tmp_path, "riff.wav", data))


def test_text_file(recognizer, tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("this is not audio\n" * 100, encoding="utf-8")
    with pytest.raises(AudioError, match="not a readable audio file"):
        recognizer.predict(path)


def test_directory(recognizer, tmp_path):
    with pytest.raises(AudioError, match="directory"):
        recognizer.predict(tmp_path)


def test_missing_path(recognizer, tmp_path):
    with pytest.raises(AudioError, match="no such file"):
        recognizer.predict(tmp_path / "nope.wav")
    with pytest.raises(AudioError, match="no such file"):
        recognizer.predict(str(tmp_path / "nope.wav"))


def test_iter_segments_checks_its_source_at_the_call(recognizer, tmp_path):
    """Not at the first next(): the error surfaces where the bad argument was passed."""
    with pytest.raises(AudioError, match="no such file"):
        recognizer.iter_segments(tmp_path / "nope.wav")
    with pytest.raises(InvalidArgumentError, match="sample_rate"):
        recognizer.iter_segments(np.zeros(RATE), sample_rate=-1)
    with pytest.raises(InvalidArgumentError, match="progress"):
        recognizer.iter_segments(np.zeros(RATE), sample_rate=RATE, progress="yes")


def test_names_the_system_refuses_are_audio_errors(recognizer, tmp_path):
    with pytest.raises(AudioError, match="cannot open"):
        recognizer.predict(tmp_path / ("a" * 300 + ".wav"))  # longer than any file system allows


def test_dev_null(recognizer):
    with pytest.raises(AudioError):
        recognizer.predict(os.devnull)


def test_path_with_spaces_and_non_ascii(recognizer, tmp_path, good_wav):
    folder = tmp_path / "my recordings ü"
    folder.mkdir()
    path = _write(folder, "Äußerung 感情 ñ 01.wav", good_wav)
    p = recognizer.predict(path)
    _close(p, recognizer.predict(str(path)))
    _close(p, recognizer.predict(good_wav))
    with pytest.raises(AudioError, match="感情"):
        recognizer.predict(folder / "fehlt 感情.wav")


@pytest.mark.parametrize(
    "format,subtype,atol",
    [
        ("WAV", "PCM_U8", None),
        ("WAV", "PCM_16", 0.01),
        ("WAV", "PCM_24", 0.01),
        ("WAV", "PCM_32", 0.01),
        ("WAV", "FLOAT", 1e-6),
        ("WAV", "DOUBLE", 1e-6),
        ("FLAC", "PCM_16", 0.01),
        ("FLAC", "PCM_24", 0.01),
        ("OGG", "VORBIS", None),
        ("WAV", "GSM610", None),  # telephone codecs whose files cannot tell their position
        ("WAV", "NMS_ADPCM_16", None),
        ("AU", "G721_32", None),
    ],
)
def test_file_formats(recognizer, format, subtype, atol):
    reference = recognizer.predict(X, sample_rate=RATE)
    p = recognizer.predict(encode(X, RATE, subtype, format))
    assert_valid_prediction(p, recognizer.labels)
    if atol is not None:
        _close(p, reference, atol=atol)


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 44100, 48000, 96000])
@pytest.mark.parametrize("channels", [1, 2, 6])
def test_file_rates_and_channels(recognizer, rate, channels):
    x = voiced(1.5, rate=rate)
    mono = recognizer.predict(encode(x, rate, "FLOAT"))
    assert_valid_prediction(mono, recognizer.labels)
    if channels > 1:
        # identical channels average back to the mono signal
        _close(recognizer.predict(encode(np.stack([x] * channels, axis=1), rate, "FLOAT")), mono, atol=1e-6)
    # the file path and the array path decode and resample alike
    _close(recognizer.predict(x, sample_rate=rate), mono, atol=1e-6)


@pytest.mark.parametrize("seconds,error", [(1 / RATE, AudioTooShortError), (0.1, AudioTooShortError), (3.0, None)])
def test_file_lengths(recognizer, seconds, error):
    data = encode(voiced(seconds), RATE)
    if error is None:
        segments = recognizer.predict_segments(data)
        assert [(s.start, s.end) for s in segments] == [(0.0, seconds)]
        assert_valid_prediction(recognizer.predict(data), recognizer.labels)
    else:
        with pytest.raises(error, match="minimum"):
            recognizer.predict(data)


@pytest.mark.parametrize("rate", [1, 7, 999, 2_000_000])
def test_file_sample_rate_out_of_range(recognizer, rate):
    """A header claiming 7 Hz made 48 000 samples into ~2 hours of 16 kHz audio (fuzz seeds in test_fuzz)."""
    with pytest.raises(AudioError, match="sample rate"):
        recognizer.predict(encode(np.zeros(48000, np.int16), rate))


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, 3e38])
def test_float_wav_with_non_finite_or_huge_samples(recognizer, value):
    x = _with(X, 1234, value)
    with pytest.raises(NonFiniteAudioError):
        recognizer.predict(encode(x, RATE, "FLOAT"))


def test_file_objects(recognizer, tmp_path, good_wav):
    reference = recognizer.predict(good_wav)
    _close(recognizer.predict(io.BytesIO(good_wav)), reference)
    _close(recognizer.predict(bytearray(good_wav)), reference)
    path = _write(tmp_path, "clip.wav", good_wav)
    with open(path, "rb") as f:
        _close(recognizer.predict(f), reference)
    with open(path, encoding="latin-1") as f:
        with pytest.raises(InvalidArgumentError, match="binary mode"):
            recognizer.predict(f)
    f = open(path, "rb")
    f.close()
    with pytest.raises(InvalidArgumentError, match="closed"):
        recognizer.predict(f)


class _Pipe(io.RawIOBase):
    """A binary stream that cannot seek, like stdin, a socket or an HTTP body."""

    def __init__(self, data: bytes) -> None:
        self.data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer) -> int:
        chunk = self.data.read(min(len(buffer), 4096))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_streams_that_cannot_seek_are_read_whole(recognizer, good_wav, capfd):
    _close(recognizer.predict(_Pipe(good_wav)), recognizer.predict(good_wav))
    assert capfd.readouterr().err == ""  # no "Illegal seek" noise from libsndfile callbacks
    with pytest.raises(AudioError, match="not a readable audio file"):
        recognizer.predict(_Pipe(b"not audio" * 100))


def test_caller_buffer_is_not_modified(recognizer, good_wav):
    data = bytearray(good_wav)
    recognizer.predict(data)
    assert bytes(data) == good_wav


# ---------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    "kwargs,fragment",
    [
        ({"hop_seconds": 0}, "hop_seconds"),
        ({"hop_seconds": -1.0}, "hop_seconds"),
        ({"hop_seconds": 1e-9}, "hop_seconds"),  # rounded to a 0-sample hop: predict never ended
        ({"hop_seconds": 3.5}, "hop_seconds"),
        ({"hop_seconds": float("nan")}, "hop_seconds"),
        ({"hop_seconds": "1"}, "hop_seconds"),
        ({"hop_seconds": True}, "hop_seconds"),
        ({"num_threads": 0}, "num_threads"),
        ({"num_threads": -2}, "num_threads"),
        ({"num_threads": 1.5}, "num_threads"),
        ({"num_threads": True}, "num_threads"),
        ({"num_threads": "2"}, "num_threads"),
        ({"silence_db": float("nan")}, "silence_db"),
        ({"silence_db": float("inf")}, "silence_db"),
        ({"silence_db": "-50"}, "silence_db"),
        ({"silence_db": True}, "silence_db"),
        ({"voicing": "yes"}, "voicing"),
        ({"voicing": 1}, "voicing"),
        ({"voicing": None}, "voicing"),
        ({"backend": "onnx"}, "backend"),
        ({"backend": None}, "backend"),
        ({"model": 123}, "model"),
        ({"model": b"model.tflite"}, "model"),
        ({"model": ""}, "empty name"),
    ],
)
def test_bad_constructor_arguments(kwargs, fragment):
    with pytest.raises(InvalidArgumentError, match=fragment):
        Recognizer(**kwargs)


def test_numpy_scalars_are_accepted_as_arguments():
    rec = Recognizer(hop_seconds=np.float32(1.0), silence_db=np.float64(-60.0))
    assert rec.hop_seconds == 1.0 and rec.silence_db == -60.0
    assert len(rec.predict_segments(voiced(5.0), sample_rate=RATE)) == 3


def test_one_sample_hop_is_the_smallest_and_ends():
    rec = Recognizer(hop_seconds=1 / RATE)
    x = voiced(3.0)[: rec.recipe.window_samples - 10]
    x = np.concatenate([x, voiced(0.01)[:20]])  # window + 10 samples: 11 windows, one sample apart
    starts = [round(s.start * RATE) for s in rec.predict_segments(x, sample_rate=RATE)]
    assert starts == list(range(11))


@pytest.mark.parametrize(
    "mean,std",
    [
        (np.zeros(3), np.ones(3)),
        (np.zeros(40), np.zeros(40)),
        (np.zeros(40), -np.ones(40)),
        ("x", "y"),
        (None, None),
        (np.full(40, 1e300), np.ones(40)),  # beyond float32: standardising would overflow
        (np.zeros(40), np.full(40, 1e-300)),
        (np.zeros(40, complex), np.ones(40)),
        (np.full(40, np.nan), np.ones(40)),
    ],
)
def test_bad_speaker_statistics(speaker_recognizer, mean, std):
    with pytest.raises(InvalidArgumentError, match="invalid statistics"):
        speaker_recognizer.for_speaker(mean, std)


def test_every_error_is_a_lightser_error():
    for cls in (AudioError, AudioTooShortError, InvalidArgumentError, NoSpeechError, NonFiniteAudioError):
        assert issubclass(cls, LightSERError)


def test_no_entry_point_modifies_the_callers_array(recognizer, speaker_recognizer):
    x = np.stack([voiced(4.0), voiced(4.0, seed=1)], axis=1) * 3.0  # loud, stereo, float64
    x.flags.writeable = False
    before = x.copy()
    recognizer.predict(x, sample_rate=RATE)
    recognizer.predict_segments(x, sample_rate=RATE)
    list(recognizer.iter_segments(x, sample_rate=RATE))
    speaker_recognizer.speaker_stats([x, x[:, 0]], sample_rate=RATE, min_seconds=0)
    np.testing.assert_array_equal(x, before)


def test_file_object_is_left_open(recognizer, good_wav):
    f = io.BytesIO(good_wav)
    recognizer.predict(f)
    assert not f.closed
    f.seek(0)
    recognizer.predict(f)


def test_file_object_is_read_from_where_it_stands_and_put_back(recognizer, good_wav, tmp_path):
    expected = recognizer.predict(good_wav)
    path = _write(tmp_path, "prefixed.bin", b"x" * 100 + good_wav)
    for f in (io.BytesIO(b"x" * 100 + good_wav), open(path, "rb")):
        with f:
            f.seek(100)
            for _ in range(2):  # the same answer twice: the position is restored after each read
                _close(recognizer.predict(f), expected)
                assert f.tell() == 100
            ends = [s.end for s in recognizer.predict_segments(f)]
            assert ends == [s.end for s in recognizer.predict_segments(good_wav)]
            f.seek(0, io.SEEK_END)
            with pytest.raises(AudioError, match="seek\\(0\\)"):
                recognizer.predict(f)
            assert f.tell() == len(good_wav) + 100


def test_a_timeline_leaves_the_file_object_to_the_caller_between_reads(recognizer, good_wav):
    long_wav = encode(voiced(40.0), RATE)  # two decode blocks
    f = io.BytesIO(long_wav)
    segments = recognizer.iter_segments(f)
    assert f.tell() == 0  # opened and checked, yet where it stood
    first = next(segments)
    assert f.tell() == 0
    f.read(1000)  # the caller may use its object meanwhile
    timeline = [first, *segments]
    assert [s.to_dict() for s in timeline] == [s.to_dict() for s in recognizer.predict_segments(long_wav)]


def test_the_callers_own_seeks_between_segments_are_kept(recognizer):
    long_wav = encode(voiced(40.0), RATE)
    f = io.BytesIO(long_wav)
    timeline = []
    for segment in recognizer.iter_segments(f):
        timeline.append(segment.to_dict())
        assert f.tell() in (0, 7777)
        f.seek(7777)  # the caller's business: it stays where the caller put it
    assert timeline == [s.to_dict() for s in recognizer.predict_segments(long_wav)]


class _Unruly(io.BytesIO):
    """A file object that fails in ways other than OSError."""

    def __init__(self, data: bytes, fail: str) -> None:
        super().__init__(data)
        self.fail = fail

    def seek(self, *args):
        if self.fail == "seek" and args[0] != 0:
            raise NotImplementedError("no seeking here")
        return super().seek(*args)

    def read(self, *args):
        if self.fail == "read":
            raise KeyError("gone")
        return None if self.fail == "none" else super().read(*args)


@pytest.mark.parametrize("fail", ["seek", "read", "none"])
def test_file_objects_that_raise_anything_give_audio_errors_quietly(recognizer, good_wav, capfd, fail):
    with pytest.raises(AudioError):
        recognizer.predict(_Unruly(good_wav, fail))
    assert capfd.readouterr().err == ""


def test_a_write_only_file_object(recognizer, tmp_path):
    with open(tmp_path / "out.wav", "ab") as f, pytest.raises(InvalidArgumentError, match="not open for reading"):
        recognizer.predict(f)


@pytest.mark.parametrize("seed", range(4))
def test_damaged_headers_raise_without_noise_on_stderr(recognizer, capfd, seed):
    """libsndfile seeks to odd places in a damaged AIFF header; that must not print tracebacks."""
    header = encode(voiced(1.0), RATE, format="AIFF")[:24]
    data = header + np.random.default_rng(seed).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    with pytest.raises(AudioError, match="not a readable audio file"):
        recognizer.predict(data)
    assert capfd.readouterr().err == ""


def test_a_truncated_flac_gives_the_answer_for_what_is_there(recognizer, tmp_path):
    """libsndfile fails the read that meets the cut; the audio before it is recovered."""
    data = encode(voiced(20.0), RATE, format="FLAC")
    cut = _write(tmp_path, "cut.flac", data[: int(len(data) * 0.7)])
    segments = recognizer.predict_segments(cut)
    assert 12.0 < segments[-1].end < 14.5
    assert recognizer.predict(cut).label in recognizer.labels


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_named_pipes(recognizer, tmp_path, monkeypatch):
    import threading
    import time

    from lightser import sources

    fifo = tmp_path / "audio"
    os.mkfifo(fifo)
    data = encode(voiced(4.0), RATE, format="FLAC")  # FLAC decoding seeks, which a pipe cannot

    def write(delay: float, payload: bytes) -> None:
        time.sleep(delay)
        with open(fifo, "wb") as pipe:
            pipe.write(payload)

    for delay in (0.0, 0.5):  # a writer may start after the reader: `lightser predict p & producer > p`
        writer = threading.Thread(target=write, args=(delay, data))
        writer.start()
        _close(recognizer.predict(fifo), recognizer.predict(data))
        writer.join()
    writer = threading.Thread(target=write, args=(0.0, b""))
    writer.start()
    with pytest.raises(AudioError, match="closed without giving any data"):
        recognizer.predict(fifo)
    writer.join()
    monkeypatch.setattr(sources, "PIPE_WAIT_SECONDS", 0.3)
    with pytest.raises(AudioError, match="nothing wrote to the pipe within 0.3 s"):  # no writer: no hang
        recognizer.predict(fifo)


@pytest.mark.parametrize(
    "source, rate, message",
    [
        (memoryview(np.zeros(RATE)), RATE, "got memoryview with sample_rate=; pass a NumPy array"),
        (np.ma.masked_array(np.zeros(RATE), mask=False), RATE, "masked array"),
        (np.zeros(RATE), 10**400, "sample_rate=1000"),
        (np.zeros(RATE), np.array([16000, 16000]), "sample_rate=array"),
    ],
)
def test_array_likes_and_rates(recognizer, source, rate, message):
    with pytest.raises(InvalidArgumentError, match=message):
        recognizer.predict(source, sample_rate=rate)


def test_a_sample_rate_saved_by_numpy_is_a_rate(recognizer):
    x = voiced(1.0)
    _close(recognizer.predict(x, sample_rate=np.load(_npz(x))["rate"]), recognizer.predict(x, RATE))


def _npz(x: np.ndarray) -> io.BytesIO:
    buffer = io.BytesIO()
    np.savez(buffer, x=x, rate=RATE)
    buffer.seek(0)
    return buffer


def test_a_path_with_a_nul_byte(recognizer):
    with pytest.raises(AudioError, match="NUL|null"):
        recognizer.predict("clip.wav\0.wav")


@pytest.mark.parametrize(
    "kwargs",
    [{"num_threads": 100_000}, {"silence_db": 10**400}, {"hop_seconds": 10**400}],
)
def test_out_of_range_settings(kwargs):
    with pytest.raises(InvalidArgumentError, match=next(iter(kwargs))):
        Recognizer(**kwargs)


def test_speaker_stats_needs_clips(speaker_recognizer, good_wav):
    with pytest.raises(InvalidArgumentError, match="no clips given"):
        speaker_recognizer.speaker_stats([])
    with pytest.raises(InvalidArgumentError, match="min_seconds"):
        speaker_recognizer.speaker_stats([good_wav], min_seconds=10**400)


def test_bundled_models_by_name_with_or_without_the_extension(tmp_path):
    assert Recognizer("emodb-int8.tflite").model.path == Recognizer("emodb-int8").model.path
    with pytest.raises(ModelError, match="cannot open"):
        Recognizer(str(tmp_path / ("m" * 300)))


def test_speaker_stats_takes_one_clip_or_a_list(speaker_recognizer, good_wav):
    one = speaker_recognizer.speaker_stats(io.BytesIO(good_wav), min_seconds=0)
    listed = speaker_recognizer.speaker_stats([io.BytesIO(good_wav)], min_seconds=0)
    np.testing.assert_array_equal(one[0], listed[0])
    for clips in (None, 5):
        with pytest.raises(InvalidArgumentError, match="expected a list of clips"):
            speaker_recognizer.speaker_stats(clips)


def test_progress_must_be_callable(recognizer, good_wav):
    with pytest.raises(InvalidArgumentError, match="progress"):
        recognizer.predict(good_wav, progress=3)


def test_opposite_phase_is_undone_once_for_the_whole_stream(tmp_path):
    from lightser import audio

    rng = np.random.default_rng(0)
    s = np.tile(voiced(5.0), 9)  # 45 s: three decode blocks of stereo at 16 kHz
    hiss = rng.normal(scale=0.01, size=(len(s), 2)).astype(np.float32)
    path = tmp_path / "miswired-long.wav"
    soundfile.write(path, np.stack([s, -s], axis=1) + hiss, RATE, subtype="FLOAT")
    mono = audio.read(path, None, RATE)
    thirds = np.array_split(np.arange(len(s)), 3)
    assert all(np.corrcoef(mono[part], s[part])[0, 1] > 0.99 for part in thirds)  # one polarity throughout


def test_channels_in_opposite_phase_do_not_cancel(recognizer, tmp_path):
    x = voiced(2.0)
    reference = recognizer.predict(x, sample_rate=RATE)
    inverted = np.stack([x, -x], axis=1)
    _close(recognizer.predict(inverted, sample_rate=RATE), reference)
    path = tmp_path / "miswired.wav"
    soundfile.write(path, inverted, RATE, subtype="FLOAT")
    _close(recognizer.predict(path), reference)
