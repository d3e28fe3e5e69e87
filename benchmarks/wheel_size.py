"""The runtime wheel's size, packed and installed (`pip install --target`, no dependencies),
and that it holds no training side. Writes benchmarks/results/wheel-size.json.

    python benchmarks/wheel_size.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "wheel-size.json"


def measure() -> dict[str, object]:
    """Sizes in bytes of the runtime wheel and of what installing it puts on disk."""
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        pip = [sys.executable, "-m", "pip", "-q"]
        subprocess.run([*pip, "wheel", "--no-deps", "-w", str(folder / "dist"), str(ROOT)], check=True)
        (wheel,) = (folder / "dist").glob("lightser-*.whl")
        subprocess.run([*pip, "install", "--no-deps", "--no-compile", "--target", str(folder / "site"), str(wheel)],
                       check=True)
        files = [path for path in (folder / "site").rglob("*") if path.is_file()]
        names = zipfile.ZipFile(wheel).namelist()
        return {
            "wheel": wheel.name,
            "wheel_bytes": wheel.stat().st_size,
            "installed_bytes": sum(path.stat().st_size for path in files),
            "installed_files": len(files),
            "training_side_inside": any(name.startswith("lightser_export") for name in names),
            "command": "python benchmarks/wheel_size.py",
        }


def main() -> None:
    report = measure()
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
