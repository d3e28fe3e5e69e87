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
    p = windows.periodicity(rows, RATE // 400, RATE // 60)
    assert p[0] > 0.9 and p[1] > 0.9  # periods inside 60-400 Hz
    assert p[2] == 0.0  # 30 Hz: no peak inside the lag range
    assert p[3] < 0.2


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
                                        step, 1, path.name)
        if not recognizer.gate(w)
    ]
    assert len(emodb_wavs) == 535 and refused == []
