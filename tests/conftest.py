"""Shared fixtures. EMO-DB is read in place from ../shared/data/emodb; with CI set, its absence is a failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EMODB = ROOT.parent / "shared" / "data" / "emodb"


@pytest.fixture(scope="session")
def emodb_root() -> Path:
    """The EMO-DB folder; skips locally when absent, fails under CI."""
    if not (EMODB / "wav").is_dir():
        message = f"EMO-DB not found at {EMODB}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must provide it)")
        pytest.skip(message)
    return EMODB


@pytest.fixture(scope="session")
def emodb_wavs(emodb_root: Path) -> list[Path]:
    """Every EMO-DB WAV, sorted."""
    return sorted((emodb_root / "wav").glob("*.wav"))


def voiced(seconds: float, rate: int = 16000, seed: int = 0):
    """A speech-like float32 test signal (the bench's synthetic voice), 16 kHz by default."""
    from lightser.bench import synthetic_voice

    return synthetic_voice(seconds, rate, seed)


@pytest.fixture(scope="session")
def recognizer():
    """The bundled model, loaded once."""
    from lightser import Recognizer

    return Recognizer()


# Helpers of the hardening suite (test_bad_input, test_fuzz, test_long_audio, test_concurrency,
# test_damaged_models, test_cli_batch).


def assert_valid_prediction(p, labels) -> None:
    """Scores in label order, finite, in [0, 1] and summing to 1 (1e-5); label and confidence agree."""
    import math

    assert list(p.scores) == list(labels)
    values = list(p.scores.values())
    assert all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in values), values
    assert abs(sum(values) - 1.0) <= 1e-5, sum(values)
    assert p.label == max(p.scores, key=p.scores.get) and p.confidence == p.scores[p.label]


def encode(x, rate: int, subtype: str = "PCM_16", format: str = "WAV") -> bytes:
    """`x` (samples,) or (samples, channels) encoded as an audio file, in memory."""
    import io

    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, x, rate, subtype=subtype, format=format)
    return buffer.getvalue()


def run_lightser(*args: str, timeout: float = 300, env: dict[str, str] | None = None):
    """The `lightser` command in a child process (`env`: added to this one's environment):
    (returncode, stdout, stderr)."""
    import os
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "lightser.cli", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        errors="surrogateescape",  # file names that are not UTF-8 come back as they went in
        timeout=timeout,
    )
    return out.returncode, out.stdout, out.stderr


@pytest.fixture(scope="session")
def speaker_recognizer():
    """The bundled model trained with per-speaker normalisation (the one for enrolment)."""
    from lightser import Recognizer, bundled_models

    return Recognizer(bundled_models("speaker")[0])


@pytest.fixture(scope="session")
def ungated_recognizer():
    """The bundled model with the speech gate off (silence_db=None, voicing=False): every window is classified."""
    from lightser import Recognizer

    return Recognizer(silence_db=None, voicing=False)
