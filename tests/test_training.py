"""Training side: network, datasets, folds, a tiny train -> int8 -> runtime run, metadata."""

from __future__ import annotations

import csv
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from conftest import voiced

tf = pytest.importorskip("tensorflow", reason="training tests need the training side: pip install ./export")
pytestmark = pytest.mark.tensorflow

from lightser import Recognizer, features  # noqa: E402
from lightser.features import FeatureRecipe  # noqa: E402
from lightser.metadata import read_metadata, sidecar_path  # noqa: E402
from lightser_export import cli, convert, datasets, featurize, folds, network  # noqa: E402


def test_light_sernet_parameter_count_and_shape():
    model = network.build((184, 40), 7)
    assert model.count_params() == 463_431
    assert model.output_shape == (None, 7)
    assert network.build((436, 40), 4).output_shape == (None, 4), "7 s windows are supported"


def test_emodb_loader(emodb_root):
    ds = datasets.load_emodb(emodb_root)
    assert len(ds.utterances) == 535
    assert ds.labels == datasets.EMODB_LABELS
    assert len(ds.speakers()) == 10
    counts = {lab: sum(u.label == lab for u in ds.utterances) for lab in ds.labels}
    assert counts == {"anger": 127, "boredom": 81, "disgust": 46, "fear": 69, "happiness": 71,
                      "sadness": 62, "neutral": 79}


def _iemocap_tree(root: Path) -> None:
    """A tiny tree with IEMOCAP's layout: 2 sessions, one improvised and one scripted dialog each."""
    codes = ["neu", "hap", "exc", "ang", "sad", "fru", "xxx"]
    for s in (1, 2):
        session = root / f"Session{s}"
        for dialog in (f"Ses0{s}F_impro01", f"Ses0{s}M_script01_1"):
            lines = ["% header line"]
            for i, code in enumerate(codes):
                for gender in "FM":
                    turn = f"{dialog}_{gender}{i:03d}"
                    wav = session / "sentences" / "wav" / dialog / f"{turn}.wav"
                    wav.parent.mkdir(parents=True, exist_ok=True)
                    soundfile.write(wav, voiced(0.5, seed=i), 16000)
                    lines.append(f"[{i}.0000 - {i}.5000]\t{turn}\t{code}\t[2.5000, 2.5000, 2.5000]")
            label_file = session / "dialog" / "EmoEvaluation" / f"{dialog}.txt"
            label_file.parent.mkdir(parents=True, exist_ok=True)
            label_file.write_text("\n".join(lines) + "\n")


def test_iemocap_loader_on_a_synthetic_tree(tmp_path):
    _iemocap_tree(tmp_path)
    improvised = datasets.load_iemocap(tmp_path, "improvised")
    assert improvised.labels == ("anger", "happiness", "sadness", "neutral")
    # per dialog: neu, hap, exc, ang, sad kept (fru, xxx dropped), for F and M turns
    assert len(improvised.utterances) == 2 * 5 * 2
    assert sum(u.label == "happiness" for u in improvised.utterances) == 2 * 2 * 2, "excited merged into happiness"
    assert improvised.speakers() == ["Ses01F", "Ses01M", "Ses02F", "Ses02M"]
    assert len(datasets.load_iemocap(tmp_path, "all").utterances) == 40
    splits = folds.loso_folds([u.speaker for u in improvised.utterances])
    assert [f.test_speaker for f in splits] == improvised.speakers()


def test_manifest_loader_and_errors(tmp_path):
    for name in ("a.wav", "b.wav", "c d.wav", "a\nb.wav"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "m.csv").write_text("path,label,speaker\na.wav,calm,s1\nb.wav,angry,s2\n")
    ds = datasets.load_manifest(tmp_path / "m.csv")
    assert ds.labels == ("angry", "calm")
    assert datasets.load_manifest(tmp_path / "m.csv", ("calm", "angry")).labels == ("calm", "angry")
    # Excel's UTF-8 CSV: a BOM, CRLF, columns in another order and case, an extra column, quotes
    (tmp_path / "excel.csv").write_bytes(
        "\ufeffSpeaker,Label,Path,note\r\ns1,calm,a.wav,x\r\n s2 ,angry,\"c d.wav\",\"y, z\"\r\n\r\n".encode())
    ds = datasets.load_manifest(tmp_path / "excel.csv")
    assert [(u.path.name, u.label, u.speaker) for u in ds.utterances] == [("a.wav", "calm", "s1"),
                                                                           ("c d.wav", "angry", "s2")]
    bad = {
        "path,label,speaker\nmissing.wav,calm,s1\nb.wav,angry,s2\n": ":2: no such file",
        "path,label,speaker\na.wav,calm,s1\na.wav,angry,s2\n": ":3: a.wav is listed again \\(first on line 2\\)",
        "path,label,speaker\na.wav,calm,s1\nb.wav,Calm,s2\n": "differ only in case",
        "path,label,speaker\na.wav,,s1\nb.wav,angry,s2\n": ":2: the path, label and speaker must not be empty",
        "path,label,speaker\na.wav,calm\n": ":2: 2 fields where the header has 3",
        "path,label,speaker\na.wav,calm,s1\nb.wav,calm,s2\n": "2 or more distinct classes",
        "path,label,speaker\n": "a header and no clips",
        "file,emotion,speaker\na.wav,calm,s1\n": ":1: the header 'file,emotion,speaker' has no path, label column",
        "path,label,speaker,Label\na.wav,calm,s1,x\n": "names a column twice",
        'path,label,speaker\n"a\nb.wav",calm,s1\nc d.wav,,s2\n': ":4: the path, label and speaker must not be empty",
        "": "empty",
    }
    for text, message in bad.items():
        (tmp_path / "bad.csv").write_text(text)
        with pytest.raises(datasets.DatasetError, match=message):
            datasets.load_manifest(tmp_path / "bad.csv")
    (tmp_path / "latin1.csv").write_bytes("path,label,speaker\na.wav,col\xe8re,s1\n".encode("latin-1"))
    with pytest.raises(datasets.DatasetError, match="not UTF-8"):
        datasets.load_manifest(tmp_path / "latin1.csv")
    with pytest.raises(datasets.DatasetError, match="cannot read"):
        datasets.load_manifest(tmp_path)
    with pytest.raises(datasets.DatasetError):
        datasets.load_emodb(tmp_path)


def test_loso_folds_keep_speakers_apart():
    speakers = np.repeat(["03", "08", "09", "10"], 5)
    splits = folds.loso_folds(speakers)
    assert len(splits) == 4
    for fold in splits:
        groups = [set(speakers[fold.train]), set(speakers[fold.val]), set(speakers[fold.test])]
        assert groups[1] == {fold.val_speaker} and groups[2] == {fold.test_speaker}
        assert not (groups[0] & groups[1]) and not (groups[0] & groups[2]) and not (groups[1] & groups[2])
        assert len(fold.train) + len(fold.val) + len(fold.test) == len(speakers)
        assert [r.tolist() for r in fold.fit_rows(True)] == [fold.train.tolist(), fold.val.tolist()]
        train, val = fold.fit_rows(False)
        assert len(val) == 0 and sorted(train.tolist()) == sorted(np.union1d(fold.train, fold.val).tolist())


def test_training_set_stacks_every_copy_with_the_same_statistics():
    rng = np.random.default_rng(0)
    raws = [rng.normal(size=(6, 4, 3)).astype(np.float32) for _ in range(3)]
    speakers, labels, rows = np.array(list("aabbcc")), np.arange(6), np.array([0, 2, 5])
    stats = (np.zeros(3), np.full(3, 2.0))
    x, y = featurize.training_set(raws, speakers, labels, rows, "global", stats)
    assert x.shape == (9, 4, 3) and y.tolist() == [0, 2, 5] * 3
    assert np.allclose(x[3:6], raws[1][rows] / 2)


def test_log_offset_reaches_the_recipe_and_is_checked(tiny_manifest, tmp_path):
    assert cli.main(["fit", "--dataset", "manifest", "--data", str(tiny_manifest), "--epochs", "1", "--out",
                     str(tmp_path), "--name", "floor", "--variants", "int8", "--log-offset", "0.1", "--runs",
                     str(tmp_path / "runs"), "--cache", str(tmp_path / "cache")]) == 0
    assert read_metadata(sidecar_path(tmp_path / "floor-int8.tflite")).recipe.log_offset == 0.1
    for bad in ("0", "-1", "11", "high"):
        with pytest.raises(SystemExit):
            cli.main(["eval", "--log-offset", bad])


def test_speeds_option_is_checked():
    with pytest.raises(SystemExit) as exited:
        cli.main(["eval", "--speeds", "3"])
    assert exited.value.code == 2
    with pytest.raises(SystemExit):
        cli.main(["eval", "--speeds", "fast"])


def test_paper_folds_partition_every_clip_once():
    labels = np.repeat(np.arange(7), 12)
    splits = folds.paper_folds(labels, k=10, seed=0)
    tested = np.concatenate([f.test for f in splits])
    assert sorted(tested.tolist()) == list(range(len(labels)))


@pytest.fixture(scope="module")
def tiny_manifest(emodb_root, tmp_path_factory) -> Path:
    """3 EMO-DB speakers, 2 clips of each emotion they have."""
    out = tmp_path_factory.mktemp("tiny") / "tiny.csv"
    ds = datasets.load_emodb(emodb_root)
    rows, seen = [], {}
    for u in ds.utterances:
        key = (u.speaker, u.label)
        if u.speaker in ("03", "08", "09") and seen.get(key, 0) < 2:
            seen[key] = seen.get(key, 0) + 1
            rows.append({"path": str(u.path), "label": u.label, "speaker": u.speaker})
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["path", "label", "speaker"])
        writer.writeheader()
        writer.writerows(rows)
    return out


def test_tiny_loso_run_writes_a_report(tiny_manifest, tmp_path):
    stem = tmp_path / "report"
    code = cli.main(["eval", "--dataset", "manifest", "--data", str(tiny_manifest), "--epochs", "2",
                     "--normalisation", "speaker", "--early-stopping", "true",
                     "--out", str(stem), "--runs", str(tmp_path / "runs"), "--cache", str(tmp_path / "cache")])
    assert code == 0
    report = json.loads(stem.with_suffix(".json").read_text())
    assert [f["test_speaker"] for f in report["folds"]] == ["03", "08", "09"]
    assert [f["val_speaker"] for f in report["folds"]] == ["08", "09", "03"]
    pooled = report["pooled"]
    assert set(pooled) == {"default", "enrolled"}
    assert "int8_runtime_speeds" not in pooled["enrolled"], "for_speaker refuses speed averaging"
    for mode, kinds in (("default", ("int8_runtime", "int8_runtime_speeds")), ("enrolled", ("int8_runtime",))):
        for kind in kinds:  # int8_runtime_speeds: Recognizer(speeds=(0.9, 1.0, 1.1))
            assert 0.0 <= pooled[mode][kind]["ua"] <= 1.0
            assert np.asarray(pooled[mode][kind]["confusion"]).sum() == report["n_clips"]
    assert report["test_speeds"] == [0.9, 1.0, 1.1]
    assert "Recognizer(speeds=(0.9, 1, 1.1))" in stem.with_suffix(".md").read_text()
    assert (tmp_path / "report-enrolled.png").is_file()
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 3, "features cached as recorded and at each speed"


def test_loso_without_early_stopping_trains_on_every_other_speaker(tiny_manifest, tmp_path):
    stem = tmp_path / "fixed"
    code = cli.main(["eval", "--dataset", "manifest", "--data", str(tiny_manifest), "--epochs", "2",
                     "--early-stopping", "false", "--only", "03", "--out", str(stem),
                     "--runs", str(tmp_path / "runs"), "--cache", str(tmp_path / "cache")])
    assert code == 0
    report = json.loads(stem.with_suffix(".json").read_text())
    (fold,) = report["folds"]
    speakers = [row.split(",")[2] for row in tiny_manifest.read_text().splitlines()[1:]]
    assert fold["n_train"] == sum(s != "03" for s in speakers) and fold["n_test"] == speakers.count("03")
    assert fold["val_speaker"] is None and fold["best_epoch"] == 2
    assert "nothing is chosen on held-out data" in report["protocol_text"]


def test_weights_trained_from_a_remote_pack_are_reused_by_eval(tiny_manifest, tmp_path):
    """`python -m lightser_export.remote` packs the training data with a non-default config; a job trained
    from the pack has the fingerprint that `eval --resume` computes here, so it is reused."""
    options = ["--dataset", "manifest", "--data", str(tiny_manifest), "--cache", str(tmp_path / "cache"),
               "--epochs", "1", "--normalisation", "speaker", "--speeds", "1.1"]
    script, pack = [sys.executable, "-m", "lightser_export.remote"], tmp_path / "pack.npz"
    fold_dir, all_dir = tmp_path / "runs" / "remote" / "speaker-03", tmp_path / "runs" / "fit-remote"
    for command in (["pack", *options, "--out", str(pack)],
                    ["train", "--data", str(pack), "--job", "speaker-03", "--run-dir", str(fold_dir)],
                    ["train", "--data", str(pack), "--job", "all", "--run-dir", str(all_dir)]):
        done = subprocess.run([*script, *command], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    trained = [(d / "best.weights.h5").stat().st_mtime_ns for d in (fold_dir, all_dir)]
    stem = tmp_path / "remote"
    assert cli.main(["eval", *options, "--only", "03", "--out", str(stem), "--runs", str(tmp_path / "runs"),
                     "--resume"]) == 0
    assert json.loads(stem.with_suffix(".json").read_text())["folds"][0]["resumed"] is True
    assert cli.main(["fit", *options, "--variants", "int8", "--out", str(tmp_path / "models"), "--name", "remote",
                     "--runs", str(tmp_path / "runs"), "--resume"]) == 0
    assert read_metadata(tmp_path / "models" / "remote-int8.json").training["resumed"] is True
    assert [(d / "best.weights.h5").stat().st_mtime_ns for d in (fold_dir, all_dir)] == trained
    refused = subprocess.run([*script, "pack", *options, "--early-stopping", "true", "--out", str(pack)],
                             capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "--early-stopping false only" in refused.stderr


def test_resume_reuses_weights_only_for_the_same_config_and_data(tiny_manifest, tmp_path):
    def run(*extra: str) -> dict:
        stem = tmp_path / "resumed"
        assert cli.main(["eval", "--dataset", "manifest", "--data", str(tiny_manifest), "--epochs", "1",
                         "--only", "03", "--out", str(stem), "--runs", str(tmp_path / "runs"),
                         "--cache", str(tmp_path / "cache"), "--resume", *extra]) == 0
        return json.loads(stem.with_suffix(".json").read_text())["folds"][0]

    weights = tmp_path / "runs" / "resumed" / "speaker-03" / "best.weights.h5"
    first = run()
    trained = weights.stat().st_mtime_ns
    again = run()
    assert weights.stat().st_mtime_ns == trained, "same config and data: the saved weights are reused"
    assert again["modes"] == first["modes"] and again["train_seconds"] == first["train_seconds"]
    assert (first["resumed"], again["resumed"]) == (False, True)
    assert first["trained_with"] == again["trained_with"] == "tensorflow"
    assert "1 of 1 folds reused weights" in (tmp_path / "resumed.md").read_text()
    run("--speeds", "")
    assert weights.stat().st_mtime_ns != trained, "another config trains again"
    trained = weights.stat().st_mtime_ns
    run("--speeds", "")
    assert weights.stat().st_mtime_ns == trained, "a config with a tuple field resumes too (JSON lists match)"
    run("--seed", "1")
    assert weights.stat().st_mtime_ns != trained, "another config trains again"
    retrained = weights.stat().st_mtime_ns
    (tmp_path / "runs" / "resumed" / "speaker-03" / "config.json").write_text("{}")
    run("--seed", "1")
    assert weights.stat().st_mtime_ns != retrained, "a run without matching config.json trains again"


def test_tiny_fit_exports_builtin_int8_that_the_runtime_runs(tiny_manifest, tmp_path):
    code = cli.main(["fit", "--dataset", "manifest", "--data", str(tiny_manifest), "--epochs", "2",
                     "--out", str(tmp_path), "--name", "tiny", "--variants", "int8,float32,float16,dynamic-range",
                     "--runs", str(tmp_path / "runs"), "--cache", str(tmp_path / "cache")])
    assert code == 0
    int8 = tmp_path / "tiny-int8.tflite"
    meta = read_metadata(sidecar_path(int8))
    assert meta.quantization == "int8" and meta.labels == ("anger", "boredom", "disgust", "fear", "happiness",
                                                           "neutral", "sadness")
    assert meta.recipe.normalisation == "global" and meta.training["speakers"] == ["03", "08", "09"]
    assert meta.training["config"]["speeds"] == [0.9, 1.1] and meta.training["trained_with"] == "tensorflow"
    for variant in ("int8", "float32", "float16", "dynamic-range"):
        content = (tmp_path / f"tiny-{variant}.tflite").read_bytes()
        ops = convert.op_names(content)
        assert not any(op.startswith("Flex") or op == "CUSTOM" for op in ops), ops
        assert "CONV_2D" in ops
    int8_ops = convert.op_names(int8.read_bytes())
    assert "AVERAGE_POOL_2D" not in int8_ops and "DEPTHWISE_CONV_2D" in int8_ops
    from ai_edge_litert.interpreter import Interpreter

    delegated = Interpreter(model_path=str(int8))
    delegated.allocate_tensors()
    ops = [op["op_name"] for op in delegated._get_ops_details()]
    assert ops.count("DELEGATE") == 1, f"the int8 graph should run as one XNNPACK partition: {ops}"
    rec = Recognizer(int8)
    assert rec.model.input_quantization[0] > 0
    p = rec.predict(voiced(2.0), sample_rate=16000)
    assert p.label in meta.labels and sum(p.scores.values()) == pytest.approx(1.0)
    assert int8.stat().st_size <= 550_000


def test_utterance_fit_trains_on_centred_windows_and_the_runtime_centres_them(tiny_manifest, tmp_path):
    code = cli.main(["fit", "--dataset", "manifest", "--data", str(tiny_manifest), "--epochs", "1",
                     "--normalisation", "utterance", "--out", str(tmp_path), "--name", "tiny", "--variants", "float32",
                     "--runs", str(tmp_path / "runs"), "--cache", str(tmp_path / "cache")])
    assert code == 0
    model = tmp_path / "tiny-float32.tflite"
    meta = read_metadata(sidecar_path(model))
    recipe = meta.recipe
    assert recipe.normalisation == "utterance"
    dataset = datasets.load_manifest(tiny_manifest)
    raw = featurize.dataset_features(dataset, FeatureRecipe(), tmp_path / "cache")
    centred = features.centred(raw)
    np.testing.assert_allclose(recipe.mean, centred.reshape(-1, 40).mean(axis=0), atol=1e-4)
    clip = voiced(2.0)
    np.testing.assert_allclose(features.extract(clip, recipe),
                               (features.centred(features.unstandardised(clip, recipe)) - recipe.mean) / recipe.std,
                               atol=1e-5)
    assert Recognizer(model).predict(clip, sample_rate=16000).label in meta.labels


def test_pools_as_depthwise_computes_the_same_function():
    model = network.build((184, 40), 7)
    x = np.random.default_rng(0).normal(size=(4, 184, 40, 1)).astype(np.float32)
    for layer in model.layers:  # non-trivial batch-norm statistics
        if "_bn" in layer.name:
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([gamma * 1.5, beta + 0.1, mean + 0.2, var * 2])
    rewritten = convert.pools_as_depthwise(model)
    kinds = {type(layer).__name__ for layer in rewritten.layers}
    assert "AveragePooling2D" not in kinds and "DepthwiseConv2D" in kinds
    assert rewritten.count_params() == model.count_params() + sum(
        np.prod(layer.kernel.shape) for layer in rewritten.layers if type(layer).__name__ == "DepthwiseConv2D")
    # Run through TFLite (as exported): TensorFlow's own CPU kernel for a depthwise convolution with unequal
    # strides exists only where oneDNN is on, which TensorFlow decides by the CPU.
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=tf.lite.TFLiteConverter.from_keras_model(rewritten).convert())
    interpreter.allocate_tensors()
    (source,), (sink,) = interpreter.get_input_details(), interpreter.get_output_details()
    outputs = []
    for clip in x:
        interpreter.set_tensor(source["index"], clip[None])
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(sink["index"])[0])
    np.testing.assert_allclose(np.array(outputs), model(x, training=False), rtol=1e-5, atol=1e-6)


def test_metadata_round_trip(tmp_path):
    from lightser.metadata import ModelMetadata, write_metadata

    meta = ModelMetadata("m", ("a", "b"), FeatureRecipe().with_stats(np.zeros(40), np.ones(40), "global"),
                         "int8", "ab" * 32, {"seed": 0}, {"ua": 0.5})
    write_metadata(meta, tmp_path / "m.json")
    assert read_metadata(tmp_path / "m.json") == meta


def _fake_report(fold_names: list[str], seed: int = 0) -> dict:
    """An eval report with random predictions for the given folds (7 labels)."""
    from lightser_export import report as rep

    rng = np.random.default_rng(len(fold_names) + seed)
    labels = [f"c{i}" for i in range(7)]
    folds = []
    for name in fold_names:
        y = rng.integers(0, 7, 20).tolist()
        kinds = {k: rng.integers(0, 7, 20).tolist() for k in ("float", "int8_features", "int8_runtime")}
        folds.append({"fold": name, "test_speaker": name[-2:], "val_speaker": "xx", "n_test": 20, "best_epoch": 1,
                      "modes": {"default": {"y_true": y, **kinds}}})
    return {"title": "t", "protocol": "loso", "protocol_text": "p", "dataset": "d", "labels": labels,
            "n_clips": 200, "config": {"seed": seed}, "window_seconds": 3.0, "command": f"eval {fold_names}",
            "versions": {}, "machine": "m", "wall_minutes": 1.0, "folds": folds, "pooled": rep.pool(folds, labels)}


def test_merge_pools_disjoint_fold_subsets_and_refuses_mixtures(tmp_path):
    from lightser_export import report as rep

    a, b = _fake_report(["speaker-03", "speaker-09"]), _fake_report(["speaker-08"])
    merged = rep.merge([a, b], "merge")
    assert [f["fold"] for f in merged["folds"]] == ["speaker-03", "speaker-08", "speaker-09"]
    assert merged["pooled"] == rep.pool(merged["folds"], a["labels"])
    assert merged["merged_from"] == [a["command"], b["command"]] and merged["wall_minutes"] == 2.0
    with pytest.raises(ValueError, match="config"):
        rep.merge([a, _fake_report(["speaker-08"], seed=1)], "merge")
    with pytest.raises(ValueError, match="speaker-03"):
        rep.merge([a, a], "merge")
    rescored = _fake_report(["speaker-08"])
    rescored["folds"][0]["modes"]["default"]["int8_runtime_speeds"] = rescored["folds"][0]["modes"]["default"]["float"]
    with pytest.raises(ValueError, match="different model kinds"):
        rep.merge([a, rescored], "merge")
    paths = []
    for name, part in (("a", a), ("b", _fake_report(["speaker-08"], seed=1))):
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(part))
    assert cli.main(["merge", *map(str, paths), "--out", str(tmp_path / "m")]) == 2
    assert not (tmp_path / "m.json").exists()
    paths[1].write_text(json.dumps(b))
    assert cli.main(["merge", *map(str, paths), "--out", str(tmp_path / "m")]) == 0
    assert "Merged from" in (tmp_path / "m.md").read_text()


def test_clips_the_runtime_refuses_count_as_misses_and_are_reported(tmp_path):
    from lightser_export import metrics
    from lightser_export import report as rep

    report = _fake_report(["speaker-03"])
    mode = report["folds"][0]["modes"]["default"]
    mode["int8_runtime"] = list(mode["y_true"])  # all right, then one refused
    mode["int8_runtime"][0] = metrics.REFUSED
    report["pooled"] = rep.pool(report["folds"], report["labels"])
    pooled = report["pooled"]["default"]["int8_runtime"]
    assert pooled["wa"] == pytest.approx(19 / 20) and pooled["ua"] < 1.0
    assert sum(map(sum, pooled["confusion"])) == 19
    rep.write(report, tmp_path / "r")
    assert "found no speech in 1 test clip" in (tmp_path / "r.md").read_text()


def _train_cli(*args: str, cwd: Path) -> tuple[int, str]:
    """`lightser-train` in a child process: (exit status, stderr without progress bars)."""
    out = subprocess.run([sys.executable, "-m", "lightser_export.cli", *args], cwd=cwd, capture_output=True,
                         text=True, timeout=300)
    return out.returncode, "\n".join(line for line in out.stderr.splitlines() if line and "clip/s]" not in line)


def test_train_cli_errors_are_one_line(tmp_path):
    """Bad manifests, options and folds: one line and status 2, before any training (and no
    TensorFlow import notes)."""
    rows = ["path,label,speaker"]
    for i, (speaker, label) in enumerate((s, lab) for s in ("s1", "s2", "s3") for lab in ("calm", "angry")):
        soundfile.write(tmp_path / f"{i}.wav", voiced(1.0, seed=i), 16000)
        rows.append(f"{i}.wav,{label},{speaker}")
    soundfile.write(tmp_path / "short.wav", voiced(0.1), 16000)
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "short.csv").write_text("\n".join([*rows, "short.wav,calm,s1"]) + "\n")
    manifest = ("--dataset", "manifest", "--cache", "", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "r"))
    cases = {
        ("eval", "--bogus"): "unrecognized arguments: --bogus",
        ("fit", "--variants", "int8,foo", *manifest[:4]): "--variants: expected comma-separated variants",
        ("eval", "--data", "nowhere.csv", *manifest): "nowhere.csv: cannot read manifest",
        ("eval", "--data", "m.csv", "--epochs", "-3", *manifest): "epochs=-3: expected 1 or more",
        ("eval", "--data", "m.csv", "--batch-size", "0", *manifest): "batch_size=0",
        ("eval", "--data", "m.csv", "--loss", "hinge", *manifest): "loss='hinge'",
        ("eval", "--data", "m.csv", "--only", "s9", *manifest): "--only s9: no such fold; the folds are s1, s2, s3",
        ("eval", "--data", "m.csv", "--protocol", "paper", *manifest): "would test no clips",
        ("eval", "--data", "short.csv", "--only", "s1", "--speeds", "", *manifest): "short.wav: 0.100 s of audio",
        ("merge", "missing.json", "--out", "x"): "No such file",
    }
    for args, message in cases.items():
        code, stderr = _train_cli(*args, cwd=tmp_path)
        assert code == 2 and len(stderr.splitlines()) == 1, (args, stderr[-2000:])
        assert stderr.startswith("lightser-train") and message in stderr, (args, stderr)
    assert not (tmp_path / "runs").exists()


def test_an_interrupted_run_continues_from_its_last_epoch(tmp_path, monkeypatch):
    from lightser_export import train
    from lightser_export.config import TrainConfig

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(24, 184, 40)).astype(np.float32), np.arange(24) % 3
    config = TrainConfig(epochs=3, steps=6, balance="corpus-class", speeds=(), augment=True)
    weights = np.full(24, 1 / 24)
    original = train._Tracker.on_epoch_end

    def interrupted(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(train._Tracker, "on_epoch_end", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train.fit(x, y, 3, config, validation=(x[:6], y[:6]), run_dir=tmp_path, weights=weights)
    progress = json.loads((tmp_path / "progress.json").read_text())
    assert progress["epochs_done"] == 2 and (tmp_path / "checkpoint.keras").is_file()
    monkeypatch.setattr(train._Tracker, "on_epoch_end", original)
    fitted = train.fit(x, y, 3, config, validation=(x[:6], y[:6]), run_dir=tmp_path, weights=weights, resume=True)
    assert [h["epoch"] for h in fitted.history] == [1, 2, 3]
    assert fitted.history[:2] == progress["history"], "the first two epochs were not trained again"
    assert not (tmp_path / "progress.json").exists() and (tmp_path / "best.weights.h5").is_file()
    other = dataclasses.replace(config, seed=1)
    fresh = train.fit(x, y, 3, other, validation=(x[:6], y[:6]), run_dir=tmp_path / "b", weights=weights, resume=True)
    assert [h["epoch"] for h in fresh.history] == [1, 2, 3]


@pytest.fixture(scope="module")
def tiny_pool(emodb_root, tmp_path_factory) -> Path:
    """Three corpora in their own layouts (SAVEE, URDU, EMOVO), 4 speakers each, one clip of each of
    anger, happiness, neutral and sadness per speaker, the audio borrowed from EMO-DB."""
    root = tmp_path_factory.mktemp("pool")
    clips = {label: [u.path for u in datasets.load_emodb(emodb_root).utterances if u.label == label]
             for label in ("anger", "happiness", "neutral", "sadness")}
    names = {"savee": lambda s, lab, i: f"data/SAVEE/{['DC', 'JE', 'JK', 'KL'][s]}_{lab}{i:02d}.wav",
             "urdu": lambda s, lab, i: f"{lab.title()}/SM{s + 1}_F{i}_{lab[0].upper()}{i:02d}.wav",
             "emovo": lambda s, lab, i: (f"data/EMOVO/{['f1', 'f2', 'm1', 'm2'][s]}/"
                                         f"{lab}-{['f1', 'f2', 'm1', 'm2'][s]}-b{i}.wav")}
    codes = {"savee": {"anger": "a", "happiness": "h", "neutral": "n", "sadness": "sa"},
             "urdu": {"anger": "angry", "happiness": "happy", "neutral": "neutral", "sadness": "sad"},
             "emovo": {"anger": "rab", "happiness": "gio", "neutral": "neu", "sadness": "tri"}}
    k = 0
    for corpus, name in names.items():
        for s in range(4):
            for label, code in codes[corpus].items():
                path = root / corpus / name(s, code, k)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(clips[label][k % len(clips[label])].read_bytes())
                k += 1
    return root


def test_tiny_leave_one_corpus_out_run_calibrates_and_reports(tiny_pool, tmp_path):
    stem = tmp_path / "loco"
    options = ["--dataset", "pool", "--data", str(tiny_pool), "--corpora", "savee,urdu,emovo", "--checksums", "",
               "--labels", "anger,happiness,neutral,sadness", "--steps", "4", "--epochs", "2",
               "--early-stopping", "true", "--balance", "corpus-class", "--speeds", "1.1", "--gain", "0.5",
               "--cache", str(tmp_path / "cache"), "--runs", str(tmp_path / "runs")]
    assert cli.main(["eval", "--protocol", "corpus", *options, "--speed-averaging", "false", "--out", str(stem)]) == 0
    report = json.loads(stem.with_suffix(".json").read_text())
    assert [f["test_speaker"] for f in report["folds"]] == ["emovo", "savee", "urdu"]
    for fold in report["folds"]:
        assert fold["n_test"] == 16 and fold["n_val"] == 2 * 4, "one of 4 speakers of each training corpus"
        assert 0.25 <= fold["temperature"] <= 8.0
        assert len(fold["calibration"]["confidence"]) == len(fold["calibration"]["correct"]) <= 16
    assert "corpus-independent leave-one-corpus-out" in report["protocol_text"]
    assert "expected calibration error" in stem.with_suffix(".md").read_text()
    assert cli.main(["fit", *options, "--variants", "int8", "--out", str(tmp_path / "models"), "--name", "pool"]) == 0
    meta = read_metadata(tmp_path / "models" / "pool-int8.json")
    assert set(meta.training["corpora"]) == {"savee", "urdu", "emovo"}
    assert len(meta.training["validation_speakers"]) == 3 and meta.labels == ("anger", "happiness", "neutral",
                                                                                "sadness")


def test_a_report_of_one_corpus_without_some_class_renders(tmp_path):
    from lightser_export import report

    fold = Path(__file__).resolve().parents[1] / "reports/general/floor/loco-floor-1-ased.json"
    data = json.loads(fold.read_text())
    assert data["pooled"]["default"]["int8_runtime"]["recall"]["disgust"] is None  # ASED has no disgust
    report.write(data, tmp_path / "one")
    assert "| n/a |" in (tmp_path / "one.md").read_text()
