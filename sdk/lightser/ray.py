"""Ray Data adapter: score a dataset of audio files across the CPUs of a Ray cluster, one
`Recognizer` per worker (install the extra: `pip install ".[ray]"`).

    import ray
    from lightser.ray import Predict

    files = ray.data.read_binary_files("s3://bucket/calls/", include_paths=True)
    scored = files.map_batches(Predict, compute=ray.data.ActorPoolStrategy(size=8), batch_size=64)  # 8 workers
    scored.write_parquet("s3://bucket/emotions/")

Each batch comes in with a "bytes" column (the files' contents, as `read_binary_files` gives)
or a "path" column (paths every worker can read), and goes out with every other column kept
(the "bytes" dropped) and these added, as `lightser predict` writes them: "status" ("ok",
"no-speech", "error"), "label", "confidence", one column of scores per class (NaN where there
is no prediction) and "message" (why not). Only `main` (the command `python -m lightser.ray`,
for `ray job submit`) imports Ray.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import sources
from .errors import InvalidArgumentError
from .inputs import AUDIO_SUFFIXES
from .recognizer import Recognizer

SOURCE_COLUMNS = ("bytes", "path")  # where the audio is read from, in this order of preference


class Predict:
    """A stateful callable for `Dataset.map_batches`: Ray makes one per worker, which loads the
    model once. model and options: as for `Recognizer` (e.g. silence_db=None, speeds=...)."""

    def __init__(self, model: str | Path | None = None, **options: Any) -> None:
        self.recognizer = Recognizer(model, **options)

    def __repr__(self) -> str:
        return f"lightser.ray.Predict({self.recognizer!r})"

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        column = next((name for name in SOURCE_COLUMNS if name in batch), None)
        if column is None:
            raise InvalidArgumentError(f"lightser.ray.Predict: a batch needs a 'bytes' or 'path' column; got "
                                       f"{sorted(batch)} (use batch_format='numpy' or the default)")
        names = [str(path) for path in batch["path"]] if "path" in batch else [None] * len(batch[column])
        clips = names if column == "path" else [
            sources.named_bytes(bytes(value), name) for value, name in zip(batch[column], names)]
        results = list(self.recognizer.predict_many(clips))
        labels = self.recognizer.labels
        scores = np.full((len(results), len(labels)), np.nan)
        for row, result in enumerate(results):
            if result.prediction is not None:
                scores[row] = [result.prediction.scores[label] for label in labels]
        out = {name: values for name, values in batch.items() if name != "bytes"}
        out["status"] = np.array([result.status for result in results], dtype=object)
        out["label"] = np.array([result.prediction.label if result.prediction else "" for result in results],
                                dtype=object)
        out["confidence"] = np.array([result.prediction.confidence if result.prediction else np.nan
                                      for result in results])
        out.update({label: scores[:, i] for i, label in enumerate(labels)})
        out["message"] = np.array(["" if result.error is None else str(result.error) for result in results],
                                  dtype=object)
        return out


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lightser.ray",
        description="Score every audio file under INPUT on a Ray cluster (the one `ray job submit` or RAY_ADDRESS "
                    "names, else a local one) and write the table to OUTPUT, a folder of files.")
    parser.add_argument("input", nargs="+", help="files or folders, local or any URI Ray reads (s3://, gs://, ...)")
    parser.add_argument("output", help="a folder to write the table to, local or a URI")
    parser.add_argument("--format", choices=("parquet", "csv", "json"), default="parquet")
    parser.add_argument("--workers", type=int, default=None,
                        help="recognizers (1 CPU each; default: the cluster's CPUs less one, for the reads)")
    parser.add_argument("--batch-size", type=int, default=64, help="files per batch a worker scores")
    parser.add_argument("--model", default=None, help="a bundled model's name or a .tflite path every node has")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m lightser.ray INPUT... OUTPUT`: read_binary_files -> Predict -> write_FORMAT."""
    import ray

    args = _parser().parse_args(argv)
    if not ray.is_initialized():
        ray.init()  # joins the cluster of `ray job submit` or RAY_ADDRESS, else starts a local one
    workers = args.workers or max(1, int(ray.cluster_resources().get("CPU", 2)) - 1)
    files = ray.data.read_binary_files(args.input, include_paths=True, file_extensions=sorted(
        suffix[1:] for suffix in AUDIO_SUFFIXES))
    scored = files.map_batches(Predict, fn_constructor_kwargs={"model": args.model}, batch_size=args.batch_size,
                               compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=1)
    getattr(scored, f"write_{args.format}")(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
