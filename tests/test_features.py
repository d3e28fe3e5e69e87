"""The NumPy input pipeline: each step, and parity with the tf.signal reference."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lightser import features
from lightser.errors import InvalidArgumentError
from lightser.features import FeatureRecipe

RECIPE = FeatureRecipe()


def test_recipe_shape_matches_the_paper():
    assert RECIPE.window_samples == 48000
    assert RECIPE.shape == (184, 40)


def test_centre_crop_and_pad():
    x = np.arange(10, dtype=np.float32)
    assert features.centre_crop(x, 4).tolist() == [3, 4, 5, 6]
    recipe = FeatureRecipe(sample_rate=10, window_seconds=1.0, frame_length=2, frame_step=1, fft_length=2,
                           n_mels=2, fmin_hz=0.0, fmax_hz=5.0, n_mfcc=1, amplitude_percentile=100.0)
    np.testing.assert_allclose(features.fit_window(np.full(5, 0.5, np.float32), recipe),
                               [0, 0, 1, 1, 1, 1, 1, 0, 0, 0], rtol=1e-6)
    np.testing.assert_allclose(features.fit_window(np.arange(1, 14, dtype=np.float32), recipe),
                               [v / 11 for v in range(2, 12)], rtol=1e-6)
    np.testing.assert_allclose(features.fit_window(np.full(7, -2.0, np.float32), recipe),
                               [0, -1, -1, -1, -1, -1, -1, -1, 0, 0], rtol=1e-6)


def test_amplitude_normalised_by_percentile_and_clipped():
    rng = np.random.default_rng(0)
    x = rng.normal(size=48000).astype(np.float32) * 0.01
    y = features.normalise_amplitude(x, 99.9)
    ref = np.clip(x / (np.percentile(np.abs(x), 99.9) + np.finfo(np.float32).eps), -1, 1)
    np.testing.assert_allclose(y, ref, atol=1e-6)
    assert x.max() < 0.1, "input must be left as it was"


@given(
    n=st.integers(1, 60000),
    q=st.sampled_from([0.0, 1.0, 50.0, 99.0, 99.9, 99.99, 100.0]),
    kind=st.sampled_from(["normal", "ties", "loud burst", "silence"]),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=80, deadline=None)
def test_percentile_is_exactly_numpys(n, q, kind, seed):
    """The shortcut through the largest values gives np.percentile's answer for any shape of signal."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n).astype(np.float32)
    if kind == "ties":
        x = np.round(x * 3).astype(np.float32)
    elif kind == "loud burst":
        x[: n // 3] *= 1000
    elif kind == "silence":
        x[rng.random(n) < 0.99] = 0
    before = x.copy()
    assert features.percentile_abs(x, q) == pytest.approx(float(np.percentile(np.abs(x), q)), rel=1e-6, abs=1e-30)
    np.testing.assert_array_equal(x, before)


def test_blocked_mel_matches_the_full_filterbank():
    spectrum = np.abs(np.random.default_rng(3).normal(size=(184, 513))).astype(np.float32)
    full = spectrum @ features.mel_filterbank(128, 513, 16000, 80.0, 7600.0)
    np.testing.assert_allclose(features.mel_energies(spectrum, RECIPE), full, rtol=1e-5, atol=1e-5)


def test_work_arrays_stay_bounded_whatever_the_clip_lengths():
    rng = np.random.default_rng(0)
    clips = [rng.normal(size=n).astype(np.float32) * 0.1 for n in range(4000, RECIPE.window_samples, 997)]
    features._SCRATCH.arrays.clear()
    fresh = [features.extract(clip, RECIPE) for clip in clips[:1]]  # work arrays sized for the shortest
    features.extract(rng.normal(size=RECIPE.window_samples).astype(np.float32) * 0.1, RECIPE)
    before = sum(a.nbytes for a in features._SCRATCH.arrays.values())
    reused = [features.extract(clip, RECIPE) for clip in clips]  # 45 lengths, in the grown arrays
    assert np.array_equal(reused[0], fresh[0])
    assert sum(a.nbytes for a in features._SCRATCH.arrays.values()) == before


def test_mel_filterbank_shape_and_dc_bin():
    w = features.mel_filterbank(128, 513, 16000, 80.0, 7600.0)
    assert w.shape == (513, 128)
    assert not w[0].any()
    assert (w.sum(axis=0) > 0).all()


def test_extract_shape_dtype_and_range():
    x = np.random.default_rng(2).normal(size=30000).astype(np.float32)
    f = features.extract(x, RECIPE)
    assert f.shape == (184, 40) and f.dtype == np.float32
    assert np.abs(f).max() <= RECIPE.clip


def test_standardise_uses_recipe_stats():
    recipe = RECIPE.with_stats(np.full(40, 1.0), np.full(40, 2.0), "global")
    raw = features.unstandardised(np.ones(48000, np.float32), RECIPE)
    np.testing.assert_allclose(features.extract(np.ones(48000, np.float32), recipe), (raw - 1.0) / 2.0, atol=1e-6)


def test_utterance_normalisation_centres_each_window_on_its_frames_of_sound():
    coeffs = np.zeros((6, 3), np.float32)
    coeffs[1:4] = [[1, 2, 3], [3, 2, 1], [2, 5, -1]]  # frames 0, 4 and 5: zero padding
    out = features.centred(coeffs)
    np.testing.assert_allclose(out[1:4], coeffs[1:4] - [2, 3, 1], atol=1e-6)
    assert not out[[0, 4, 5]].any() and out.dtype == np.float32
    np.testing.assert_array_equal(features.centred(np.stack([coeffs, 2 * coeffs]))[1], 2 * out)
    recipe = RECIPE.with_stats(np.zeros(40), np.full(40, 2.0), "utterance")
    x = np.random.default_rng(3).normal(size=30000).astype(np.float32)
    raw = features.unstandardised(x, recipe)
    np.testing.assert_allclose(features.extract(x, recipe), features.centred(raw) / 2.0, atol=1e-6)
    assert not np.allclose(features.extract(x, recipe), raw / 2.0, atol=1e-3)
    assert FeatureRecipe.from_dict(recipe.to_dict()) == recipe


def test_recipe_round_trip_and_validation():
    recipe = RECIPE.with_stats(np.zeros(40), np.ones(40), "speaker")
    assert FeatureRecipe.from_dict(recipe.to_dict()) == recipe
    with pytest.raises(InvalidArgumentError):
        FeatureRecipe.from_dict({"bogus": 1})
    with pytest.raises(InvalidArgumentError):
        RECIPE.with_stats(np.zeros(40), np.zeros(40), "global")


@pytest.mark.tensorflow
def test_parity_with_tf_signal(emodb_wavs):
    tf = pytest.importorskip("tensorflow")
    import soundfile

    for path in emodb_wavs[:5]:
        x, _ = soundfile.read(path, dtype="float32")
        window = features.fit_window(x, RECIPE)
        ours = features.mfcc(window, RECIPE)
        stft = tf.signal.stft(window, 1024, 256, 1024, window_fn=tf.signal.hann_window, pad_end=False)
        mel = tf.tensordot(tf.abs(stft), tf.signal.linear_to_mel_weight_matrix(128, 513, 16000, 80.0, 7600.0), 1)
        ref = tf.signal.mfccs_from_log_mel_spectrograms(tf.math.log(mel + 1e-6))[:, :40]
        np.testing.assert_allclose(ours, np.clip(ref.numpy(), -10, 10), atol=1e-4)
