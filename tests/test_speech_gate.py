"""The speech gate: silence and sound without a voice are not classified; speech, clean or not, is."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from conftest import voiced
from lightser import NoSpeechError, Recognizer, windows
from lightser_export.corrupt import FLAT_BELOW_HZ, coloured_noise

RATE = 16000


def _noise(seconds: float, exponent: float, seed: int = 0, flat_below_hz: float = FLAT_BELOW_HZ) -> np.ndarray:
    """Noise with a 1/f**exponent power spectrum (0 white, 1 pink, 2 brown) at -30 dBFS RMS."""
    rng = np.random.default_rng(seed)
    return 10 ** (-30 / 20) * coloured_noise(int(seconds * RATE), exponent, RATE, rng, flat_below_hz)


def test_periodicity_tells_a_pitch_period_from_noise():
    t = np.arange(2048) / RATE
    pulses = (np.arange(2048) % 160 == 0).astype(float)  # 100 Hz: period 160 samples
    rows = np.stack([pulses, np.sin(2 * np.pi * 150 * t), np.sin(2 * np.pi * 30 * t),
                     np.random.default_rng(0).standard_normal(2048)])
    strength, period = windows.periodicity(rows, RATE, (60.0, 400.0), 20.0)
    assert strength[0] > 0.9 and strength[1] > 0.9  # periods inside 60-400 Hz
    assert period[0] == 160 and abs(period[1] - RATE / 150) < 1
    assert strength[2] == 0.0  # 30 Hz: no peak inside the lag range
    assert strength[3] < 0.2
    rumbling = pulses + 3 * np.sqrt(np.mean(pulses**2)) * np.sin(2 * np.pi * 40 * t)  # 40 Hz rumble over it
    assert windows.periodicity(rumbling[None], RATE, (60.0, 400.0), 0.0)[0][0] == 0.0  # masked
    assert windows.periodicity(rumbling[None], RATE, (60.0, 400.0), 130.0)[0][0] > 0.8  # found above 130 Hz


@pytest.mark.parametrize("exponent, flat_below_hz", [(0.0, 1.0), (1.0, FLAT_BELOW_HZ), (2.0, 1.0)])
def test_noise_is_not_classified(recognizer, exponent, flat_below_hz):
    x = _noise(3.0, exponent, flat_below_hz=flat_below_hz)
    with pytest.raises(NoSpeechError, match="voicing=False"):
        recognizer.predict(x, sample_rate=RATE)
    assert Recognizer(voicing=False).predict(x, sample_rate=RATE).label in recognizer.labels


def test_timeline_marks_noise_without_a_voice(recognizer):
    x = np.concatenate([voiced(3.0), _noise(6.0, 1.0)])
    segments = recognizer.predict_segments(x, sample_rate=RATE)
    assert segments[0].is_speech and not segments[-1].is_speech
    assert recognizer.predict(x, sample_rate=RATE) == recognizer.predict(voiced(3.0), sample_rate=RATE)


def test_speech_in_noise_is_classified(recognizer):
    x = voiced(3.0)
    noisy = x + _noise(3.0, 1.0, seed=1) * (np.sqrt(np.mean(x**2)) / 10 ** (-30 / 20)) / np.sqrt(10)  # 10 dB SNR
    assert recognizer.gate(noisy) and recognizer.gate(x)


def test_the_gate_returns_a_copy_free_answer_and_keeps_the_input(recognizer):
    x = voiced(3.0)
    kept = x.copy()
    assert recognizer.gate(x) is True
    np.testing.assert_array_equal(x, kept)


def test_every_emodb_window_passes_the_gate(recognizer, emodb_wavs):
    """The evaluation reports score every window of every clip: the gate must not drop speech."""
    step = int(recognizer.hop_seconds * RATE)
    refused = [
        (path.name, start)
        for path in emodb_wavs
        for start, w in windows.sliding([soundfile.read(path, dtype="float32")[0]], recognizer.recipe.window_samples,
                                        step, 1, path.name, recognizer.recipe.sample_rate)
        if not recognizer.gate(w)
    ]
    assert len(emodb_wavs) == 535 and refused == []


def _voice(pitch_hz: float, vibrato: float = 0.15, seconds: float = 3.0) -> np.ndarray:
    """A harmonic voice whose pitch wanders by +-`vibrato` around `pitch_hz`, in 4 Hz syllables."""
    t = np.arange(int(seconds * RATE)) / RATE
    phase = 2 * np.pi * np.cumsum(pitch_hz * (1 + vibrato * np.sin(2 * np.pi * 0.7 * t))) / RATE
    harmonics = sum(np.sin(k * phase) / k for k in range(1, 40) if k * pitch_hz * (1 + vibrato) < RATE / 2)
    return (0.3 * harmonics * (0.5 - 0.5 * np.cos(2 * np.pi * 4 * t)) / np.max(np.abs(harmonics))).astype(np.float32)


@pytest.mark.parametrize("pitch_hz", [65.0, 75.0, 300.0, 500.0, 900.0])
def test_low_and_high_voices_pass(recognizer, pitch_hz):
    """Deep voices near the 60 Hz bound; a child's voice or a scream above 400 Hz, whose period's
    multiples fall in range."""
    x = _voice(pitch_hz)
    assert recognizer.gate(x) and recognizer.gate(x[: RATE // 3])


@pytest.mark.parametrize("hum_hz", [50.0, 60.0, 100.0, 120.0])
def test_mains_hum_is_not_a_voice(recognizer, hum_hz):
    """A steady pitch, to the sample, in every frame: a machine (a held note is refused too)."""
    x = 0.3 * _voice(hum_hz, vibrato=0.0) / (0.5 - 0.5 * np.cos(2 * np.pi * 4 * np.arange(3 * RATE) / RATE) + 0.5)
    assert not recognizer.gate(x.astype(np.float32))
    assert recognizer.gate.refusal(x.astype(np.float32)) == "unvoiced"


def test_speech_is_found_under_rumble_and_beside_a_burst(recognizer, emodb_wavs):
    x = soundfile.read(emodb_wavs[0], dtype="float32")[0][: 3 * RATE]
    rms = np.sqrt(np.mean(x**2))
    t = np.arange(x.size) / RATE
    assert recognizer.gate(x + 3 * rms * np.sin(2 * np.pi * 40 * t).astype(np.float32))  # rumble 10 dB over it
    quiet = x / rms * 10 ** (-45 / 20)  # quiet speech, then a 20 ms burst at full scale
    quiet[8000:8320] = np.random.default_rng(0).uniform(-1, 1, 320)
    assert recognizer.gate(quiet)
