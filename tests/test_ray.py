"""`lightser.ray.Predict` on a local Ray instance with 2 CPUs: a few hundred generated clips, read
as paths and as bytes, score the same as `lightser predict`. Ray comes with the test extra; under
CI its absence is a failure."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest
import soundfile

from conftest import run_lightser, voiced
from lightser.cli.commands import in_flags

pytestmark = pytest.mark.ray
CLIPS = 300


@pytest.fixture(scope="module")
def ray():
    try:
        import ray
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("ray is not installed (CI installs it with the test extra)")
        pytest.skip("ray is not installed (pip install '.[ray]')")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """CLIPS clips of 0.5-2 s at three rates, a silent one and a damaged one, and what
    `lightser predict` makes of them, by file."""
    folder = tmp_path_factory.mktemp("ray-archive")
    for i in range(CLIPS):
        rate = (8000, 16000, 44100)[i % 3]
        soundfile.write(folder / f"{i:03d}.wav", voiced(0.5 + (i % 4) / 2, rate=rate, seed=i), rate)
    soundfile.write(folder / "quiet.wav", np.zeros(16000, np.int16), 16000)
    (folder / "damaged.wav").write_bytes(b"RIFF" + bytes(40))
    code, out, _ = run_lightser("predict", "--format", "jsonl", "--jobs", "2", str(folder))
    assert code == 1  # the damaged file
    return folder, {row["file"]: row for row in map(json.loads, out.splitlines())}


def _check(rows: list[dict], expected: dict[str, dict]) -> None:
    assert sorted(row["path"] for row in rows) == sorted(expected)  # every file once
    for row in rows:
        want = expected[row["path"]]
        assert row["status"] == want["status"], (row, want)
        if want["status"] == "ok":
            assert row["label"] == want["label"] and row["confidence"] == want["confidence"]
            assert {label: row[label] for label in want["scores"]} == want["scores"]
        else:
            # the library's words name Python arguments (voicing=False), the command's its flags (--voicing off)
            assert row["label"] == "" and math.isnan(row["confidence"]) and in_flags(row["message"]) == want["message"]


def test_paths(ray, archive):
    from lightser.ray import Predict

    folder, expected = archive
    files = ray.data.from_items([{"path": path} for path in sorted(expected)])
    rows = files.map_batches(Predict, compute=ray.data.ActorPoolStrategy(size=2), batch_size=32).take_all()
    _check(rows, expected)


def test_bytes(ray, archive):
    from lightser.ray import Predict

    folder, expected = archive
    files = ray.data.read_binary_files(str(folder), include_paths=True)
    # num_cpus=0.5: two workers leave a CPU of this 2-CPU instance for the read tasks
    scored = files.map_batches(Predict, compute=ray.data.ActorPoolStrategy(size=2), num_cpus=0.5, batch_size=32)
    rows = scored.take_all()
    assert "bytes" not in rows[0]
    _check(rows, expected)


def test_the_command_writes_a_table(ray, archive, tmp_path):
    """`python -m lightser.ray INPUT OUTPUT` (run in this process, on the fixture's instance)."""
    import csv

    from lightser.ray import main

    folder, expected = archive
    assert main([str(folder), str(tmp_path / "table"), "--format", "csv", "--workers", "1"]) == 0
    rows = [row for part in sorted((tmp_path / "table").glob("*.csv"))
            for row in csv.DictReader(part.open(newline=""))]
    for row in rows:
        row.update({key: float(value) if value else math.nan for key, value in row.items()
                    if key not in ("path", "status", "label", "message")})
    _check(rows, expected)


def test_a_batch_without_audio_is_refused():
    from lightser import InvalidArgumentError
    from lightser.ray import Predict

    predict = Predict(silence_db=None)
    assert "silence_db=None" in repr(predict)
    with pytest.raises(InvalidArgumentError, match="needs a 'bytes' or 'path' column"):
        predict({"audio": np.array([b""], dtype=object)})
