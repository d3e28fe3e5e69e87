"""`lightser predict` on 100 files with a few bad ones among them: every file has its row, in
order, each bad one is also reported on stderr in one line, the exit status is 1, and the
output parses (a TSV table with a header, or JSON line by line)."""

from __future__ import annotations

import csv
import io
import json
import os

import numpy as np
import pytest
import soundfile

from conftest import run_lightser, voiced

FORMATS = (("wav", "PCM_16"), ("flac", "PCM_24"), ("ogg", "VORBIS"), ("wav", "FLOAT"), ("wav", "PCM_U8"))


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> tuple[list[str], list[str], list[str]]:
    """(all paths in command-line order, the good ones, the bad ones): 100 in all."""
    folder = tmp_path_factory.mktemp("batch")
    bad: dict[int, str] = {}

    def bad_file(name: str, data: bytes | None) -> str:
        path = folder / name
        if data is not None:
            path.write_bytes(data)
        return str(path)

    nan = voiced(1.0)
    nan[500] = np.nan
    soundfile.write(folder / "nan.wav", nan, 16000, subtype="FLOAT")
    bad[3] = bad_file("missing.wav", None)
    bad[17] = bad_file("empty.wav", b"")
    bad[29] = bad_file("notes.wav", b"not audio\n" * 50)
    bad[41] = str(folder / "nan.wav")
    bad[58] = bad_file("short.wav", None)
    soundfile.write(bad[58], voiced(0.1), 16000)
    bad[66] = str(folder / "nothing-*.wav")  # a pattern that matches no file
    bad[80] = bad_file("header only.wav", None)
    soundfile.write(bad[80], np.zeros(0, np.int16), 16000)
    bad[92] = bad_file("line\nbreak.wav", None)
    paths, good = [], []
    for i in range(100):
        if i in bad:
            paths.append(bad[i])
            continue
        ext, subtype = FORMATS[i % len(FORMATS)]
        rate = (8000, 16000, 22050, 44100, 48000)[i % 5]
        name = f"clip {i:03d} ä.{ext}" if i % 7 else f"clip {i:03d}.{ext}"
        path = folder / name
        soundfile.write(path, voiced(0.5 + 0.02 * i, rate=rate, seed=i), rate, subtype=subtype)
        paths.append(str(path))
        good.append(str(path))
    if os.name != "nt":  # a name that is not valid UTF-8 (legal on POSIX) was not readable
        raw = folder / os.fsdecode(b"clip \xff.wav")
        soundfile.write(os.fsencode(raw), voiced(1.0), 16000)
        paths[-1] = good[-1] = str(raw)
    return paths, good, list(bad.values())


def _errors(stderr: str) -> list[str]:
    lines = stderr.splitlines()
    assert all(line.startswith("lightser: error:") for line in lines), stderr[-3000:]
    return lines


def _escaped(path: str) -> str:
    return path.replace("\n", "\\n").encode("utf-8", "backslashreplace").decode("utf-8")


def _table(stdout: str) -> list[dict[str, str]]:
    """The TSV rows (names may hold quoted tabs and line breaks), each checked to have every column."""
    rows = list(csv.DictReader(io.StringIO(stdout, newline=""), delimiter="\t"))
    assert all(None not in row and None not in row.values() for row in rows), rows[:3]
    return rows


def _check_errors(stderr: str, bad: list[str]) -> None:
    errors = _errors(stderr)
    assert len(errors) == len(bad), errors
    for path, line in zip(bad, errors):
        assert _escaped(path) in line, (path, line)


def test_json_lines(batch):
    paths, good, bad = batch
    code, stdout, stderr = run_lightser("predict", "--json", *paths)
    assert code == 1
    rows = [json.loads(line) for line in stdout.splitlines()]
    assert [row["file"] for row in rows] == paths  # every file has its record, in order
    failures = [row for row in rows if row["status"] != "ok"]
    assert [row["file"] for row in failures] == bad
    assert all(set(r) == {"file", "status", "message", "type"} and r["status"] == "error" for r in failures)
    assert all(row["message"].startswith(row["file"] + ": ") for row in failures)  # unescaped, as JSON can carry it
    for row in rows:
        if row["status"] == "ok":
            assert set(row) == {"file", "status", "label", "confidence", "scores"}
            assert abs(sum(row["scores"].values()) - 1.0) <= 1e-5 and row["label"] in row["scores"]
    _check_errors(stderr, bad)


def test_json_segment_lines(batch):
    paths, good, bad = batch
    code, stdout, stderr = run_lightser("predict", "--json", "--segments", *paths)
    assert code == 1
    rows = [json.loads(line) for line in stdout.splitlines()]
    windows = [row for row in rows if row["status"] != "error"]
    assert sorted({row["file"] for row in windows}) == sorted(good)
    assert [row["file"] for row in rows if row["status"] == "error"] == bad
    assert all(row["end"] > row["start"] >= 0 and row["speech"] == (row["status"] == "ok") for row in windows)
    _check_errors(stderr, bad)


def test_table(batch, recognizer):
    paths, good, bad = batch
    code, stdout, stderr = run_lightser("predict", *paths)
    assert code == 1
    assert stdout.split("\n", 1)[0].split("\t") == ["file", "status", "label", "confidence", *recognizer.labels,
                                                     "message"]
    rows = _table(stdout)
    assert [row["file"] for row in rows] == paths
    assert [row["file"] for row in rows if row["status"] == "error"] == bad
    for row in rows:
        if row["status"] == "ok":
            assert row["message"] == "" and row["label"] in recognizer.labels
            assert abs(sum(float(row[label]) for label in recognizer.labels) - 1) < 1e-4
        else:
            assert row["label"] == "" and row["message"].startswith(row["file"] + ": ")
    _check_errors(stderr, bad)


def test_all_good_exits_zero(batch):
    paths, good, _ = batch
    code, stdout, stderr = run_lightser("predict", "--json", *good[:5])
    assert code == 0 and len(stdout.splitlines()) == 5
    assert stderr == "", "nothing on stderr, not even the TFLite runtime's delegate banner"


def test_segment_rows_say_why_a_window_is_not_speech(tmp_path):
    path = tmp_path / "pause.wav"
    soundfile.write(path, np.concatenate([voiced(3.0), np.zeros(16000 * 4, np.float32)]), 16000)
    code, stdout, stderr = run_lightser("predict", "--segments", str(path))
    rows = _table(stdout)
    assert code == 0 and stderr == "" and rows[0]["status"] == "ok" and rows[0]["message"] == ""
    assert rows[-1]["status"] == "no-speech" and rows[-1]["message"] == "window is digital silence (below -90 dBFS)"
    code, stdout, _ = run_lightser("predict", "--segments", "--silence-db", "0", str(path))
    assert {row["message"] for row in _table(stdout)} == {"window is quieter than 0 dBFS"}


def test_segments_of_a_file_that_fails_part_way(tmp_path):
    """Windows before the damage are rows (valid JSON), then one error row."""
    x = voiced(40.0)
    x[35 * 16000] = np.inf  # in the second 30 s decode block
    path = tmp_path / "late damage.wav"
    soundfile.write(path, x, 16000, subtype="FLOAT")
    code, stdout, stderr = run_lightser("predict", "--json", "--segments", str(path))
    assert code == 1
    *rows, failure = [json.loads(line) for line in stdout.splitlines()]
    assert rows and all(row["end"] <= 35.0 for row in rows)
    assert failure["type"] == "NonFiniteAudioError" and "infinite" in failure["message"]
    assert len(_errors(stderr)) == 1 and "infinite" in stderr


@pytest.mark.parametrize(
    "args",
    [
        ("predict",),
        ("predict", "--threads", "0", "x.wav"),
        ("predict", "--silence-db", "nan", "x.wav"),
        ("predict", "--voicing", "maybe", "x.wav"),
        ("predict", "--backend", "onnx", "x.wav"),
        ("frobnicate",),
    ],
)
def test_bad_options_fail_cleanly(args):
    code, stdout, stderr = run_lightser(*args)
    assert code == 2 and stdout == ""
    assert len(_errors(stderr)) == 1, stderr  # argparse's usage block too is one line


def test_a_damaged_mp3_is_one_line(tmp_path):
    """mpg123 writes notes on damaged MP3 data straight to stderr; the command shows only its own line."""
    path = tmp_path / "damaged.mp3"
    path.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 64)
    code, stdout, stderr = run_lightser("predict", str(path))
    assert code == 1 and [row["status"] for row in _table(stdout)] == ["error"]
    assert _errors(stderr) == [f"lightser: error: {path}: not a readable audio file (unrecognised or damaged data)"]


def test_control_characters_in_names_are_escaped(tmp_path):
    code, _, stderr = run_lightser("predict", str(tmp_path / "a\x1b[31mred\tb.wav"))
    assert code == 1 and "\x1b" not in stderr and "\t" not in stderr.rstrip("\n")
    assert _errors(stderr) == [f"lightser: error: {tmp_path}/a\\x1b[31mred\\tb.wav: no such file, nor any that this "
                               "pattern matches"]  # "[" makes it a pattern too


def test_empty_file_list_entry(tmp_path):
    code, stdout, stderr = run_lightser("predict", "")
    assert code == 1 and [(row["file"], row["status"]) for row in _table(stdout)] == [("", "error")]
    assert stderr.splitlines() == ["lightser: error: audio: got an empty path"]


@pytest.mark.skipif(os.name == "nt", reason="POSIX file names are bytes")
@pytest.mark.parametrize("encoding", ["utf-8", "ascii"])
def test_names_that_are_not_utf8_print_under_a_strict_stdout(tmp_path, encoding):
    raw = tmp_path / os.fsdecode(b"caf\xe9.wav")
    soundfile.write(os.fsencode(raw), voiced(1.0), 16000)
    code, stdout, stderr = run_lightser("predict", str(tmp_path / "missing.wav"), str(raw), str(raw),
                                        env={"PYTHONIOENCODING": encoding})
    assert code == 1 and len(_errors(stderr)) == 1 and "Traceback" not in stderr
    lines = stdout.splitlines()[2:]  # after the header and the missing file's row
    assert len(lines) == 2
    shown = str(raw) if encoding == "utf-8" else str(raw).encode("ascii", "backslashreplace").decode()
    assert all(line.startswith(shown + "\t") for line in lines)


def test_speech_gate_can_be_switched_off(tmp_path):
    silence, noise = tmp_path / "silence.wav", tmp_path / "noise.wav"
    soundfile.write(silence, np.zeros(16000, np.int16), 16000)
    soundfile.write(noise, 0.05 * np.random.default_rng(0).standard_normal(16000), 16000)
    code, stdout, stderr = run_lightser("predict", "--silence-db", "-50", str(silence))  # a row, not a failure
    (row,) = _table(stdout)
    assert code == 0 and stderr == "" and row["status"] == "no-speech"
    assert "quieter than -50 dBFS" in row["message"] and "--silence-db off" in row["message"]
    code, _, stderr = run_lightser("predict", "--strict", str(silence))  # no level by default: digital silence
    assert code == 1 and "digital silence" in stderr and "--voicing off" in stderr and "--silence-db" not in stderr
    code, stdout, _ = run_lightser("predict", "--voicing", "off", str(silence))
    assert code == 0 and _table(stdout)[0]["status"] == "ok"
    code, _, stderr = run_lightser("predict", "--strict", str(noise))  # loud enough, but no voice in it
    assert code == 1 and "without a voiced pitch" in stderr and "pass --voicing off" in stderr
    code, stdout, _ = run_lightser("predict", "--voicing", "off", str(noise))
    assert code == 0 and _table(stdout)[0]["status"] == "ok"


def test_dash_reads_audio_from_stdin(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "clip.wav"
    soundfile.write(path, voiced(2.0), 16000)
    _, from_file, _ = run_lightser("predict", str(path))
    piped = subprocess.run([sys.executable, "-m", "lightser", "predict", "-"], input=path.read_bytes(),
                           capture_output=True, timeout=300)  # a pipe: it cannot seek; python -m lightser
    piped.stdout = piped.stdout.decode()
    (row,), (expected,) = _table(piped.stdout), _table(from_file)
    assert piped.returncode == 0 and row == {**expected, "file": "-"}
