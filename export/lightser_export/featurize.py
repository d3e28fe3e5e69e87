"""Raw MFCC matrices of a dataset (one centred window per clip, as recorded or speed-perturbed,
optionally some clips under a random recording condition), cached on disk, and their standardisation."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm import tqdm

from lightser import audio, checks, features, sources
from lightser import speed as speeds
from lightser.features import FeatureRecipe, frame_stats, unstandardised
from lightser.windows import MIN_SECONDS

from . import corrupt as corruption
from .corrupt import TRAIN_PEAK_DBFS, random_condition, recorded_at
from .datasets import Dataset, DatasetError

DEFAULT_CACHE = Path(".cache") / "features"


def code_digest() -> str:
    """sha256 of the modules that compute features (reading, decoding, resampling, speed change,
    MFCC, corruption, this one): features cached by other code, even if different only in
    rounding, would change a run's training data."""
    digest = hashlib.sha256()
    for path in (sources.__file__, checks.__file__, audio.__file__, speeds.__file__, features.__file__,
                 corruption.__file__, __file__):
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def _cache_key(dataset: Dataset, recipe: FeatureRecipe, speed: float, corrupt: float, seed: int, gain: float) -> str:
    unstandardised = dataclasses.replace(recipe, mean=None, std=None).to_dict()
    files = [(str(u.path.resolve()), st.st_size, st.st_mtime_ns) for u in dataset.utterances for st in [u.path.stat()]]
    key = {"recipe": unstandardised, "files": files, "code": code_digest(),
           **({"speed": speed} if speed != 1.0 else {}),
           **({"corrupt": corrupt, "seed": seed} if corrupt else {}), **({"gain": gain, "seed": seed} if gain else {})}
    blob = json.dumps(key, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _waveform(path: Path, recipe: FeatureRecipe, speed: float, corrupt: float, gain: float,
              rng: np.random.Generator) -> np.ndarray:
    """The clip at `path` played at `speed`, with probability `corrupt` under a random
    recording condition (`corrupt.random_condition`), and with probability `gain` recorded
    at a random level (`corrupt.recorded_at`)."""
    x = audio.read(path, None, recipe.sample_rate)
    if x.shape[0] < MIN_SECONDS * recipe.sample_rate:
        raise DatasetError(f"{path}: {x.shape[0] / recipe.sample_rate:.3f} s of audio; the runtime refuses clips "
                           f"under {MIN_SECONDS:g} s, so it cannot train on them either")
    x = speeds.change_speed(x, speed, recipe.sample_rate)
    x = random_condition(x, recipe.sample_rate, rng) if rng.random() < corrupt else x
    return recorded_at(x, rng.uniform(*TRAIN_PEAK_DBFS)) if gain and rng.random() < gain else x


def dataset_features(
    dataset: Dataset, recipe: FeatureRecipe, cache_dir: Path | None = DEFAULT_CACHE, speed: float = 1.0,
    corrupt: float = 0.0, seed: int = 0, gain: float = 0.0,
) -> np.ndarray:
    """(clips, frames, coefficients) float32 raw features of every clip played at `speed`, a
    fraction `corrupt` of them under a random recording condition and a fraction `gain` at a random
    level (drawn per clip from `seed`);
    reused from `cache_dir` when present."""
    key = _cache_key(dataset, recipe, speed, corrupt, seed, gain)
    cache = None if cache_dir is None else Path(cache_dir) / f"{dataset.name}-{key}.npy"
    if cache is not None and cache.is_file():
        return np.load(cache)
    desc = (f"features {dataset.name} x{speed:g}" + (f" corrupt {corrupt:g}" if corrupt else "")
            + (f" gain {gain:g}" if gain else ""))
    with tqdm(dataset.utterances, desc=desc, unit="clip") as clips:  # closed (its line ended) before an error
        feats = np.stack(
            [
                unstandardised(_waveform(u.path, recipe, speed, corrupt, gain,
                                         np.random.default_rng([seed, i, round(speed * 1000)])), recipe)
                for i, u in enumerate(clips)
            ]
        )
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, feats)
    return feats


def standardise_by(feats: np.ndarray, groups: np.ndarray,
                   stats: dict[str, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Standardise each clip with the statistics of its group (a speaker, or "global")."""
    out = np.empty_like(feats)
    for group in np.unique(groups):
        mean, std = stats[group]
        rows = groups == group
        out[rows] = (feats[rows] - mean.astype(np.float32)) / std.astype(np.float32)
    return out


def _stats_by_speaker(raw: np.ndarray, speakers: np.ndarray,
                      rows: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {s: frame_stats(raw[rows[speakers[rows] == s]]) for s in np.unique(speakers[rows])}


def normalised(raw: np.ndarray, rows: np.ndarray, mode: str,
               stats: Sequence[tuple[np.ndarray, np.ndarray]] | tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Standardise `raw[rows]` with one (mean, std) for all, or one per row."""
    if mode == "none":
        return raw[rows]
    if isinstance(stats, tuple):
        return standardise_by(raw[rows], np.array(["all"] * len(rows)), {"all": stats})
    keys = np.array([str(i) for i in range(len(rows))])
    return standardise_by(raw[rows], keys, {str(i): s for i, s in enumerate(stats)})


def train_inputs(raw: np.ndarray, speakers: np.ndarray, rows: np.ndarray, normalisation: str,
                 global_stats: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """`raw[rows]` standardised as training sees it: per speaker, with `global_stats`, or not at all."""
    if normalisation == "speaker":
        per_speaker = _stats_by_speaker(raw, speakers, rows)
        return standardise_by(raw[rows], speakers[rows], per_speaker)
    return normalised(raw, rows, normalisation, global_stats)


def training_set(raws: Sequence[np.ndarray], speakers: np.ndarray, labels: np.ndarray, rows: np.ndarray,
                 normalisation: str, global_stats: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and labels of `rows` in every copy of the features (as recorded, then each speed).
    Global statistics are the recorded clips'; per-speaker ones come from each copy itself, since
    a sped-up speaker is a new voice, standardised with its own statistics as enrolment would."""
    x = np.concatenate([train_inputs(raw, speakers, rows, normalisation, global_stats) for raw in raws])
    return x, np.tile(labels[rows], len(raws))
