"""Feature extraction per 3 s window: our NumPy MFCC vs python_speech_features vs tf.signal.

All three compute 40 MFCCs over 128 mel bands from 1024-sample frames every 256 samples
at 16 kHz, with the recipe of the bundled model. python_speech_features differs in its
details (power spectrum, its own filterbank and orthonormal DCT), tf.signal is the
reference our recipe is pinned to (a test holds it to 1e-4).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from lightser import bench, features
from lightser.features import FeatureRecipe
from lightser.metadata import read_metadata, sidecar_path
from lightser.model import default_model_path

from .common import test_samples

Extractor = Callable[[np.ndarray], np.ndarray]


def ours(recipe: FeatureRecipe) -> Extractor:
    """The runtime's pipeline, standardisation left out (the others have none)."""
    return lambda x: features.unstandardised(x, recipe)


def python_speech_features(recipe: FeatureRecipe) -> Extractor:
    """`python_speech_features.mfcc` with the recipe's constants and a Hann window."""
    from python_speech_features import mfcc

    def extract(x: np.ndarray) -> np.ndarray:
        return mfcc(x, samplerate=recipe.sample_rate, winlen=recipe.frame_length / recipe.sample_rate,
                    winstep=recipe.frame_step / recipe.sample_rate, numcep=recipe.n_mfcc, nfilt=recipe.n_mels,
                    nfft=recipe.fft_length, lowfreq=recipe.fmin_hz, highfreq=recipe.fmax_hz, preemph=0.0,
                    ceplifter=0, appendEnergy=False, winfunc=np.hanning)

    return extract


def tf_signal(recipe: FeatureRecipe) -> Extractor:
    """The recipe in `tf.signal`, traced once with `tf.function` (amplitude step in NumPy, as ours)."""
    import tensorflow as tf

    weights = tf.signal.linear_to_mel_weight_matrix(recipe.n_mels, recipe.fft_length // 2 + 1, recipe.sample_rate,
                                                    recipe.fmin_hz, recipe.fmax_hz)

    @tf.function(input_signature=[tf.TensorSpec([recipe.window_samples], tf.float32)])
    def mfcc(window: tf.Tensor) -> tf.Tensor:
        stft = tf.signal.stft(window, recipe.frame_length, recipe.frame_step, recipe.fft_length)
        log_mel = tf.math.log(tf.matmul(tf.abs(stft), weights) + recipe.log_offset)
        coeffs = tf.signal.mfccs_from_log_mel_spectrograms(log_mel)[:, : recipe.n_mfcc]
        return tf.clip_by_value(coeffs, -recipe.clip, recipe.clip)

    return lambda x: mfcc(features.fit_window(x, recipe)).numpy()


EXTRACTORS = {"lightser (NumPy)": ours, "python_speech_features": python_speech_features, "tf.signal": tf_signal}


def measure(runs: int, warmup: int) -> dict[str, Any]:
    """Latency of each extractor on the test clip, its output shape, and its p50 over ours.

    Timed twice: interleaved (the extractors take turns, so each starts with caches the others
    have filled, as inside a pipeline) and alone (one extractor's calls back to back, warm).
    """
    recipe = read_metadata(sidecar_path(default_model_path())).recipe
    x = test_samples()
    extractors = {name: make(recipe) for name, make in EXTRACTORS.items()}
    calls = {name: (lambda f=f: f(x)) for name, f in extractors.items()}
    interleaved = bench.time_stages(calls, runs, warmup, lambda: None)
    alone = {name: bench.time_stages({name: call}, runs, warmup, lambda: None)[name] for name, call in calls.items()}
    outputs = {name: f(x) for name, f in extractors.items()}
    rows = {name: {"latency_ms": bench.summarise_ms(s), "alone_latency_ms": bench.summarise_ms(alone[name]),
                   "shape": list(outputs[name].shape)} for name, s in interleaved.items()}
    base = rows["lightser (NumPy)"]["latency_ms"]["p50"]
    for row in rows.values():
        row["p50_over_ours"] = row["latency_ms"]["p50"] / base
    difference = float(np.max(np.abs(outputs["lightser (NumPy)"] - outputs["tf.signal"])))
    return {"window_seconds": recipe.window_seconds, "extractors": rows,
            "max_abs_difference_ours_vs_tf_signal": difference}
