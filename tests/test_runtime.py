"""The runtime API as users call it: inputs, results, timeline, silence, errors, threads, CLI."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import soundfile

from conftest import run_lightser, voiced
from lightser import (
    AudioTooShortError,
    InvalidArgumentError,
    LightSERError,
    ModelError,
    NonFiniteAudioError,
    NoSpeechError,
    Prediction,
    Recognizer,
    audio,
    bundled_models,
    features,
    speed,
)


def _check(p: Prediction, labels) -> None:
    assert list(p.scores) == list(labels)
    assert sum(p.scores.values()) == pytest.approx(1.0, abs=1e-6)
    assert p.label == max(p.scores, key=p.scores.get)
    assert p.confidence == p.scores[p.label]


def test_bundled_model_loads(recognizer):
    assert recognizer.labels == ("anger", "disgust", "fear", "happiness", "neutral", "sadness")
    assert recognizer.model.metadata.quantization == "int8"
    assert recognizer.model.size_bytes <= 550_000


def test_every_input_kind_gives_the_same_answer(recognizer, tmp_path):
    x = voiced(2.0)
    wav = tmp_path / "clip.wav"
    soundfile.write(wav, x, 16000, subtype="FLOAT")
    reference = recognizer.predict(x, sample_rate=16000)
    _check(reference, recognizer.labels)
    same = [
        recognizer.predict(wav),
        recognizer.predict(str(wav)),
        recognizer.predict(wav.read_bytes()),
        recognizer.predict(io.BytesIO(wav.read_bytes())),
        recognizer.predict(x.astype(np.float64), sample_rate=16000),
        recognizer.predict(np.stack([x, x], axis=1), sample_rate=16000),
    ]
    for p in same:
        assert p.label == reference.label
        np.testing.assert_allclose(list(p.scores.values()), list(reference.scores.values()), atol=1e-6)


def test_integer_arrays_are_scaled(recognizer):
    x = voiced(2.0)
    as_float = recognizer.predict(x, sample_rate=16000)
    for dtype, scale in ((np.int16, 2**15), (np.int32, 2**31)):
        ints = np.round(x * (scale - 1)).astype(dtype)
        p = recognizer.predict(ints, sample_rate=16000)
        np.testing.assert_allclose(list(p.scores.values()), list(as_float.scores.values()), atol=0.02)


@pytest.mark.parametrize("gain_db", [-30.0, -10.0, 6.0])
def test_the_level_of_the_recording_does_not_matter(recognizer, gain_db):
    x = voiced(2.0)  # peak 0.5: +6 dB just reaches full scale
    reference = recognizer.predict(x, sample_rate=16000)
    p = recognizer.predict(x * np.float32(10 ** (gain_db / 20)), sample_rate=16000)
    np.testing.assert_allclose(list(p.scores.values()), list(reference.scores.values()), atol=0.01)


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 44100, 48000])
def test_any_rate_is_resampled(recognizer, rate):
    x = voiced(2.0, rate=rate)
    p = recognizer.predict(x, sample_rate=rate)
    _check(p, recognizer.labels)
    if rate >= 16000:  # narrower-band audio lacks the model's top mel bands: valid, not comparable
        ref = recognizer.predict(voiced(2.0), sample_rate=16000)
        assert np.abs(np.array(list(p.scores.values())) - list(ref.scores.values())).max() < 0.1


def test_callers_array_is_not_modified(recognizer):
    x = voiced(4.0) * 3.0
    before = x.copy()
    recognizer.predict(x, sample_rate=16000)
    np.testing.assert_array_equal(x, before)


def test_timeline_marks_silence_and_covers_the_end(recognizer):
    rate = 16000
    x = np.concatenate([voiced(4.0), np.zeros(6 * rate, np.float32), voiced(2.2, seed=1)])
    segments = recognizer.predict_segments(x, sample_rate=rate)
    starts = [s.start for s in segments]
    assert starts[:4] == [0.0, 1.5, 3.0, 4.5]
    assert segments[-1].end == pytest.approx(len(x) / rate)
    assert any(not s.is_speech for s in segments) and segments[0].is_speech
    silent = [s for s in segments if not s.is_speech]
    assert all(4.0 <= s.start and s.end <= 10.0 for s in silent)
    assert all(s.prediction is None and s.refusal == "silent" for s in silent)
    assert all(s.refusal is None for s in segments if s.is_speech)
    row = segments[0].to_dict()
    assert set(row) == {"start", "end", "speech", "label", "confidence", "scores"}
    assert silent[0].to_dict() == {"start": silent[0].start, "end": silent[0].end, "speech": False, "refusal": "silent"}
    whole = recognizer.predict(x, sample_rate=rate)
    speech = [s for s in segments if s.is_speech]
    shares = [recognizer.gate.judge(x[round(s.start * rate) : round(s.end * rate)])[1] for s in speech]
    mean = np.average([list(s.prediction.scores.values()) for s in speech], axis=0, weights=shares)
    assert max(shares) > 1.5 * min(shares), "windows half in the silence weigh less"
    np.testing.assert_allclose(list(whole.scores.values()), mean / mean.sum(), atol=1e-9)


def test_progress_callback_reaches_the_end(recognizer):
    seen: list[float] = []
    recognizer.predict_segments(voiced(7.0), sample_rate=16000, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == pytest.approx(7.0)


def test_silence_is_not_classified(recognizer):
    zeros = np.zeros(32000, np.float32)
    with pytest.raises(NoSpeechError, match="no speech"):
        recognizer.predict(zeros, sample_rate=16000)
    _check(Recognizer(silence_db=None, voicing=False).predict(zeros, sample_rate=16000), recognizer.labels)


def test_error_classes(recognizer, tmp_path):
    with pytest.raises(AudioTooShortError, match="minimum"):
        recognizer.predict(voiced(0.1), sample_rate=16000)
    with pytest.raises(AudioTooShortError):
        recognizer.predict(np.zeros(0, np.float32), sample_rate=16000)
    bad = voiced(1.0)
    bad[100] = np.nan
    with pytest.raises(NonFiniteAudioError, match="NaN"):
        recognizer.predict(bad, sample_rate=16000)
    with pytest.raises(InvalidArgumentError, match="sample_rate"):
        recognizer.predict(voiced(1.0))
    with pytest.raises(InvalidArgumentError, match="backend"):
        Recognizer(backend="onnx")
    with pytest.raises(ModelError, match="no such model file"):
        Recognizer(tmp_path / "missing.tflite")
    assert issubclass(NoSpeechError, LightSERError)


def test_eight_threads_match_serial(recognizer):
    clips = [voiced(1.0 + 0.3 * i, seed=i) for i in range(16)]
    serial = [recognizer.predict(c, sample_rate=16000) for c in clips]
    with ThreadPoolExecutor(8) as pool:
        parallel = list(pool.map(lambda c: recognizer.predict(c, sample_rate=16000), clips * 4))
    assert parallel == serial * 4


def test_speaker_enrolment(recognizer, speaker_recognizer):
    if recognizer.recipe.normalisation != "speaker":
        with pytest.raises(InvalidArgumentError, match="not per speaker"):
            recognizer.for_speaker(np.zeros(40), np.ones(40))
        with pytest.raises(InvalidArgumentError, match="speaker_stats: .* not per speaker"):
            recognizer.speaker_stats([voiced(3.0)], sample_rate=16000)
    speaker_model = speaker_recognizer
    clips = [voiced(3.0, seed=s) for s in range(3)]
    with pytest.raises(AudioTooShortError, match="9.0 s of audio in speech windows; enrolment needs at least 60 s"):
        speaker_model.speaker_stats(clips, sample_rate=16000)
    for bad in (-1, float("nan"), float("inf"), "10", True):
        with pytest.raises(InvalidArgumentError, match="min_seconds"):
            speaker_model.speaker_stats(clips, sample_rate=16000, min_seconds=bad)
    mean, std = speaker_model.speaker_stats(clips, sample_rate=16000, min_seconds=9.0)
    assert mean.shape == std.shape == (40,) and (std > 0).all()
    enrolled = speaker_model.for_speaker(mean, std)
    assert enrolled.model is speaker_model.model
    _check(enrolled.predict(voiced(2.0), sample_rate=16000), speaker_model.labels)
    with pytest.raises(InvalidArgumentError):
        speaker_model.for_speaker(np.zeros(3), np.ones(3))
    averaging = Recognizer(speaker_model.model.path, speeds=(0.9, 1.0, 1.1))
    for refused in (lambda: averaging.for_speaker(mean, std), lambda: averaging.speaker_stats(clips, 16000)):
        with pytest.raises(InvalidArgumentError, match="cannot be combined with enrolment"):
            refused()


def test_import_and_predict_never_load_tensorflow(tmp_path):
    wav = tmp_path / "clip.wav"
    soundfile.write(wav, voiced(2.0), 16000)
    code = (
        "import sys, lightser; p = lightser.Recognizer().predict(sys.argv[1]); "
        "assert not any(m == 'tensorflow' or m.startswith('tensorflow.') for m in sys.modules), 'tensorflow imported'; "
        "print(p.label)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(wav)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_cli_predict_json_and_bad_file(tmp_path):
    wav = tmp_path / "good.wav"
    soundfile.write(wav, voiced(2.0), 16000)
    out = subprocess.run(
        [sys.executable, "-m", "lightser.cli", "predict", "--json", str(wav), str(tmp_path / "nope.wav"), str(wav)],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 1
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == 3 and rows[0]["label"] in rows[0]["scores"] and rows[2] == rows[0]
    assert rows[1] == {"file": str(tmp_path / "nope.wav"), "status": "error",
                       "message": f"{tmp_path / 'nope.wav'}: no such file", "type": "AudioError"}
    errors = [line for line in out.stderr.splitlines() if line.startswith("lightser: error:")]
    assert len(errors) == 1 and "nope.wav" in errors[0]


def test_cli_info_reports_the_model():
    out = subprocess.run([sys.executable, "-m", "lightser.cli", "info", "--json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["quantization"] == "int8" and len(info["sha256"]) == 64 and info["backend"]


def test_bundled_models_load_by_name(tmp_path):
    names = bundled_models()
    shipped = {"general-int8", "general-speaker-int8", "emodb-robust-int8", "emodb-int8", "emodb-speaker-int8"}
    assert shipped <= set(names)
    assert Recognizer("general-int8").model.path == Recognizer().model.path
    assert Recognizer("emodb-int8").model.path != Recognizer().model.path
    with pytest.raises(ModelError, match="nor a bundled model.*emodb-int8"):
        Recognizer("emodb-no-such")
    assert bundled_models("speaker"), "a bundled model supports speaker enrolment"
    assert set(bundled_models("speaker")) | set(bundled_models("global")) | set(bundled_models("none")) == set(names)


def test_cli_enrol(tmp_path):
    clips = []
    for seed in range(3):
        clips.append(tmp_path / f"me-{seed}.wav")
        soundfile.write(clips[-1], voiced(3.0, seed=seed), 16000)
    code, out, err = run_lightser("predict", str(clips[0]), "--enrol", *map(str, clips[1:]),
                                  "--model", bundled_models("speaker")[0])
    errors = [line for line in err.splitlines() if line.startswith("lightser:")]
    assert code == 2 and out == "" and len(errors) == 1 and "6.0 s of audio in speech windows" in errors[0]
    code, out, err = run_lightser("predict", str(clips[0]), "--enrol", *map(str, clips[1:]),
                                  "--enrol-min-seconds", "5", "--model", bundled_models("speaker")[0])
    assert code == 0, err
    assert out.splitlines()[1].startswith(str(clips[0]) + "\tok\t")  # after the header
    for other in bundled_models("global")[:1]:
        code, out, err = run_lightser("predict", str(clips[0]), "--enrol", str(clips[1]), "--model", other)
        errors = [line for line in err.splitlines() if line.startswith("lightser:")]
        assert code == 2 and out == "" and len(errors) == 1
        assert "not per speaker" in errors[0] and bundled_models("speaker")[0] in errors[0]
    code, out, err = run_lightser("predict", str(clips[0]), "--enrol", str(clips[1]), "--speeds", "0.9,1,1.1",
                                  "--model", bundled_models("speaker")[0])
    errors = [line for line in err.splitlines() if line.startswith("lightser:")]
    assert code == 2 and out == "" and len(errors) == 1 and "cannot be combined with enrolment" in errors[0]


def test_bundled_names_ignore_files_of_the_same_name_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "emodb-speaker-int8").mkdir()
    assert {"emodb-speaker-int8", "general-speaker-int8"} <= set(bundled_models("speaker"))


def test_the_delegate_banner_is_dropped_and_nothing_else(capfd):
    import os

    from lightser.backend import _BANNER, _without_banner

    with _without_banner():
        os.write(2, b"before\n" + _BANNER + b"\nafter, no newline")
    assert capfd.readouterr().err == "before\nafter, no newline"


def test_speed_perturbation_scales_duration_and_pitch():
    tone = np.sin(2 * np.pi * 200 * np.arange(16000) / 16000).astype(np.float32)
    kept = tone.copy()
    for s in (0.9, 1.1):
        played = speed.change_speed(tone, s, 16000)
        assert abs(len(played) - 16000 / s) <= 2
        assert np.array_equal(played, audio.read(tone, 16000 * s, 16000)), "the same as streaming it"
        peak_hz = np.argmax(np.abs(np.fft.rfft(played))) * 16000 / len(played)
        assert peak_hz == pytest.approx(200 * s, abs=2)
    assert np.array_equal(tone, kept), "the input is not modified"
    assert speed.change_speed(tone, 1.0, 16000) is tone


def test_test_time_speeds_average_each_window_played_at_each_speed(recognizer):
    assert recognizer.speeds == (1.0,), "the default classifies each window as it is"
    x = voiced(2.0)
    kept = x.copy()

    def scores(rec, speeds):
        passes = [rec.model.run(features.extract(speed.change_speed(x, s, 16000), rec.recipe)) for s in speeds]
        return np.mean(passes, axis=0)

    for speeds in [(1.0,), (0.9, 1.0, 1.1), (0.8, 1.25)]:
        rec = Recognizer(speeds=speeds)
        got = rec.predict(x, sample_rate=16000)
        np.testing.assert_allclose(list(got.scores.values()), scores(rec, speeds), atol=1e-6)
    assert np.array_equal(x, kept), "the caller's array is not modified"


@pytest.mark.parametrize("speeds", [[], (3.0,), (0.1,), (1.0, float("nan")), "1", 1.0, (True,), np.ones(2)])
def test_bad_speeds_are_refused(speeds):
    with pytest.raises(InvalidArgumentError, match="speeds"):
        Recognizer(speeds=speeds)


def test_cli_speeds_option(emodb_wavs):
    wav = emodb_wavs[0]  # real speech: the synthetic voice saturates the int8 scores at every speed
    averaged = json.loads(run_lightser("predict", "--json", "--speeds", "0.9,1,1.1", str(wav))[1])
    plain = json.loads(run_lightser("predict", "--json", "--speeds", "1", str(wav))[1])
    assert averaged["scores"] != plain["scores"]
    assert plain == json.loads(run_lightser("predict", "--json", str(wav))[1])
    code, _, err = run_lightser("predict", "--speeds", "0.9,4", str(wav))
    assert code == 2 and "expected comma-separated speeds in [0.5, 2.0]" in err.splitlines()[-1]


def test_settings_are_fixed_once_made():
    """Assigning a setting would leave the speech gate built from the old one: refused."""
    rec = Recognizer(silence_db=-40.0)
    for name, value in (("silence_db", None), ("voicing", False), ("speeds", (5.0,)), ("hop_seconds", 0.25)):
        with pytest.raises(AttributeError, match="fixed once made"):
            setattr(rec, name, value)
    assert rec.silence_db == -40.0 and rec.gate.threshold_db == -40.0 and rec.speeds == (1.0,)


def test_the_default_model_names_the_corpora_it_heard_and_is_calibrated(recognizer):
    meta = recognizer.model.metadata
    corpora = meta.training["corpora"]
    assert set(corpora) == {"emodb", "tess", "savee", "emovo", "nemo", "ased", "urdu", "esd0020"}
    assert all(c["licence"] and c["clips"] > 0 and c["speakers"] > 0 for c in corpora.values())
    assert meta.temperature != 1.0 and meta.training["validation_speakers"]
    out = subprocess.run([sys.executable, "-m", "lightser.cli", "info", "--json"], capture_output=True, text=True,
                         timeout=120)
    info = json.loads(out.stdout)
    assert info["temperature"] == meta.temperature
    assert any(line.startswith("nemo: Polish") and "CC BY-NC-SA 4.0" in line for line in info["trained_on"])


def test_the_general_enrolment_twin_heard_the_same_corpora_and_enrols():
    twin = Recognizer("general-speaker-int8")
    default = Recognizer().model.metadata
    meta = twin.model.metadata
    assert meta.labels == default.labels and meta.recipe.normalisation == "speaker"
    assert set(meta.training["corpora"]) == set(default.training["corpora"]) and meta.temperature != 1.0
    x = voiced(70.0)
    enrolled = twin.for_speaker(*twin.speaker_stats(x, sample_rate=16000))
    assert enrolled.predict(x[: 3 * 16000], sample_rate=16000).label in meta.labels
    assert not np.array_equal(enrolled.recipe.mean, twin.recipe.mean), "enrolment replaces the fallback statistics"
