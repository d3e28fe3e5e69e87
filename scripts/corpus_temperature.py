"""A temperature that has seen corpus shift: how much more a model should soften its scores on a
corpus it never heard than on validation speakers from its training corpora.

Each fold of a leave-one-corpus-out report (`lightser-train eval --protocol corpus`) left out one
corpus; its int8 model is scored through `Recognizer`, untempered, on that corpus. The factor f
multiplies a model's own validation temperature; it is fitted (pooled negative log-likelihood,
`calibration.fit_shift_factor`) on the other folds only, so no corpus picks its own factor, and
the calibration error of every fold is measured with its validation temperature and with f
times it. The factor fitted on all folds is the one for a model trained on every corpus
(`--apply` writes it into models' metadata, keeping their validation temperature).

    python -m scripts.corpus_temperature --report reports/general/loco-long/loco-long.json \\
        --runs runs/loco-long-a runs/loco-long-b --out reports/general/calibration/loco-long
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
from pathlib import Path
from typing import Any

import numpy as np

from lightser import Recognizer
from lightser.metadata import read_metadata, sidecar_path, write_metadata
from lightser.model import tempered
from lightser_export.calibration import Scored, fit_shift_factor, shifted
from lightser_export.corpora import load_pool
from lightser_export.datasets import EMODB_ROOT, Dataset
from lightser_export.metrics import expected_calibration_error
from lightser_export.protocols import runtime_scores

CACHE = Path(".cache/corpus-temperature")


def fold_model(runs: list[Path], fold: str) -> Path:
    """The int8 model of `fold` (e.g. corpus-ased) in the first of `runs` that has it."""
    for run in runs:
        if (run / fold / "model-int8.tflite").exists():
            return run / fold / "model-int8.tflite"
    raise SystemExit(f"corpus_temperature: no {fold}/model-int8.tflite under {', '.join(map(str, runs))}")


def scored_fold(model: Path, dataset: Dataset, corpus: str, truth: list[int]) -> Scored:
    """The untempered runtime scores of `model` on `corpus` (cached under the model's hash),
    refused clips dropped."""
    rec = Recognizer(model)
    meta = rec.model.metadata
    rows = np.array([i for i, u in enumerate(dataset.utterances) if u.corpus == corpus])
    labels = np.asarray(dataset.label_indices())[rows]
    if labels.tolist() != truth:
        raise SystemExit(f"corpus_temperature: {corpus}'s clips are not the report's (other data or class set?)")
    cache = CACHE / f"{meta.sha256[:16]}-{corpus}.npy"
    if cache.exists():
        probs = np.load(cache)
    else:
        rec.model.metadata = dataclasses.replace(meta, temperature=1.0)
        probs = runtime_scores(rec, dataset, rows)
        CACHE.mkdir(parents=True, exist_ok=True)
        np.save(cache, probs)
    kept = np.isfinite(probs).all(axis=1)
    return Scored(probs[kept], labels[kept], meta.temperature, rec.model.probability_floor)


KINDS = ("raw", "validation", "shift")  # untempered; the validation temperature; the factor times it


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m scripts.corpus_temperature", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--report", type=Path, required=True, help="a leave-one-corpus-out report (.json)")
    parser.add_argument("--runs", type=Path, nargs="+", required=True, help="the run folders of its folds")
    parser.add_argument("--data", type=Path, default=Path("/work/corpora"), help="the corpora's root")
    parser.add_argument("--emodb", type=Path, default=EMODB_ROOT)
    parser.add_argument("--out", type=Path, required=True, help="OUT.md and OUT.json are written")
    parser.add_argument("--apply", type=Path, nargs="*", default=[], help="models (.tflite) to give the factor")
    args = parser.parse_args()
    report = json.loads(args.report.read_text())
    dataset = load_pool(args.data, args.emodb, labels=report["labels"])
    folds = {f["test_speaker"]: scored_fold(fold_model(args.runs, f["fold"]), dataset, f["test_speaker"],
                                            f["modes"]["default"]["y_true"])
             for f in report["folds"]}
    rows, pooled = [], {key: [] for key in (*KINDS, "correct")}
    for corpus, s in folds.items():
        factor = fit_shift_factor([other for name, other in folds.items() if name != corpus])
        correct = s.probs.argmax(1) == s.labels  # a temperature keeps the ranking
        confidence = {key: tempered(s.probs, t, s.floor).max(1)
                      for key, t in zip(KINDS, (1.0, s.temperature, factor * s.temperature))}
        rows.append({"corpus": corpus, "n": len(s.labels), "accuracy": float(np.mean(correct)),
                     "validation_temperature": s.temperature, "factor": factor,
                     **{f"ece_{key}": expected_calibration_error(confidence[key], correct) for key in KINDS}})
        for key in KINDS:
            pooled[key] += confidence[key].tolist()
        pooled["correct"] += correct.tolist()
    overall = fit_shift_factor(list(folds.values()))
    summary = {key: expected_calibration_error(pooled[key], pooled["correct"]) for key in KINDS}
    command = "python -m scripts.corpus_temperature " + shlex.join(sys.argv[1:])
    result = {"command": command, "report": str(args.report), "factor_all_folds": overall,
              "pooled_ece": summary, "n": len(pooled["correct"]),
              "mean_confidence": {key: float(np.mean(pooled[key])) for key in KINDS},
              "accuracy": float(np.mean(pooled["correct"])), "folds": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(markdown(result))
    for model in args.apply:
        new = shifted(read_metadata(sidecar_path(model)), overall, str(args.out.with_suffix(".json")))
        write_metadata(new, sidecar_path(model))
        print(f"{sidecar_path(model)}: temperature {new.temperature:.3f} "
              f"({overall:.3f} x validation {new.training['temperature']['validation']:.3f})")
    print(markdown(result))


def pct(value: float) -> str:
    """A share as a percentage with one decimal."""
    return f"{100 * value:.1f} %"


def markdown(result: dict[str, Any]) -> str:
    """The report as Markdown."""
    lines = ["# A temperature that has seen corpus shift", "", f"Command: `{result['command']}`", "",
             __doc__.split("\n\n")[1].replace("\n", " "), "",
             f"Leave-one-corpus-out folds of `{result['report']}`, {result['n']} clips scored (accuracy "
             f"{pct(result['accuracy'])}).", "",
             "| corpus left out | clips | accuracy | validation temperature | factor (fitted on the other folds) "
             "| ECE untempered | ECE, validation temperature | ECE, factor x validation |",
             "|---|---|---|---|---|---|---|---|"]
    for r in result["folds"]:
        lines.append(f"| {r['corpus']} | {r['n']} | {pct(r['accuracy'])} | {r['validation_temperature']:.3f} | "
                     f"{r['factor']:.3f} | {pct(r['ece_raw'])} | {pct(r['ece_validation'])} | {pct(r['ece_shift'])} |")
    e, c = result["pooled_ece"], result["mean_confidence"]
    lines += ["", f"Pooled over the folds: expected calibration error {pct(e['raw'])} untempered, "
              f"{pct(e['validation'])} with each fold's validation temperature, **{pct(e['shift'])}** with the "
              f"factor fitted without that fold; mean confidence {pct(c['raw'])} / {pct(c['validation'])} / "
              f"{pct(c['shift'])} against accuracy {pct(result['accuracy'])}.", "",
              "Factor fitted on all folds (for a model trained on every corpus): "
              f"**{result['factor_all_folds']:.3f}**."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
