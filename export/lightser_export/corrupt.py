"""Recording conditions that studio corpora lack, applied to a mono float32 waveform: additive
noise at a given SNR, telephone-style band-limiting and room reverberation. Pure functions of
their inputs and a seeded `numpy.random.Generator`; used to augment training copies and to test
how the models hold up."""

from __future__ import annotations

import numpy as np
import soxr

from lightser.audio import RESAMPLE_QUALITY

NOISE_COLOURS = {"white": 0.0, "pink": 1.0, "brown": 2.0}  # power spectrum ~ 1 / f**exponent
FLAT_BELOW_HZ = 100.0  # coloured noise stays flat below this (the features start at 80 Hz), with no DC
TRAIN_SNR_DB = (5.0, 30.0)  # training noise: SNR drawn uniformly in this range
TRAIN_BAND_RATES = (8000, 11025)  # training band limits: played through a codec at one of these rates
TRAIN_RT60_S = (0.2, 0.8)  # training reverberation: decay time drawn uniformly in this range
TRAIN_PEAK_DBFS = (-50.0, -1.0)  # training levels: peak drawn uniformly in this range


def coloured_noise(
    n: int, exponent: float, sample_rate: int, rng: np.random.Generator, flat_below_hz: float = FLAT_BELOW_HZ
) -> np.ndarray:
    """`n` samples of Gaussian noise whose power falls as 1/f**exponent (0 white, 1 pink, 2 brown)
    above `flat_below_hz` and is flat below it, without DC, scaled to unit RMS. (Unbounded, brown
    noise would put nearly all its power below the features' 80 Hz, and its SNR would be empty.)"""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.maximum(np.fft.rfftfreq(n, 1.0 / sample_rate), flat_below_hz)
    spectrum /= f ** (exponent / 2)
    spectrum[0] = 0.0
    noise = np.fft.irfft(spectrum, n)
    return (noise / np.sqrt(np.mean(noise**2))).astype(np.float32)


def add_noise(x: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """`x` plus `noise` (same length) scaled so that mean signal power / mean noise power is
    `snr_db` in decibels (10 log10 of the ratio)."""
    signal_power = float(np.mean(np.square(x, dtype=np.float64)))
    noise_power = float(np.mean(np.square(noise, dtype=np.float64))) or 1.0
    gain = np.sqrt(signal_power / noise_power / 10 ** (snr_db / 10))
    return (x + gain * noise).astype(np.float32)


def band_limit(x: np.ndarray, sample_rate: int, through_rate: int) -> np.ndarray:
    """`x` resampled to `through_rate` and back: nothing above through_rate / 2 survives, as
    with a telephone line (8 kHz) or an old recorder."""
    down = soxr.resample(x, sample_rate, through_rate, quality=RESAMPLE_QUALITY)
    back = soxr.resample(down, through_rate, sample_rate, quality=RESAMPLE_QUALITY)[: len(x)]
    return np.pad(back, (0, len(x) - len(back))).astype(np.float32)  # the round trip may come back a sample short


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


def recorded_at(x: np.ndarray, peak_dbfs: float) -> np.ndarray:
    """`x` scaled to a peak of `peak_dbfs` (dB re full scale 1.0) and rounded to 16-bit PCM steps,
    as a microphone at that gain would record it (quiet recordings keep fewer significant bits)."""
    peak = float(np.max(np.abs(x))) or 1.0
    scaled = x * (10 ** (peak_dbfs / 20) / peak)
    return (np.round(scaled * 32767) / 32767).astype(np.float32)


def random_condition(x: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """`x` under one training condition drawn with `rng`: coloured noise, band-limiting or
    reverberation, with equal chance, each with its parameter drawn from the ranges above."""
    kind = rng.integers(3)
    if kind == 0:
        exponent = list(NOISE_COLOURS.values())[rng.integers(len(NOISE_COLOURS))]
        return add_noise(x, coloured_noise(len(x), exponent, sample_rate, rng), rng.uniform(*TRAIN_SNR_DB))
    if kind == 1:
        return band_limit(x, sample_rate, TRAIN_BAND_RATES[rng.integers(len(TRAIN_BAND_RATES))])
    return reverberate(x, room_impulse(sample_rate, rng.uniform(*TRAIN_RT60_S), rng))
