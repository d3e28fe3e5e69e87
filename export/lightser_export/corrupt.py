"""Recording conditions that studio corpora lack, applied to a mono float32 waveform: additive
noise at a given SNR, telephone-style band-limiting and room reverberation. Pure functions of
their inputs and a seeded `numpy.random.Generator`; used to augment training copies and to test
how the models hold up."""

from __future__ import annotations

import numpy as np
import soxr

from lightser.audio import RESAMPLE_QUALITY

NOISE_COLOURS = {"white": 0.0, "pink": 1.0, "brown": 2.0}  # power spectrum ~ 1 / f**exponent
TRAIN_SNR_DB = (5.0, 30.0)  # training noise: SNR drawn uniformly in this range
TRAIN_BAND_RATES = (8000, 11025)  # training band limits: played through a codec at one of these rates
TRAIN_RT60_S = (0.2, 0.8)  # training reverberation: decay time drawn uniformly in this range


def coloured_noise(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """`n` samples of Gaussian noise whose power falls as 1/f**exponent (0 white, 1 pink, 2 brown),
    scaled to unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spectrum), dtype=np.float64)
    f[0] = 1.0  # no DC boost: the lowest bin keeps the weight of the first
    noise = np.fft.irfft(spectrum / f ** (exponent / 2), n)
    return (noise / np.sqrt(np.mean(noise**2))).astype(np.float32)


def add_noise(x: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """`x` plus `noise` (same length) scaled so that mean signal power / mean noise power = `snr_db`."""
    signal_power = float(np.mean(np.square(x, dtype=np.float64)))
    noise_power = float(np.mean(np.square(noise, dtype=np.float64))) or 1.0
    gain = np.sqrt(signal_power / noise_power / 10 ** (snr_db / 10))
    return (x + gain * noise).astype(np.float32)


def band_limit(x: np.ndarray, sample_rate: int, through_rate: int) -> np.ndarray:
    """`x` resampled to `through_rate` and back: nothing above through_rate / 2 survives, as
    with a telephone line (8 kHz) or an old recorder."""
    down = soxr.resample(x, sample_rate, through_rate, quality=RESAMPLE_QUALITY)
    return soxr.resample(down, through_rate, sample_rate, quality=RESAMPLE_QUALITY)[: len(x)].astype(np.float32)


def room_impulse(sample_rate: int, rt60_s: float, rng: np.random.Generator) -> np.ndarray:
    """A synthetic room impulse response: a unit direct path, then Gaussian noise decaying by
    60 dB over `rt60_s` seconds (exponential decay, about 20 % of the direct path's energy)."""
    t = np.arange(int(rt60_s * sample_rate)) / sample_rate
    tail = rng.standard_normal(len(t)) * 10 ** (-3 * t / rt60_s)
    tail *= np.sqrt(0.2 / np.sum(tail**2))
    tail[0] = 1.0
    return tail


def reverberate(x: np.ndarray, impulse: np.ndarray) -> np.ndarray:
    """`x` convolved with `impulse` (FFT convolution), cut to the length of `x`."""
    n = len(x) + len(impulse) - 1
    y = np.fft.irfft(np.fft.rfft(x, n) * np.fft.rfft(impulse, n), n)[: len(x)]
    return y.astype(np.float32)


def random_condition(x: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """`x` under one training condition drawn with `rng`: coloured noise, band-limiting or
    reverberation, with equal chance, each with its parameter drawn from the ranges above."""
    kind = rng.integers(3)
    if kind == 0:
        exponent = list(NOISE_COLOURS.values())[rng.integers(len(NOISE_COLOURS))]
        return add_noise(x, coloured_noise(len(x), exponent, rng), rng.uniform(*TRAIN_SNR_DB))
    if kind == 1:
        return band_limit(x, sample_rate, TRAIN_BAND_RATES[rng.integers(len(TRAIN_BAND_RATES))])
    return reverberate(x, room_impulse(sample_rate, rng.uniform(*TRAIN_RT60_S), rng))
