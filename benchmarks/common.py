"""What every section shares: paths, the test clip, and `lightser bench` run in a fresh process."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from lightser import bench
from lightser.errors import LightSERError

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "benchmarks"
CLIP_SECONDS = 3.0
CLIP_RATE = 16000  # EMO-DB's rate: no section pays for resampling
PACKAGES = ("lightser", "numpy", "ai-edge-litert", "tensorflow-cpu", "tensorflow", "python_speech_features",
            "opensmile", "scikit-learn")


def test_clip() -> Path:
    """A synthetic voiced 3 s WAV at 16 kHz, written once into the cache."""
    path = CACHE / "clip-3s-16k.wav"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bench.wav_bytes(test_samples(), CLIP_RATE))
    return path


def test_samples() -> np.ndarray:
    """The test clip's samples (float32, 16 kHz)."""
    return bench.synthetic_voice(CLIP_SECONDS, CLIP_RATE)


def bench_report(model: Path, runs: int, warmup: int, backend: str = "auto") -> dict[str, Any]:
    """`lightser bench --json` on `model` with the test clip and one thread, in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.json"
        command = [sys.executable, "-m", "lightser.cli", "bench", "--model", str(model), "--backend", backend,
                   "--audio", str(test_clip()), "--runs", str(runs), "--warmup", str(warmup),
                   "--threads", "1", "--json", str(out)]
        done = subprocess.run(command, stdout=subprocess.DEVNULL)
        if done.returncode != 0:
            raise LightSERError(f"`{' '.join(command)}` failed (exit {done.returncode})")
        return json.loads(out.read_text())


def shown(path: Path) -> str:
    """`path` relative to the repository when it is inside it."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def versions() -> dict[str, str]:
    """Installed versions of the packages the suite measures (those present)."""
    found = {}
    for dist in PACKAGES:
        try:
            found[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def machine() -> str:
    """CPU model, architecture, cores, OS and Python of this machine."""
    return (f"{bench.cpu_model()}, {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}, "
            f"Python {platform.python_version()}")
