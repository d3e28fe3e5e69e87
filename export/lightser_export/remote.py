"""Train the weights of `lightser-train eval` (LOSO) and `fit` on another machine, on any Keras backend.

For a machine with a GPU but no TensorFlow or audio (e.g. JAX there). Exporting and scoring stay here:

    python -m lightser_export.remote pack --out .remote/emodb.npz           # here; takes lightser-train's options
    KERAS_BACKEND=jax python -m lightser_export.remote train --data .remote/emodb.npz \\
        --job speaker-03 --run-dir RUNS/emodb-loso-speed-h200/speaker-03    # there, one job per fold, and "all"
    lightser-train eval --runs RUNS --out reports/emodb-loso/studio/emodb-loso-speed-h200 --resume  # here, RUNS back
    lightser-train fit --runs RUNS --name emodb --resume                            # ("all" saved in RUNS/fit-emodb)

`pack` takes the dataset and training options of `lightser-train` (e.g. `--normalisation speaker`) and
stores the config with the raw features and the standardisation statistics, exactly as those commands
compute them here, so the training data, and so the fingerprint that `--resume` checks, are identical byte
for byte: `--resume` reuses the weights only then, and otherwise trains again. Give `eval` and `fit` the
same options as `pack`.

There, without an installed package, the repository's `export` and `sdk` on PYTHONPATH (with Keras and
the backend) are enough: `PYTHONPATH=export:sdk python3 -m lightser_export.remote train ...` from the
repository root, as scripts/device_train.sh does.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from lightser.features import frame_stats
from lightser_export.cli import add_training_options, raw_features, setup
from lightser_export.featurize import training_set
from lightser_export.folds import loso_folds
from lightser_export.train import TrainConfig, fit

ALL = "all"  # the job that trains on every clip, as `lightser-train fit` does


def pack(args: argparse.Namespace, out: Path) -> None:
    """The config, raw features (as recorded, then each speed), labels, speakers, and per-job rows and statistics."""
    config, recipe, dataset = setup(args)
    raws = raw_features(args, config, recipe, dataset)
    speakers = np.asarray([u.speaker for u in dataset.utterances])
    jobs = {fold.name: fold.fit_rows(config.early_stopping)[0] for fold in loso_folds(speakers.tolist())}
    jobs[ALL] = np.arange(len(speakers))
    arrays = {}
    for name, rows in jobs.items():
        arrays[f"rows/{name}"] = rows
        arrays[f"mean/{name}"], arrays[f"std/{name}"] = frame_stats(raws[0][rows])
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, raws=np.stack(raws), labels=np.asarray(dataset.label_indices()), speakers=speakers,
             n_classes=len(dataset.labels), config=json.dumps(config.to_dict()), **arrays)


def train(data: Path, job: str, run_dir: Path) -> None:
    """Train one job with the packed config and save it in `run_dir` as `fit` does."""
    store = np.load(data)
    if "config" not in store.files:
        raise SystemExit(f"{data}: packed by an older version of this module, without its config; pack it again")
    config = TrainConfig.from_dict(json.loads(str(store["config"])))
    x, y = training_set(list(store["raws"]), store["speakers"], store["labels"], store[f"rows/{job}"],
                        config.normalisation, (store[f"mean/{job}"], store[f"std/{job}"]))
    fitted = fit(x, y, int(store["n_classes"]), config, run_dir=run_dir, desc=job)
    print(f"{job}: {fitted.seconds:.0f} s on {fitted.backend}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m lightser_export.remote", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="config, features and statistics for the jobs, into one .npz")
    add_training_options(p, resume=False)
    p.add_argument("--out", default=".remote/emodb.npz", type=Path)
    t = sub.add_parser("train", help="train one job (a LOSO fold name, or 'all')")
    t.add_argument("--data", default=".remote/emodb.npz", type=Path)
    t.add_argument("--job", required=True)
    t.add_argument("--run-dir", required=True, type=Path)
    args = parser.parse_args()
    if args.command == "pack":
        if args.early_stopping:
            parser.error("pack: --early-stopping false only (jobs train without a validation speaker)")
        pack(args, args.out)
    else:
        train(args.data, args.job, args.run_dir)


if __name__ == "__main__":
    main()
