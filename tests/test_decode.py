"""The fast decode and resample paths give exactly the samples of the slow ones."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile
import soxr

from lightser import audio

RNG = np.random.default_rng(7)
SIGNAL = np.clip(RNG.normal(size=(3001, 2)) * 0.4, -1.0, 1.0)
SIGNAL[:4] = [[-1.0, 1.0], [1.0, -1.0], [0.0, 0.0], [-0.5, 0.25]]  # full scale both ways


@pytest.mark.parametrize(("format_", "subtype"), [
    ("WAV", "PCM_U8"), ("WAV", "PCM_16"), ("WAV", "PCM_24"), ("WAV", "PCM_32"), ("WAV", "ULAW"), ("WAV", "ALAW"),
    ("AIFF", "PCM_S8"), ("FLAC", "PCM_16"), ("FLAC", "PCM_24"), ("WAV", "FLOAT"),
])
def test_integer_samples_decode_to_libsndfiles_floats(format_, subtype):
    buffer = io.BytesIO()
    soundfile.write(buffer, SIGNAL, 8000, format=format_, subtype=subtype)
    expected, _ = soundfile.read(io.BytesIO(buffer.getvalue()), dtype="float32", always_2d=True)
    handle = soundfile.SoundFile(io.BytesIO(buffer.getvalue()))
    integer = handle.subtype.startswith(audio._INTEGER_SUBTYPES)
    assert integer == (subtype != "FLOAT")
    got = audio._read_float(handle, 10_000, integer)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("blocks", [1, 3])
def test_resampling_gives_soxrs_samples_whatever_the_blocks(blocks, monkeypatch):
    x = (RNG.normal(size=audio.BLOCK_SAMPLES * blocks - 17) * 0.3).astype(np.float32)
    streams = []
    real = soxr.ResampleStream
    monkeypatch.setattr(soxr, "ResampleStream", lambda *a, **k: streams.append(a) or real(*a, **k))
    got = audio.read(x, 48000, 16000)
    np.testing.assert_array_equal(got, soxr.resample(x, 48000, 16000, quality=audio.RESAMPLE_QUALITY))
    assert len(streams) == (blocks > 1)  # one block: one soxr call, no stream to set up
