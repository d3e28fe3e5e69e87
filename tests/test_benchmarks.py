"""The developer suite's own arithmetic and its reporting of what is missing (no measuring here)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import report


def test_enrolment_zscores_each_clip_with_the_speakers_other_clips():
    pytest.importorskip("opensmile")
    pytest.importorskip("sklearn")
    from benchmarks.opensmile_svm import others_stats

    x = np.random.default_rng(0).normal(size=(6, 4)) * [1, 2, 3, 4] + [0, 1, 2, 3]
    got = others_stats(x)
    for i in range(len(x)):
        rest = np.delete(x, i, axis=0)
        np.testing.assert_allclose(got[i], (x[i] - rest.mean(0)) / rest.std(0), rtol=1e-9)


def test_missing_variants_and_backends_are_stated_not_dropped(tmp_path):
    results = {
        "meta": {"command": "python -m benchmarks.run", "date": "today", "machine": "m", "versions": {},
                 "cpus": [0], "clip": "clip"},
        "variants": [{"variant": "float16", "missing": "missing: no models/emodb-float16.tflite", "ua": None,
                      "source": "missing: no reports/emodb-loso.json"}],
        "backends": [{"backend": "tflite-runtime", "missing": "missing: no .venv-tflite"}],
    }
    plots = report.plots(results, tmp_path)
    text = report.markdown(results, plots)
    assert plots == []
    assert "| float16 | missing: no models/emodb-float16.tflite |" in text
    assert "| tflite-runtime | missing: no .venv-tflite |" in text


def test_each_model_takes_its_ua_from_its_own_report(tmp_path):
    import json

    from benchmarks import variants

    def write(name, ua):
        modes = {mode: {"int8_runtime": {"ua": value}, "float": {"ua": value - 0.01}} for mode, value in ua.items()}
        (tmp_path / name).write_text(json.dumps({"pooled": modes}))
        return tmp_path / name

    got = variants.report_ua(write("global.json", {"default": 0.79}),
                             write("speaker.json", {"default": 0.72, "enrolled": 0.85}),
                             write("robust.json", {"default": 0.81}))
    assert got["int8"]["ua"] == {"default": 0.79} and got["float32"]["ua"] == {"default": 0.78}
    assert got["robust-int8"]["ua"] == {"default": 0.81} and "robust.json" in got["robust-int8"]["source"]
    assert got["speaker-int8"]["ua"] == {"default": 0.72, "enrolled": 0.85}
    assert "speaker.json" in got["speaker-int8"]["source"]
    assert "speaker-int8" not in variants.report_ua(tmp_path / "global.json", tmp_path / "absent.json")
