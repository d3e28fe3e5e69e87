"""The recording conditions of `lightser_export.corrupt` and the `--corrupt` training copies."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from conftest import voiced

pytest.importorskip("tqdm", reason="the training side is not installed: pip install ./export")

from lightser.features import FeatureRecipe  # noqa: E402
from lightser_export import corrupt, datasets, featurize  # noqa: E402

RATE = 16000


def _band_power(x: np.ndarray, low: float, high: float) -> float:
    """Mean power per FFT bin of `x` between `low` and `high` Hz."""
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / RATE)
    return float(power[(freqs >= low) & (freqs < high)].mean())


@pytest.mark.parametrize("colour, low_over_high", [("white", (0.7, 1.4)), ("pink", (20, 60)), ("brown", (800, 3000))])
def test_coloured_noise_has_unit_rms_and_its_slope(colour, low_over_high):
    noise = corrupt.coloured_noise(8 * RATE, corrupt.NOISE_COLOURS[colour], RATE, np.random.default_rng(0))
    assert noise.dtype == np.float32 and np.sqrt(np.mean(noise.astype(np.float64) ** 2)) == pytest.approx(1, rel=1e-3)
    ratio = _band_power(noise, 100, 200) / _band_power(noise, 4000, 8000)  # centre frequencies 40x apart
    assert low_over_high[0] < ratio < low_over_high[1]
    power = np.abs(np.fft.rfft(noise)) ** 2
    heard = power[np.fft.rfftfreq(len(noise), 1 / RATE) >= 80].sum() / power.sum()
    assert heard > 0.5 and power[0] < 1e-6 * power.sum()  # most of it where the features listen; no DC


def test_add_noise_reaches_the_snr_and_leaves_its_inputs_alone():
    x, noise = voiced(2.0), corrupt.coloured_noise(2 * RATE, 1.0, RATE, np.random.default_rng(1))
    x_before, noise_before = x.copy(), noise.copy()
    y = corrupt.add_noise(x, noise, 7.5)
    assert 10 * np.log10(np.mean(x.astype(np.float64) ** 2) / np.mean((y - x).astype(np.float64) ** 2)) \
        == pytest.approx(7.5, abs=0.01)
    assert np.array_equal(x, x_before) and np.array_equal(noise, noise_before)
    assert np.array_equal(corrupt.add_noise(np.zeros(100, np.float32), noise[:100], 10.0), np.zeros(100))


def test_band_limit_keeps_the_low_band_and_removes_the_high_one():
    t = np.arange(RATE) / RATE
    low, high = np.sin(2 * np.pi * 1000 * t), np.sin(2 * np.pi * 6000 * t)
    y = corrupt.band_limit((low + high).astype(np.float32), RATE, 8000)
    assert len(y) == RATE and y.dtype == np.float32
    middle = slice(1000, -1000)  # away from the resampler's edges
    assert np.max(np.abs(y[middle] - low[middle])) < 0.01
    for n in range(4000, 4040):  # the round trip through 11025 Hz comes back short for some lengths
        assert len(corrupt.band_limit(voiced(n / RATE), RATE, 11025)) == n


def test_room_impulse_decays_from_a_direct_path():
    h = corrupt.room_impulse(RATE, 0.5, np.random.default_rng(0))
    assert len(h) == RATE // 2 and h[0] == 1.0
    assert np.sum(h[1:] ** 2) == pytest.approx(0.2, rel=0.05)
    tenth = len(h) // 10
    assert np.sum(h[-tenth:] ** 2) < 1e-3 * np.sum(h[1:tenth] ** 2)  # 60 dB over the whole response


def test_reverberate_is_a_convolution_cut_to_length():
    x = voiced(1.0)
    assert np.allclose(corrupt.reverberate(x, np.array([1.0])), x, atol=1e-6)
    delayed = corrupt.reverberate(x, np.array([0.0, 0.0, 0.5]))
    assert len(delayed) == len(x) and np.allclose(delayed[2:], 0.5 * x[:-2], atol=1e-6)


def test_random_condition_is_seeded_and_draws_every_kind():
    x = voiced(1.0)
    same = [corrupt.random_condition(x, RATE, np.random.default_rng(3)) for _ in range(2)]
    assert np.array_equal(*same) and not np.array_equal(same[0], x)
    outputs = {corrupt.random_condition(x, RATE, np.random.default_rng(seed)).tobytes() for seed in range(40)}
    band_limited = {corrupt.band_limit(x, RATE, rate).tobytes() for rate in corrupt.TRAIN_BAND_RATES}
    assert band_limited <= outputs and len(outputs - band_limited) >= 20  # noise and reverberation draw afresh


def test_corrupted_copies_are_seeded_cached_apart_and_only_partly_corrupted(tmp_path):
    utterances = []
    for i in range(8):
        path = tmp_path / f"clip{i}.wav"
        soundfile.write(path, voiced(1.5, seed=i), RATE)
        utterances.append(datasets.Utterance(path, "neutral", "s1"))
    dataset = datasets.Dataset("tiny", ("neutral",), tuple(utterances))
    recipe, cache = FeatureRecipe(), tmp_path / "cache"
    clean = featurize.dataset_features(dataset, recipe, cache, 0.9)
    half = featurize.dataset_features(dataset, recipe, cache, 0.9, corrupt=0.5, seed=0)
    assert len(list(cache.iterdir())) == 2
    changed = [not np.array_equal(a, b) for a, b in zip(clean, half)]
    assert 0 < sum(changed) < len(changed)
    assert np.array_equal(featurize.dataset_features(dataset, recipe, None, 0.9, corrupt=0.5, seed=0), half)
    assert not np.array_equal(featurize.dataset_features(dataset, recipe, None, 0.9, corrupt=0.5, seed=1), half)


def test_features_cached_by_other_code_are_not_reused(tmp_path, monkeypatch):
    path = tmp_path / "clip.wav"
    soundfile.write(path, voiced(1.5), RATE)
    dataset = datasets.Dataset("tiny", ("neutral",), (datasets.Utterance(path, "neutral", "s1"),))
    cache = tmp_path / "cache"
    featurize.dataset_features(dataset, FeatureRecipe(), cache)
    featurize.dataset_features(dataset, FeatureRecipe(), cache)
    assert len(list(cache.iterdir())) == 1
    monkeypatch.setattr(featurize, "code_digest", lambda: "another version of lightser.features")
    featurize.dataset_features(dataset, FeatureRecipe(), cache)
    assert len(list(cache.iterdir())) == 2
