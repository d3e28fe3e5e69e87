"""Ray Data adapter: score a dataset of audio files across the CPUs of a Ray cluster, one
`Recognizer` per worker (install the extra: `pip install ".[ray]"`).

    import ray
    from lightser.ray import Predict

    files = ray.data.read_binary_files("s3://bucket/calls/", include_paths=True)
    scored = files.map_batches(Predict, concurrency=8, batch_size=64)  # 8 workers, 1 CPU each
    scored.write_parquet("s3://bucket/emotions/")

Each batch comes in with a "bytes" column (the files' contents, as `read_binary_files` gives)
or a "path" column (paths every worker can read), and goes out with every other column kept
(the "bytes" dropped) and these added, as `lightser predict` writes them: "status" ("ok",
"no-speech", "error"), "label", "confidence", one column of scores per class (NaN where there
is no prediction) and "message" (why not). This module does not import Ray itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from . import audio
from .errors import InvalidArgumentError
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
        names = [str(path) for path in batch["path"]] if "path" in batch else None
        sources = [str(value) for value in batch[column]] if column == "path" else [
            audio.named_bytes(bytes(value), None if names is None else names[i]) for i, value in enumerate(batch[column])]
        results = list(self.recognizer.predict_many(sources))
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

