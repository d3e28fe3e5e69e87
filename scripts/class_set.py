"""Which classes the general model should have: the six every corpus shares, or also surprise (in
five corpora) and boredom (EMO-DB only), measured with the classic peer as the probe.

For each class set, openSMILE eGeMAPS + class-balanced linear SVM (`benchmarks.opensmile_pool`) is
scored leave-one-corpus-out on the folds the network uses (`corpus_folds`, seed 0; C chosen on each
fold's validation speakers, features z-scored with the training statistics). Reported per class
set: the mean over corpora of UA on the six shared classes (a clip of those answered "surprise"
or "boredom" is wrong, which is what adding a class costs them), and the recall of each added
class in every corpus that has it (what a user would get from it on a corpus never met).
The peer stands in for the network because a network per class set and fold is 8 x 40 min here;
it answers whether a class transfers across corpora at all, not what the network would score.

    python -m scripts.class_set --corpora /work/corpora --out reports/class-set
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.common import ROOT, machine, versions
from benchmarks.opensmile_pool import FEATURE_SET, balanced_svm
from benchmarks.opensmile_svm import EMODB, extract, run_fold
from lightser_export.corpora import CHECKSUMS, GENERAL_LABELS, load_pool
from lightser_export.folds import corpus_folds

CLASS_SETS = {"six shared": GENERAL_LABELS, "+ surprise": (*GENERAL_LABELS, "surprise"),
              "+ surprise, boredom": (*GENERAL_LABELS, "boredom", "surprise")}


def features(paths: list[Path], six: list[Path]) -> dict[Path, np.ndarray]:
    """eGeMAPS functionals of `paths` by path: the six-class pool's from the peer's cache, the rest
    extracted (and cached) apart, so adding classes does not extract the pool again."""
    extra = sorted(set(paths) - set(six))
    table = dict(zip(six, extract(FEATURE_SET, six)[0]))
    return {**table, **dict(zip(extra, extract(FEATURE_SET, extra)[0]))} if extra else table


def score(name: str, labels: tuple[str, ...], corpora_root: Path, emodb: Path,
          table: dict[Path, np.ndarray]) -> dict:
    """Leave one corpus out with `labels`: six-class UA per corpus and each added class's recall."""
    pool = load_pool(corpora_root, emodb, labels=labels, checksums=ROOT / CHECKSUMS)
    x, y = np.stack([table[u.path] for u in pool.utterances]), np.asarray(pool.label_indices())
    speakers = np.asarray([u.speaker for u in pool.utterances])
    corpora = np.asarray([u.corpus for u in pool.utterances])
    shared = [pool.labels.index(c) for c in GENERAL_LABELS]
    out: dict = {"labels": list(labels), "clips": len(y), "corpora": {}}
    for fold in corpus_folds(speakers, corpora, seed=0):
        predicted = run_fold(x, y, speakers, fold, "default", len(labels), balanced_svm)[0]
        truth = y[fold.test]
        recalls = {pool.labels[c]: float(np.mean(predicted[truth == c] == c)) for c in np.unique(truth)}
        out["corpora"][fold.test_speaker] = {
            "ua_shared": float(np.mean([recalls[pool.labels[c]] for c in shared if pool.labels[c] in recalls])),
            "added": {c: recalls[c] for c in labels if c not in GENERAL_LABELS and c in recalls},
            "clips": int(len(truth))}
        print(name, fold.test_speaker, out["corpora"][fold.test_speaker], flush=True)
    out["mean_ua_shared"] = float(np.mean([c["ua_shared"] for c in out["corpora"].values()]))
    return out


def markdown(result: dict, meta: dict) -> str:
    """The report: six-class UA per corpus under each class set, and the added classes' recall."""
    names = list(result)
    corpora = list(result[names[0]]["corpora"])
    lines = ["# The class set of the general model, measured with the classic peer", "",
             f"Command: `{meta['command']}`, {meta['date']}; {meta['machine']}; {meta['versions']}.", "",
             __doc__.split("\n\n")[1].strip(), "",
             "## UA on the six shared classes, leave one corpus out (%)", "",
             "| held-out corpus | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for corpus in corpora:
        lines.append(f"| {corpus} | " + " | ".join(f"{100 * result[n]['corpora'][corpus]['ua_shared']:.1f}"
                                                   for n in names) + " |")
    lines.append("| **mean over corpora** | " + " | ".join(f"**{100 * result[n]['mean_ua_shared']:.1f}**"
                                                         for n in names) + " |")
    lines += ["", "## Recall of each added class on the corpora that have it, leave one corpus out (%)", "",
              "| class set | held-out corpus | class | recall | chance (1 / classes) |", "|---|---|---|---|---|"]
    for name in names[1:]:
        chance = 100 / len(result[name]["labels"])
        for corpus, row in result[name]["corpora"].items():
            for label, recall in row["added"].items():
                lines.append(f"| {name} | {corpus} | {label} | {100 * recall:.1f} | {chance:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m scripts.class_set", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", required=True, help="folder of the seven extracted corpora")
    parser.add_argument("--emodb", default=str(EMODB), help="EMO-DB folder")
    parser.add_argument("--out", default="reports/class-set", help="report folder")
    args = parser.parse_args(argv)
    meta = {"command": "python -m scripts.class_set " + shlex.join(argv), "date": time.strftime("%Y-%m-%d %H:%M"),
            "machine": machine(), "versions": versions()}
    root, emodb = Path(args.corpora), Path(args.emodb)
    six = [u.path for u in load_pool(root, emodb, checksums=ROOT / CHECKSUMS).utterances]
    every = [u.path for u in load_pool(root, emodb, labels=CLASS_SETS["+ surprise, boredom"],
                                       checksums=ROOT / CHECKSUMS).utterances]
    table = features(every, six)
    result = {name: score(name, labels, root, emodb, table) for name, labels in CLASS_SETS.items()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "class-set.json").write_text(json.dumps({"meta": meta, "class_sets": result}, indent=1) + "\n")
    (out / "class-set.md").write_text(markdown(result, meta))
    print(out / "class-set.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
