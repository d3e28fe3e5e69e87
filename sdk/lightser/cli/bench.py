"""The `bench` command (`lightser bench`, also the `lightser-bench` console script): its options, pinning
to cores, and the report written to the terminal and to files. The measuring is `lightser.bench`'s."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from .. import speed
from ..bench import RUNS, WARMUP, markdown_report, pin, run_bench, text_report
from ..errors import InvalidArgumentError


def int_list(text: str) -> list[int]:
    """Parse "1,2,4" (argparse type)."""
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated integers, e.g. 1,2,4") from None
    if min(values) < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected integers >= 0")
    return values


def speed_list(text: str) -> list[float]:
    """Parse "0.9,1,1.1" (argparse type): test-time speeds."""
    try:
        return list(speed.check_speeds([float(part) for part in text.split(",")]))
    except (ValueError, InvalidArgumentError):
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected comma-separated speeds in [{speed.MIN_SPEED}, {speed.MAX_SPEED}], e.g. 0.9,1,1.1"
        ) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The bench options (besides --model and --backend)."""
    parser.add_argument("--audio", metavar="FILE",
                        help="input clip (default: synthetic 3 s voiced WAVs at 16 and 48 kHz)")
    parser.add_argument("--runs", type=int, default=RUNS, help=f"timed rounds per thread count (default {RUNS})")
    parser.add_argument("--warmup", type=int, default=WARMUP, help=f"untimed rounds first (default {WARMUP})")
    parser.add_argument("--threads", type=int_list, default=[1], metavar="N,N",
                        help="interpreter threads to sweep, e.g. 1,2,4")
    parser.add_argument("--cpus", type=int_list, metavar="C,C",
                        help="pin to these cores first, e.g. 0 (a one-core budget)")
    parser.add_argument("--json", metavar="FILE", help="write the report as JSON")
    parser.add_argument("--markdown", metavar="FILE", help="write the report as Markdown")
    parser.add_argument("--speeds", type=speed_list, default=[1.0], metavar="S,S",
                        help="test-time speed averaging, e.g. 0.9,1,1.1 (default 1: none)")


def _unpinned_argv(args: argparse.Namespace) -> list[str]:
    """The `lightser` command line that repeats `args` without --cpus."""
    argv = ["bench", "--backend", args.backend, "--runs", str(args.runs), "--warmup", str(args.warmup),
            "--threads", ",".join(str(n) for n in args.threads)]
    for option in ("model", "audio", "json", "markdown"):
        if getattr(args, option) is not None:
            argv += [f"--{option}", getattr(args, option)]
    argv += ["--speeds", ",".join(f"{v:g}" for v in args.speeds)]
    return argv


def run(args: argparse.Namespace) -> int:
    """The `bench` subcommand. With --cpus it pins itself, then benchmarks in a child
    process: numpy's BLAS sizes its thread pool when it loads, so only a process that
    starts pinned sees the smaller budget."""
    if args.cpus:
        pin(args.cpus)
        return subprocess.run([sys.executable, "-m", "lightser.cli", *_unpinned_argv(args)],
                              stderr=sys.stderr).returncode  # the real stderr, not the C libraries' null device
    outputs = {option: Path(getattr(args, option)) for option in ("json", "markdown") if getattr(args, option)}
    for option, path in outputs.items():  # before minutes of benchmarking, not after
        if path.is_dir() or not path.parent.is_dir():
            raise InvalidArgumentError(f"--{option} {path}: " + ("is a directory" if path.is_dir() else
                                                                  f"no such folder {path.parent}"))
        if not os.access(path if path.exists() else path.parent, os.W_OK):
            raise InvalidArgumentError(f"--{option} {path}: not writable")
    report = run_bench(args.model, args.backend, args.audio, args.runs, args.warmup, args.threads, args.speeds)
    print(text_report(report), end="")
    texts = {"json": json.dumps(report, indent=1) + "\n", "markdown": markdown_report(report)}
    for option, path in outputs.items():
        try:
            path.write_text(texts[option])
        except OSError as exc:
            raise InvalidArgumentError(f"--{option} {path}: cannot write ({exc.strerror})") from None
    return 0
