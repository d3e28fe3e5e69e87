"""The `lightser` command: predict on files, describe a model, benchmark."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from typing import Iterator, NoReturn, Sequence

from . import __version__, bench
from .errors import LightSERError
from .model import DEFAULT_MODEL, bundled_models
from .recognizer import MIN_ENROL_SECONDS, Recognizer
from .results import Prediction


def _scores_text(prediction: Prediction) -> str:
    return " ".join(f"{label}={score:.3f}" for label, score in prediction.scores.items())


def report(error: object, prog: str = "lightser") -> None:
    """One line on stderr per error, even when a file name holds a line break or other control
    characters (escaped as Python writes them)."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(error))
    print(f"{prog}: error: {text}", file=sys.stderr, flush=True)


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error reported in one line like every other error (exit 2)."""

    def error(self, message: str) -> NoReturn:
        report(f"{message} (see {self.prog} --help)", self.prog.split()[0])
        raise SystemExit(2)


@contextlib.contextmanager
def quiet_c_libraries() -> Iterator[None]:
    """For the command, what C libraries write straight to file descriptor 2 (mpg123's notes on
    a damaged MP3, ...) goes to the null device, while Python's `sys.stderr`, which carries the
    one-line errors, moves to a copy of the real one (pass `stderr=sys.stderr` to child
    processes). Left alone when sys.stderr is not fd 2."""
    try:
        own = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        own = False
    if not own:
        yield
        return
    python_stderr = sys.stderr
    python_stderr.flush()
    kept, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    # Not closed after the block: loggers set up inside it (TensorFlow's, absl's) keep writing to it.
    sys.stderr = open(kept, "w", encoding=python_stderr.encoding, errors="backslashreplace", buffering=1)
    os.dup2(null, 2)
    os.close(null)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(kept, 2)
        sys.stderr = python_stderr


def _gate(text: str) -> float | None:
    """An argparse type: a level in dBFS, or 'off' (None: no level asked for)."""
    if text.strip().lower() == "off":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a level in dBFS or 'off', got {text!r}") from None


def _predict_one(rec: Recognizer, path: str, args: argparse.Namespace) -> None:
    source = sys.stdin.buffer if path == "-" else path  # "-": audio piped in, read whole
    if args.segments:
        for seg in rec.iter_segments(source):
            if args.json:
                print(json.dumps({"file": path, **seg.to_dict()}), flush=True)
            elif seg.prediction is None:
                print(f"{path}\t{seg.start:.2f}-{seg.end:.2f}\tno-speech", flush=True)
            else:
                p = seg.prediction
                print(f"{path}\t{seg.start:.2f}-{seg.end:.2f}\t{p.label}\t{p.confidence:.3f}\t{_scores_text(p)}", flush=True)
        return
    p = rec.predict(source)
    if args.json:
        print(json.dumps({"file": path, **p.to_dict()}), flush=True)
    else:
        print(f"{path}\t{p.label}\t{p.confidence:.3f}\t{_scores_text(p)}", flush=True)


def _cmd_predict(args: argparse.Namespace) -> int:
    rec = Recognizer(args.model, backend=args.backend, num_threads=args.threads, silence_db=args.silence_db,
                     voicing=args.voicing == "on", speeds=args.speeds)
    if args.enrol:
        rec = rec.for_speaker(*rec.speaker_stats(args.enrol, min_seconds=args.enrol_min_seconds))
    failed = 0
    for path in args.files:
        try:
            _predict_one(rec, path, args)
        except LightSERError as exc:
            failed += 1
            if args.json:  # the JSON lines account for every file
                print(json.dumps({"file": path, "error": str(exc), "type": type(exc).__name__}), flush=True)
            report(exc)
    return 1 if failed else 0


def _cmd_info(args: argparse.Namespace) -> int:
    rec = Recognizer(args.model, backend=args.backend)
    meta = rec.model.metadata
    info = {
        "model": str(rec.model.path),
        "name": meta.name,
        "labels": list(meta.labels),
        "size_bytes": rec.model.size_bytes,
        "sha256": meta.sha256,
        "quantization": meta.quantization,
        "input_quantization": dict(zip(("scale", "zero_point"), rec.model.input_quantization)),
        "window_seconds": meta.recipe.window_seconds,
        "sample_rate": meta.recipe.sample_rate,
        "normalisation": meta.recipe.normalisation,
        "backend": f"{rec.model.backend.name} {rec.model.backend.version}",
        "bundled_models": bundled_models(),
        "training": meta.training,
        "metrics": meta.metrics,
    }
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        for key, value in info.items():
            shown = json.dumps(value) if isinstance(value, (dict, list)) else value
            print(f"{key:<19} {shown}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="lightser", description=__doc__)
    parser.add_argument("--version", action="version", version=f"lightser {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def model_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", help="a .tflite model with its .json beside it, or a bundled model's name "
                       f"({', '.join(bundled_models())}; default {DEFAULT_MODEL[: -len('.tflite')]})")
        p.add_argument("--backend", default="auto", help="auto, ai-edge-litert, tflite-runtime or tensorflow")

    pred = sub.add_parser("predict", help="emotion of each audio file, one line per file")
    pred.add_argument("files", nargs="+", metavar="FILE", help="audio files; - reads one from stdin")
    pred.add_argument("--json", action="store_true", help="JSON lines instead of text")
    pred.add_argument("--segments", action="store_true", help="one line per window (the timeline)")
    pred.add_argument("--threads", type=int, default=None, help="interpreter threads")
    pred.add_argument("--silence-db", type=_gate, default=None, metavar="DB",
                      help="also skip windows quieter than this level in dBFS (default off: speech is judged "
                           "by its voice, not its level; only digital silence is skipped)")
    pred.add_argument("--voicing", choices=("on", "off"), default="on",
                      help="skip windows with no voiced sound, such as noise (default on; off for whispers)")
    pred.add_argument("--speeds", type=bench.speed_list, default=[1.0], metavar="S,S",
                      help="test-time speed averaging: average the scores of each window played at these "
                           "speeds, e.g. 0.9,1,1.1 (about 3 times the cost; default 1: none; not with --enrol)")
    pred.add_argument("--enrol", nargs="+", metavar="CLIP",
                      help="unlabelled clips of the one speaker in FILEs, a minute or more spanning their "
                           "moods: standardise with that speaker's statistics (models trained with per-speaker "
                           "normalisation only)")
    pred.add_argument("--enrol-min-seconds", type=float, default=MIN_ENROL_SECONDS, metavar="S",
                      help=f"the least enrolment speech accepted, in seconds (default {MIN_ENROL_SECONDS:g}: with "
                           "less, enrolment scored below the default model)")
    model_options(pred)
    pred.set_defaults(run=_cmd_predict)

    info = sub.add_parser("info", help="labels, size, sha256, quantization, metrics and backend of a model")
    info.add_argument("--json", action="store_true")
    model_options(info)
    info.set_defaults(run=_cmd_info)

    bench_parser = sub.add_parser("bench", help="size, memory and per-stage latency of a model on this machine")
    bench.add_arguments(bench_parser)
    model_options(bench_parser)
    bench_parser.set_defaults(run=bench.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `lightser` console script."""
    if hasattr(sys.stdout, "reconfigure"):  # file names that are not valid UTF-8 print as they are
        utf8 = (sys.stdout.encoding or "").lower().replace("-", "") == "utf8"
        sys.stdout.reconfigure(errors="surrogateescape" if utf8 else "backslashreplace")
    args = _parser().parse_args(argv)
    try:
        with quiet_c_libraries():
            return args.run(args)
    except LightSERError as exc:
        report(exc)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
