"""Old code against new, in one sitting: `lightser bench` on both, taking turns.

    python -m benchmarks.before_after --before /tmp/lightser-before/pkg [--rounds 3] [--runs 300]

--before is a folder holding an older `lightser` package (with its `models` inside, as the
wheel lays it out; docs/speed.md shows how to make one from a git commit). The new code is the
`lightser` this Python imports. Each round runs, for each code and each input (the synthetic
3 s clips at 16 and 48 kHz, as WAV files), `lightser bench --cpus 0 --threads 1 --audio CLIP`
in a fresh process, so background load falls on both alike. Per code and input the median
over the rounds of each p50 is kept. Writes benchmarks/results/before-after.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from lightser import bench
from lightser.errors import LightSERError

from .common import ROOT

RESULTS = ROOT / "benchmarks" / "results"
RATIOS = {"end_to_end": ("end_to_end",), "features": ("features",), "decode + resample": ("decode", "resample")}


def bench_once(package: Path | None, clip: Path, runs: int, warmup: int) -> dict[str, Any]:
    """`lightser bench --json` pinned to core 0 with one thread, importing lightser from
    `package` (None: as this Python does)."""
    env = dict(os.environ)
    if package is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(package), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.json"
        command = [sys.executable, "-m", "lightser.cli", "bench", "--cpus", "0", "--threads", "1", "--audio", str(clip),
                   "--runs", str(runs), "--warmup", str(warmup), "--json", str(out)]
        done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if done.returncode != 0:
            raise LightSERError(f"`{' '.join(command)}` failed (exit {done.returncode}) with {package or 'this'} code")
        return json.loads(out.read_text())


def summary(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over rounds: each stage's p50 (ms), the ratios to inference, cold start, peak RSS."""
    stages = {stage: float(np.median([r["latency"][0]["stages_ms"][stage]["p50"] for r in reports]))
              for stage in bench.STAGES}
    return {
        "stages_p50_ms": stages,
        "over_inference": {name: sum(stages[s] for s in parts) / stages["inference"] for name, parts in RATIOS.items()},
        "cold_start_s": float(np.median([r["cold_start"]["total_s"] for r in reports])),
        "cold_peak_rss_mib": float(np.median([r["cold_start"]["peak_rss_bytes"] for r in reports])) / 2**20,
        "model_path": reports[0]["model"]["path"],  # shows which code ran
    }


def markdown(results: dict[str, Any], meta: dict[str, Any]) -> str:
    """The before/after table, one block of rows per input rate."""
    lines = [
        "# Front end speed: before and after, one sitting", "",
        f"- command: `{meta['command']}`", f"- date: {meta['date']}; machine: {meta['machine']}",
        f"- {meta['rounds']} rounds, taking turns; each `lightser bench --cpus 0 --threads 1 --runs {meta['runs']}`;"
        " medians over the rounds of each p50", f"- load average at the start: {meta['load']}", "",
        "| input | figure | before | after |", "|---|---|---|---|",
    ]
    for rate, codes in results.items():
        before, after = codes["before"], codes["after"]
        for stage in bench.STAGES:
            lines.append(f"| {rate} | {stage} p50 ms | {before['stages_p50_ms'][stage]:.3f} | "
                         f"{after['stages_p50_ms'][stage]:.3f} |")
        for name in RATIOS:
            lines.append(f"| {rate} | {name} / inference | {before['over_inference'][name]:.2f} | "
                         f"{after['over_inference'][name]:.2f} |")
        lines.append(f"| {rate} | cold start s | {before['cold_start_s']:.3f} | {after['cold_start_s']:.3f} |")
        lines.append(f"| {rate} | cold-start peak RSS MiB | {before['cold_peak_rss_mib']:.1f} | "
                     f"{after['cold_peak_rss_mib']:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the rounds, write the JSON and Markdown, print the Markdown."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, required=True, help="folder holding the old `lightser` package")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not (args.before / "lightser" / "__init__.py").is_file():
        parser.error(f"--before {args.before}: no lightser package in it")
    meta = {"command": "python -m benchmarks.before_after " + " ".join(argv if argv is not None else sys.argv[1:]),
            "date": time.strftime("%Y-%m-%d %H:%M"), "machine": bench.cpu_model(), "rounds": args.rounds,
            "runs": args.runs, "load": " ".join(f"{v:.2f}" for v in os.getloadavg())}
    reports: dict[str, dict[str, list[dict[str, Any]]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        clips = {}
        for clip in bench.load_clips(None):
            clips[f"{clip['sample_rate'] // 1000} kHz"] = path = Path(tmp) / f"clip-{clip['sample_rate']}.wav"
            path.write_bytes(clip["data"])
        for round_ in range(args.rounds):
            for rate, clip_path in clips.items():
                for code, package in (("before", args.before), ("after", None)):
                    print(f"[before_after] round {round_ + 1}, {rate}, {code}", file=sys.stderr, flush=True)
                    reports.setdefault(rate, {}).setdefault(code, []).append(
                        bench_once(package, clip_path, args.runs, args.warmup))
    results = {rate: {code: summary(runs) for code, runs in codes.items()} for rate, codes in reports.items()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "before-after.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1) + "\n")
    text = markdown(results, meta)
    (args.out / "before-after.md").write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
