"""The classic peer on the pooled corpora: openSMILE eGeMAPS (v02 functionals) + class-balanced linear SVM,
scored with exactly the folds the general model uses (`lightser_export.folds`, seed 0):

- corpus: leave one corpus out (`corpus_folds`), each corpus tested whole; the headline is the mean of
  the corpora's UA;
- speaker: speaker-disjoint 5-fold over the pool (`speaker_folds`), pooled and per corpus.

In every fold C is chosen on the validation speakers (drawn from the training corpora), the SVM refitted
on training + validation speakers, then scored on the test part, in two test-time normalisations as in
`opensmile_svm`: default (training statistics) and enrolled (each test speaker z-scored with the statistics
of that speaker's other clips). A corpus is scored on the classes it has (chance = 100 / their number).

Run `python -m benchmarks.opensmile_pool --corpora /work/corpora`; it writes
benchmarks/results/opensmile-pool.{json,md}. Features are cached under .cache/benchmarks.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from lightser_export.corpora import CHECKSUMS, load_pool
from lightser_export.folds import Fold, corpus_folds, speaker_folds
from lightser_export.metrics import summary

from .common import ROOT, machine, shown, versions
from .opensmile_svm import C_GRID, EMODB, MODES, extract, run_fold

FEATURE_SET = "eGeMAPS"
NAME = "opensmile-pool"
RESULTS = ROOT / "benchmarks" / "results"
CORPORA = ROOT.parent / "corpora"  # beside ../shared, where shared/data/corpora/extract.sh is pointed here
PROTOCOLS: dict[str, Callable[..., list[Fold]]] = {"corpus": corpus_folds, "speaker": speaker_folds}
TITLES = {"corpus": "Leave one corpus out (`corpus_folds`, seed {seed})",
          "speaker": "Speaker-independent 5-fold over the pool (`speaker_folds`, seed {seed})"}
MODE_TEXT = {"default": "default", "enrolled": "per-speaker normalised"}


def balanced_svm(c: float) -> Any:
    """A class-balanced linear SVM (one-vs-rest, primal: ~10 000 clips of 88 features)."""
    from sklearn.svm import LinearSVC

    return LinearSVC(C=c, class_weight="balanced", dual=False, max_iter=10000)


def one_class_speakers(y: np.ndarray, speakers: np.ndarray) -> int:
    """How many speakers have clips of one class only (per-speaker statistics then carry the class)."""
    return sum(len(np.unique(y[speakers == s])) == 1 for s in np.unique(speakers))


def scores(y_true: np.ndarray, y_pred: np.ndarray, speakers: np.ndarray, corpora: np.ndarray,
           labels: Sequence[str]) -> dict[str, Any]:
    """Pooled metrics, each corpus's (on the classes it has, with its chance and speakers) and their mean
    over corpora."""
    by_corpus = {}
    for corpus in sorted(set(corpora.tolist())):
        mine = corpora == corpus
        by_corpus[corpus] = {**summary(y_true[mine], y_pred[mine], labels),
                             "chance": 1.0 / len(np.unique(y_true[mine])),
                             "speakers": len(np.unique(speakers[mine])),
                             "one_class_speakers": one_class_speakers(y_true[mine], speakers[mine])}
    mean = {key: float(np.mean([m[key] for m in by_corpus.values()])) for key in ("ua", "wa", "macro_f1")}
    return {"pooled": summary(y_true, y_pred, labels), "by_corpus": by_corpus, "mean_over_corpora": mean}


def score_folds(x: np.ndarray, y: np.ndarray, speakers: np.ndarray, corpora: np.ndarray, labels: Sequence[str],
                folds: Sequence[Fold]) -> dict[str, Any]:
    """Both normalisation modes over `folds`: metrics and, per fold, its parts and the C chosen."""
    test = np.concatenate([f.test for f in folds])
    out: dict[str, Any] = {"folds": [{"name": f.name, "n_train": len(f.train), "n_val": len(f.val),
                                      "n_test": len(f.test), "val_speakers": f.val_speaker} for f in folds]}
    for mode in MODES:
        results = [run_fold(x, y, speakers, fold, mode, len(labels), balanced_svm) for fold in folds]
        out[mode] = {**scores(y[test], np.concatenate([r[0] for r in results]), speakers[test], corpora[test],
                            labels),
                     "chosen_c": [r[1] for r in results]}
    return out


def evaluate(corpora_root: Path, emodb: Path = EMODB, seed: int = 0) -> dict[str, Any]:
    """Extract (or read cached) features of the pool, then score both protocols."""
    pool = load_pool(corpora_root, emodb, checksums=ROOT / CHECKSUMS)
    x, seconds = extract(FEATURE_SET, [u.path for u in pool.utterances])
    y = np.asarray(pool.label_indices())
    speakers = np.asarray([u.speaker for u in pool.utterances])
    corpora = np.asarray([u.corpus for u in pool.utterances])
    started, load = time.perf_counter(), os.getloadavg()[0]
    protocols = {name: score_folds(x, y, speakers, corpora, pool.labels, make(speakers, corpora, seed=seed))
                 for name, make in PROTOCOLS.items()}
    return {"feature_set": f"{FEATURE_SET}v02 functionals", "n_features": int(x.shape[1]), "n_clips": len(y),
            "n_speakers": len(pool.speakers()), "labels": list(pool.labels), "seed": seed, "c_grid": list(C_GRID),
            "clips_by_corpus": {c: int(np.sum(corpora == c)) for c in pool.corpora()},
            "extraction_seconds": float(seconds.sum()), "scoring_seconds": time.perf_counter() - started,
            "load_average_1min": [load, os.getloadavg()[0]],
            "protocols": protocols}


def _row(name: str, clips: int | str, voices: str, chance: str, modes: Sequence[dict[str, Any]]) -> str:
    cells = " | ".join(f"{100 * m['ua']:.1f} | {100 * m['wa']:.1f} | {100 * m['macro_f1']:.1f}" for m in modes)
    return f"| {name} | {clips} | {voices} | {chance} | {cells} |"


def _protocol_md(name: str, result: dict[str, Any], seed: int) -> list[str]:
    modes = [result[mode] for mode in MODES]
    head = " | ".join(f"UA {MODE_TEXT[m]} | WA | macro-F1" for m in MODES)
    lines = [f"## {TITLES[name].format(seed=seed)}", "",
             f"| corpus | clips | speakers (of one class only) | chance | {head} |",
             "|---|---|---|---|" + "---|" * 3 * len(MODES)]
    for corpus, first in modes[0]["by_corpus"].items():
        lines.append(_row(corpus, first["n"], f"{first['speakers']} ({first['one_class_speakers']})",
                          f"{100 * first['chance']:.1f}", [m["by_corpus"][corpus] for m in modes]))
    lines.append(_row("**mean over corpora**", "", "", "", [m["mean_over_corpora"] for m in modes]))
    pooled = modes[0]["pooled"]
    lines.append(_row("pooled (all test clips)", pooled["n"], "", f"{100 / len(pooled['recall']):.1f}",
                      [m["pooled"] for m in modes]))
    chosen = "; ".join(f"{MODE_TEXT[m]}: {', '.join(f'{c:g}' for c in result[m]['chosen_c'])}" for m in MODES)
    folds = ", ".join(f"{f['name']} ({f['n_train']}/{f['n_val']}/{f['n_test']})" for f in result["folds"])
    return [*lines, "", f"C per fold ({chosen}). Folds (train/validation/test clips): {folds}.", ""]


def markdown(meta: dict[str, Any], result: dict[str, Any]) -> str:
    """The report: both protocols, per corpus and means, with how it was measured."""
    corpora = ", ".join(f"{c} {n}" for c, n in result["clips_by_corpus"].items())
    lines = [f"# openSMILE {result['feature_set']} + class-balanced linear SVM on the pooled corpora", "",
             f"Command: `{meta['command']}`, {meta['date']}.", "",
             f"Machine: {meta['machine']}; 1-minute load average {result['load_average_1min'][0]:.1f} when scoring "
             f"began, {result['load_average_1min'][1]:.1f} at its end (times below are of a shared machine when that "
             f"exceeds the cores). Versions: {meta['versions']}.", "",
             f"Data: {result['n_clips']} clips ({corpora}), {result['n_speakers']} speakers, classes "
             f"{', '.join(result['labels'])}; {result['n_features']} features. Seed {result['seed']} (the folds'). "
             f"C from {result['c_grid']} by UA on each fold's validation speakers (drawn from its training corpora), "
             "then refitted on training + validation speakers. Scores in %; each corpus on the classes it has "
             "(predictions may still name any of the six); chance = 100 / its classes.", "",
             "Normalisation: default = features z-scored with the training statistics; per-speaker normalised = every "
             "training speaker z-scored with their own statistics, each test clip with those of its speaker's OTHER "
             "clips (no labels), as an enrolled user would be. A speaker whose clips are all of one class (counted per "
             "corpus below) loses that class to the normalisation: their own statistics are the class's.", "",
             f"Time: feature extraction {result['extraction_seconds'] / 60:.1f} min (one process, measured when the "
             f"features were extracted; cached since), SVM selection, fitting and scoring "
             f"{result['scoring_seconds'] / 60:.1f} min.", ""]
    for name, protocol in result["protocols"].items():
        lines += _protocol_md(name, protocol, result["seed"])
    return "\n".join(lines)


def missing(corpora_root: Path) -> str | None:
    """Why the pool cannot be scored (no corpora folder), or None."""
    if corpora_root.is_dir():
        return None
    return f"no corpora folder at {corpora_root} (--corpora; see ../shared/data/corpora/README.md)"


def measure(corpora_root: Path, emodb: Path, out: Path, meta: dict[str, Any], seed: int = 0) -> dict[str, Any]:
    """`evaluate`, writing out/opensmile-pool.md."""
    result = evaluate(corpora_root, emodb, seed)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{NAME}.md").write_text(markdown(meta, result))
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.opensmile_pool", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", default=str(CORPORA),
                        help=f"folder of the seven extracted corpora, <corpus>/ each (default {CORPORA})")
    parser.add_argument("--emodb", default=str(EMODB), help=f"EMO-DB folder (default {shown(EMODB)})")
    parser.add_argument("--seed", type=int, default=0, help="the folds' seed (default 0, as the network's)")
    parser.add_argument("--out", default=str(RESULTS), help="results folder")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Score the peer and write opensmile-pool.json and .md; exit 2 naming a missing corpora folder."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    meta = {"command": "python -m benchmarks.opensmile_pool " + shlex.join(argv),
            "date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(), "versions": versions()}
    why = missing(Path(args.corpora))
    if why:
        print(f"opensmile_pool: {why}", file=sys.stderr)
        return 2
    result = measure(Path(args.corpora), Path(args.emodb), Path(args.out), meta, args.seed)
    (Path(args.out) / f"{NAME}.json").write_text(json.dumps({"meta": meta, NAME: result}, indent=1) + "\n")
    print(Path(args.out) / f"{NAME}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
