"""`lightser-train`: evaluate a recipe (leave-one-speaker-out or the paper's protocol) or
train the shipped model and export it. Run `lightser-train COMMAND --help`."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from lightser.cli.terminal import Parser, quiet_c_libraries
from lightser.cli.terminal import report as report_error
from lightser.errors import LightSERError


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for dist in ("lightser", "numpy", "tensorflow-cpu", "tensorflow", "keras", "ai-edge-litert"):
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            continue
    return out


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}"


def _command() -> str:
    """This invocation as a shell command, for reports and metadata."""
    return "lightser-train " + shlex.join(sys.argv[1:])


def _boolean(text: str) -> bool:
    """An argparse type: true/false, yes/no, 1/0."""
    lowered = text.lower()
    if lowered not in ("true", "yes", "1", "false", "no", "0"):
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return lowered in ("true", "yes", "1")


def _speeds(text: str) -> tuple[float, ...]:
    """An argparse type: comma-separated speed factors (the runtime's range), or '' for none."""
    from lightser.errors import InvalidArgumentError
    from lightser.speed import check_speeds

    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
        return check_speeds(values) if values else values
    except (ValueError, InvalidArgumentError):
        raise argparse.ArgumentTypeError(f"expected comma-separated speeds between 0.5 and 2, got {text!r}") from None


def _names(text: str) -> tuple[str, ...]:
    """An argparse type: comma-separated names."""
    names = tuple(name.strip() for name in text.split(","))
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected comma-separated names, got {text!r}")
    return names


def _number(text: str, fits: Callable[[float], bool], expected: str) -> float:
    """`text` as a float if `fits` it, else the argparse error "expected `expected`"."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not fits(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def _window(text: str) -> float:
    """An argparse type: a window length in seconds, from the runtime's shortest clip to 60."""
    from lightser.windows import MIN_SECONDS

    return _number(text, lambda s: MIN_SECONDS <= s <= 60.0, f"seconds from {MIN_SECONDS:g} to 60")


def _log_offset(text: str) -> float:
    """An argparse type: the MFCC's log offset, above 0 and at most 10."""
    return _number(text, lambda x: 0.0 < x <= 10.0, "a number above 0 and at most 10")


def _count(text: str) -> int:
    """An argparse type: an int of 0 or more."""
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number of 0 or more, got {text!r}")
    return int(text)


def _variants(text: str) -> list[str]:
    """An argparse type: comma-separated export variants."""
    from .config import VARIANTS

    names = [name.strip() for name in text.split(",")]
    if not names or any(name not in VARIANTS for name in names):
        raise argparse.ArgumentTypeError(f"expected comma-separated variants from {', '.join(VARIANTS)}, got {text!r}")
    return names


def add_training_options(p: argparse.ArgumentParser, resume: bool = True) -> None:
    """The dataset, feature-cache and `TrainConfig` options (and `--resume`) that `setup` reads."""
    from lightser.features import FeatureRecipe

    from .config import TrainConfig
    from .corpora import CHECKSUMS, CORPORA, KINDS
    from .datasets import EMODB_ROOT
    from .featurize import DEFAULT_CACHE

    p.add_argument("--dataset", default="emodb", choices=KINDS,
                   help="manifest: a UTF-8 CSV with a header naming path,label,speaker (any order) and a row per "
                        "clip; relative paths are relative to the CSV's folder. tess, savee, emovo, nemo, ased, "
                        "urdu, esd0020: one corpus of shared/data/corpora; pool: EMO-DB and those corpora together")
    p.add_argument("--data", default=str(EMODB_ROOT),
                   help="dataset folder, or the manifest CSV, or for pool the folder holding one folder per corpus "
                        "(as shared/data/corpora/extract.sh makes it); relative to the current folder")
    p.add_argument("--emodb", default=str(EMODB_ROOT), help="pool only: the EMO-DB folder")
    p.add_argument("--corpora", type=_names, default=CORPORA, metavar="A,B,...",
                   help=f"pool only: the corpora to pool (default all: {','.join(CORPORA)})")
    p.add_argument("--checksums", default=str(CHECKSUMS),
                   help="folder of the <corpus>.sha256 lists: a corpus missing files is an error ('' skips the check)")
    p.add_argument("--verify", action="store_true", help="also check every file of a corpus against its sha256")
    p.add_argument("--scope", default="improvised", choices=("improvised", "all"), help="IEMOCAP only")
    p.add_argument("--labels", type=_names, default=None, metavar="A,B,...",
                   help="manifest or pool only: the class order of the model's outputs (default: the labels "
                        "sorted alphabetically; for pool anger,disgust,fear,happiness,neutral,sadness)")
    window, offset = FeatureRecipe().window_seconds, FeatureRecipe().log_offset
    p.add_argument("--window", type=_window, default=window,
                   help=f"window in seconds (default {window:g}; the paper: 3, or 7 for IEMOCAP)")
    p.add_argument("--log-offset", type=_log_offset, default=offset,
                   help=f"added to the mel energies before the log (default {offset:g}, the paper's); each window is "
                        "scaled to its own peak first, so this is a floor relative to the window")
    p.add_argument("--cache", default=str(DEFAULT_CACHE),
                   help=f"feature cache folder ('' disables; default {DEFAULT_CACHE})")
    if resume:
        p.add_argument("--resume", action="store_true",
                       help="reuse saved weights in the runs folder when their config and training data match, "
                            "so an interrupted run continues and a finished one re-exports without retraining")
    defaults = TrainConfig()
    for field in dataclasses.fields(TrainConfig):
        value = getattr(defaults, field.name)
        flag = "--" + field.name.replace("_", "-")
        if isinstance(value, bool):
            p.add_argument(flag, type=_boolean, default=value, metavar="BOOL", help=f"true or false; default {value}")
        elif isinstance(value, tuple):
            p.add_argument(flag, type=_speeds, default=value, metavar="X,Y",
                           help=f"comma-separated, '' for none; default {','.join(map(str, value))}")
        else:
            about = field.metadata.get("help")
            p.add_argument(flag, type=type(value), default=value,
                           help=f"{about}; default {value}" if about else f"default {value}")


def setup(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """Config, feature recipe and dataset: everything checked before any audio is read."""
    from lightser.features import FeatureRecipe

    from .config import TrainConfig
    from .corpora import load

    try:
        config = TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)})
    except ValueError as err:  # as argparse reports a bad option: one line, status 2
        report_error(err, "lightser-train")
        raise SystemExit(2) from None
    dataset = load(args.dataset, args.data, args.scope, args.labels, args.emodb, args.corpora,
                   Path(args.checksums) if args.checksums else None, args.verify)
    return config, FeatureRecipe(window_seconds=args.window, log_offset=args.log_offset), dataset


def raw_features(args: argparse.Namespace, config: Any, recipe: Any, dataset: Any) -> list[Any]:
    """Raw features as recorded, then at each of config.speeds (with `config.corrupt` of those
    copies' clips under a random recording condition); each window centred on its own mean when
    the normalisation is per utterance, as the runtime's `features.standardise` does."""
    from lightser.features import centred

    from .featurize import dataset_features

    cache = Path(args.cache) if args.cache else None
    raws = [dataset_features(dataset, recipe, cache),
            *(dataset_features(dataset, recipe, cache, speed, config.corrupt, config.seed, config.gain)
              for speed in config.speeds)]
    return [centred(raw) for raw in raws] if config.normalisation == "utterance" else raws


PROTOCOLS = ("loso", "corpus", "speakers", "paper")


def _splits(protocol: str, config: Any, dataset: Any, test_corpus: str | None = None) -> tuple[list[Any], str]:
    """The folds of `protocol` (on a pool, "loso" leaves out the speakers of `test_corpus`) and a
    sentence saying what they are and how held-out data is used."""
    from . import folds
    from .datasets import DatasetError

    share = f"{folds.VALIDATION_SHARE:.0%}".replace("%", " %")
    speakers = [u.speaker for u in dataset.utterances]
    corpora = [u.corpus for u in dataset.utterances]
    drawn = ("the epoch is chosen and the softmax temperature fitted on validation speakers drawn from the training "
             f"corpora (about {share} of the speakers of each corpus that has 4 or more), never on the test clips"
             if config.early_stopping else
             f"trains on all other clips for a fixed {config.epochs} epochs and keeps the last weights, so nothing is "
             "chosen on held-out data")
    try:
        if protocol == "loso" and len(set(corpora)) > 1:
            if test_corpus is None:
                raise ValueError("leave-one-speaker-out on a pool needs --test-corpus, the corpus whose speakers "
                                 f"are left out: one of {', '.join(sorted(set(corpora)))}")
            splits = folds.corpus_speaker_folds(speakers, corpora, test_corpus, seed=config.seed)
            text = (f"speaker-independent leave-one-speaker-out of {test_corpus}, with the rest of the pool in "
                    "training: each fold tests one speaker; ")
        elif protocol == "loso":
            splits = folds.loso_folds(speakers)
            text = "speaker-independent leave-one-speaker-out: each fold tests one speaker; "
            if config.early_stopping:
                drawn = ("the epoch is chosen on the validation speaker (the next speaker in sorted order), never "
                         "on the test speaker")
        elif protocol == "corpus":
            splits = folds.corpus_folds(speakers, corpora, seed=config.seed)
            text = ("corpus-independent leave-one-corpus-out: each fold tests one whole corpus (its speakers, "
                    "language and recording setup never met in training), scored on the classes it shares with "
                    "the model; ")
        elif protocol == "speakers":
            splits = folds.speaker_folds(speakers, corpora, seed=config.seed)
            text = ("speaker-independent 5-fold over the pool: no speaker in two of training, validation and test; "
                    "every corpus with 5 or more speakers in every test fold; ")
        else:
            splits = folds.paper_folds(dataset.label_indices(), seed=config.seed)
            text = ("the paper's protocol, OPTIMISTIC: random utterance-level 10-fold (test speakers are also in "
                    "training); ")
            if config.early_stopping:
                drawn = "the epoch chosen on the test fold itself"
    except ValueError as err:
        raise DatasetError(f"{dataset.name}: {err}") from None
    return splits, text + drawn


def _cmd_eval(args: argparse.Namespace) -> int:
    from . import protocols, report
    from .datasets import DatasetError

    config, recipe, dataset = setup(args)
    speakers = [u.speaker for u in dataset.utterances]
    if args.test_corpus is not None and (args.protocol != "loso" or len(dataset.corpora()) < 2):
        raise DatasetError("--test-corpus is for --protocol loso on a pool of corpora")
    splits, text = _splits(args.protocol, config, dataset, args.test_corpus)
    n_folds = len(splits)
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {f.name for f in splits} - {f.test_speaker for f in splits}
        if unknown:
            raise DatasetError(f"--only {','.join(sorted(unknown))}: no such fold; the folds are "
                               + ", ".join(f.test_speaker or f.name for f in splits))
        splits = [f for f in splits if f.name in wanted or f.test_speaker in wanted]
    empty = [f.name for f in splits if not len(f.test)]
    if empty:
        raise DatasetError(f"{dataset.name}: folds {', '.join(empty)} would test no clips "
                           f"({len(speakers)} clips); the paper's protocol needs {n_folds} or more")
    raws = raw_features(args, config, recipe, dataset)
    out = Path(args.out)
    started = time.perf_counter()
    results = []
    for fold in splits:
        results.append(protocols.run_fold(dataset, raws, fold, config, recipe, Path(args.runs) / out.name / fold.name,
                                           resume=args.resume, speed_averaging=args.speed_averaging))
        partial = out.parent / f"{out.name}.partial.json"
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps(results))
    rep = {
        "title": f"{dataset.name}: {args.protocol} ({config.normalisation} normalisation)",
        "protocol": args.protocol, "protocol_text": text, "dataset": dataset.name, "labels": list(dataset.labels),
        "n_clips": len(dataset.utterances), "config": config.to_dict(),
        "test_speeds": list(config.test_speeds) if args.speed_averaging else [1.0],
        "window_seconds": recipe.window_seconds,
        "command": _command(), "versions": _versions(), "machine": _machine(),
        "wall_minutes": (time.perf_counter() - started) / 60, "folds": results,
        "pooled": None,
    }
    from .report import pool

    rep["pooled"] = pool(results, dataset.labels)
    report.write(rep, out)
    (out.parent / f"{out.name}.partial.json").unlink(missing_ok=True)
    print(out.with_suffix(".md").read_text())
    return 0


def _cmd_fit(args: argparse.Namespace) -> int:
    import numpy as np

    from lightser import Model
    from lightser.features import frame_stats

    from . import convert, protocols
    from .corpora import provenance
    from .featurize import train_inputs, training_set
    from .folds import validation_speakers
    from .sampling import training_weights
    from .train import fit, predict_probs

    config, recipe, dataset = setup(args)
    raws = raw_features(args, config, recipe, dataset)
    speakers = np.asarray([u.speaker for u in dataset.utterances])
    corpora = np.asarray([u.corpus for u in dataset.utterances])
    labels = np.asarray(dataset.label_indices())
    everyone = np.arange(len(raws[0]))
    rng = np.random.default_rng(config.seed)
    held_out = (validation_speakers(speakers, corpora, everyone, args.validation_share, rng)
                if config.early_stopping else np.array([], dtype=speakers.dtype))
    rows, val_rows = everyone[~np.isin(speakers, held_out)], everyone[np.isin(speakers, held_out)]
    global_stats = frame_stats(raws[0][rows])
    x, y = training_set(raws, speakers, labels, rows, config.normalisation, global_stats)
    weights = training_weights(dataset, rows, len(raws), config.balance)
    validation = None
    if len(val_rows):
        validation = (train_inputs(raws[0], speakers, val_rows, config.normalisation, global_stats), labels[val_rows])
    epochs = args.epochs_final or config.epochs
    started = time.perf_counter()
    fitted = fit(x, y, len(dataset.labels), config, validation=validation, epochs=epochs,
                 run_dir=Path(args.runs) / f"fit-{args.name}", resume=args.resume, weights=weights)
    fold_recipe = recipe if config.normalisation == "none" else recipe.with_stats(*global_stats, config.normalisation)
    training = {
        "dataset": dataset.name, "speakers": dataset.speakers(), "clips": len(dataset.utterances),
        "corpora": provenance(dataset), "validation_speakers": held_out.tolist(),
        "config": config.to_dict(), "epochs": epochs, "best_epoch": fitted.best_epoch, "command": _command(),
        "versions": _versions(), "machine": _machine(), "train_minutes": round(fitted.seconds / 60, 2),
        "date": time.strftime("%Y-%m-%d"), "resumed": fitted.resumed,
        "trained_with": fitted.backend,
    }
    calibration = protocols.calibration_set(x, len(rows), config.seed)
    out = Path(args.out)
    float_pred = predict_probs(fitted.model, x[: len(rows)]).argmax(1)
    for variant in args.variants:
        content = convert.to_tflite(fitted.model, variant, calibration if variant == "int8" else None)
        path = out / f"{args.name}-{variant}.tflite"
        convert.write_model(content, path, dataset.labels, fold_recipe, variant, training)
        if len(val_rows):
            temperature = protocols.calibrate(path, dataset, val_rows, labels)
            print(f"{path}: temperature {temperature['temperature']:.3f} fitted on {len(val_rows)} validation clips; "
                  f"their expected calibration error {temperature['ece_before']:.3f} -> {temperature['ece_after']:.3f}")
        model = Model(path)
        pred = np.array([model.run(f) for f in x[: len(rows)]]).argmax(1)
        print(f"{path}: {len(content)} bytes, ops {sorted(convert.op_names(content))}, "
              f"top-1 agreement with float on the recorded training clips {np.mean(pred == float_pred):.4f}")
    print(f"trained in {(time.perf_counter() - started) / 60:.1f} min")
    return 0


def _cmd_merge(args: argparse.Namespace) -> int:
    from . import report

    parts = [json.loads(Path(path).read_text()) for path in args.reports]
    try:
        merged = report.merge(parts, _command())
    except ValueError as error:
        report_error(error, "lightser-train merge")
        return 2
    report.write(merged, Path(args.out))
    print(Path(args.out).with_suffix(".md").read_text())
    return 0


def _cmd_annotate(args: argparse.Namespace) -> int:
    """Copy an evaluation report's headline figures into models' metadata (the .tflite is untouched)."""
    from lightser.metadata import read_metadata, sidecar_path, write_metadata

    report = json.loads(Path(args.report).read_text())
    kind = {"int8": "int8_runtime"}
    for model in args.models:
        meta = read_metadata(sidecar_path(model))
        figures = {
            mode: {k: round(kinds[kind.get(meta.quantization, "float")][k], 4)
                   for k in ("ua", "wa", "macro_f1", "fold_ua_mean", "fold_ua_sd")}
            for mode, kinds in report["pooled"].items()
        }
        metrics = {"report": args.report, "protocol": report["protocol_text"], "command": report["command"],
                   "figures": figures}
        write_metadata(dataclasses.replace(meta, metrics=metrics), sidecar_path(model))
        print(f"{sidecar_path(model)}: metrics from {args.report}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `lightser-train`."""
    from .folds import VALIDATION_SHARE

    parser = Parser(prog="lightser-train", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("eval", help="cross-validate a recipe and write a report (JSON, Markdown, PNG)")
    ev.add_argument("--protocol", choices=PROTOCOLS, default="loso",
                    help="loso: leave one speaker out; corpus: leave one corpus out (pool); speakers: "
                         "speaker-disjoint 5-fold (pool); paper: random utterance-level 10-fold (optimistic)")
    ev.add_argument("--speed-averaging", type=_boolean, default=True, metavar="BOOL",
                    help="also score test-time speed averaging at the training speeds (about 3x the scoring time)")
    ev.add_argument("--out", default="reports/eval/report",
                    help="report path without extension; its last part also names the runs folder")
    ev.add_argument("--test-corpus", metavar="NAME",
                    help="loso on a pool: the corpus whose speakers are left out one at a time, the rest of the pool "
                         "always in training (e.g. emodb)")
    ev.add_argument("--only", help="run a subset of folds: comma-separated test speakers or fold names (fold-01, ...)")
    ev.add_argument("--runs", default="runs", help="folder for per-fold weights, history and models")
    add_training_options(ev)
    ev.set_defaults(run=_cmd_eval)
    ft = sub.add_parser("fit", help="train on every speaker and export .tflite models with metadata")
    ft.add_argument("--out", default="models")
    ft.add_argument("--name", default="emodb")
    ft.add_argument("--variants", type=_variants, default=["int8", "float32"], metavar="V,V",
                    help="comma-separated: int8, float16, float32, dynamic-range (default int8,float32)")
    ft.add_argument("--epochs-final", type=_count, default=0, help="epochs (default: --epochs)")
    ft.add_argument("--validation-share", type=float, default=VALIDATION_SHARE,
                    help="with --early-stopping true: the share of each corpus's speakers (corpora of 4 or more) held "
                         f"out to choose the epoch and fit the softmax temperature (default {VALIDATION_SHARE:g})")
    ft.add_argument("--runs", default="runs")
    add_training_options(ft)
    ft.set_defaults(run=_cmd_fit)
    mg = sub.add_parser("merge", help="pool eval reports of disjoint fold subsets (--only) of one recipe into one")
    mg.add_argument("reports", nargs="+", help="eval report JSON files")
    mg.add_argument("--out", required=True, help="report path without extension")
    mg.set_defaults(run=_cmd_merge)
    an = sub.add_parser("annotate", help="put an eval report's figures into models' .json metadata")
    an.add_argument("models", nargs="+", help=".tflite files")
    an.add_argument("--report", required=True, help="the eval report JSON")
    an.set_defaults(run=_cmd_annotate)
    args = parser.parse_args(argv)  # before TensorFlow loads: a usage error is instant
    try:
        with quiet_c_libraries():  # TensorFlow's import prints absl and oneDNN notes straight to fd 2
            import tensorflow  # noqa: F401
    except ImportError:
        report_error("TensorFlow is missing; install the training side from a clone: pip install ./export",
                     "lightser-train")
        return 2
    from .datasets import DatasetError

    try:
        return args.run(args)
    except (LightSERError, DatasetError, OSError, json.JSONDecodeError) as err:
        report_error(err, "lightser-train")
        return 2


if __name__ == "__main__":
    sys.exit(main())
