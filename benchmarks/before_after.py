"""Old code against new, in one process, taking turns call by call.

    python -m benchmarks.before_after --before /tmp/lightser-before/pkg [--runs 300] [--cold 5]

--before is a folder holding an older `lightser` package (with its `models` inside, as the
wheel lays it out; docs/speed.md shows how to make one from a git commit). It is imported
beside this one as `lightser_before`. The process pins itself to core 0 (before NumPy loads)
and uses one interpreter thread. For each input (the synthetic 3 s clips of `lightser bench`,
16 and 48 kHz), every round times each of `bench.stage_calls`' stages with the old code, then
with the new, so a training or any other load on the machine falls on both alike, which
separate runs on a busy machine do not give. Cold start (import + load + first prediction)
and its peak RSS come from fresh processes, old and new in turn, `--cold` times each (median);
so does `predict_segments` on a 60 s recording (`bench.segments_throughput`, windows per second).
Writes benchmarks/results/before-after.{json,md}.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any, Sequence

import numpy as np

import lightser
from lightser import bench
from lightser.errors import LightSERError
from lightser.model import default_model_path

from .common import ROOT

RESULTS = ROOT / "benchmarks" / "results"
CODES = ("before", "after")
RATIOS = {"end_to_end": ("end_to_end",), "features": ("features",), "decode + resample": ("decode", "resample")}


def import_before(folder: Path) -> ModuleType:
    """The `lightser` package in `folder`, imported as `lightser_before` (its modules too)."""
    init = folder / "lightser" / "__init__.py"
    spec = importlib.util.spec_from_file_location("lightser_before", init,
                                                  submodule_search_locations=[str(init.parent)])
    if spec is None or spec.loader is None:
        raise LightSERError(f"{folder}: no lightser package in it")
    package = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = package
    spec.loader.exec_module(package)
    importlib.import_module("lightser_before.bench")
    return package


def stage_times(packages: dict[str, ModuleType], clip: dict[str, Any], runs: int, warmup: int,
                rounds: int) -> dict[str, Any]:
    """code -> stage -> p50/p90/p99/mean ms, every stage of both codes timed in each round; and
    code -> `predict_segments` windows per second on 60 s (`bench.segments_throughput`, codes
    taking turns for `rounds` rounds, the median kept)."""
    calls, recs = {}, {}
    for code, package in packages.items():
        recs[code] = package.Recognizer(num_threads=1)
        calls.update({(code, stage): call for stage, call in package.bench.stage_calls(recs[code], clip).items()})
    seconds = bench.time_stages(calls, runs, warmup, lambda: None)
    rates: dict[str, list[float]] = {code: [] for code in packages}
    for _ in range(rounds):
        for code, rec in recs.items():
            rates[code].append(bench.segments_throughput(rec, clip)["windows_per_second"])
    return {code: {"stages": {stage: bench.summarise_ms(seconds[(code, stage)]) for stage in bench.STAGES},
                   "windows_per_second": float(np.median(rates[code]))} for code in packages}


def cold_once(folder: Path | None, clip_path: Path) -> dict[str, Any]:
    """`lightser bench`'s cold-start script in a fresh process, importing lightser from `folder`
    (None: as this Python does); the default model, one thread."""
    env = dict(os.environ)
    if folder is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(folder), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    command = [sys.executable, "-c", bench._COLD_START, str(default_model_path()), "auto", "1", str(clip_path), "[1.0]"]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise LightSERError(f"cold start with {folder or 'this'} code failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def summary(times: dict[str, Any], colds: list[dict[str, Any]]) -> dict[str, Any]:
    """p50 of each stage (ms), the ratios to inference, windows/s, median cold start and its peak RSS."""
    p50 = {stage: figures["p50"] for stage, figures in times["stages"].items()}
    return {
        "stages_p50_ms": p50,
        "windows_per_second": times["windows_per_second"],
        "over_inference": {name: sum(p50[s] for s in parts) / p50["inference"] for name, parts in RATIOS.items()},
        "cold_start_s": float(np.median([c["total_s"] for c in colds])),
        "cold_peak_rss_mib": float(np.median([c["peak_rss_bytes"] for c in colds])) / 2**20,
    }


def markdown(results: dict[str, Any], meta: dict[str, Any]) -> str:
    """The before/after table, one block of rows per input rate."""
    lines = [
        "# Front end speed: before and after, one process", "",
        f"- command: `{meta['command']}`", f"- date: {meta['date']}; machine: {meta['machine']}, pinned to core 0, "
        "one interpreter thread", f"- before: `{meta['before']}`; after: `{meta['after']}`",
        f"- {meta['runs']} rounds after {meta['warmup']} warm-up, every stage of both codes in each round; "
        f"predict_segments and cold start (fresh processes): median of {meta['cold']} each, taking turns",
        f"- load average at the start / end: {meta['load_start']} / {meta['load_end']}", "",
        "| input | figure | before | after |", "|---|---|---|---|",
    ]
    for rate, codes in results.items():
        before, after = codes["before"], codes["after"]
        lines += [f"| {rate} | {stage} p50 ms | {before['stages_p50_ms'][stage]:.3f} | "
                  f"{after['stages_p50_ms'][stage]:.3f} |" for stage in bench.STAGES]
        lines += [f"| {rate} | {name} / inference | {before['over_inference'][name]:.2f} | "
                  f"{after['over_inference'][name]:.2f} |" for name in RATIOS]
        lines.append(f"| {rate} | predict_segments, 60 s: windows/s | {before['windows_per_second']:.1f} | "
                     f"{after['windows_per_second']:.1f} |")
    rate = list(results)[-1]  # the cold start predicts on the last input
    before, after = results[rate]["before"], results[rate]["after"]
    lines.append(f"| {rate} | cold start s | {before['cold_start_s']:.3f} | {after['cold_start_s']:.3f} |")
    lines.append(f"| {rate} | cold-start peak RSS MiB | {before['cold_peak_rss_mib']:.1f} | "
                 f"{after['cold_peak_rss_mib']:.1f} |")
    return "\n".join(lines) + "\n"


def _pinned(argv: Sequence[str]) -> None:
    """Re-run this command on core 0 unless it already is: NumPy's BLAS sizes its thread pool
    when it loads, so only a process started pinned sees a one-core budget."""
    if os.sched_getaffinity(0) != {0}:
        bench.pin([0])
        os.execv(sys.executable, [sys.executable, "-m", "benchmarks.before_after", *argv])


def main(argv: Sequence[str] | None = None) -> int:
    """Time both codes, write the JSON and Markdown, print the Markdown."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, required=True, help="folder holding the old `lightser` package")
    parser.add_argument("--runs", type=int, default=300, help="timed rounds per input (default 300)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed rounds first (default 20)")
    parser.add_argument("--cold", type=int, default=5,
                        help="turns per code for predict_segments and the cold start (default 5)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not (args.before / "lightser" / "__init__.py").is_file():
        parser.error(f"--before {args.before}: no lightser package in it")
    _pinned(argv)
    load_start = " ".join(f"{v:.2f}" for v in os.getloadavg())
    packages = {"before": import_before(args.before), "after": lightser}
    results: dict[str, Any] = {}
    clips = bench.load_clips(None)
    for clip in clips:
        print(f"[before_after] {clip['name']}", file=sys.stderr, flush=True)
        results[f"{clip['sample_rate'] // 1000} kHz"] = stage_times(packages, clip, args.runs, args.warmup, args.cold)
    colds: dict[str, list[dict[str, Any]]] = {code: [] for code in CODES}
    with tempfile.TemporaryDirectory() as tmp:
        clip_path = Path(tmp) / "clip.wav"
        clip_path.write_bytes(clips[-1]["data"])
        for _ in range(args.cold):
            for code, folder in (("before", args.before), ("after", None)):
                colds[code].append(cold_once(folder, clip_path))
    results = {rate: {code: summary(stages[code], colds[code]) for code in CODES} for rate, stages in results.items()}
    meta = {"command": "python -m benchmarks.before_after " + " ".join(argv), "date": time.strftime("%Y-%m-%d %H:%M"),
            "machine": bench.cpu_model(), "runs": args.runs, "warmup": args.warmup, "cold": args.cold,
            "before": str(Path(packages["before"].__file__).parent), "after": str(Path(lightser.__file__).parent),
            "load_start": load_start, "load_end": " ".join(f"{v:.2f}" for v in os.getloadavg())}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "before-after.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1) + "\n")
    text = markdown(results, meta)
    (args.out / "before-after.md").write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
