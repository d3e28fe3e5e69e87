"""The runtime wheel holds the runtime only; the training side is its own distribution in export/."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import lightser

ROOT = Path(__file__).resolve().parents[1]


def test_runtime_wheel_has_no_training_side(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, timeout=600)
    (wheel,) = tmp_path.glob("lightser-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert not [name for name in names if name.startswith("lightser_export")], names
    assert {"lightser/py.typed", "lightser/ray.py", "lightser/models/general-int8.tflite"} <= set(names)
    (entry_points,) = [name for name in names if name.endswith("entry_points.txt")]
    scripts = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "lightser = lightser.cli:main" in scripts and "lightser-train" not in scripts


def test_training_distribution_matches_the_runtime():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "export" / "pyproject.toml").read_text())["project"]
    assert project["name"] == "lightser-export" and project["version"] == lightser.__version__
    assert project["scripts"] == {"lightser-train": "lightser_export.cli:main"}
    assert "lightser" in project["dependencies"]
