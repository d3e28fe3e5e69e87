"""The `lightser` command: predict on files, folders and archives, describe a model, benchmark."""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import sys
from typing import Any, Mapping, Sequence, TextIO

from .. import __version__, batch, bench, inputs, sources, windows
from ..errors import AudioError, InvalidArgumentError, LightSERError
from ..model import DEFAULT_MODEL, bundled_models
from ..recognizer import MIN_ENROL_SECONDS, Recognizer
from ..results import status
from ..table import FORMATS, Table
from . import bench as bench_command
from .terminal import Parser, error_line, quiet_c_libraries, report


def _jobs(text: str) -> int:
    """An argparse type: a number of processes."""
    try:
        return batch.check_jobs(int(text))
    except (ValueError, InvalidArgumentError):
        raise argparse.ArgumentTypeError(
            f"expected a number of processes from 1 to {batch.MAX_JOBS}, got {text!r}") from None


def _gate(text: str) -> float | None:
    """An argparse type: a level in dBFS, or 'off' (None: no level asked for)."""
    if text.strip().lower() == "off":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a level in dBFS or 'off', got {text!r}") from None


# The recognizer's arguments that its errors name, as `lightser predict` spells them.
FLAGS = {"silence_db=None": "--silence-db off", "voicing=False": "--voicing off",
         "min_seconds=": "--enrol-min-seconds="}


def in_flags(error: object) -> str:
    """An error's message with the Python arguments it names given as this command's flags."""
    text = str(error)
    for argument, flag in FLAGS.items():
        text = text.replace(argument, flag)
    return text


def _records(rec: Recognizer, item: tuple[str, sources.AudioSource, bool]) -> list[dict[str, Any]]:
    """The output records of one input (a worker's task): one per file, or one per window with
    `segments`, and a last one with the error if reading stopped part way."""
    name, source, segments = item
    records: list[dict[str, Any]] = []
    try:
        if isinstance(source, Exception):
            raise source
        if segments:
            for seg in rec.iter_segments(source):
                why = ({} if seg.refusal is None
                       else {"message": f"window is {windows.refusal_text(seg.refusal, rec.silence_db)}"})
                records.append({"file": name, "status": "ok" if seg.is_speech else "no-speech", **seg.to_dict(), **why})
        else:
            records.append({"file": name, "status": "ok", **rec.predict(source).to_dict()})
    except LightSERError as exc:
        records.append({"file": name, "status": status(exc), "message": in_flags(exc), "type": type(exc).__name__})
    return records


def _source(entry: inputs.Input) -> sources.AudioSource | Exception:
    """What to read for an input: the path, stdin's bytes for "-", or the error to report."""
    if entry.problem is not None:
        return AudioError(entry.problem)
    if entry.name != "-":
        return entry.name
    if sys.stdin is None:
        return AudioError("-: stdin is closed; pipe the audio in, as in `lightser predict - < clip.wav`")
    return sources.named_bytes(sys.stdin.buffer.read(), "<stdin>")  # read here: worker processes have no stdin


def _check_output(output: str, entries: list[inputs.Input], manifests: list[str]) -> None:
    """Refuse an --output that is one of the inputs or manifests: writing would destroy it. (An
    output that does not exist yet is none of them: nothing to compare.)"""
    try:
        target = os.stat(output)
    except (OSError, ValueError):
        return
    for name in [*manifests, *(entry.name for entry in entries)]:
        try:
            same = os.path.samestat(os.stat(name), target)
        except (OSError, ValueError):
            continue
        if same:
            raise InvalidArgumentError(f"--output {output} is also an input ({name}); writing the table there "
                                       "would destroy it")


def _open_output(args: argparse.Namespace, table: Table) -> tuple[TextIO, collections.Counter[str]]:
    """The stream to write to, and how many rows each file already has there (--resume)."""
    if args.output is None or args.output == "-":
        if args.resume:
            raise InvalidArgumentError("--resume needs --output FILE: the table it continues")
        _write(sys.stdout, table.header(), "stdout")
        return sys.stdout, collections.Counter()
    try:
        handle = open(args.output, "a+" if args.resume else "w", encoding="utf-8", errors="surrogateescape",
                      newline="")
    except OSError as exc:
        raise _unwritable(args.output, exc) from None
    done: list[str] = []
    if args.resume:
        handle.seek(0)
        try:
            done, length = table.done(handle.read())
        except InvalidArgumentError as exc:
            handle.close()
            raise InvalidArgumentError(f"--resume: {args.output}: {exc}") from None
        handle.seek(0)
        handle.truncate(len(handle.read(length).encode("utf-8", "surrogateescape")))  # a row cut short goes
        handle.seek(0, os.SEEK_END)
    if handle.tell() == 0:
        handle.write(table.header())
    return handle, collections.Counter(done)


def _progress(args: argparse.Namespace, total: int) -> bench.Progress | None:
    try:
        terminal = sys.stderr.isatty()
    except (AttributeError, ValueError):
        terminal = False
    return bench.Progress(total, "predict", "file") if args.progress or terminal else None


def _cmd_predict(args: argparse.Namespace) -> int:
    if not args.files and not args.manifest:
        raise InvalidArgumentError("predict: no input; give FILEs, folders, patterns or --manifest")
    rec = Recognizer(args.model, backend=args.backend, num_threads=args.threads, silence_db=args.silence_db,
                     voicing=args.voicing == "on", speeds=args.speeds)
    if args.enrol:
        rec = rec.for_speaker(*rec.speaker_stats(args.enrol, min_seconds=args.enrol_min_seconds))
    table = Table("jsonl" if args.json else args.format, rec.labels, args.segments)
    entries = inputs.expand(args.files, args.manifest or [], args.recursive)
    if args.output not in (None, "-"):
        _check_output(args.output, entries, args.manifest or [])
    out, done = _open_output(args, table)
    todo = [entry for entry in entries if not _seen(done, entry.name)]
    progress = _progress(args, len(todo))
    items = ((entry.name, _source(entry), args.segments) for entry in todo)
    failed = False
    shown = args.output if out is not sys.stdout else "stdout"
    try:
        for records in batch.ordered(rec, _records, items, args.jobs):
            _write(out, "".join(map(table.line, records)), shown)
            failed = _check(records, args.strict, progress) or failed
            if progress is not None:
                progress.step()
    finally:
        if progress is not None:
            progress.close()
        if out is not sys.stdout:
            with contextlib.suppress(OSError):  # what could not be written was reported as it failed
                out.close()
    return 1 if failed else 0


def _write(out: TextIO, text: str, shown: str) -> None:
    """`text` written and flushed (rows reach the file one input at a time, for --resume); a
    failure to write (a full disk) is one error naming the output, not a traceback."""
    try:
        out.write(text)
        out.flush()
    except BrokenPipeError:  # a reader that stopped, as `head` does: main ends quietly
        raise
    except OSError as exc:
        raise _unwritable(shown, exc) from None


def _unwritable(output: str, exc: OSError) -> InvalidArgumentError:
    return InvalidArgumentError(f"--output {output}: cannot write ({exc.strerror or exc})")


def _seen(done: collections.Counter[str], name: str) -> bool:
    """Whether `name` has a row left in the output file to account for it (--resume)."""
    if done[name] <= 0:
        return False
    done[name] -= 1
    return True


def _check(records: list[dict[str, Any]], strict: bool, progress: bench.Progress | None) -> bool:
    """Whether one input's records make the run fail (an error; with `strict`, no speech at all),
    each such reported in one line on stderr."""
    failures = [r["message"] for r in records if r["status"] == "error"]
    if strict and all(r["status"] == "no-speech" for r in records):
        failures += [r.get("message") or f"{r['file']}: no speech found" for r in records[-1:]]
    for message in failures:
        if progress is None:
            report(message)
        else:
            progress.write(error_line(message))
    return bool(failures)


def _trained_on(training: Mapping[str, Any]) -> list[str]:
    """One line per corpus a model heard (language, speakers, clips, licence), from its metadata."""
    corpora = training.get("corpora")
    if isinstance(corpora, dict):
        return [f"{name}: {c.get('language')}, {c.get('speakers')} speakers, {c.get('clips')} clips; "
                f"licence: {c.get('licence')}" for name, c in corpora.items() if isinstance(c, dict)]
    speakers = training.get("speakers")
    return [f"{training.get('dataset', 'unknown')}: {len(speakers) if isinstance(speakers, list) else '?'} speakers, "
            f"{training.get('clips', '?')} clips"]


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
        "temperature": meta.temperature,
        "trained_on": _trained_on(meta.training),
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

    pred = sub.add_parser("predict", help="emotion of each audio file, one row per file",
                          description="The emotion of each audio file, one row per file (or window), in input "
                                      "order. Exit status: 0 when every input was processed (files with no "
                                      "speech are rows with status no-speech), 1 when any could not be read "
                                      "(or, with --strict, held no speech), 2 for a usage or model error.")
    pred.add_argument("files", nargs="*", metavar="INPUT",
                      help="audio files, folders (their audio files), quoted patterns such as 'calls/**/*.wav' "
                           "(expanded here); - reads one file from stdin")
    pred.add_argument("-r", "--recursive", action="store_true", help="folders: their subfolders' files too")
    pred.add_argument("--manifest", action="append", metavar="FILE",
                      help="a file listing inputs: one path a line, or CSV with a 'path' column (relative paths "
                           "from the manifest's folder); may be repeated")
    pred.add_argument("--format", choices=FORMATS, default="tsv",
                      help="tsv (default) or csv, with a header: file, status (ok, no-speech, error), label, "
                           "confidence, one column per class, message; or jsonl, one JSON object a line")
    pred.add_argument("--json", action="store_true", help="the same as --format jsonl")
    pred.add_argument("-o", "--output", metavar="FILE", help="write the table to FILE instead of stdout")
    pred.add_argument("--resume", action="store_true",
                      help="continue the table in --output FILE: skip the inputs it already has a row for "
                           "(error rows included: delete them to try again), append the rest")
    pred.add_argument("-j", "--jobs", type=_jobs, default=1, metavar="N",
                      help="score in N processes (default 1); rows stay in input order")
    pred.add_argument("--progress", action="store_true",
                      help="a progress bar on stderr even when it is not a terminal (it is shown on a terminal)")
    pred.add_argument("--strict", action="store_true", help="a file with no speech fails the run too (exit 1)")
    pred.add_argument("--segments", action="store_true", help="one row per window (the timeline)")
    pred.add_argument("--threads", type=int, default=None, help="interpreter threads")
    pred.add_argument("--silence-db", type=_gate, default=None, metavar="DB",
                      help="also skip windows quieter than this level in dBFS (default off: speech is judged "
                           "by its voice, not its level; only digital silence is skipped)")
    pred.add_argument("--voicing", choices=("on", "off"), default="on",
                      help="skip windows with no voiced sound, such as noise (default on; off for whispers)")
    pred.add_argument("--speeds", type=bench_command.speed_list, default=[1.0], metavar="S,S",
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
    bench_command.add_arguments(bench_parser)
    model_options(bench_parser)
    bench_parser.set_defaults(run=bench_command.run)
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
        report(in_flags(exc))
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def bench_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `lightser-bench` console script (same as `lightser bench`)."""
    return main(["bench", *(sys.argv[1:] if argv is None else argv)])
