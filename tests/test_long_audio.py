"""Long audio: bounded memory (measured in a child process), a complete timeline, and progress.

The hour-long case is marked slow (about a minute here); a 3-minute 48 kHz stereo file checks
the same bound in the fast suite.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import soundfile

from conftest import voiced

# Runs in a child so that its peak RSS is the runtime's alone.
CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    from lightser import Recognizer

    def peak_mb():
        # Linux: VmHWM, the peak of this process image alone. ru_maxrss would do elsewhere, but on
        # Linux it carries the parent's peak across fork+exec (pytest with TensorFlow: ~770 MB).
        try:
            with open("/proc/self/status") as status:
                return next(int(l.split()[1]) for l in status if l.startswith("VmHWM:")) / 2**10
        except OSError:
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            return rss / 2**20 if sys.platform == "darwin" else rss / 2**10

    rec = Recognizer()
    rec.predict(sys.argv[1] + ".warmup.wav")
    before = peak_mb()
    seen = []
    t0 = time.perf_counter()
    segments = rec.predict_segments(sys.argv[1], progress=seen.append)
    print(json.dumps({
        "peak_mb": peak_mb(), "before_mb": before, "seconds": time.perf_counter() - t0,
        "windows": len(segments), "speech": sum(s.is_speech for s in segments),
        "starts": [s.start for s in segments[:3]], "last_end": segments[-1].end,
        "progress": len(seen), "progress_last": seen[-1], "monotonic": seen == sorted(seen),
    }))
    """
)


def _write_long(path, seconds: int, rate: int, channels: int, silent_every: int = 5) -> None:
    """`seconds` of speech-like audio, written a minute at a time (never whole in memory);
    every `silent_every`-th minute has its second half silent."""
    with soundfile.SoundFile(path, "w", rate, channels, "PCM_16") as f:
        for minute in range(0, seconds, 60):
            x = voiced(min(60, seconds - minute), rate=rate, seed=minute)
            if minute // 60 % silent_every == silent_every - 1:
                x[x.shape[0] // 2 :] = 0
            f.write(np.stack([x] * channels, axis=1) if channels > 1 else x)


def _run_child(path, seconds: int):
    soundfile.write(f"{path}.warmup.wav", voiced(4.0), 16000)
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, timeout=60 + seconds
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


def _check_timeline(report, seconds: float) -> None:
    hop, window = 1.5, 3.0
    assert report["starts"] == [0.0, hop, 2 * hop]
    assert report["last_end"] == pytest.approx(seconds)
    assert report["windows"] == int((seconds - window) // hop) + 1 + (1 if (seconds - window) % hop else 0)
    assert 0 < report["speech"] < report["windows"]  # the silent half-minutes are gated
    assert report["monotonic"] and report["progress"] == report["windows"]
    assert report["progress_last"] == pytest.approx(seconds)


@pytest.mark.slow
def test_an_hour_keeps_peak_rss_under_200_mb(tmp_path):
    seconds = 3600
    path = tmp_path / "hour.wav"
    _write_long(path, seconds, 16000, 1)
    report = _run_child(path, seconds=600)
    print(f"hour: peak RSS {report['peak_mb']:.0f} MB, {report['seconds']:.0f} s, {report['windows']} windows")
    _check_timeline(report, seconds)
    assert report["peak_mb"] < 200, report


def test_three_minutes_at_48k_stereo_stay_bounded(tmp_path):
    """Decoded whole, this file would take 66 MB as float32 (more while resampling)."""
    seconds = 180
    path = tmp_path / "long.wav"
    _write_long(path, seconds, 48000, 2, silent_every=2)
    report = _run_child(path, seconds=300)
    _check_timeline(report, seconds)
    assert report["peak_mb"] - report["before_mb"] < 30, report


def test_progress_reports_seconds_read(recognizer, tmp_path):
    x = voiced(20.0, rate=22050)
    path = tmp_path / "clip.flac"
    soundfile.write(path, x, 22050)
    for source, rate in ((path, None), (x, 22050), (path.read_bytes(), None)):
        seen: list[float] = []
        segments = recognizer.predict_segments(source, sample_rate=rate, progress=seen.append)
        assert seen == [s.end for s in segments]
        assert seen[-1] == pytest.approx(20.0, abs=1e-3)


def test_iter_segments_streams_before_the_end(recognizer):
    """The first segment arrives when one decode block (30 s here) of a 75 s file has been read."""
    produced: list[int] = []
    x = voiced(75.0)

    class Source:  # a file object that records how far it has been read
        def __init__(self, data: bytes) -> None:
            import io

            self._f = io.BytesIO(data)

        def read(self, n=-1):
            chunk = self._f.read(n)
            produced.append(self._f.tell())
            return chunk

        def seek(self, *args):
            return self._f.seek(*args)

        def tell(self):
            return self._f.tell()

    import io

    buffer = io.BytesIO()
    soundfile.write(buffer, x, 16000, format="WAV", subtype="PCM_16")
    data = buffer.getvalue()
    segments = recognizer.iter_segments(Source(data))
    next(segments)
    assert max(produced) < len(data) / 2
    assert len(list(segments)) == 49 - 1


def test_a_long_array_is_processed_in_blocks(recognizer):
    x = voiced(200.0, rate=8000)  # four decode blocks
    before = x.copy()
    segments = recognizer.predict_segments(x, sample_rate=8000)
    assert len(segments) == 133 and segments[-1].end == pytest.approx(200.0)
    np.testing.assert_array_equal(x, before)
