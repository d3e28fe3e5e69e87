"""The speech gate: silence and sound without a voice are not classified; speech, clean or not, is."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile

from conftest import assert_valid_prediction, encode, voiced
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


def test_a_voices_harmonics_stand_above_their_valleys_and_narrowband_noise_has_none():
    rate, n = windows.PITCH_RATE, 512  # the gate's frames: 64 ms at 8 kHz
    pulses = (np.arange(16 * n) % 50 == 0).reshape(16, n).astype(float)  # 160 Hz: period 50
    brown = np.stack([_noise(n / RATE, 2.0, seed)[:: RATE // rate][:n] for seed in range(16)])
    for rows, period in ((pulses, np.full(16, 50)), (brown, windows.periodicity(brown, rate, (60.0, 400.0), 130.0)[1])):
        power = windows.power_spectra(rows, rate, 130.0)
        ratio = windows.comb_ratio(power, period, windows.cut_bin(2 * n, rate, 130.0))
        if rows is pulses:
            assert (ratio > 30).all()
        else:
            assert np.median(ratio) < 2


def test_brown_noise_flat_below_100_hz_is_refused(recognizer):
    """Above the gate's 130 Hz cut its power lies in a narrow band, which repeats like a pitch:
    without the comb test (min_comb=0) 12 of these 400 windows passed."""
    passed = [seed for seed in range(400) if recognizer.gate.refusal(_noise(3.0, 2.0, seed)) != "unvoiced"]
    assert passed == []


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
    speech = [list(s.prediction.scores.values()) for s in segments if s.is_speech]
    assert len(speech) < len(segments)  # the clip's answer is its speech windows' alone
    p = recognizer.predict(x, sample_rate=RATE)
    np.testing.assert_allclose(list(p.scores.values()), np.mean(speech, axis=0), atol=1e-12)


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
    refused = [
        (path.name, start)
        for path in emodb_wavs
        for start, w in windows.sliding([soundfile.read(path, dtype="float32")[0]], recognizer.plan, path.name)
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


def _thin_voice(pitch_hz: float, seconds: float = 3.0) -> np.ndarray:
    """A high voice with two harmonics, nearly all its power in the first: a scream in 4 Hz syllables."""
    t = np.arange(int(seconds * RATE)) / RATE
    phase = 2 * np.pi * np.cumsum(pitch_hz * (1 + 0.04 * np.sin(2 * np.pi * 3 * t))) / RATE
    envelope = 0.5 - 0.5 * np.cos(2 * np.pi * 4 * t)
    return (0.3 * (np.sin(phase) + 0.3 * np.sin(2 * phase)) * envelope).astype(np.float32)


@pytest.mark.parametrize("pitch_hz", [330.0, 380.0])
def test_a_high_voice_with_two_strong_harmonics_is_not_a_pair_of_tones(recognizer, pitch_hz):
    x = _thin_voice(pitch_hz)
    frames = windows.decimated(windows.frame_rows(x, recognizer.plan.frame), 2)
    share, low, high = windows.two_lines(windows.power_spectra(frames, RATE / 2, 130.0))
    loud = share > 0.9
    assert loud.mean() > 0.5 and windows.harmonic(low, high)[loud].all()  # tone-like by share: a pitch, its octave
    assert recognizer.gate(x)


def test_two_tones_that_are_not_harmonics_stay_tones():
    t = np.arange(1024) / 8000
    for low_hz, high_hz in [(697, 1209), (697, 1336), (697, 1477), (941, 1633)]:  # DTMF, 1336/697 is 1.92
        pair = np.sin(2 * np.pi * low_hz * t) + np.sin(2 * np.pi * high_hz * t)
        power = windows.power_spectra(pair[None], 8000, 130)
        share, low, high = windows.two_lines(power)
        assert share[0] > 0.9 and not windows.harmonic(low, high)[0]


def test_two_harmonics_of_one_pitch_are_a_voice_not_tones():
    """A voice's strongest lines may be its 2nd and 3rd harmonics (1.5), or 3rd and 5th; DTMF's never are,
    even a bin off where a digit is cut short."""
    assert windows.harmonic(np.array([28, 28, 17, 18, 30]), np.array([42, 56, 28, 23, 270])).all()
    res = 8000 / 1024
    low, high = np.meshgrid([697, 770, 852, 941], [1209, 1336, 1477, 1633])
    for shift in (-1, 0, 1):
        assert not windows.harmonic(np.round(low / res).ravel() + shift, np.round(high / res).ravel() - shift).any()


def _dialled(seed: int, seconds: float = 3.0) -> np.ndarray:
    """DTMF digits as dialled: 100 ms tone pairs, 100 ms gaps."""
    rng, n = np.random.default_rng(seed), RATE // 10
    y = np.zeros(int(seconds * RATE))
    for start in range(0, y.size - n, 2 * n):
        low, high = rng.choice([697, 770, 852, 941]), rng.choice([1209, 1336, 1477, 1633])
        y[start : start + n] = np.sin(2 * np.pi * low * _T[:n]) + np.sin(2 * np.pi * high * _T[:n])
    return y


def test_a_tones_cut_edges_are_the_tone():
    tones = np.array([[89, 155]])  # a frame found to be a DTMF pair
    edges = np.array([[89, 155], [86, 158], [86, 91], [152, 155]])  # its start or end, lines spread and shifted
    others = np.array([[95, 155], [89, 190], [40, 60]])
    assert windows.tone_lines(*edges.T, tones).all() and not windows.tone_lines(*others.T, tones).any()
    assert not windows.tone_lines(*edges.T, np.zeros((0, 2), int)).any()


def test_clicks_are_bursts_and_a_voice_is_not():
    frames = np.zeros((3, 512))
    frames[0, 100:110] = 1.0  # a click
    frames[1, [100, 190]] = 1.0  # two clicks 11 ms apart: a chance 'period'
    frames[2] = windows.decimated(windows.frame_rows(_voice(70.0), 1024), 2)[2]  # a low voice: few periods a frame
    share = windows.burst_share(frames)
    assert share[0] > 0.95 and share[1] > 0.95 and share[2] < 0.6


@pytest.mark.parametrize("periods, still", [
    ([80] * 6, True),  # a hum: the same period in every frame
    ([36, 37] * 3, True),  # within a sample at 220 Hz (2.7 %): a held note
    ([21, 22] * 3, False),  # within a sample at 370 Hz (4.7 %): a voice's pitch moving
    ([36, 38] * 3, False),
    ([80] * 5, False),  # too few frames to tell
])
def test_steady_pitch_is_a_machines(periods, still):
    assert windows.steady(np.array(periods)) is still


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


def _at_peak(x: np.ndarray, peak_db: float) -> np.ndarray:
    """`x` at a peak of `peak_db` dBFS, in 16-bit steps as a WAV at that level holds it."""
    scaled = x * (10 ** (peak_db / 20) / np.max(np.abs(x)))
    return (np.round(scaled * 32768) / 32768).astype(np.float32)


@pytest.mark.parametrize("peak_db", [-50.0, -30.0, -1.0])
def test_quiet_speech_passes_the_default_gate(recognizer, peak_db):
    """No level is asked for by default: a low-gain microphone's speech is speech."""
    assert recognizer.silence_db is None
    for x in (voiced(3.0), _voice(120.0)):
        assert recognizer.gate.refusal(_at_peak(x, peak_db)) is None


def test_quiet_emodb_clips_pass(recognizer, emodb_wavs):
    for path in emodb_wavs[::50]:
        x = soundfile.read(path, dtype="float32")[0][: 3 * RATE]
        assert recognizer.gate(_at_peak(x, -50.0)), path.name


def _clicks(seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, ring = 1e-3 * rng.standard_normal(int(seconds * RATE)), np.arange(160)
    for start in rng.integers(0, y.size - ring.size, int(4 * seconds)):
        y[start : start + ring.size] += np.exp(-ring / 20) * np.sin(2 * np.pi * rng.uniform(500, 3000) * ring / RATE)
    return y


_T = np.arange(3 * RATE) / RATE
NOT_SPEECH = {
    "white noise": lambda: _noise(3.0, 0.0),
    "pink noise": lambda: _noise(3.0, 1.0),
    "1 kHz tone": lambda: np.sin(2 * np.pi * 1000 * _T),
    "50 Hz hum": lambda: sum(np.sin(2 * np.pi * 50 * k * _T) / k for k in range(1, 11)),
    "60 Hz hum": lambda: sum(np.sin(2 * np.pi * 60 * k * _T) / k for k in range(1, 11)),
    "a held DTMF digit": lambda: np.sin(2 * np.pi * 697 * _T) + np.sin(2 * np.pi * 1209 * _T),
    "clicks": _clicks,
}


@pytest.mark.parametrize("seed", range(12))
def test_dialled_digits_and_clicks_are_refused(recognizer, seed):
    """The edges of each dialled digit and a chance pair of clicks repeat like a voice: neither is one."""
    assert recognizer.gate.refusal(_at_peak(_dialled(seed), -10.0)) == "unvoiced"
    assert recognizer.gate.refusal(_at_peak(_clicks(3.0, seed), -10.0)) == "unvoiced"


@pytest.mark.parametrize("name", NOT_SPEECH)
@pytest.mark.parametrize("peak_db", [-50.0, -10.0, -1.0])
def test_sounds_that_are_not_speech_are_refused_at_any_level(recognizer, name, peak_db):
    assert recognizer.gate.refusal(_at_peak(NOT_SPEECH[name](), peak_db)) == "unvoiced"


def test_digital_silence_is_refused_and_says_so(recognizer):
    for x in (np.zeros(3 * RATE, np.float32), (1e-6 * _noise(3.0, 0.0)).astype(np.float32)):
        assert recognizer.gate.refusal(x) == "silent"
    with pytest.raises(NoSpeechError, match="digital silence.*voicing=False") as refused:
        recognizer.predict(np.zeros(3 * RATE, np.int16), sample_rate=RATE)
    assert "--" not in str(refused.value), "the library names its arguments; the CLI translates them to flags"


def test_silence_db_still_asks_for_a_level():
    quiet = _at_peak(voiced(3.0), -50.0)
    rec = Recognizer(silence_db=-50.0)
    assert rec.gate.refusal(quiet) == "quiet" and rec.gate(_at_peak(voiced(3.0), -1.0))
    with pytest.raises(NoSpeechError, match="quieter than -50 dBFS.*silence_db=None"):
        rec.predict(quiet, sample_rate=RATE)


def _stereo_one_silent(x: np.ndarray) -> np.ndarray:
    return np.stack([x, np.zeros_like(x)], axis=1)


BAD = {
    "DC offset": lambda x: 0.7 * x + 0.2,
    "clipped": lambda x: np.clip(x / np.quantile(np.abs(x), 0.9), -1, 1),
    "8-bit": lambda x: soundfile.read(io.BytesIO(encode(x, RATE, "PCM_U8")), dtype="float32")[0],
    "mu-law": lambda x: soundfile.read(io.BytesIO(encode(x, RATE, "ULAW")), dtype="float32")[0],
    "10 s of silence first": lambda x: np.concatenate([np.zeros(10 * RATE), x]),
    "one channel silent": _stereo_one_silent,
}


@pytest.mark.parametrize("name", BAD)
def test_bad_recordings_get_a_prediction(recognizer, name):
    x = voiced(3.0)
    assert_valid_prediction(recognizer.predict(BAD[name](x).astype(np.float32), sample_rate=RATE), recognizer.labels)


def test_telephone_audio_gets_a_prediction(recognizer):
    data = encode(soundfile.read(io.BytesIO(encode(voiced(3.0), RATE)), dtype="float32")[0][::2], 8000, "ULAW")
    assert_valid_prediction(recognizer.predict(data), recognizer.labels)


def test_a_long_silence_before_speech_counts_for_little(recognizer):
    """Windows are weighted by the share of them the sound fills: the one where speech starts
    after 10 s of silence weighs less than the one holding it, so the clip's answer stays
    nearer the speech's own than a plain mean of the windows would."""
    x = voiced(2.0)
    alone = _scores(recognizer.predict(x, sample_rate=RATE))
    late = np.concatenate([np.zeros(10 * RATE, np.float32), x])
    speech = [s for s in recognizer.predict_segments(late, RATE) if s.is_speech]
    shares = [recognizer.gate.judge(late[int(s.start * RATE):int(s.end * RATE)])[1] for s in speech]
    plain = np.mean([_scores(s.prediction) for s in speech], axis=0)
    weighted = np.average([_scores(s.prediction) for s in speech], axis=0, weights=shares)
    assert len(speech) >= 2 and min(shares) < 0.5 * max(shares)
    assert np.allclose(_scores(recognizer.predict(late, sample_rate=RATE)), weighted, atol=1e-6)
    assert np.abs(weighted - alone).sum() < np.abs(plain - alone).sum()


def _scores(prediction) -> np.ndarray:
    return np.array(list(prediction.scores.values()))


@pytest.mark.parametrize("step", [1, 2, 3, 6])
def test_decimation_is_the_mean_of_each_run_of_samples(step):
    rows = np.random.default_rng(step).standard_normal((5, 1023)).astype(np.float32)
    expected = rows[:, : 1023 // step * step].reshape(5, -1, step).mean(axis=2)
    got = windows.decimated(rows, step)
    assert got.dtype == np.float32 and np.array_equal(got, expected)
