"""The command line the scripts that score finished LOSO evaluations share."""

from __future__ import annotations

import argparse
from pathlib import Path

from lightser_export.datasets import EMODB_ROOT


def parse_args(doc: str, out: str) -> argparse.Namespace:
    """runs: LOSO run folders; --data: the EMO-DB folder; --out: the report (default `out`)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="LOSO run folders holding speaker-XX/model-int8.tflite")
    parser.add_argument("--data", default=EMODB_ROOT, type=Path)
    parser.add_argument("--out", default=out, type=Path)
    return parser.parse_args()
