"""Time one TFLite backend through `Model.run`, in a fresh process of any venv that can import lightser.

Usage: python backend_child.py MODEL BACKEND FEATURES.npy RUNS WARMUP; prints one JSON line.
Only `Model.run` is used (no MFCC), so this also runs beside numpy<2, which tflite-runtime needs.
"""

from __future__ import annotations

import json
import sys
import time


def main(model_path: str, backend: str, features_path: str, runs: int, warmup: int) -> dict:
    """Import, load, first-run and steady-state inference figures of `backend`."""
    started = time.perf_counter()
    from lightser.backend import load_backend

    loaded_backend = load_backend(backend)
    imported = time.perf_counter()
    from lightser.model import Model

    model = Model(model_path, backend=backend, num_threads=1)
    loaded = time.perf_counter()
    import numpy as np

    feats = np.load(features_path)
    probs = model.run(feats)
    first = time.perf_counter()
    from lightser import bench

    seconds = bench.time_stages({"inference": lambda: model.run(feats)}, runs, warmup, lambda: None)
    return {
        "backend": backend, "version": loaded_backend.version, "numpy": np.__version__,
        "python": sys.version.split()[0], "import_s": imported - started, "load_s": loaded - imported,
        "first_run_s": first - loaded, "inference_ms": bench.summarise_ms(seconds["inference"]),
        "peak_rss_bytes": bench.peak_rss_bytes(), "probabilities": probs.tolist(),
    }


if __name__ == "__main__":
    model_arg, backend_arg, features_arg, runs_arg, warmup_arg = sys.argv[1:6]
    print(json.dumps(main(model_arg, backend_arg, features_arg, int(runs_arg), int(warmup_arg))))
