"""Damaged and inconsistent models are refused with a ModelError before any inference, and
loading a model many times does not leak.

File-level damage (empty, truncated, flipped bytes, wrong sha256) is caught by the sha256 check
before an interpreter is ever created; damage that a matching sha256 lets through (a sidecar
written for the damaged file) reaches the interpreter's own flatbuffer verifier, so those cases
run in a child process, where a crash would show as a signal instead of killing pytest.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile

from conftest import encode, run_lightser, voiced
from lightser import Model, ModelError, Recognizer
from lightser.backend import Backend
from lightser.model import default_model_path

BUNDLED = default_model_path()
CONTENT = BUNDLED.read_bytes()
META = json.loads(BUNDLED.with_suffix(".json").read_text(encoding="utf-8"))


def _install(folder: Path, content: bytes, meta: dict | None = None, name: str = "m") -> Path:
    """Write `content` as folder/name.tflite with `meta` (default: the bundled metadata) beside it."""
    path = folder / f"{name}.tflite"
    path.write_bytes(content)
    path.with_suffix(".json").write_text(json.dumps(META if meta is None else meta), encoding="utf-8")
    return path


def _resigned(content: bytes, **changes) -> dict:
    """The bundled metadata with a sha256 that matches `content`, plus `changes`."""
    meta = copy.deepcopy(META)
    meta["sha256"] = hashlib.sha256(content).hexdigest()
    meta.update(changes)
    return meta


def _flipped(seed: int, count: int = 8) -> bytes:
    data = bytearray(CONTENT)
    for i in np.random.default_rng(seed).integers(0, len(data), count):
        data[i] ^= 0xFF
    return bytes(data)


@pytest.fixture
def interpreters(monkeypatch) -> list:
    """Every interpreter created while the test runs."""
    created: list = []
    original = Backend.interpreter

    def counting(self, *args, **kwargs):
        interpreter = original(self, *args, **kwargs)
        created.append(interpreter)
        return interpreter

    monkeypatch.setattr(Backend, "interpreter", counting)
    return created


FILE_DAMAGE = {
    "zero-bytes": (b"", "empty"),
    "truncated-half": (CONTENT[: len(CONTENT) // 2], "sha256"),
    "truncated-last-byte": (CONTENT[:-1], "sha256"),
    "truncated-header": (CONTENT[:7], "sha256"),
    "one-flipped-byte": (_flipped(0, 1), "sha256"),
    "flipped-bytes": (_flipped(1), "sha256"),
    "flipped-identifier": (CONTENT[:4] + b"XXXX" + CONTENT[8:], "sha256"),
    "extra-byte": (CONTENT + b"\0", "sha256"),
    "a-wav-file": (encode(voiced(1.0), 16000), "sha256"),
}


@pytest.mark.parametrize("case", list(FILE_DAMAGE))
def test_damaged_file_is_refused_before_an_interpreter_exists(tmp_path, interpreters, case):
    content, fragment = FILE_DAMAGE[case]
    path = _install(tmp_path, content)
    with pytest.raises(ModelError, match=fragment) as info:
        Recognizer(path)
    assert str(path) in str(info.value)
    assert interpreters == []


def test_wrong_sha256_in_the_metadata(tmp_path, interpreters):
    meta = copy.deepcopy(META)
    meta["sha256"] = hashlib.sha256(b"another model").hexdigest()
    with pytest.raises(ModelError, match="does not match"):
        Recognizer(_install(tmp_path, CONTENT, meta))
    assert interpreters == []


def test_not_a_flatbuffer_even_with_a_matching_sha256(tmp_path, interpreters):
    wav = encode(voiced(1.0), 16000)
    with pytest.raises(ModelError, match="not a TFLite flatbuffer"):
        Recognizer(_install(tmp_path, wav, _resigned(wav)))
    assert interpreters == []


@pytest.mark.parametrize("labels", [META["labels"][:-1], META["labels"] + ["contempt"], META["labels"][:2]])
def test_labels_that_do_not_match_the_output_size(tmp_path, labels):
    with pytest.raises(ModelError, match="output tensor shape"):
        Recognizer(_install(tmp_path, CONTENT, _resigned(CONTENT, labels=labels)))


def test_feature_recipe_that_does_not_match_the_input_tensor(tmp_path):
    meta = _resigned(CONTENT)
    meta["features"]["n_mfcc"] = 20
    for key in ("mean", "std"):
        meta["features"][key] = meta["features"][key][:20]
    with pytest.raises(ModelError, match="input tensor shape"):
        Recognizer(_install(tmp_path, CONTENT, meta))


def test_quantization_that_does_not_match_the_tensors(tmp_path):
    with pytest.raises(ModelError, match="quantization"):
        Recognizer(_install(tmp_path, CONTENT, _resigned(CONTENT, quantization="float32")))


def _set(meta: dict, dotted: str, value) -> dict:
    meta = copy.deepcopy(meta)
    *parents, key = dotted.split(".")
    target = meta
    for part in parents:
        target = target[part]
    if value is _DELETE:
        del target[key]
    else:
        target[key] = value
    return meta


_DELETE = object()

# Each one reached the pipeline before metadata.py checked the recipe: ZeroDivisionError,
# TypeError, OverflowError, numpy overflow, or a silently different (wrong) feature recipe.
METADATA_DAMAGE = [
    ("format", "lightser-model/0"),
    ("format", _DELETE),
    ("labels", "abcdefg"),
    ("labels", [1, 2, 3, 4, 5, 6, 7]),
    ("labels", ["a", "a", "b", "c", "d", "e", "f"]),
    ("labels", ["", "b", "c", "d", "e", "f", "g"]),
    ("labels", _DELETE),
    ("sha256", 12345),
    ("sha256", "abc"),
    ("sha256", _DELETE),
    ("quantization", "int4"),
    ("features", None),
    ("features", []),
    ("features", {}),
    ("features.bogus", 1),
    ("features.sample_rate", _DELETE),
    ("features.sample_rate", 0),
    ("features.sample_rate", 16000.5),
    ("features.sample_rate", float("inf")),
    ("features.window_seconds", 1e308),
    ("features.window_seconds", float("nan")),
    ("features.frame_step", 0),
    ("features.frame_step", None),
    ("features.frame_step", "256"),
    ("features.frame_length", True),
    ("features.fft_length", 0),
    ("features.fft_length", 10**30),
    ("features.fft_length", 512),
    ("features.n_mels", 10**30),
    ("features.n_mels", 5000),
    ("features.fmin_hz", -1.0),
    ("features.fmin_hz", 1e308),
    ("features.fmin_hz", None),
    ("features.fmax_hz", 0),
    ("features.fmax_hz", 9000.0),
    ("features.log_offset", 0),
    ("features.log_offset", -1),
    ("features.log_offset", [1, 2]),
    ("features.clip", 0),
    ("features.clip", -1.0),
    ("features.clip", 1e308),
    ("features.amplitude_percentile", 0),
    ("features.amplitude_percentile", 101),
    ("features.amplitude_percentile", float("nan")),
    ("features.normalisation", "per-utterance"),
    ("features.mean", None),
    ("features.mean", "x"),
    ("features.mean", [0.0] * 39),
    ("features.std", [1.0] * 39 + [0.0]),
    ("features.std", [1.0] * 39 + [float("inf")]),
]


@pytest.mark.parametrize(
    "dotted,value", METADATA_DAMAGE,
    ids=[f"{k}={'<deleted>' if v is _DELETE else repr(v)[:20]}" for k, v in METADATA_DAMAGE]
)
def test_damaged_metadata_is_refused(tmp_path, dotted, value):
    meta = _set(_resigned(CONTENT), dotted, value)
    with pytest.raises(ModelError):
        Recognizer(_install(tmp_path, CONTENT, meta))


def test_nan_in_the_statistics_is_refused(tmp_path):
    path = _install(tmp_path, CONTENT, _resigned(CONTENT))
    text = path.with_suffix(".json").read_text(encoding="utf-8")
    damaged = json.loads(text)
    damaged["features"]["mean"][3] = float("nan")
    path.with_suffix(".json").write_text(json.dumps(damaged), encoding="utf-8")  # writes bare NaN
    assert "NaN" in path.with_suffix(".json").read_text(encoding="utf-8")
    with pytest.raises(ModelError, match="mean"):
        Recognizer(path)


@pytest.mark.parametrize(
    "text",
    ["", "{", "null", "[]", '"model"', "1", "[" * 100_000 + "]" * 100_000, "\udcff"],
    ids=["empty", "unterminated", "null", "list", "string", "number", "deeply-nested", "not-utf8"],
)
def test_unreadable_metadata_is_refused(tmp_path, text):
    path = _install(tmp_path, CONTENT)
    path.with_suffix(".json").write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(ModelError):
        Recognizer(path)


def test_missing_files_and_wrong_kinds_of_path(tmp_path):
    with pytest.raises(ModelError, match="no such model file, nor a bundled model"):
        Recognizer(tmp_path / "absent.tflite")
    lonely = tmp_path / "lonely.tflite"
    lonely.write_bytes(CONTENT)
    with pytest.raises(ModelError, match="metadata file not found"):
        Recognizer(lonely)
    orphan = _install(tmp_path, CONTENT, name="orphan")
    orphan.unlink()
    with pytest.raises(ModelError, match="no such model file"):
        Recognizer(orphan)
    with pytest.raises(ModelError, match="directory"):
        Recognizer(tmp_path)
    (tmp_path / "dir.tflite").mkdir()
    with pytest.raises(ModelError, match="directory"):
        Recognizer(tmp_path / "dir.tflite")


def test_a_good_copy_loads_and_agrees_with_the_bundled_model(tmp_path, recognizer):
    copy_ = Recognizer(_install(tmp_path, CONTENT))
    x = voiced(2.0)
    assert copy_.predict(x, sample_rate=16000) == recognizer.predict(x, sample_rate=16000)


SIGNED_DAMAGE_CHILD = textwrap.dedent(
    """
    import json, sys
    from lightser import ModelError, Recognizer
    import numpy as np
    x = (np.random.default_rng(0).standard_normal(16000) * 0.1).astype(np.float32)
    for path in sys.argv[1:]:
        try:
            Recognizer(path, voicing=False).predict(x, sample_rate=16000)  # noise: run the model anyway
            outcome = "loaded"
        except ModelError as exc:
            outcome = "ModelError"
        print(json.dumps([path, outcome]), flush=True)
    """
)


def test_damage_behind_a_matching_sha256_never_crashes(tmp_path):
    """The sidecar was rewritten for the damaged bytes, so the interpreter sees them: its flatbuffer
    verifier must refuse truncations; flipped weights may load (only the sha256 can tell)."""
    cases = {f"truncated-{i}": CONTENT[: int(len(CONTENT) * f)] for i, f in enumerate((0.02, 0.3, 0.7, 0.999))}
    cases.update({f"flipped-{seed}": _flipped(seed, 20) for seed in range(12)})
    # A tensor name that is not UTF-8 made get_output_details() raise UnicodeDecodeError.
    name = Model()._output["name"].encode()
    at = CONTENT.index(name)
    cases["non-utf8-tensor-name"] = CONTENT[:at] + b"\xa5" + CONTENT[at + 1 :]
    paths = [str(_install(tmp_path, data, _resigned(data), name)) for name, data in cases.items()]
    out = subprocess.run(
        [sys.executable, "-c", SIGNED_DAMAGE_CHILD, *paths], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, f"child died with {out.returncode}: {out.stderr[-2000:]}"
    outcomes = dict(json.loads(line) for line in out.stdout.splitlines())
    assert len(outcomes) == len(paths)
    refused = [p for p in paths if "truncated" in p or "tensor-name" in p]
    assert all(outcomes[p] == "ModelError" for p in refused), outcomes


def test_cli_refuses_a_damaged_model_in_one_line(tmp_path):
    wav = tmp_path / "clip.wav"
    soundfile.write(wav, voiced(1.0), 16000)
    damaged = _install(tmp_path, CONTENT[:-100])
    for args in (("predict", "--json", "--model", str(damaged), str(wav)), ("info", "--model", str(damaged))):
        code, stdout, stderr = run_lightser(*args)
        assert code == 2 and stdout == ""
        assert stderr.count("\n") == 1 and stderr.startswith("lightser: error:") and "sha256" in stderr


LEAK_CHILD = textwrap.dedent(
    """
    import gc, json, sys, psutil
    from lightser import Model
    process = psutil.Process()
    loads = int(sys.argv[1])
    for i in range(100):
        Model()
    gc.collect()
    after_100 = process.memory_info().rss
    for i in range(loads - 100):
        model = Model()
        del model
    gc.collect()
    print(json.dumps({"after_100": after_100, "after_all": process.memory_info().rss}))
    """
)


def test_a_thousand_loads_do_not_leak():
    """Each load reads and hashes the 0.5 MB file and builds an interpreter; a leak of either
    would add at least 400 MB over 900 loads."""
    out = subprocess.run(
        [sys.executable, "-c", LEAK_CHILD, "1000"], capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-2000:]
    rss = json.loads(out.stdout)
    growth_mb = (rss["after_all"] - rss["after_100"]) / 2**20
    assert growth_mb < 20, f"RSS grew by {growth_mb:.1f} MB from load 100 to load 1000"


def test_models_share_nothing_mutable(tmp_path):
    """Two models from one file: damaging the file later affects neither, and each verified its own bytes."""
    path = _install(tmp_path, CONTENT)
    first = Model(path)
    path.write_bytes(CONTENT[:100])
    with pytest.raises(ModelError):
        Model(path)
    assert first.size_bytes == len(CONTENT)
    assert first.run(np.zeros(first.metadata.recipe.shape, np.float32)).sum() == pytest.approx(1.0)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_fifo_as_model_or_metadata_is_refused_not_read(tmp_path):
    """Reading a named pipe with no writer would block forever."""
    os.mkfifo(tmp_path / "pipe.tflite")
    (tmp_path / "pipe.json").write_text("{}")
    (tmp_path / "model.tflite").write_bytes(CONTENT)
    os.mkfifo(tmp_path / "model.json")
    outcomes: dict[str, str] = {}

    def load(name: str) -> None:
        try:
            Recognizer(tmp_path / name)
        except ModelError as exc:
            outcomes[name] = str(exc)

    threads = [threading.Thread(target=load, args=(name,), daemon=True) for name in ("pipe.tflite", "model.tflite")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert "not a regular file" in outcomes.get("pipe.tflite", "blocked")
    assert "metadata is not a regular file" in outcomes.get("model.tflite", "blocked")
