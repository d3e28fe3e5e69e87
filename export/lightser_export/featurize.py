"""Raw MFCC matrices of a dataset (one centred window per clip), cached on disk, and their statistics."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lightser import audio
from lightser.features import FeatureRecipe, unstandardised

from .datasets import Dataset

DEFAULT_CACHE = Path(".cache") / "features"


def _cache_key(dataset: Dataset, recipe: FeatureRecipe) -> str:
    unstandardised = dataclasses.replace(recipe, mean=None, std=None).to_dict()
    files = [(str(u.path.resolve()), u.path.stat().st_size) for u in dataset.utterances]
    blob = json.dumps({"recipe": unstandardised, "files": files}, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def dataset_features(
    dataset: Dataset, recipe: FeatureRecipe, cache_dir: Path | None = DEFAULT_CACHE
) -> np.ndarray:
    """(clips, frames, coefficients) float32 raw features; reused from `cache_dir` when present."""
    cache = None if cache_dir is None else Path(cache_dir) / f"{dataset.name}-{_cache_key(dataset, recipe)}.npy"
    if cache is not None and cache.is_file():
        return np.load(cache)
    feats = np.stack(
        [
            unstandardised(audio.read(u.path, None, recipe.sample_rate), recipe)
            for u in tqdm(dataset.utterances, desc=f"features {dataset.name}", unit="clip")
        ]
    )
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, feats)
    return feats


def standardise_by(feats: np.ndarray, groups: np.ndarray, stats: dict[str, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Standardise each clip with the statistics of its group (a speaker, or "global")."""
    out = np.empty_like(feats)
    for group in np.unique(groups):
        mean, std = stats[group]
        rows = groups == group
        out[rows] = (feats[rows] - mean.astype(np.float32)) / std.astype(np.float32)
    return out
