"""Batches: `Recognizer.predict_many` (order, errors as values, processes), raw PCM bytes, JSON
forms of the results, and `lightser predict` over folders, patterns and manifests, in three
formats, with exit codes, `--jobs` and `--resume` (a killed run continued)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import pickle
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile

from conftest import run_lightser, voiced
from lightser import AudioError, InvalidArgumentError, NoSpeechError, Recognizer, bundled_models
from lightser.results import Result
from lightser.table import Table

RATE = 16000


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """A small archive: 6 speech clips in two folders (one nested), a silent one, a damaged one
    and a text file a folder listing must leave out."""
    root = tmp_path_factory.mktemp("archive")
    (root / "day2" / "late").mkdir(parents=True)
    paths = []
    for i in range(6):
        folder = root if i < 3 else root / "day2" if i < 5 else root / "day2" / "late"
        paths.append(folder / f"call{i}.{'wav' if i % 2 else 'flac'}")
        soundfile.write(paths[-1], voiced(1.0 + 0.3 * i, seed=i), RATE)
    soundfile.write(root / "quiet.wav", np.zeros(RATE, np.int16), RATE)
    (root / "damaged.wav").write_bytes(b"RIFF" + bytes(40))
    (root / "notes.txt").write_text("not audio")
    return root


def _rows(stdout: str, delimiter: str = "\t") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(stdout, newline=""), delimiter=delimiter))


# --- the API ---------------------------------------------------------------------------------

def test_predict_many_keeps_order_and_returns_errors_as_values(recognizer, clips):
    sources = [clips / "call0.flac", clips / "missing.wav", clips / "quiet.wav", clips / "call1.wav"]
    results = list(recognizer.predict_many(sources))
    assert [r.index for r in results] == [0, 1, 2, 3]
    assert [r.status for r in results] == ["ok", "error", "no-speech", "ok"]
    assert isinstance(results[1].error, AudioError) and "no such file" in str(results[1].error)
    assert isinstance(results[2].error, NoSpeechError) and results[2].prediction is None
    assert results[0].source == str(clips / "call0.flac")
    assert results[0].prediction == recognizer.predict(clips / "call0.flac") == results[0].unwrap()
    with pytest.raises(AudioError):
        results[1].unwrap()


def test_predict_many_in_two_processes_matches_one(recognizer, clips):
    sources = sorted(map(str, clips.rglob("*.*")))
    one = list(recognizer.predict_many(sources))
    two = list(recognizer.predict_many(iter(sources), jobs=2))  # any iterable, read lazily
    assert [r.source for r in two] == sources
    outcomes = [[(r.status, r.prediction, str(r.error)) for r in results] for results in (one, two)]
    assert outcomes[0] == outcomes[1]


def test_file_objects_stay_in_this_process(recognizer, clips):
    """What pickle cannot send to a worker (an open file) is scored here, beside the paths the workers score."""
    path = str(clips / "call1.wav")
    with open(path, "rb") as handle:
        (result,) = recognizer.predict_many([handle])
        assert result.ok and handle.tell() == 0
        mixed = list(recognizer.predict_many([path, handle, path], jobs=2))
    assert [r.status for r in mixed] == ["ok"] * 3
    assert mixed[0].prediction == mixed[1].prediction == mixed[2].prediction == result.prediction


def test_predict_many_rejects_bad_arguments(recognizer):
    for jobs in (0, -1, 1.5, True, "2"):
        with pytest.raises(InvalidArgumentError, match="jobs="):
            recognizer.predict_many([], jobs=jobs)
    for one in ("clip.wav", b"RIFF", voiced(1.0), 3):
        with pytest.raises(InvalidArgumentError, match="predict_many: got .*for one, use predict"):
            recognizer.predict_many(one)
    with pytest.raises(InvalidArgumentError):
        Result(0, "x")  # neither a prediction nor an error


def test_raw_pcm_bytes(recognizer):
    x = (voiced(2.0) * 20000).astype(np.int16)
    expected = recognizer.predict(x, RATE)
    assert recognizer.predict(x.tobytes(), RATE, dtype="int16") == expected
    assert recognizer.predict(bytearray(x.astype(">i2").tobytes()), RATE, dtype=">i2") == expected
    assert recognizer.predict_segments(x.tobytes(), RATE, dtype=np.int16) == recognizer.predict_segments(x, RATE)
    (result,) = recognizer.predict_many([x.tobytes()], RATE, dtype="int16")
    assert result.prediction == expected and result.source == f"<{x.nbytes} bytes>"
    with pytest.raises(InvalidArgumentError, match="raw PCM: pass dtype="):
        recognizer.predict(x.tobytes(), RATE)
    with pytest.raises(InvalidArgumentError, match="need sample_rate="):
        recognizer.predict(x.tobytes(), dtype="int16")
    with pytest.raises(InvalidArgumentError, match="dtype='int8'"):
        recognizer.predict(x.tobytes(), RATE, dtype="int8")
    with pytest.raises(InvalidArgumentError, match="not a whole number of float32 samples"):
        recognizer.predict(x.tobytes()[:-2], RATE, dtype="float32")
    with pytest.raises(InvalidArgumentError, match="only for raw PCM bytes"):
        recognizer.predict(x, RATE, dtype="int16")


def test_listener_takes_raw_pcm_bytes(recognizer):
    stereo = (np.stack([voiced(5.0), voiced(5.0, seed=1)], axis=1) * 20000).astype(np.int16)
    by_array, by_bytes = recognizer.listen(RATE, channels=2), recognizer.listen(RATE, channels=2, dtype="int16")
    expected, got = [], []
    for start in range(0, stereo.shape[0], 1000):
        expected += by_array.push(stereo[start : start + 1000])
        got += by_bytes.push(stereo[start : start + 1000].tobytes())
    assert got == expected and len(got) >= 2
    with pytest.raises(InvalidArgumentError, match="whole frames of 2 interleaved channels"):
        by_bytes.push(stereo[:3].tobytes()[:-2])
    with pytest.raises(InvalidArgumentError, match="make the listener with dtype="):
        recognizer.listen(RATE).push(b"\x00\x00")
    assert "Listener(sample_rate=16000, channels=2, dtype='int16'" in repr(by_bytes)


def test_results_are_json(recognizer):
    p = recognizer.predict(voiced(2.0), RATE)
    assert json.loads(p.to_json()) == p.to_dict() == dataclasses.asdict(p)
    assert json.loads(json.dumps(dataclasses.asdict(p))) == p.to_dict()
    top = p.top_k(3)
    assert top[0] == (p.label, p.confidence) and len(top) == 3
    assert [score for _, score in top] == sorted(p.scores.values(), reverse=True)[:3]
    assert p.top_k(100) == sorted(p.scores.items(), key=lambda item: -item[1])
    with pytest.raises(InvalidArgumentError, match="k=0"):
        p.top_k(0)
    segment = recognizer.predict_segments(voiced(4.0), RATE)[0]
    assert json.loads(segment.to_json()) == segment.to_dict()
    failure = Result(3, "a.wav", error=NoSpeechError("a.wav: no speech found"))
    assert json.loads(failure.to_json()) == {"index": 3, "source": "a.wav", "status": "no-speech",
                                             "message": "a.wav: no speech found", "type": "NoSpeechError"}


def test_reprs_and_pickling(recognizer, clips):
    text = repr(recognizer)
    assert text.startswith("Recognizer(model='general-int8'") and "speeds=(1.0,)" in text
    copy = pickle.loads(pickle.dumps(recognizer))
    assert copy.model is not recognizer.model and repr(copy) == text
    assert copy.predict(clips / "call0.flac") == recognizer.predict(clips / "call0.flac")
    speaker = Recognizer(bundled_models("speaker")[0])
    mean, std = speaker.speaker_stats([voiced(4.0, seed=s) for s in range(3)], RATE, min_seconds=0)
    enrolled = pickle.loads(pickle.dumps(speaker.for_speaker(mean, std)))
    assert enrolled.recipe.mean == tuple(float(v) for v in mean) and enrolled.recipe != speaker.recipe


def test_py_typed_ships():
    import lightser

    assert os.path.isfile(os.path.join(os.path.dirname(lightser.__file__), "py.typed"))


# --- the command ------------------------------------------------------------------------------

def test_folders_patterns_and_manifests(clips, recognizer):
    code, out, err = run_lightser("predict", str(clips))
    rows = _rows(out)
    assert [r["file"] for r in rows] == [str(clips / n) for n in ("call0.flac", "call1.wav", "call2.flac",
                                                                  "damaged.wav", "quiet.wav")]  # no notes.txt
    assert [r["status"] for r in rows] == ["ok", "ok", "ok", "error", "no-speech"]
    assert code == 1 and err.count("lightser: error:") == 1 and "damaged.wav" in err
    code, out, _ = run_lightser("predict", "--recursive", str(clips / "day2"), str(clips / "*1.wav"))
    assert code == 0 and [r["file"] for r in _rows(out)] == [
        str(clips / "day2" / n) for n in ("call3.wav", "call4.flac", "late/call5.wav")] + [str(clips / "call1.wav")]
    code, out, _ = run_lightser("predict", str(clips / "**" / "call*.wav"))  # ** as in glob's recursive mode
    assert code == 0 and sorted(r["file"] for r in _rows(out)) == sorted(map(str, clips.rglob("call*.wav")))
    (clips / "list.txt").write_text("# calls\ncall0.flac\n\nday2/call3.wav\n")
    (clips / "list.csv").write_text("id,path\n7,call2.flac\n8,day2/late/call5.wav\n")
    code, out, _ = run_lightser("predict", "--manifest", str(clips / "list.txt"), "--manifest", str(clips / "list.csv"))
    assert code == 0 and [r["file"] for r in _rows(out)] == [
        str(clips / p) for p in ("call0.flac", "day2/call3.wav", "call2.flac", "day2/late/call5.wav")]
    code, out, err = run_lightser("predict", "--manifest", str(clips / "none.txt"))
    assert code == 2 and out == "" and err.startswith("lightser: error: --manifest") and len(err.splitlines()) == 1


def test_formats_and_headers(clips, recognizer):
    files = [str(clips / "call1.wav"), str(clips / "missing.wav"), str(clips / "quiet.wav")]
    columns = ["file", "status", "label", "confidence", *recognizer.labels, "message"]
    _, tsv, _ = run_lightser("predict", *files)
    _, comma, _ = run_lightser("predict", "--format", "csv", *files)
    _, lines, _ = run_lightser("predict", "--format", "jsonl", *files)
    assert tsv.splitlines()[0].split("\t") == columns and comma.splitlines()[0].split(",") == columns
    assert _rows(tsv) == _rows(comma, ",")
    records = [json.loads(line) for line in lines.splitlines()]
    assert [r["status"] for r in records] == [r["status"] for r in _rows(tsv)] == ["ok", "error", "no-speech"]
    ok = recognizer.predict(files[0])
    assert records[0] == {"file": files[0], "status": "ok", **ok.to_dict()}
    assert _rows(tsv)[0][ok.label] == f"{ok.confidence:.6f}" == _rows(tsv)[0]["confidence"]
    assert set(records[2]) == {"file", "status", "message", "type"} and records[2]["type"] == "NoSpeechError"
    _, segments, _ = run_lightser("predict", "--segments", "--format", "csv", files[0])
    assert segments.splitlines()[0].split(",") == ["file", "start", "end", *columns[1:]]


@pytest.mark.parametrize("args, code", [
    (["call1.wav", "quiet.wav"], 0),  # no speech is a row, not a failure
    (["--strict", "call1.wav", "quiet.wav"], 1),
    (["call1.wav", "damaged.wav"], 1),
    (["call1.wav", "--jobs", "0"], 2),
    (["call1.wav", "--resume"], 2),  # --resume needs --output
])
def test_exit_codes(clips, args, code):
    got, _, err = run_lightser("predict", *[str(clips / a) if a.endswith(".wav") else a for a in args])
    assert got == code, err
    assert err.count("\n") == (code != 0), err  # one line for each failure, none otherwise


def test_resume_continues_a_cut_table(clips, tmp_path):
    files = [str(clips / n) for n in ("call0.flac", "call1.wav", "call2.flac", "damaged.wav")]
    out = tmp_path / "out.tsv"
    assert run_lightser("predict", "-o", str(out), *files)[0] == 1
    whole = out.read_text()
    out.write_text(whole[: whole.index(files[2]) + 10])  # killed while writing the third row
    code, stdout, _ = run_lightser("predict", "-o", str(out), "--resume", *files)
    assert code == 1 and stdout == "" and out.read_text() == whole
    code, _, _ = run_lightser("predict", "-o", str(out), "--resume", *files)  # nothing left to do
    assert code == 0 and out.read_text() == whole
    code, _, err = run_lightser("predict", "-o", str(out), "--resume", "--format", "jsonl", *files)
    assert code == 2 and "record 1 is damaged or not a jsonl record" in err and out.read_text() == whole  # left alone
    code, _, err = run_lightser("predict", "-o", str(out), "--resume", "--format", "csv", *files)
    assert code == 2 and "not this table's header" in err and out.read_text() == whole


def test_resume_leaves_files_that_are_not_its_table_alone(clips, tmp_path):
    """Only a last line without its line break is cut short: a whole line that is not a record
    (a note added by hand, another program's JSON) stops --resume, and the file is kept."""
    call = str(clips / "call1.wav")
    table = tmp_path / "out.tsv"
    assert run_lightser("predict", "-o", str(table), call)[0] == 0
    table.write_text(table.read_text() + "# checked by Ann: keep\n")
    notes = tmp_path / "notes.jsonl"
    notes.write_text('{"id": 1}\n')
    for path, form in ((table, "tsv"), (notes, "jsonl")):
        before = path.read_text()
        code, _, err = run_lightser("predict", "-o", str(path), "--resume", "--format", form, call)
        assert code == 2 and "is damaged or not a" in err and path.read_text() == before


def test_output_that_is_an_input_is_refused(clips, tmp_path):
    clip = tmp_path / "clip.wav"
    clip.write_bytes((clips / "call1.wav").read_bytes())
    listing = tmp_path / "list.txt"
    listing.write_text("clip.wav\n")
    for args in (["-o", str(clip), str(clip)], ["-o", str(listing), "--manifest", str(listing)]):
        before = {p: p.read_bytes() for p in (clip, listing)}
        code, out, err = run_lightser("predict", *args)
        assert code == 2 and out == "" and "is also an input" in err
        assert {p: p.read_bytes() for p in (clip, listing)} == before


def test_an_output_that_cannot_be_written_is_one_line(clips):
    code, _, err = run_lightser("predict", "-o", "/dev/full", str(clips / "call1.wav"))
    assert code == 2 and err == "lightser: error: --output /dev/full: cannot write (No space left on device)\n"
    code, out, _ = run_lightser("predict", "-o", "-", str(clips / "call1.wav"))  # - is stdout
    assert code == 0 and _rows(out)[0]["status"] == "ok"


def test_inputs_as_people_write_them(clips, tmp_path):
    """Excel's CSV (a BOM, 'Path', an empty last row), comments, an empty folder, a link loop."""
    (tmp_path / "excel.csv").write_bytes(f"\ufeffID,Path\n1,{clips / 'call1.wav'}\n# later\n,\n".encode())
    code, out, _ = run_lightser("predict", "--manifest", str(tmp_path / "excel.csv"))
    assert code == 0 and [r["file"] for r in _rows(out)] == [str(clips / "call1.wav")]
    (tmp_path / "named.csv").write_text(f"file,label\n{clips / 'call1.wav'},x\n")
    code, out, err = run_lightser("predict", "--manifest", str(tmp_path / "named.csv"))
    assert code == 2 and out == "" and "without a 'path' column" in err
    (tmp_path / "empty").mkdir()
    code, out, err = run_lightser("predict", str(tmp_path / "empty"))
    assert code == 1 and _rows(out)[0]["status"] == "error" and "a folder with no audio file" in err
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "call.wav").write_bytes((clips / "call1.wav").read_bytes())
    (tmp_path / "tree" / "again").symlink_to(tmp_path / "tree")  # a loop
    code, out, _ = run_lightser("predict", str(tmp_path / "tree" / "**" / "*.wav"))
    assert code == 0 and len(_rows(out)) == 1
    (tmp_path / "linked").mkdir()
    (tmp_path / "linked" / "calls").symlink_to(tmp_path / "tree")  # a linked folder is walked, once
    code, out, _ = run_lightser("predict", "-r", str(tmp_path / "linked"))
    assert code == 0 and [r["file"] for r in _rows(out)] == [str(tmp_path / "linked" / "calls" / "call.wav")]


def test_a_label_that_is_a_column_is_refused():
    with pytest.raises(InvalidArgumentError, match="repeat a column"):
        Table("tsv", ["status", "calm"], segments=False)
    assert Table("jsonl", ["status", "calm"], segments=False).header() == ""


def test_table_reads_back_only_complete_records():
    table = Table("csv", ["a", "b"], segments=False)
    rows = [{"file": 'x,"y"\n.wav', "status": "ok", "label": "a", "confidence": 0.7, "scores": {"a": 0.7, "b": 0.3}},
            {"file": "z.wav", "status": "error", "message": "z.wav: no such file", "type": "AudioError"}]
    text = table.header() + "".join(map(table.line, rows))
    assert table.done(text) == (['x,"y"\n.wav', "z.wav"], len(text))
    cut = text[: text.index("\n.wav")]  # inside the quoted name
    assert table.done(cut) == ([], len(table.header()))
    with pytest.raises(InvalidArgumentError, match="record 1 is damaged"):
        table.done(table.header() + "x,y\n" + "".join(map(table.line, rows)))  # a short row, then more


def test_a_killed_run_with_two_jobs_resumes_to_every_file_once(tmp_path):
    """2 000 short clips, --jobs 2, killed (the whole process group, as by `kill -9`) part way,
    then continued with --resume: every file has exactly one row, in input order."""
    folder = tmp_path / "archive"
    folder.mkdir()
    for i in range(2000):
        soundfile.write(folder / f"{i:04d}.wav", voiced(0.3, seed=i % 50), RATE)
    out = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "lightser.cli", "predict", str(folder), "--jobs", "2", "--resume",
               "--format", "jsonl", "-o", str(out)]
    run = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and run.poll() is None and (
            not out.exists() or out.read_bytes().count(b"\n") < 300):
        time.sleep(0.05)
    assert run.poll() is None, "finished before it could be killed"
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    cut = out.read_text().count("\n")
    assert 300 <= cut < 2000
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    files = [json.loads(line)["file"] for line in out.read_text().splitlines()]
    assert files == [str(folder / f"{i:04d}.wav") for i in range(2000)]
