"""Where each stage's time goes: `lightser bench`'s stages under cProfile, and batched inference.

    taskset -c 0 python -m scripts.profile_stages [--runs 300] [--top 6] [--model NAME]

First the STFT with its frames taken in blocks of several sizes (184: one rFFT call over a
whole window), and libsndfile decoding a WAV into int16, int32 and float32. For each input of
`lightser bench` (synthetic 3 s clips at 16 and 48 kHz) and each stage
(`bench.stage_calls`: decode, resample, gate, features, inference, end_to_end), prints the
functions that take the most time of their own (cProfile's tottime, as shares of the stage's).
Then times one interpreter call over a batch of N windows (`resize_tensor_input`) against N
calls of one window, to show whether batching the windows of a recording pays. Last, with
EMO-DB present, what each of soxr's quality settings would save on 48 -> 16 kHz and how far
it moves the MFCCs from those of the setting used ("HQ"), on every 13th clip played at 48 kHz.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import soundfile
import soxr

from lightser import Recognizer, audio, bench, features

BATCHES = (1, 4, 16, 39)  # 39: the windows of a 60 s recording
FRAME_BLOCKS = (16, 32, 64, 184)  # frames per rFFT call; 184: a whole window's
QUALITIES = ("VHQ", "HQ", "MQ", "LQ", "QQ")  # soxr's settings, best first
EMODB_WAV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "emodb" / "wav"


def profile(call: Callable[[], Any], runs: int, top: int) -> list[tuple[float, str]]:
    """(% of the profiled time, function) for the `top` functions by time of their own.
    Shares, not milliseconds: cProfile's own cost inflates every Python call."""
    profiler = cProfile.Profile()
    profiler.runcall(lambda: [call() for _ in range(runs)])
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    rows = sorted(((tottime, func) for func, (_, _, tottime, _, _) in stats.items()), reverse=True)
    total = sum(tottime for tottime, _ in rows)
    return [(100.0 * tottime / total, f"{func[0].rsplit('/', 1)[-1]}:{func[1]}({func[2]})")
            for tottime, func in rows[:top]]


def median_ms(call: Callable[[], Any], runs: int) -> float:
    """Median milliseconds of `call` over `runs` calls, after a tenth as many untimed ones."""
    for _ in range(max(1, runs // 10)):
        call()
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return 1000.0 * float(np.median(seconds))


def batch_ms(rec: Recognizer, size: int, runs: int) -> float:
    """Milliseconds per window of one interpreter call over `size` windows."""
    model = rec.model
    interpreter = model.backend.interpreter(model.path.read_bytes(), model.num_threads)
    index, shape = model._input["index"], tuple(model._input["shape"])
    interpreter.resize_tensor_input(index, (size, *shape[1:]))
    interpreter.allocate_tensors()
    x = np.zeros((size, *shape[1:]), model._input["dtype"])

    def run() -> None:
        interpreter.set_tensor(index, x)
        interpreter.invoke()

    return median_ms(run, runs) / size


def stft_ms(rec: Recognizer, frames_per_block: int, runs: int) -> float:
    """Milliseconds of `features.magnitude_spectrum` on one window of noise, in blocks of
    `frames_per_block` frames."""
    recipe = rec.recipe
    window = np.random.default_rng(0).normal(size=recipe.window_samples).astype(np.float32) * 0.1
    framed = features.frames(window, recipe.frame_length, recipe.frame_step)
    kept, features._FRAMES_PER_BLOCK = features._FRAMES_PER_BLOCK, frames_per_block
    try:
        return median_ms(lambda: features.magnitude_spectrum(framed, recipe.fft_length), runs)
    finally:
        features._FRAMES_PER_BLOCK = kept


def read_dtypes(data: bytes, runs: int) -> list[tuple[str, float]]:
    """(dtype, ms) of libsndfile decoding the WAV file `data` (from a temporary file) into each dtype."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.wav"
        path.write_bytes(data)
        out = []
        for dtype in ("int16", "int32", "float32"):
            def read() -> None:
                with soundfile.SoundFile(path) as handle:
                    handle.read(dtype=dtype, always_2d=True)
            out.append((dtype, median_ms(read, runs)))
    return out


def resample_qualities(rec: Recognizer, wav_dir: Path, runs: int) -> list[tuple[str, float, float, float]]:
    """(setting, ms to take a 3 s clip from 48 to 16 kHz, max and mean |MFCC difference| from the
    setting in use) over every 13th clip of `wav_dir`, each first raised to 48 kHz (VHQ)."""
    high = [soxr.resample(soundfile.read(p, dtype="float32")[0], 16000, 48000, quality="VHQ")
            for p in sorted(wav_dir.glob("*.wav"))[::13]]
    mfccs = {q: [features.unstandardised(soxr.resample(x, 48000, 16000, quality=q), rec.recipe).copy() for x in high]
             for q in QUALITIES}
    clip = bench.synthetic_voice(3.0, 48000)
    rows = []
    for q in QUALITIES:
        gaps = [np.abs(a - b) for a, b in zip(mfccs[q], mfccs[audio.RESAMPLE_QUALITY])]
        ms = median_ms(lambda: soxr.resample(clip, 48000, 16000, quality=q), runs)
        rows.append((q, ms, float(max(g.max() for g in gaps)), float(np.mean([g.mean() for g in gaps]))))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Print every section (see the module's docstring)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=300, help="calls of each stage profiled (default 300)")
    parser.add_argument("--top", type=int, default=6, help="functions shown per stage (default 6)")
    parser.add_argument("--model", help="model path or bundled name (default: the default model)")
    args = parser.parse_args(argv)
    rec = Recognizer(args.model, num_threads=1)
    print("STFT (window, rFFT, magnitude) of one window, first thing in a fresh process: ms, by frames per rFFT call")
    for size in FRAME_BLOCKS:
        print(f"  {size:<3} {stft_ms(rec, size, args.runs):.3f}")
    clips = bench.load_clips(None)
    print("\nlibsndfile reading the 3 s 48 kHz 16-bit WAV as each dtype: ms")
    for dtype, ms in read_dtypes(clips[-1]["data"], args.runs):
        print(f"  {dtype:<8} {ms:.3f}")
    for clip in clips:
        for stage, call in bench.stage_calls(rec, clip).items():
            print(f"\n{clip['sample_rate'] / 1000:g} kHz {stage}: {median_ms(call, args.runs):.3f} ms p50 unprofiled")
            for share, func in profile(call, args.runs, args.top):
                print(f"  {share:5.1f} %  {func}")
    print("\ninference, one interpreter call over N windows (1 thread): ms per window")
    for size in BATCHES:
        print(f"  N={size:<3} {batch_ms(rec, size, max(3, args.runs // size)):.3f}")
    if EMODB_WAV.is_dir():
        print(f"\nsoxr quality, 48 -> 16 kHz: ms per 3 s clip; |MFCC - MFCC with {audio.RESAMPLE_QUALITY}| max, mean")
        for q, ms, worst, mean in resample_qualities(rec, EMODB_WAV, args.runs):
            print(f"  {q:<4} {ms:.3f} ms  {worst:.3g}  {mean:.3g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
