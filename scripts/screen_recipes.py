"""Screen training recipes quickly: float-only leave-one-speaker-out UA on EMO-DB, on any Keras backend.

Two steps, so that the second can run where neither TensorFlow nor the audio is (a GPU machine with JAX):

    python -m scripts.screen_recipes prepare --out .screen/emodb.npz
    KERAS_BACKEND=jax python -m scripts.screen_recipes run --data .screen/emodb.npz --recipe speed --seed 0 \
        --out .screen
    python -m scripts.screen_recipes summarise LOGS... --out reports/screen-recipes/screen-recipes.md

`prepare` computes the raw MFCCs of every clip with the runtime's own function, once as recorded and once
per speed factor (the clip resampled as if played that much faster or slower: pitch, formants and tempo
all move, as between speakers). `run` trains one float model per LOSO fold as the shipped recipe does
(fixed epochs, last weights, nothing chosen on held-out data) and scores the held-out speaker, printing one
line per fold. `summarise` tabulates those lines from `run`'s logs (runs cut short by a time limit
included) and makes the choice nested: for each test speaker, the recipe with the best mean UA over the
OTHER speakers' folds, so that no speaker's own score picks the recipe it is scored with.

Screening only: float Keras, no int8 and no runtime. A recipe that wins here still has to go through
`lightser-train eval`, which is what the model card quotes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable

import numpy as np

from lightser.features import frame_stats
from lightser_export.datasets import EMODB_ROOT
from lightser_export.folds import loso_folds
from lightser_export.metrics import unweighted_accuracy
from lightser_export.train import TrainConfig, fit, predict_probs

FOLD_LINE = re.compile(r"^(\S+) seed=(\d+) speaker-(\S+) UA=([\d.]+) ")


def prepare(root: Path, cache: Path, out: Path) -> None:
    """Raw MFCCs of EMO-DB as recorded and at each speed in SPEEDS (float16), with labels and speakers."""
    from lightser.features import FeatureRecipe
    from lightser_export.datasets import load_emodb
    from lightser_export.featurize import dataset_features

    dataset, recipe = load_emodb(root), FeatureRecipe()
    feats = {f"speed_{speed}": dataset_features(dataset, recipe, cache, speed) for speed in (1.0, *SPEEDS)}
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, labels=np.asarray(dataset.label_indices()),
             speakers=np.asarray([u.speaker for u in dataset.utterances]),
             **{k: v.astype(np.float16) for k, v in feats.items()})


def utterance_mean_removed(raw: np.ndarray) -> np.ndarray:
    """Each clip's own mean subtracted from every coefficient but c0 (loudness stays absolute)."""
    out = raw.copy()
    out[:, :, 1:] -= raw[:, :, 1:].mean(axis=1, keepdims=True)
    return out


def utterance_standardised(raw: np.ndarray) -> np.ndarray:
    """Each clip z-scored with its own per-coefficient statistics."""
    return (raw - raw.mean(axis=1, keepdims=True)) / np.maximum(raw.std(axis=1, keepdims=True), 1e-3)


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A training recipe to screen: the config (its `speeds` say which copies train) and a per-clip transform."""

    config: TrainConfig
    per_clip: Callable[[np.ndarray], np.ndarray] | None = None


RECIPES = {
    "global": Recipe(TrainConfig(speeds=())),
    "speed": Recipe(TrainConfig()),
    "speed-14ep": Recipe(TrainConfig(epochs=14)),
    "utterance-mean": Recipe(TrainConfig(speeds=()), utterance_mean_removed),
    "utterance": Recipe(TrainConfig(speeds=()), utterance_standardised),
    "speed-utterance-mean": Recipe(TrainConfig(), utterance_mean_removed),
    "speed-wide": Recipe(TrainConfig(speeds=(0.8, 0.9, 1.1, 1.2))),
    "speed-60ep": Recipe(TrainConfig(epochs=60)),
    "speed-focal": Recipe(TrainConfig(loss="focal")),
}
SPEEDS = tuple(sorted({s for recipe in RECIPES.values() for s in recipe.config.speeds}))


def run(data: Path, name: str, seed: int, out: Path) -> dict:
    """Pooled and per-fold float UA of one recipe over the 10 LOSO folds."""
    recipe = RECIPES[name]
    config = dataclasses.replace(recipe.config, seed=seed)
    store = np.load(data)
    labels, speakers = store["labels"], store["speakers"]
    copies = [store[f"speed_{s}"].astype(np.float32) for s in (1.0, *config.speeds)]
    if recipe.per_clip is not None:
        copies = [recipe.per_clip(c) for c in copies]
    pred = np.empty_like(labels)
    folds, started = [], time.perf_counter()
    for fold in loso_folds(speakers.tolist()):
        rows = np.setdiff1d(np.arange(len(labels)), fold.test)
        mean, std = (m.astype(np.float32) for m in frame_stats(copies[0][rows]))
        x = np.concatenate([(c[rows] - mean) / std for c in copies])
        fitted = fit(x, np.tile(labels[rows], len(copies)), 7, config, desc=fold.name)
        pred[fold.test] = predict_probs(fitted.model, (copies[0][fold.test] - mean) / std).argmax(1)
        folds.append({"speaker": fold.test_speaker,
                      "ua": unweighted_accuracy(labels[fold.test], pred[fold.test], 7), "seconds": fitted.seconds})
        print(f"{name} seed={seed} {fold.name} UA={folds[-1]['ua']:.3f} ({fitted.seconds:.0f} s)", flush=True)
    result = {"recipe": name, "seed": seed, "config": config.to_dict(),
              "ua": unweighted_accuracy(labels, pred, 7), "folds": folds, "pred": pred.tolist(),
              "minutes": (time.perf_counter() - started) / 60}
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}-seed{seed}.json").write_text(json.dumps(result, indent=1))
    print(f"{name} seed={seed} pooled UA={result['ua']:.3f}", flush=True)
    return result


def summarise(logs: list[Path]) -> str:
    """Markdown: per-fold UA of each recipe and seed found in `logs`, and the nested choice per speaker."""
    ua: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    rows: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for log in logs:
        for match in filter(None, map(FOLD_LINE.match, log.read_text().splitlines())):
            recipe, seed, speaker, value = match.groups()
            ua[recipe][speaker].append(float(value))
            rows[recipe, seed][speaker] = float(value)
    speakers = sorted({s for per in ua.values() for s in per})
    lines = ["| recipe | seed | " + " | ".join(speakers) + " | mean of folds run |",
             "|---|---|" + "---|" * len(speakers) + "---|"]
    for (recipe, seed), per in sorted(rows.items()):
        cells = [f"{100 * per[s]:.1f}" if s in per else "-" for s in speakers]
        lines.append(f"| {recipe} | {seed} | " + " | ".join(cells) + f" | {100 * np.mean(list(per.values())):.1f} |")
    seeds = max(len(v) for per in ua.values() for v in per.values())
    lines += ["", "Nested choice: for each test speaker, the recipe with the best mean UA over the other speakers' "
              f"folds that every recipe finished with all {seeds} seeds.", "",
              "| test speaker | chosen | its mean UA there | runner-up | folds compared |", "|---|---|---|---|---|"]
    for held_out in speakers:
        common = [s for s in speakers if s != held_out and all(len(ua[r][s]) == seeds for r in ua)]
        means = sorted((np.mean([u for s in common for u in ua[r][s]]), r) for r in ua)
        lines.append(f"| {held_out} | {means[-1][1]} | {100 * means[-1][0]:.1f} | {means[-2][1]} "
                     f"({100 * means[-2][0]:.1f}) | {len(common)} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="raw MFCCs, as recorded and speed-perturbed, into one .npz")
    p.add_argument("--data", default=EMODB_ROOT, type=Path)
    p.add_argument("--cache", default=".cache/features", type=Path)
    p.add_argument("--out", default=".screen/emodb.npz", type=Path)
    r = sub.add_parser("run", help="float LOSO UA of one recipe and seed")
    r.add_argument("--data", default=".screen/emodb.npz", type=Path)
    r.add_argument("--recipe", choices=sorted(RECIPES), required=True)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--out", default=".screen", type=Path)
    m = sub.add_parser("summarise", help="per-fold table and nested choice from run logs")
    m.add_argument("logs", nargs="+", type=Path)
    m.add_argument("--out", type=Path, help="Markdown file (default: print)")
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.data, args.cache, args.out)
    elif args.command == "run":
        run(args.data, args.recipe, args.seed, args.out)
    elif args.out is None:
        print(summarise(args.logs), end="")
    else:
        args.out.write_text(summarise(args.logs))


if __name__ == "__main__":
    main()
