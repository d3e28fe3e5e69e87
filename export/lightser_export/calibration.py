"""Confidence calibration: a softmax temperature fitted on validation speakers, so that
`Prediction.confidence` means what it says (`metrics.expected_calibration_error` measures it)."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple, Sequence

import numpy as np

from lightser.metadata import ModelMetadata
from lightser.model import tempered

TEMPERATURES = np.exp(np.linspace(np.log(0.25), np.log(8.0), 121))  # the grid searched


class Scored(NamedTuple):
    """One model's untempered scores on labelled clips, with its own temperature and probability floor."""

    probs: np.ndarray
    labels: np.ndarray
    temperature: float
    floor: float


def negative_log_likelihood(probs: np.ndarray, y: np.ndarray) -> float:
    """Mean -log p(true class) (probabilities floored at 1e-6)."""
    return float(-np.mean(np.log(np.maximum(probs[np.arange(len(y)), y], 1e-6))))


def fit_temperature(probs: np.ndarray, y: np.ndarray, floor: float) -> float:
    """The temperature of TEMPERATURES that minimises the negative log-likelihood of `y` under
    `tempered(probs, t, floor)`, as the runtime applies it."""
    losses = [negative_log_likelihood(tempered(probs, t, floor), y) for t in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(losses))])


FACTORS = np.exp(np.linspace(np.log(0.5), np.log(8.0), 81))  # the grid of corpus-shift factors searched


def fit_shift_factor(scored: Sequence[Scored]) -> float:
    """The factor of FACTORS that, multiplying each model's own temperature, minimises the negative
    log-likelihood pooled over `scored`: per model, its untempered runtime scores on clips from a
    corpus it never heard, their labels, its validation temperature and its probability floor.
    Above 1: validation speakers from the training corpora make a model more confident than a
    new corpus warrants."""
    losses = [sum(len(s.labels) * negative_log_likelihood(tempered(s.probs, f * s.temperature, s.floor), s.labels)
                  for s in scored) for f in FACTORS]
    return float(FACTORS[int(np.argmin(losses))])


def shifted(meta: ModelMetadata, factor: float, source: str) -> ModelMetadata:
    """`meta` with its temperature set to `factor` times its validation temperature (kept in
    `training["temperature"]`, so applying a new factor replaces the old one), `source` saying
    what measured the factor."""
    validation = meta.training.get("temperature", {}).get("validation", meta.temperature)
    record = {"validation": validation, "corpus_shift_factor": factor, "source": source}
    return dataclasses.replace(meta, temperature=factor * validation, training={**meta.training, "temperature": record})
