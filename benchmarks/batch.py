"""Files per second over a generated archive: `lightser predict --jobs 1`, `--jobs 2` (each the
whole command, start-up included, in a fresh process) and Ray Data with 2 CPUs
(`lightser.ray.Predict` on two workers, after `ray.init`). Each engine scores the whole archive
and, separately, its first half: the two times give its start-up (interpreter, model, workers)
and its steady rate (files per second once started, what an archive of 100 000 files sees).
Writes benchmarks/results/batch.json and batch.md.

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
from statistics import median
from typing import Any

import soundfile

from lightser.bench import synthetic_voice
from lightser.inputs import folder_files

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
RATE = 16000
TARGETS = {"jobs_2": 1.7, "ray_2cpu": 1.5}  # speed-ups over --jobs 1 (issue 19)
SMALL_SHARE = 2  # the short run scores the first 1 / SMALL_SHARE of the archive (Ray: several batches per worker)


def make_archive(folder: Path, files: int) -> list[str]:
    """`files` synthetic voiced clips of 1-3 s (a call-centre archive's short turns), sorted."""
    for i in range(files):
        soundfile.write(folder / f"{i:05d}.wav", synthetic_voice(1.0 + (i % 5) / 2, RATE, i % 97), RATE,
                        subtype="PCM_16")
    return list(folder_files(str(folder), recursive=False))


def time_command(paths: list[str], jobs: int, out: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and its worker processes) for `lightser predict
    --manifest LIST --jobs N -o OUT` over `paths`, start to exit. CPU time does not depend on
    what else runs."""
    manifest = out.with_suffix(".list")
    manifest.write_text("".join(f"{path}\n" for path in paths))
    command = [sys.executable, "-m", "lightser.cli", "predict", "--manifest", str(manifest), "--jobs", str(jobs),
               "-o", str(out)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def time_ray(runs: list[list[str]]) -> list[float]:
    """Seconds for Ray Data to score each list of `runs` on two 1-CPU workers of one local 2-CPU
    instance (after `ray.init`: a cluster is up before a job; each run starts its own workers)."""
    import ray

    from lightser.ray import Predict

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    seconds = []
    try:
        for paths in runs:
            started = time.perf_counter()
            rows = ray.data.from_items([{"path": path} for path in paths]).map_batches(
                Predict, compute=ray.data.ActorPoolStrategy(size=2), batch_size=64).take_all()
            seconds.append(time.perf_counter() - started)
            if len(rows) != len(paths) or any(row["status"] != "ok" for row in rows):
                raise SystemExit("Ray did not score every file")
    finally:
        ray.shutdown()
    return seconds


def steady(files: int, seconds: float, small_files: int, small_seconds: float) -> tuple[float, float]:
    """(start-up seconds, files per second once started) of an engine that took `small_seconds`
    for `small_files` and `seconds` for `files`, as a line: seconds = start-up + files / rate."""
    rate = (files - small_files) / max(seconds - small_seconds, 1e-9)
    return max(small_seconds - small_files / rate, 0.0), rate


def markdown(report: dict[str, Any]) -> str:
    """The report as a table."""
    small = report["small_files"]
    lines = [
        f"# Batch throughput: {report['files']} files of 1-3 s (16 kHz WAV)",
        "",
        f"`{report['command']}` on {report['machine']} ({report['cpus']} CPUs), {report['when']}.",
        "",
        f"Load average before the runs: {report['load_average']} (a busy machine slows every row).",
        "",
        f"| engine | seconds, {report['files']} files | files per second | speed-up over --jobs 1 | "
        f"seconds, {small} files | start-up seconds | steady files per second | steady speed-up | target | "
        "CPU seconds |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in report["runs"].items():
        target = TARGETS.get(name)
        shown = "" if target is None else (
            f">= {target}x: {'met' if row['speedup'] >= target else 'not met'} "
            f"({'met' if row['steady_speedup'] >= target else 'not met'} steady)")
        cpu = "" if row.get("cpu_seconds") is None else f"{row['cpu_seconds']:.2f}"
        lines.append(f"| {row['engine']} | {row['seconds']:.2f} | {row['files_per_second']:.1f} | "
                     f"{row['speedup']:.2f}x | {row['small_seconds']:.2f} | {row['startup_seconds']:.2f} | "
                     f"{row['steady_files_per_second']:.1f} | {row['steady_speedup']:.2f}x | {shown} | {cpu} |")
    lines += ["", "Command runs include the command's start-up (interpreter, model, worker processes); the Ray "
              "runs start after `ray.init` and include starting their workers. Each time is the median of "
              f"{report['repeats']} runs. Start-up and steady rate: the line "
              f"through the two runs (all files, and the first {small}): seconds = start-up + files / steady rate. "
              "CPU seconds: the whole run's command and its workers (not measured for Ray).", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each engine and size; the median counts")
    parser.add_argument("--no-ray", action="store_true", help="leave out the Ray row")
    parser.add_argument("--out", type=Path, default=RESULTS / "batch", help="report path without extension")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / "archive"
        folder.mkdir()
        paths = make_archive(folder, args.files)
        few = paths[: args.files // SMALL_SHARE]
        load = os.getloadavg()
        timed = {}
        for jobs in (1, 2):
            whole = [time_command(paths, jobs, Path(work) / f"{jobs}.tsv") for _ in range(args.repeats)]
            short = [time_command(few, jobs, Path(work) / f"{jobs}-few.tsv")[0] for _ in range(args.repeats)]
            timed[f"jobs_{jobs}"] = (median(w for w, _ in whole), median(short), median(c for _, c in whole))
        if (Path(work) / "1.tsv").read_text() != (Path(work) / "2.tsv").read_text():
            raise SystemExit("--jobs 2 wrote another table than --jobs 1")
        if not args.no_ray:
            runs = time_ray([paths, few] * args.repeats)
            timed["ray_2cpu"] = (median(runs[0::2]), median(runs[1::2]), None)
    engines = {"jobs_1": "lightser predict --jobs 1", "jobs_2": "lightser predict --jobs 2",
               "ray_2cpu": "Ray Data, lightser.ray.Predict, 2 workers (num_cpus=2)"}
    runs = {}
    for name, (seconds, small_seconds, cpu) in timed.items():
        startup, rate = steady(args.files, seconds, len(few), small_seconds)
        runs[name] = {"engine": engines[name], "seconds": seconds, "files_per_second": args.files / seconds,
                      "small_seconds": small_seconds, "startup_seconds": startup, "steady_files_per_second": rate,
                      "cpu_seconds": cpu}
    for row in runs.values():
        row["speedup"] = runs["jobs_1"]["seconds"] / row["seconds"]
        row["steady_speedup"] = row["steady_files_per_second"] / runs["jobs_1"]["steady_files_per_second"]
    report = {
        "files": args.files,
        "small_files": len(few),
        "command": "python benchmarks/batch.py" + ("" if args.files == 2000 else f" --files {args.files}")
                   + ("" if args.repeats == 3 else f" --repeats {args.repeats}"),
        "repeats": args.repeats,
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "load_average": " / ".join(f"{value:.2f}" for value in load) + " (1 / 5 / 15 min)",
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
