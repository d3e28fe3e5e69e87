#!/usr/bin/env bash
# Make .venv-tflite: tflite-runtime beside numpy<2, for the suite's backends section.
# tflite-runtime has wheels only up to Python 3.11 and was built against numpy 1.x.
# The suite measures Model.run there (the full pipeline also runs on numpy 1.x).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3.11}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] > (3, 11))' || {
    echo "tflite-runtime needs Python <= 3.11; set PYTHON=python3.11 (or older)" >&2; exit 1; }
"$PYTHON" -m venv "$ROOT/.venv-tflite"
"$ROOT/.venv-tflite/bin/pip" install -q "numpy<2" tflite-runtime soundfile soxr
"$ROOT/.venv-tflite/bin/python" -c 'import tflite_runtime, numpy; print("tflite-runtime ready, numpy", numpy.__version__)'
