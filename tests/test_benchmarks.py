"""The developer suite's own arithmetic and its reporting of what is missing (no measuring here)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import report


def test_enrolment_zscores_each_clip_with_the_speakers_other_clips():
    from benchmarks.opensmile_svm import others_stats

    x = np.random.default_rng(0).normal(size=(6, 4)) * [1, 2, 3, 4] + [0, 1, 2, 3]
    got = others_stats(x)
    for i in range(len(x)):
        rest = np.delete(x, i, axis=0)
        np.testing.assert_allclose(got[i], (x[i] - rest.mean(0)) / rest.std(0), rtol=1e-9)


def test_enrolled_test_clips_of_several_speakers_each_use_only_their_own_speakers_other_clips():
    from benchmarks.opensmile_svm import normalised, others_stats

    rng = np.random.default_rng(1)
    speakers = np.array(["a/1", "b/2", "a/1", "b/2", "a/1", "b/2", "a/1"])
    x = rng.normal(size=(7, 3)) + np.where(speakers == "a/1", 10.0, -5.0)[:, None]
    rows = np.array([6, 1, 0, 3, 4, 5, 2])
    got = normalised(x, speakers, rows[:0], rows, "enrolled", test=True)
    for speaker in ("a/1", "b/2"):
        mine = speakers[rows] == speaker
        np.testing.assert_allclose(got[mine], others_stats(x[rows][mine]), rtol=1e-12)
    with pytest.raises(ValueError, match="2 or more clips"):
        normalised(x, np.array(["a"] * 6 + ["lone"]), rows[:0], rows, "enrolled", test=True)


def _synthetic_pool(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Three corpora of 4 speakers; class signal small against each speaker's offset; corpus "c" lacks class 2."""
    x, y, speakers, corpora = [], [], [], []
    for corpus, classes in (("a", 3), ("b", 3), ("c", 2)):
        for s in range(4):
            offset = rng.normal(scale=6.0, size=5)
            for c in np.repeat(np.arange(classes), 6):
                x.append(offset + 1.5 * np.eye(5)[c] + rng.normal(scale=0.3, size=5))
                y.append(c)
                speakers.append(f"{corpus}/{s}")
                corpora.append(corpus)
    return np.array(x), np.array(y), np.array(speakers), np.array(corpora)


def test_pool_peer_scores_each_held_out_corpus_on_its_own_classes_and_enrolment_removes_speaker_offsets():
    pytest.importorskip("sklearn")
    from benchmarks.opensmile_pool import score_folds
    from lightser_export.folds import corpus_folds

    x, y, speakers, corpora = _synthetic_pool(np.random.default_rng(0))
    folds = corpus_folds(speakers, corpora, seed=0)
    result = score_folds(x, y, speakers, corpora, ("x", "y", "z"), folds)
    assert [f["n_test"] for f in result["folds"]] == [72, 72, 48]
    assert result["enrolled"]["by_corpus"]["c"]["chance"] == 0.5
    assert result["enrolled"]["by_corpus"]["c"]["recall"]["z"] is None
    assert result["default"]["by_corpus"]["a"]["chance"] == pytest.approx(1 / 3)
    b = result["default"]["by_corpus"]["b"]
    assert (b["speakers"], b["one_class_speakers"]) == (4, 0)
    for mode in ("default", "enrolled"):
        ua = [m["ua"] for m in result[mode]["by_corpus"].values()]
        assert result[mode]["mean_over_corpora"]["ua"] == pytest.approx(np.mean(ua))
    assert result["enrolled"]["mean_over_corpora"]["ua"] > 0.85
    assert result["enrolled"]["mean_over_corpora"]["ua"] > result["default"]["mean_over_corpora"]["ua"] + 0.3


def test_speakers_of_one_class_only_are_counted():
    from benchmarks.opensmile_pool import one_class_speakers

    assert one_class_speakers(np.array([0, 0, 1, 1, 2]), np.array(["a", "a", "b", "c", "c"])) == 2


def test_pool_peer_names_a_missing_corpora_folder_in_one_line(tmp_path, capsys):
    from benchmarks.opensmile_pool import main

    assert main(["--corpora", str(tmp_path / "absent"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "absent" in err
    assert not (tmp_path / "out").exists()


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


def test_general_models_take_the_mean_over_the_corpora_left_out(tmp_path):
    import json

    from benchmarks import variants

    folds = {"default": [0.3, 0.5, 0.4], "enrolled": [0.5, 0.6, 0.4]}
    report = {"pooled": {mode: {"int8_runtime": {"ua": 0.9, "fold_ua": values}, "float": {"fold_ua": [0.1]}}
                         for mode, values in folds.items()}}
    (tmp_path / "loco.json").write_text(json.dumps(report))
    got = variants.general_ua({"general-int8": (tmp_path / "loco.json", "int8_runtime"),
                               "general-float32": (tmp_path / "loco.json", "float"),
                               "general-speaker-int8": (tmp_path / "absent.json", "int8_runtime")})
    assert got["general-int8"]["ua"] == {"default": pytest.approx(0.4), "enrolled": pytest.approx(0.5)}
    assert got["general-float32"]["ua"]["default"] == pytest.approx(0.1)
    assert "leave one corpus out" in got["general-int8"]["source"] and "general-speaker-int8" not in got


def test_start_up_and_steady_rate_come_from_the_line_through_two_runs():
    from benchmarks.batch import steady

    assert steady(2000, 5.0, 1000, 3.0) == pytest.approx((1.0, 500.0))
    assert steady(2000, 4.0, 1000, 2.0) == pytest.approx((0.0, 500.0))
    startup, rate = steady(2000, 5.0, 1000, 2.0)  # noise: the short run looks fast; start-up cannot go below 0
    assert startup == 0.0 and rate == pytest.approx(1000 / 3)
