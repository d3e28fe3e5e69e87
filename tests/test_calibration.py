"""The softmax temperature: fitted on labelled scores, stored in a model's metadata, applied by the runtime."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest

from conftest import voiced
from lightser import Model, ModelError
from lightser.features import extract
from lightser.metadata import read_metadata
from lightser.model import default_model_path, tempered
from lightser_export.calibration import Scored, fit_shift_factor, fit_temperature, shifted
from lightser_export.metrics import expected_calibration_error


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_tempered_is_softmax_of_scaled_logits_and_keeps_the_ranking():
    z = np.random.default_rng(0).normal(size=(50, 6)) * 3
    p = _softmax(z)
    assert np.allclose(tempered(p, 2.0, floor=1e-300), _softmax(z / 2.0), atol=1e-12)
    assert tempered(p, 1.0) is p
    assert np.array_equal(tempered(p, 3.0).argmax(1), p.argmax(1))
    assert np.all(tempered(p, 3.0).max(1) < p.max(1))  # softened
    floored = tempered(np.array([1.0, 0.0, 0.0]), 2.0, floor=1 / 512)
    assert floored[1] == floored[2] > 0 and floored.sum() == pytest.approx(1.0)


def test_fit_temperature_recovers_an_overconfident_models_temperature():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(4000, 6)) * 2
    y = np.array([rng.choice(6, p=p) for p in _softmax(z)])  # labels drawn from the calibrated scores
    overconfident = _softmax(z * 2.5)
    t = fit_temperature(overconfident, y, floor=1e-9)
    assert t == pytest.approx(2.5, rel=0.1)
    correct = overconfident.argmax(1) == y
    before = expected_calibration_error(overconfident.max(1), correct)
    after = expected_calibration_error(tempered(overconfident, t, 1e-9).max(1), correct)
    assert before > 0.1 and after < 0.03


def test_the_shift_factor_is_what_each_models_own_temperature_missed():
    rng = np.random.default_rng(2)
    scored = []
    for own in (0.8, 1.5):  # two models whose validation temperatures differ; both 2x too confident here
        z = rng.normal(size=(2000, 6)) * 2
        y = np.array([rng.choice(6, p=p) for p in _softmax(z)])
        scored.append(Scored(_softmax(z * 2.0 * own), y, own, 1e-9))
    assert fit_shift_factor(scored) == pytest.approx(2.0, rel=0.1)
    calibrated = [Scored(_softmax(np.log(s.probs) / s.temperature / 2.0), s.labels, 1.0, 1e-9) for s in scored]
    assert fit_shift_factor(calibrated) == pytest.approx(1.0, rel=0.1)


def test_a_shift_factor_multiplies_the_validation_temperature_and_replaces_an_earlier_one():
    meta = read_metadata(default_model_path().with_suffix(".json"))
    meta = dataclasses.replace(meta, temperature=1.5, training={"corpora": {"x": {}}})
    once = shifted(meta, 2.0, "a.json")
    assert once.temperature == pytest.approx(3.0) and once.training["corpora"] == {"x": {}}
    assert once.training["temperature"] == {"validation": 1.5, "corpus_shift_factor": 2.0, "source": "a.json"}
    again = shifted(once, 1.2, "b.json")
    assert again.temperature == pytest.approx(1.8) and again.training["temperature"]["validation"] == 1.5
    assert meta.temperature == 1.5 and "temperature" not in meta.training  # the input is left as it was


def test_expected_calibration_error_of_extreme_cases():
    assert expected_calibration_error(np.full(100, 0.9), np.r_[np.ones(90), np.zeros(10)]) == pytest.approx(0.0)
    assert expected_calibration_error(np.full(100, 1.0), np.zeros(100)) == pytest.approx(1.0)


def _copy_with(tmp_path, **fields):
    source = default_model_path()
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / source.name
    shutil.copy(source, path)
    meta = json.loads(source.with_suffix(".json").read_text())
    meta.update(fields)
    path.with_suffix(".json").write_text(json.dumps(meta))
    return path


def test_the_runtime_applies_the_stored_temperature(tmp_path):
    plain = Model(_copy_with(tmp_path / "a", temperature=1.0))
    warm = Model(_copy_with(tmp_path / "b", temperature=3.0))
    assert read_metadata(warm.path.with_suffix(".json")).temperature == 3.0
    features = extract(voiced(3.0), plain.metadata.recipe)
    p, q = plain.run(features), warm.run(features)
    assert np.allclose(q, tempered(p, 3.0, plain.probability_floor))
    assert q.argmax() == p.argmax() and q.max() < p.max()


@pytest.mark.parametrize("bad", [0.0, -1.0, "2", True, 1e9, None])
def test_a_bad_temperature_is_a_model_error(tmp_path, bad):
    with pytest.raises(ModelError, match="temperature must be a number"):
        Model(_copy_with(tmp_path, temperature=bad))


def test_metadata_without_a_temperature_means_one(tmp_path):
    path = _copy_with(tmp_path)
    meta = json.loads(path.with_suffix(".json").read_text())
    meta.pop("temperature", None)
    path.with_suffix(".json").write_text(json.dumps(meta))
    assert Model(path).metadata.temperature == 1.0
