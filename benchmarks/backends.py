"""Backends: ai-edge-litert vs tflite-runtime vs TensorFlow's `tf.lite`, on the same model and features.

Each backend runs in its own fresh process (`backend_child.py`), so import and load
costs are its own. tflite-runtime has no wheels for numpy 2 or Python >= 3.12, so it
lives in a separate venv (benchmarks/setup_tflite_runtime.sh makes `.venv-tflite`);
without that venv it is reported as missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from lightser import features
from lightser.metadata import read_metadata, sidecar_path
from lightser.model import default_model_path

from .common import CACHE, ROOT, shown, test_samples

CHILD = Path(__file__).with_name("backend_child.py")
TFLITE_VENV = ROOT / ".venv-tflite"


def _pythons(tflite_venv: Path) -> dict[str, tuple[str, dict[str, str]] | str]:
    """backend -> (python, environment) to run it with, or why it cannot run."""
    here = (sys.executable, dict(os.environ))
    venv_python = tflite_venv / "bin" / "python"
    if venv_python.is_file():
        tflite: tuple[str, dict[str, str]] | str = (str(venv_python), {**os.environ, "PYTHONPATH": str(ROOT / "sdk")})
    else:
        tflite = f"missing: no {shown(tflite_venv)} (run benchmarks/setup_tflite_runtime.sh; needs Python <= 3.11)"
    return {"ai-edge-litert": here, "tflite-runtime": tflite, "tensorflow": here}


def _features_file(model: Path) -> Path:
    """The model's input features for the test clip, saved where any venv can load them."""
    path = CACHE / "backend-features.npy"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, features.extract(test_samples(), read_metadata(sidecar_path(model)).recipe))
    return path


def _run_child(python: str, env: dict[str, str], args: list[str]) -> dict[str, Any]:
    done = subprocess.run([python, str(CHILD), *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        return {"failed": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(runs: int, warmup: int, model: Path | None = None, tflite_venv: Path = TFLITE_VENV) -> list[dict[str, Any]]:
    """One record per backend: import/load/first-run seconds, inference latency, peak RSS,
    and the largest difference of its probabilities from ai-edge-litert's."""
    model = model or default_model_path()
    args = [str(model), "", str(_features_file(model)), str(runs), str(warmup)]
    records = []
    for backend, how in _pythons(tflite_venv).items():
        args[1] = backend
        record = {"backend": backend, "missing": how} if isinstance(how, str) else _run_child(*how, args)
        records.append({"backend": backend, **record})
    reference = np.asarray(records[0].get("probabilities", np.nan))
    for record in records:
        if "probabilities" in record:
            difference = np.abs(np.asarray(record["probabilities"]) - reference)
            record["max_abs_difference_vs_ai_edge_litert"] = float(np.max(difference))
    return records
