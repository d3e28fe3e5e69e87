"""Is the LOSO miss training noise or the speakers? Ensembles and prior correction of finished folds.

    python -m scripts.loso_ceiling runs/h200/emodb-loso-speed-h200 runs/emodb-loso-speed \\
        runs/emodb-loso-corrupt runs/emodb-loso-global-fixed --out reports/loso-ceiling/loso-ceiling.md

Each run folder holds the ten leave-one-speaker-out fold models of one finished `lightser-train
eval --protocol loso` (int8, trained without their test speaker). Every clip is scored by its own
fold's `model-int8.tflite` through `lightser.Recognizer`, as users run it. Three questions:

1. *Ensembles*: does averaging the scores of independently trained fold models (other seeds,
   backends and recipes) lift UA? If the misses were training noise, it would.
2. *Shared misses*: how many clips does every run get wrong, and how many does at least one get
   right (an oracle that no deployed model has, an upper bound for picking among these runs)?
3. *Prior correction*: dividing the scores by the class frequencies of the fold's training
   speakers (nothing from the test speaker) is Bayes' rule for equal class priors, which is
   what UA rewards.
"""

from __future__ import annotations

import itertools

import numpy as np

from lightser_export.datasets import load_emodb
from lightser_export.metrics import unweighted_accuracy
from scripts.fold_runs import parse_args
from scripts.screen_test_speeds import scores_by_speed


def prior_corrected(scores: np.ndarray, y: np.ndarray, speakers: np.ndarray) -> np.ndarray:
    """Scores of each speaker's clips divided by the class frequencies of the other speakers' clips."""
    out = np.empty_like(scores)
    for s in set(speakers):
        train = speakers != s
        out[speakers == s] = scores[speakers == s] / (np.bincount(y[train], minlength=scores.shape[1]) / train.sum())
    return out


def main() -> None:
    args = parse_args(__doc__, "reports/loso-ceiling/loso-ceiling.md")
    dataset = load_emodb(args.data)
    y = np.asarray(dataset.label_indices())
    speakers = np.asarray([u.speaker for u in dataset.utterances])
    n = len(dataset.labels)
    scores = {run: scores_by_speed(run, dataset, (1.0,))[1.0] for run in args.runs}

    def ua(p: np.ndarray) -> str:
        return f"{100 * unweighted_accuracy(y, p.argmax(1), n):.1f}"

    lines = ["# LOSO ceiling: ensembles, shared misses and prior correction of finished EMO-DB folds", "",
             f"Command: `python -m scripts.loso_ceiling {' '.join(map(str, args.runs))} --out {args.out}`", "",
             __doc__.split("\n\n", 2)[2].strip(), "",
             "## 1. Single runs and ensembles (mean of the runs' scores), int8 via the runtime, 535 clips", "",
             "| fold models | UA | WA |", "|---|---|---|"]
    for k in range(1, len(args.runs) + 1):
        for group in itertools.combinations(args.runs, k):
            mean = np.mean([scores[r] for r in group], axis=0)
            lines.append(f"| {' + '.join(f'`{r.name}`' for r in group)} | {ua(mean)} | "
                         f"{100 * np.mean(mean.argmax(1) == y):.1f} |")
    right = np.array([scores[r].argmax(1) == y for r in args.runs])
    lines += ["", "## 2. Shared misses", "",
              "| class | clips | missed by every run | right in at least one run (oracle recall) |",
              "|---|---|---|---|"]
    for c, label in enumerate(dataset.labels):
        rows = y == c
        lines.append(f"| {label} | {rows.sum()} | {np.sum(~right[:, rows].any(0))} | "
                     f"{100 * np.mean(right[:, rows].any(0)):.1f} % |")
    oracle = np.where(right.any(0), y, (y + 1) % n)
    lines += [f"| all | {len(y)} | {np.sum(~right.any(0))} | UA {100 * unweighted_accuracy(y, oracle, n):.1f} |",
              "", "## 3. Prior correction", "", "| fold models | UA as shipped | UA prior-corrected |", "|---|---|---|"]
    lines += [f"| `{r.name}` | {ua(scores[r])} | {ua(prior_corrected(scores[r], y, speakers))} |" for r in args.runs]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
