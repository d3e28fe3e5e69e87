"""`lightser bench`: size, memory and per-stage latency of a model on this machine.

Every stage is timed through the runtime's own functions (`audio.stream`,
`features.extract`, `Model.run`, `Recognizer.predict`), so the figures are the
ones users get. Each stage's p50 is also given over inference's: the share of the
work that is not the network. By default it runs a 16 kHz clip (the models' rate) and a
48 kHz one (resampled) in one call. Needs nothing beyond the runtime's dependencies (no
TensorFlow).
"""

from __future__ import annotations

import io
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import soundfile

from . import __version__, audio, features, sources
from .errors import AudioError, InvalidArgumentError, LightSERError
from .recognizer import Recognizer

SYNTHETIC_SECONDS = 3.0
RUNS, WARMUP = 200, 20  # timed and untimed rounds per thread count and input
SYNTHETIC_RATES = (16000, 48000)  # a model's own rate, and a common recording rate that needs resampling
THROUGHPUT_SECONDS = 60.0  # the recording `predict_segments` is timed on
THROUGHPUT_RUNS = 3  # its timed repetitions (the median is kept)
STAGES = ("decode", "resample", "gate", "features", "inference", "end_to_end")
PERCENTILES = (50, 90, 99)
_MAC_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")

# Run in a fresh interpreter: argv = model, backend, threads, audio file, speeds (JSON list).
_COLD_START = """
import json, sys, time
started = time.perf_counter()
from lightser import Recognizer
imported = time.perf_counter()
rec = Recognizer(sys.argv[1], backend=sys.argv[2], num_threads=int(sys.argv[3]), speeds=json.loads(sys.argv[5]))
loaded = time.perf_counter()
rec.predict(sys.argv[4])
done = time.perf_counter()
from lightser.bench import peak_rss_bytes
print(json.dumps({"import_s": imported - started, "load_s": loaded - imported,
                  "first_prediction_s": done - loaded, "total_s": done - started,
                  "peak_rss_bytes": peak_rss_bytes()}))
"""


def synthetic_voice(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    """A voiced-speech-like float32 signal: harmonics (below Nyquist) of a pitch gliding
    over 100-220 Hz, loudness shaped by 4 Hz syllables, plus faint noise; peak 0.5."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * rate))) / rate
    f0 = 160.0 + 60.0 * np.sin(2.0 * np.pi * 0.7 * t)
    phase = 2.0 * np.pi * np.cumsum(f0) / rate
    voiced = sum((k * f0 < rate / 2) * np.sin(k * phase) / k for k in range(1, 31))
    syllables = 0.5 - 0.5 * np.cos(2.0 * np.pi * 4.0 * t)
    x = voiced * syllables + 0.01 * rng.standard_normal(t.size)
    return (0.5 * x / np.max(np.abs(x))).astype(np.float32)


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    """`samples` encoded as a 16-bit PCM WAV file, in memory."""
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def load_clips(path: str | None) -> list[dict[str, Any]]:
    """The benchmark inputs held in memory: `path`'s bytes, or synthetic 3 s WAVs at each of
    SYNTHETIC_RATES. Each is a dict of name, data (encoded bytes), sample_rate (Hz) and seconds."""
    if path is not None:
        return [load_clip(path)]
    return [{"name": f"synthetic voiced {SYNTHETIC_SECONDS:g} s, {rate} Hz 16-bit WAV", "sample_rate": rate,
             "data": wav_bytes(synthetic_voice(SYNTHETIC_SECONDS, rate), rate), "seconds": SYNTHETIC_SECONDS}
            for rate in SYNTHETIC_RATES]


def load_clip(path: str) -> dict[str, Any]:
    """`path`'s bytes as a benchmark input (see `load_clips`)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise AudioError(f"--audio {path}: cannot read ({exc.strerror or exc})") from exc
    with sources.open_sound(data, f"--audio {path}")[0] as handle:  # as predict reads it: its errors
        rate, seconds = int(handle.samplerate), handle.frames / handle.samplerate
    return {"name": str(path), "data": data, "sample_rate": rate, "seconds": seconds}


def stage_calls(rec: Recognizer, clip: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    """One zero-argument call per stage of STAGES, each fed the previous stage's output.

    decode: the file bytes to mono float32 at their own rate; resample: to the model's
    rate; gate: the speech gate (level and voicing) on one window; features: MFCCs of one
    window; inference: `Model.run`; end_to_end: `Recognizer.predict` on the file bytes (every
    window at every test speed, speech gate included).
    """
    recipe = rec.recipe
    decoded = audio.read(clip["data"], None, clip["sample_rate"])
    resampled = audio.read(decoded, clip["sample_rate"], recipe.sample_rate)
    feats = features.extract(resampled, recipe)
    return {
        "decode": lambda: audio.read(clip["data"], None, clip["sample_rate"]),
        "resample": lambda: audio.read(decoded, clip["sample_rate"], recipe.sample_rate),
        "gate": lambda: rec.gate(resampled[: recipe.window_samples]),
        "features": lambda: features.extract(resampled, recipe),
        "inference": lambda: rec.model.run(feats),
        "end_to_end": lambda: rec.predict(clip["data"]),
    }


def segments_throughput(rec: Recognizer, clip: dict[str, Any]) -> dict[str, float]:
    """`predict_segments` on a THROUGHPUT_SECONDS recording (the clip repeated, as a 16-bit WAV
    file at the clip's rate): windows, and windows per second (median of THROUGHPUT_RUNS)."""
    samples = audio.read(clip["data"], None, clip["sample_rate"])
    repeats = math.ceil(THROUGHPUT_SECONDS * clip["sample_rate"] / samples.shape[0])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.wav"
        with soundfile.SoundFile(path, "w", clip["sample_rate"], 1, "PCM_16", format="WAV") as out:
            for _ in range(repeats):
                out.write(samples)
        seconds = []
        for _ in range(THROUGHPUT_RUNS):
            started = time.perf_counter()
            windows = len(rec.predict_segments(path))
            seconds.append(time.perf_counter() - started)
    return {"audio_seconds": repeats * samples.shape[0] / clip["sample_rate"], "windows": windows,
            "windows_per_second": windows / float(np.median(seconds))}


def time_stages(
    calls: dict[str, Callable[[], Any]], runs: int, warmup: int, tick: Callable[[], None]
) -> dict[str, np.ndarray]:
    """Seconds of each call over `runs` rounds after `warmup` untimed ones; `tick` after each round."""
    seconds = {name: np.empty(runs) for name in calls}
    for round_ in range(warmup + runs):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            elapsed = time.perf_counter() - started
            if round_ >= warmup:
                seconds[name][round_ - warmup] = elapsed
        tick()
    return seconds


def summarise_ms(seconds: np.ndarray) -> dict[str, float]:
    """p50/p90/p99/mean of `seconds`, in milliseconds."""
    ms = 1000.0 * np.asarray(seconds)
    out = {f"p{q}": float(np.percentile(ms, q)) for q in PERCENTILES}
    out["mean"] = float(ms.mean())
    return out


def _macs_per_output(op_name: str, weight_shape: Sequence[int]) -> int:
    """Multiply-accumulates behind one output element of a conv or dense op."""
    if op_name == "CONV_2D":  # weights (out, kh, kw, in)
        return int(np.prod(weight_shape[1:]))
    if op_name == "DEPTHWISE_CONV_2D":  # weights (1, kh, kw, out)
        return int(weight_shape[1] * weight_shape[2])
    return int(weight_shape[1])  # FULLY_CONNECTED: weights (units, in)


def graph_stats(interpreter: Any) -> dict[str, Any]:
    """Size figures read from an allocated interpreter's graph, not typed in.

    parameters: weights and biases of conv and dense ops (batch norm folded in);
    macs: multiply-accumulates per invocation (one window) of those ops;
    activation_bytes: every op output tensor added up, before the memory planner
    shares buffers (an upper bound on the arena); ops: count per op type.
    """
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    ops = [op for op in interpreter._get_ops_details() if op["op_name"] != "DELEGATE"]
    parameters = macs = activation_bytes = 0
    counts: dict[str, int] = {}
    for op in ops:
        name = op["op_name"]
        counts[name] = counts.get(name, 0) + 1
        outputs = [tensors[i] for i in op["outputs"]]
        activation_bytes += sum(int(np.prod(t["shape"])) * np.dtype(t["dtype"]).itemsize for t in outputs)
        if name in _MAC_OPS:
            weights = tensors[op["inputs"][1]]["shape"]
            parameters += sum(int(np.prod(tensors[i]["shape"])) for i in op["inputs"][1:] if i >= 0)
            macs += int(np.prod(outputs[0]["shape"])) * _macs_per_output(name, weights)
    return {"parameters": parameters, "macs": macs, "activation_bytes": activation_bytes, "ops": counts}


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far.

    Linux: VmHWM, because getrusage's ru_maxrss survives exec, so a process started by a
    bigger one would report its parent's peak. Elsewhere: getrusage (bytes on macOS).
    """
    try:
        status = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    kib = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    return int(kib) * 1024


def cpu_model() -> str:
    """The CPU's name as the OS reports it (on a Raspberry Pi, the board's model)."""
    try:
        lines = Path("/proc/cpuinfo").read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    for key in ("model name", "Model", "Hardware"):
        for field, value in fields.items():
            if field.strip() == key and value.strip():
                return value.strip()
    return platform.processor() or platform.machine()


def allowed_cpus() -> int:
    """Cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def device_info(rec: Recognizer) -> dict[str, Any]:
    """The device line: CPU, architecture, cores, OS, Python, numpy, backend."""
    return {
        "cpu": cpu_model(), "arch": platform.machine(), "cores": os.cpu_count(), "cores_allowed": allowed_cpus(),
        "os": platform.platform(), "python": platform.python_version(), "numpy": np.__version__,
        "backend": rec.model.backend.name, "backend_version": rec.model.backend.version,
    }


def pin(cpus: Sequence[int]) -> None:
    """Run this process (and the processes it starts) on `cpus` only."""
    if not hasattr(os, "sched_setaffinity"):
        raise InvalidArgumentError(f"--cpus {list(cpus)}: CPU pinning is not supported on {platform.system()}")
    try:
        os.sched_setaffinity(0, set(cpus))
    except (OSError, ValueError) as exc:
        raise InvalidArgumentError(f"--cpus {list(cpus)}: cannot pin to these cores ({exc})") from exc


def cold_start(
    model: Path, backend: str, threads: int, clip: dict[str, Any], speeds: Sequence[float] = (1.0,)
) -> dict[str, Any]:
    """Import + load + first prediction, timed inside a fresh Python process.

    process_s adds the interpreter's own start-up, timed from outside. The file
    cache is warm (the model was just read), as on a device that ran it before.
    """
    with tempfile.TemporaryDirectory() as tmp:
        clip_path = Path(tmp) / "clip.wav"
        clip_path.write_bytes(clip["data"])
        command = [sys.executable, "-c", _COLD_START, str(model), backend, str(threads), str(clip_path),
                   json.dumps(list(speeds))]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        process_s = time.perf_counter() - started
    if done.returncode != 0:
        raise LightSERError(f"cold-start process failed:\n{done.stderr.strip()[-2000:]}")
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "process_s": process_s}


class Progress:
    """A progress bar on stderr: tqdm's when it is installed, else a plain counter."""

    def __init__(self, total: int, desc: str = "bench", unit: str = "round") -> None:
        self.total, self.done, self.desc = total, 0, desc
        try:
            from tqdm import tqdm
        except ImportError:
            self._bar = None
        else:
            self._bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False)

    def step(self, note: str = "", count: int = 1) -> None:
        """`count` units of work done; `note` says what is running."""
        self.done += count
        if self._bar is not None:
            if note:
                self._bar.set_postfix_str(note, refresh=False)
            self._bar.update(count)
        elif self.done == self.total or self.done % 25 < count:
            shown = f" ({note})" if note else ""
            print(f"\r{self.desc}: {self.done}/{self.total}{shown}", end="", file=sys.stderr, flush=True)

    def write(self, line: str) -> None:
        """A line on stderr above the bar."""
        if self._bar is not None:
            self._bar.write(line, file=sys.stderr)
        else:
            print(f"\r{line}", file=sys.stderr, flush=True)

    def close(self) -> None:
        """Clear the bar (or end the counter's line)."""
        if self._bar is not None:
            self._bar.close()
        else:
            print(file=sys.stderr, flush=True)


def _latency(rec: Recognizer, clip: dict[str, Any], runs: int, warmup: int, tick: Callable[[], None]) -> dict[str, Any]:
    """Per-stage figures of one setting and input; each stage's p50 over inference's; the
    real-time factor (end-to-end p50 / audio duration); `predict_segments` throughput."""
    seconds = time_stages(stage_calls(rec, clip), runs, warmup, tick)
    stages = {name: summarise_ms(values) for name, values in seconds.items()}
    return {
        "threads": rec.model.num_threads,
        "sample_rate": clip["sample_rate"],
        "stages_ms": stages,
        "over_inference": {name: s["p50"] / stages["inference"]["p50"] for name, s in stages.items()},
        "real_time_factor": stages["end_to_end"]["p50"] / 1000.0 / clip["seconds"],
        "segments": segments_throughput(rec, clip),
    }


def run_bench(
    model: str | None = None,
    backend: str = "auto",
    audio_path: str | None = None,
    runs: int = RUNS,
    warmup: int = WARMUP,
    threads: Sequence[int] = (1,),
    speeds: Sequence[float] = (1.0,),
) -> dict[str, Any]:
    """Every figure of the report as a JSON-ready dict: device, model size (bytes, parameters,
    MACs, activations), inputs, per-stage latency for each thread count and input, cold start
    (on the last input), peak RSS.

    audio_path: the input clip (default: synthetic clips at 16 and 48 kHz, see `load_clips`);
    runs/warmup: timed and untimed rounds per thread count and input; threads: interpreter
    thread counts to sweep; speeds: the Recognizer's test-time speeds.
    """
    if runs < 1 or warmup < 0 or not threads or min(threads) < 1:
        raise InvalidArgumentError(
            f"runs={runs}, warmup={warmup}, threads={list(threads)}: expected runs >= 1, warmup >= 0, threads >= 1"
        )
    clips = load_clips(audio_path)
    clip = clips[-1]
    progress = Progress(len(threads) * len(clips) * (runs + warmup) + 1)
    latency = []
    try:
        for n in threads:
            rec = Recognizer(model, backend=backend, num_threads=n, speeds=speeds)
            for clip in clips:
                note = f"{n} thread(s), {clip['sample_rate'] / 1000:g} kHz"
                latency.append(_latency(rec, clip, runs, warmup, lambda: progress.step(note)))
        interpreter = rec.model.backend.interpreter(rec.model.path.read_bytes(), 1)
        cold = cold_start(rec.model.path, rec.model.backend.name, threads[0], clip, speeds)
        progress.step("cold start")
    except AudioError as exc:  # about the clip's bytes in memory: name the file instead
        raise type(exc)(str(exc).replace(sources.describe(clip["data"]), clip["name"], 1)) from None
    finally:
        progress.close()
    prediction = rec.predict(clip["data"])
    meta = rec.model.metadata
    return {
        "lightser": __version__,
        "device": device_info(rec),
        "model": {"path": str(rec.model.path), "name": meta.name, "quantization": meta.quantization,
                  "size_bytes": rec.model.size_bytes, **graph_stats(interpreter)},
        "inputs": [{"name": c["name"], "seconds": c["seconds"], "sample_rate": c["sample_rate"],
                    "windows": len(rec.predict_segments(c["data"]))} for c in clips],
        "model_rate": rec.recipe.sample_rate,
        "speeds": list(rec.speeds),
        "settings": {"runs": runs, "warmup": warmup, "threads": list(threads), "cpus_allowed": allowed_cpus()},
        "latency": latency,
        "cold_start": cold,
        "peak_rss_bytes": peak_rss_bytes(),
        "prediction": {"label": prediction.label, "confidence": prediction.confidence},
    }


def _rows(report: dict[str, Any]) -> list[list[str]]:
    """The latency table: one row per thread count, input rate and stage (with its p50 over
    inference's), then the real-time factor and the throughput of `predict_segments`."""
    rows = [["threads", "input", "stage", "p50 ms", "p90 ms", "p99 ms", "mean ms", "p50 / inference"]]
    for entry in report["latency"]:
        head = [str(entry["threads"]), f"{entry['sample_rate'] / 1000:g} kHz"]
        for stage, s in entry["stages_ms"].items():
            rows.append([*head, stage, *(f"{s[k]:.3f}" for k in ("p50", "p90", "p99", "mean")),
                         f"{entry['over_inference'][stage]:.2f}"])
        rows.append([*head, "real-time factor (p50)", f"{entry['real_time_factor']:.5f}", "", "", "", ""])
        seg = entry["segments"]
        rows.append([*head, f"predict_segments, {seg['audio_seconds']:.0f} s: windows/s",
                     f"{seg['windows_per_second']:.1f}", "", "", "", ""])
    return rows


def _facts(report: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, value) lines around the table."""
    d, m, c = report["device"], report["model"], report["cold_start"]
    inputs = "; ".join(f"{i['name']}, {i['seconds']:.2f} s, {i['windows']} window(s)" for i in report["inputs"])
    return [
        ("device", f"{d['cpu']}, {d['arch']}, {d['cores_allowed']} of {d['cores']} cores, {d['os']}, "
                   f"Python {d['python']}, numpy {d['numpy']}, {d['backend']} {d['backend_version']}"),
        ("model", f"{m['path']} ({m['quantization']})"),
        ("size", f"{m['size_bytes']:,} bytes, {m['parameters']:,} parameters, {m['macs'] / 1e6:.1f} M MACs per window, "
                 f"activations {m['activation_bytes'] / 1024:.0f} KiB before buffer sharing"),
        ("input", f"{inputs}; test speed(s) {', '.join(f'{v:g}' for v in report['speeds'])}, decoded from memory"),
        ("runs", f"{report['settings']['runs']} after {report['settings']['warmup']} warm-up"),
        ("cold start", f"{c['total_s']:.3f} s on the last input (import {c['import_s']:.3f} + load {c['load_s']:.3f} "
                       "+ first prediction "
                       f"{c['first_prediction_s']:.3f}); whole process {c['process_s']:.3f} s, "
                       f"its peak RSS {c['peak_rss_bytes'] / 2**20:.1f} MiB"),
        ("peak RSS", f"{report['peak_rss_bytes'] / 2**20:.1f} MiB (this benchmark process)"),
        ("prediction", f"{report['prediction']['label']} ({report['prediction']['confidence']:.3f})"),
    ]


def text_report(report: dict[str, Any]) -> str:
    """The report as aligned plain text."""
    rows = _rows(report)
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    table = ["  ".join(cell.ljust(w) if k < 3 else cell.rjust(w) for k, (cell, w) in enumerate(zip(row, widths)))
             for row in rows]
    facts = [f"{name:<11} {value}" for name, value in _facts(report)]
    return "\n".join(facts[:5] + [""] + table + [""] + facts[5:]) + "\n"


def markdown_report(report: dict[str, Any]) -> str:
    """The report as Markdown."""
    rows = _rows(report)
    table = ["| " + " | ".join(row) + " |" for row in rows]
    table.insert(1, "|" + "---|" * len(rows[0]))
    facts = [f"- **{name}**: {value}" for name, value in _facts(report)]
    return "\n".join([f"# lightser bench ({report['lightser']})", "", *facts, "", *table, ""])
