"""Screen test-time speed sets on the int8 fold models of finished EMO-DB LOSO evaluations.

    python -m scripts.screen_test_speeds runs/h200/emodb-loso-speed-h200 runs/emodb-loso-speed \\
        --out reports/screen-test-speeds/screen-test-speeds.md

Each fold's `model-int8.tflite` scores its test speaker's clips through `lightser.Recognizer`
at each speed alone; a speed set's scores are the mean of its speeds' (the same as the
Recognizer's per-window average, since every speed sees the same windows). Besides the pooled
UA of each set, a nested check: for each speaker, the set with the best mean fold UA over the
OTHER nine speakers, then that set's score on the speaker.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lightser import Recognizer
from lightser_export.datasets import Dataset, load_emodb
from lightser_export.metrics import unweighted_accuracy
from scripts.fold_runs import parse_args

SPEEDS = (0.9, 0.95, 1.0, 1.05, 1.1)
SETS = {"1.0 (none)": (1.0,), "0.95, 1.0, 1.05": (0.95, 1.0, 1.05),
        "0.9, 1.0, 1.1 (the training speeds)": (0.9, 1.0, 1.1), "all five": SPEEDS}


def scores_by_speed(run: Path, dataset: Dataset, speeds: tuple[float, ...] = SPEEDS) -> dict[float, np.ndarray]:
    """speed -> (clips, classes) scores of each clip by its own fold's model."""
    speakers = np.asarray([u.speaker for u in dataset.utterances])
    out = {speed: np.zeros((len(speakers), len(dataset.labels))) for speed in speeds}
    for speaker in sorted(set(speakers)):
        model = run / f"speaker-{speaker}" / "model-int8.tflite"
        for speed in speeds:
            rec = Recognizer(model, speeds=(speed,))
            for i in np.flatnonzero(speakers == speaker):
                out[speed][i] = list(rec.predict(dataset.utterances[i].path).scores.values())
    return out


def screen(run: Path, dataset: Dataset) -> list[str]:
    """Markdown lines: per-set pooled and per-fold UA, then the nested check."""
    by_speed = scores_by_speed(run, dataset)
    labels = np.asarray(dataset.label_indices())
    speakers = np.asarray([u.speaker for u in dataset.utterances])
    n_classes, order = by_speed[1.0].shape[1], sorted(set(speakers))
    preds = {name: np.mean([by_speed[s] for s in speeds], axis=0).argmax(1) for name, speeds in SETS.items()}
    fold_ua = {name: {s: unweighted_accuracy(labels[speakers == s], p[speakers == s], n_classes) for s in order}
               for name, p in preds.items()}
    lines = [f"## `{run}`", "", "| test speeds | UA | " + " | ".join(order) + " |", "|---|---|" + "---|" * len(order)]
    for name, p in preds.items():
        lines.append(f"| {name} | {100 * unweighted_accuracy(labels, p, n_classes):.1f} | "
                     + " | ".join(f"{100 * fold_ua[name][s]:.1f}" for s in order) + " |")
    nested, picks = np.zeros_like(labels), []
    for s in order:
        best = max(SETS, key=lambda name: np.mean([fold_ua[name][o] for o in order if o != s]))
        picks.append(best)
        nested[speakers == s] = preds[best][speakers == s]
    lines += ["", "Nested check, the set chosen without each speaker: "
              + ", ".join(f"{s}: {p}" for s, p in zip(order, picks))
              + f"; UA of those choices {100 * unweighted_accuracy(labels, nested, n_classes):.1f}", ""]
    return lines


def main() -> None:
    args = parse_args(__doc__, "reports/screen-test-speeds/screen-test-speeds.md")
    lines = ["# Test-time speed sets on LOSO fold models (int8 via lightser.Recognizer)", "",
             "Command: `python -m scripts.screen_test_speeds " + " ".join(str(r) for r in args.runs)
             + f" --out {args.out}`", ""]
    dataset = load_emodb(args.data)
    for run in args.runs:
        lines += screen(run, dataset)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
