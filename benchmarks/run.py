"""Run the benchmark suite: `python -m benchmarks.run [--sections variants,features,backends,opensmile]`.

Writes benchmarks/results/<section>.json, summary.md and PNG plots. Needs the `export`
and `bench` extras (pip install -e '.[bench]' -e ./export); tflite-runtime is optional
(benchmarks/setup_tflite_runtime.sh). The whole run is pinned to --cpus (default core 0)
before numpy loads, so every figure is a one-core figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from lightser import bench
from lightser.cli.bench import int_list

from . import backends, frontends, opensmile_pool, opensmile_svm, report, variants
from .common import CLIP_RATE, CLIP_SECONDS, ROOT, machine, versions

RESULTS = ROOT / "benchmarks" / "results"
Section = Callable[[argparse.Namespace], Any]
SECTIONS: dict[str, Section] = {
    "variants": lambda a: variants.measure(a.runs, a.warmup, Path(a.weights), Path(a.report), Path(a.speaker_report),
                                           Path(a.robust_report)),
    "features": lambda a: frontends.measure(a.runs, a.warmup),
    "backends": lambda a: backends.measure(a.runs, a.warmup, tflite_venv=Path(a.tflite_venv)),
    "opensmile": lambda a: [opensmile_svm.evaluate(name, a.runs, a.warmup) for name in ("eGeMAPS", "ComParE")],
    "opensmile-pool": lambda a: opensmile_pool.measure(Path(a.corpora), opensmile_svm.EMODB, Path(a.out), _meta(a)),
}
OPTIONAL = ("opensmile-pool",)  # run only when named: needs the seven corpora, and extracting them takes ~30 min
SKIPS: dict[str, Callable[[argparse.Namespace], str | None]] = {
    "opensmile-pool": lambda a: opensmile_pool.missing(Path(a.corpora)),
}


def _meta(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "command": "python -m benchmarks.run " + shlex.join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": machine(),
        "versions": versions(),
        "cpus": args.cpus or "all",
        "clip": f"synthetic voiced {CLIP_SECONDS:g} s WAV at {CLIP_RATE} Hz",
        "runs": args.runs, "warmup": args.warmup,
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sections", default=",".join(s for s in SECTIONS if s not in OPTIONAL),
                        help=f"comma-separated, of {', '.join(SECTIONS)} (default all but {', '.join(OPTIONAL)})")
    parser.add_argument("--runs", type=int, default=200, help="timed runs per measurement (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed runs first (default 20)")
    parser.add_argument("--cpus", type=lambda text: int_list(text) if text else [], default=[0],
                        help="cores to pin to (default 0); '' for no pinning")
    parser.add_argument("--out", default=str(RESULTS), help="results folder")
    parser.add_argument("--weights", default=str(variants.WEIGHTS),
                        help="Keras weights for the float16/dynamic-range variants")
    parser.add_argument("--report", default=str(variants.REPORT), help="the studio model's LOSO report JSON (UA)")
    parser.add_argument("--robust-report", default=str(variants.ROBUST_REPORT),
                        help="the default (robust) model's LOSO report JSON (UA)")
    parser.add_argument("--speaker-report", default=str(variants.SPEAKER_REPORT),
                        help="the per-speaker model's LOSO report JSON (UA with and without enrolment)")
    parser.add_argument("--corpora", default=str(opensmile_pool.CORPORA),
                        help="the seven extracted corpora, for opensmile-pool (skipped when absent)")
    parser.add_argument("--tflite-venv", default=str(backends.TFLITE_VENV), help="venv with tflite-runtime")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser


def _pin_and_restart(cpus: Sequence[int], argv: Sequence[str]) -> None:
    """Re-run this command pinned to `cpus`, unless it already is: BLAS and TensorFlow size
    their thread pools when they load, so only a process started pinned sees the budget."""
    if set(cpus) != os.sched_getaffinity(0):
        bench.pin(cpus)
        os.execv(sys.executable, [sys.executable, "-m", "benchmarks.run", *argv])


def _run_section(name: str, args: argparse.Namespace, out: Path) -> None:
    """Measure one section and write out/<name>.json (in the child process)."""
    result = SECTIONS[name](args)
    (out / f"{name}.json").write_text(json.dumps({"meta": _meta(args), name: result}, indent=1) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run each chosen section in a fresh process, then write the Markdown summary and plots.

    Fresh processes keep one section's imports from skewing another's figures, and keep
    TensorFlow and openSMILE apart (loaded in that order into one process, they crash).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    args = parser.parse_args(argv)
    names = args.sections.split(",")
    unknown = set(names) - set(SECTIONS)
    if unknown:
        parser.error(f"--sections: unknown {sorted(unknown)}; expected some of {list(SECTIONS)}")
    if args.cpus:
        _pin_and_restart(args.cpus, argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.child:
        _run_section(names[0], args, out)
        return 0
    results: dict[str, Any] = {"meta": _meta(args)}
    skipped = 0
    for name in names:
        why = SKIPS[name](args) if name in SKIPS else None
        if why:
            print(f"[benchmarks] {name} skipped: {why}", file=sys.stderr, flush=True)
            skipped += 1
            continue
        print(f"[benchmarks] {name} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        child = subprocess.run([sys.executable, "-m", "benchmarks.run", *argv, "--sections", name, "--child"])
        if child.returncode != 0:
            print(f"[benchmarks] {name} failed (exit {child.returncode})", file=sys.stderr, flush=True)
            continue
        results[name] = json.loads((out / f"{name}.json").read_text())[name]
        print(f"[benchmarks] {name} done in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    written = report.plots(results, out)
    (out / "summary.md").write_text(report.markdown(results, written))
    print(out / "summary.md")
    return 0 if len(results) + skipped == len(names) + 1 else 1


if __name__ == "__main__":
    sys.exit(main())
