"""Files per second over a generated archive: `lightser predict --jobs 1`, `--jobs 2` (each the
whole command, start-up included, in a fresh process) and Ray Data with 2 CPUs
(`lightser.ray.Predict` on two workers, after `ray.init`). Writes benchmarks/results/batch.json
and batch.md.

    python benchmarks/batch.py                # 2 000 clips of 1-3 s at 16 kHz
    python benchmarks/batch.py --files 200    # a quick check that it runs

Needs the ray extra for the Ray row (`pip install ".[ray]"`; skipped with --no-ray).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import soundfile

from lightser.bench import synthetic_voice
from lightser.inputs import folder_files

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
RATE = 16000
TARGETS = {"jobs_2": 1.7, "ray_2cpu": 1.5}  # speed-ups over --jobs 1 (issue 19)


def make_archive(folder: Path, files: int) -> list[str]:
    """`files` synthetic voiced clips of 1-3 s (a call-centre archive's short turns), sorted."""
    for i in range(files):
        soundfile.write(folder / f"{i:05d}.wav", synthetic_voice(1.0 + (i % 5) / 2, RATE, i % 97), RATE,
                        subtype="PCM_16")
    return list(folder_files(str(folder), recursive=False))


def time_command(folder: Path, jobs: int, out: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and its worker processes) for `lightser predict
    FOLDER --jobs N -o OUT`, start to exit. CPU time does not depend on what else runs."""
    command = [sys.executable, "-m", "lightser.cli", "predict", str(folder), "--jobs", str(jobs), "-o", str(out)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def time_ray(paths: list[str]) -> float:
    """Seconds for Ray Data to score `paths` on two 1-CPU workers of a local 2-CPU instance
    (after `ray.init`: a cluster is up before a job)."""
    import ray

    from lightser.ray import Predict

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        started = time.perf_counter()
        rows = ray.data.from_items([{"path": path} for path in paths]).map_batches(
            Predict, compute=ray.data.ActorPoolStrategy(size=2), batch_size=64).take_all()
        seconds = time.perf_counter() - started
    finally:
        ray.shutdown()
    if len(rows) != len(paths) or any(row["status"] != "ok" for row in rows):
        raise SystemExit("Ray did not score every file")
    return seconds


def markdown(report: dict[str, Any]) -> str:
    """The report as a table."""
    lines = [
        f"# Batch throughput: {report['files']} files of 1-3 s (16 kHz WAV)",
        "",
        f"`{report['command']}` on {report['machine']} ({report['cpus']} CPUs), {report['when']}.",
        "",
        f"Load average before the runs: {report['load_average']} (a busy machine slows every row).",
        "",
        "| engine | seconds | files per second | speed-up over --jobs 1 | target | CPU seconds |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in report["runs"].items():
        target = TARGETS.get(name)
        shown = "" if target is None else f">= {target}x: {'met' if row['speedup'] >= target else 'not met'}"
        cpu = "" if row.get("cpu_seconds") is None else f"{row['cpu_seconds']:.2f}"
        lines.append(f"| {row['engine']} | {row['seconds']:.2f} | {row['files_per_second']:.1f} | "
                     f"{row['speedup']:.2f}x | {shown} | {cpu} |")
    lines += ["", "Command runs include the command's start-up (interpreter, model, worker processes); the Ray "
              "run starts after `ray.init`. CPU seconds: the command's and its workers' (not measured for Ray).",
              ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--no-ray", action="store_true", help="leave out the Ray row")
    parser.add_argument("--out", type=Path, default=RESULTS / "batch", help="report path without extension")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / "archive"
        folder.mkdir()
        paths = make_archive(folder, args.files)
        load = os.getloadavg()
        timed = {"jobs_1": time_command(folder, 1, Path(work) / "1.tsv"),
                 "jobs_2": time_command(folder, 2, Path(work) / "2.tsv")}
        if (Path(work) / "1.tsv").read_text() != (Path(work) / "2.tsv").read_text():
            raise SystemExit("--jobs 2 wrote another table than --jobs 1")
        if not args.no_ray:
            timed["ray_2cpu"] = (time_ray(paths), None)
    engines = {"jobs_1": "lightser predict --jobs 1", "jobs_2": "lightser predict --jobs 2",
               "ray_2cpu": "Ray Data, lightser.ray.Predict, 2 workers (num_cpus=2)"}
    report = {
        "files": args.files,
        "command": "python benchmarks/batch.py" + ("" if args.files == 2000 else f" --files {args.files}"),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "load_average": " / ".join(f"{value:.2f}" for value in load) + " (1 / 5 / 15 min)",
        "runs": {name: {"engine": engines[name], "seconds": s, "files_per_second": args.files / s,
                        "speedup": timed["jobs_1"][0] / s, "cpu_seconds": cpu} for name, (s, cpu) in timed.items()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
