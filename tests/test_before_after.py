"""benchmarks/before_after.py: two copies of the runtime timed side by side in one process."""

from __future__ import annotations

import sys

import pytest

import lightser
from benchmarks import before_after
from conftest import ROOT
from lightser import bench


@pytest.fixture(scope="module")
def times():
    """This checkout's runtime imported a second time as the "before" code; a few rounds at 16 kHz."""
    before = before_after.import_before(ROOT / "sdk")
    try:
        assert before.__name__ == "lightser_before" and before.bench is not bench
        clip = bench.load_clips(None)[0]
        yield before_after.stage_times({"before": before, "after": lightser}, clip, runs=3, warmup=1, rounds=1)
    finally:
        for name in [name for name in sys.modules if name.startswith("lightser_before")]:
            del sys.modules[name]


def test_both_codes_time_every_stage_and_predict_segments(times):
    assert set(times) == {"before", "after"}
    for code in times.values():
        assert tuple(code["stages"]) == bench.STAGES
        assert all(figures["p50"] > 0 for figures in code["stages"].values())
        assert code["windows_per_second"] > 0


def test_summary_ratios_and_table(times):
    colds = [{"total_s": 0.1, "peak_rss_bytes": 60 * 2**20}, {"total_s": 0.3, "peak_rss_bytes": 62 * 2**20}]
    results = {"16 kHz": {code: before_after.summary(times[code], colds) for code in times}}
    after = results["16 kHz"]["after"]
    p50 = after["stages_p50_ms"]
    decode_resample = (p50["decode"] + p50["resample"]) / p50["inference"]
    assert after["over_inference"]["decode + resample"] == pytest.approx(decode_resample)
    assert (after["cold_start_s"], after["cold_peak_rss_mib"]) == (pytest.approx(0.2), pytest.approx(61.0))
    meta = {key: "x" for key in ("command", "date", "machine", "before", "after", "runs", "warmup", "cold",
                                 "load_start", "load_end")}
    table = before_after.markdown(results, meta)
    ratio = results["16 kHz"]["before"]["over_inference"]["end_to_end"]
    assert f"| 16 kHz | end_to_end / inference | {ratio:.2f} |" in table
    assert "predict_segments, 60 s: windows/s" in table
