"""`lightser bench`: every report field present and sane; MACs counted from graph shapes."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest
import soundfile

from lightser import bench, cli
from lightser.errors import InvalidArgumentError, NoSpeechError

STAGE_FIELDS = ("p50", "p90", "p99", "mean")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    """One short `lightser bench --json --markdown` run on the bundled model, two thread counts."""
    out = tmp_path_factory.mktemp("bench")
    argv = ["bench", "--runs", "5", "--warmup", "1", "--threads", "1,2",
            "--json", str(out / "bench.json"), "--markdown", str(out / "bench.md")]
    assert cli.main(argv) == 0
    assert (out / "bench.md").read_text().startswith("# lightser bench")
    return json.loads((out / "bench.json").read_text())


def _positive(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def test_size_and_memory_fields(report):
    model = report["model"]
    for key in ("size_bytes", "parameters", "macs", "activation_bytes"):
        assert _positive(model[key]), key
    assert model["size_bytes"] == os.path.getsize(model["path"])
    assert model["macs"] > model["parameters"]  # every conv weight is used at many positions
    assert model["ops"]["CONV_2D"] > 0 and "DELEGATE" not in model["ops"]
    assert _positive(report["peak_rss_bytes"])


def test_latency_fields_are_positive_and_ordered(report):
    settings = [(entry["threads"], entry["sample_rate"]) for entry in report["latency"]]
    assert settings == [(1, 16000), (1, 48000), (2, 16000), (2, 48000)]
    for entry in report["latency"]:
        assert tuple(entry["stages_ms"]) == bench.STAGES
        for stage, figures in entry["stages_ms"].items():
            assert all(_positive(figures[k]) for k in STAGE_FIELDS), stage
            assert figures["p50"] <= figures["p90"] <= figures["p99"], stage
            inference = entry["stages_ms"]["inference"]["p50"]
            assert entry["over_inference"][stage] == pytest.approx(figures["p50"] / inference)
        assert _positive(entry["real_time_factor"])
        segments = entry["segments"]
        assert segments["audio_seconds"] == pytest.approx(bench.THROUGHPUT_SECONDS)
        assert segments["windows"] == 39  # 3 s windows every 1.5 s over 60 s
        assert _positive(segments["windows_per_second"])


def test_text_report_shows_the_ratio_to_inference(report):
    lines = bench.text_report(report).splitlines()
    e2e = [line.split() for line in lines if " end_to_end " in line]
    assert [row[1] for row in e2e] == ["16", "48", "16", "48"]  # "16 kHz", "48 kHz" per thread count
    for row, entry in zip(e2e, report["latency"]):
        assert float(row[-1]) == pytest.approx(entry["over_inference"]["end_to_end"], abs=0.006)


def test_cold_start_device_and_input_fields(report):
    cold = report["cold_start"]
    for key in ("import_s", "load_s", "first_prediction_s", "total_s", "process_s", "peak_rss_bytes"):
        assert _positive(cold[key]), key
    assert cold["total_s"] <= cold["process_s"]
    device = report["device"]
    for key in ("cpu", "arch", "os", "python", "numpy", "backend", "backend_version"):
        assert isinstance(device[key], str) and device[key], key
    assert 1 <= device["cores_allowed"] <= device["cores"]
    clips = [(clip["seconds"], clip["sample_rate"], clip["windows"]) for clip in report["inputs"]]
    assert clips == [(3.0, rate, 1) for rate in bench.SYNTHETIC_RATES]
    assert report["speeds"] == [1.0]
    assert 0.0 < report["prediction"]["confidence"] <= 1.0


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU pinning is Linux-only")
def test_cpus_pins_a_child_process(tmp_path):
    out = tmp_path / "pinned.json"
    assert cli.main(["bench", "--runs", "2", "--warmup", "0", "--cpus", "0", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["settings"]["cpus_allowed"] == 1


def test_speeds_option_reaches_the_recognizer_and_the_cold_start(tmp_path, monkeypatch):
    seen, real = [], bench.cold_start
    monkeypatch.setattr(bench, "cold_start", lambda *args: seen.append(args[-1]) or real(*args))
    report = bench.run_bench(runs=1, warmup=0, speeds=(0.9, 1.0, 1.1))
    assert report["speeds"] == [0.9, 1.0, 1.1] and seen == [(0.9, 1.0, 1.1)]
    out = tmp_path / "speeds.json"
    assert cli.main(["bench", "--runs", "1", "--warmup", "0", "--speeds", "0.9,1,1.1", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["speeds"] == [0.9, 1.0, 1.1]


def test_bad_options_are_rejected(tmp_path):
    with pytest.raises(InvalidArgumentError, match="runs=0"):
        bench.run_bench(runs=0)
    assert cli.main(["bench", "--audio", str(tmp_path / "missing.wav")]) == 2
    silent = tmp_path / "silent.wav"
    soundfile.write(silent, np.zeros(16000, np.int16), 16000)
    with pytest.raises(NoSpeechError, match=f"^{re.escape(str(silent))}: no speech"):
        bench.run_bench(audio_path=str(silent), runs=1, warmup=0)
    with pytest.raises(SystemExit):
        cli.main(["bench", "--threads", "one"])
    with pytest.raises(SystemExit):
        cli.main(["bench", "--speeds", "0.1"])


@pytest.mark.parametrize("option", ["--json", "--markdown"])
def test_unwritable_report_paths_fail_before_benchmarking(tmp_path, option, capsys, monkeypatch):
    monkeypatch.setattr(bench, "run_bench", lambda *a, **k: pytest.fail("benchmarked before checking the output"))
    for target in (tmp_path / "no such folder" / "report", tmp_path):
        assert cli.main(["bench", option, str(target)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"lightser: error: {option} {target}")


class _FakeInterpreter:
    """Just the two graph queries `graph_stats` makes, over hand-written tensors."""

    SHAPES = {0: (1, 4, 4, 2), 1: (8, 3, 3, 2), 2: (8,), 3: (1, 4, 4, 8), 4: (1, 3, 3, 8),
              5: (8,), 6: (1, 4, 4, 8), 7: (1, 128), 8: (3, 128), 9: (1, 3)}

    def get_tensor_details(self):
        return [{"index": i, "shape": np.array(s), "dtype": np.float32} for i, s in self.SHAPES.items()]

    def _get_ops_details(self):
        return [
            {"op_name": "CONV_2D", "inputs": [0, 1, 2], "outputs": [3]},
            {"op_name": "DEPTHWISE_CONV_2D", "inputs": [3, 4, 5], "outputs": [6]},
            {"op_name": "FULLY_CONNECTED", "inputs": [7, 8, -1], "outputs": [9]},
            {"op_name": "DELEGATE", "inputs": [0], "outputs": [9]},
        ]


def test_graph_stats_counts_macs_and_parameters_from_shapes():
    stats = bench.graph_stats(_FakeInterpreter())
    assert stats["macs"] == 16 * 8 * (3 * 3 * 2) + 16 * 8 * (3 * 3) + 3 * 128
    assert stats["parameters"] == (8 * 3 * 3 * 2 + 8) + (3 * 3 * 8 + 8) + 3 * 128
    assert stats["activation_bytes"] == 4 * (16 * 8 + 16 * 8 + 3)
    assert stats["ops"] == {"CONV_2D": 1, "DEPTHWISE_CONV_2D": 1, "FULLY_CONNECTED": 1}


def test_synthetic_clip_is_speech_like():
    x = bench.synthetic_voice(1.0, 16000)
    assert x.dtype == np.float32 and x.shape == (16000,)
    assert np.isclose(np.abs(x).max(), 0.5)
    spectrum = np.abs(np.fft.rfft(x))
    assert np.argmax(spectrum) < 400  # energy at the pitch (100-220 Hz), not in noise
