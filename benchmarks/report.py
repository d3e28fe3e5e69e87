"""The suite's Markdown summary and PNG plots, from the sections' results."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

from .variants import GENERAL, ROBUST_VARIANT, SPEAKER_VARIANT

MODES = ("default", "enrolled")
OURS = "int8"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def _ms(figures: dict[str, float], key: str = "p50") -> str:
    return f"{figures[key]:.2f}"


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def variant_rows(variants: list[dict[str, Any]]) -> list[list[str]]:
    """One table row per variant; a missing one says why."""
    rows = []
    for v in variants:
        ua = v["ua"] or {}
        tail = [_pct(ua.get(m)) for m in MODES] + [v["source"]]
        if "missing" in v:
            rows.append([v["variant"], v["missing"], *[""] * 6, *tail])
            continue
        b = v["bench"]
        stages = b["latency"][0]["stages_ms"]
        rows.append([v["variant"], f"{b['model']['size_bytes']:,}", f"{b['model']['parameters']:,}",
                     f"{b['model']['macs'] / 1e6:.1f} M", _ms(stages["inference"]),
                     f"{_ms(stages['end_to_end'])} / {_ms(stages['end_to_end'], 'p90')}",
                     f"{b['cold_start']['total_s']:.3f} s", _mib(b["cold_start"]["peak_rss_bytes"]), *tail])
    return rows


def _variant_ratios(variants: list[dict[str, Any]]) -> list[str]:
    """Each other measured variant's file size and inference p50 as multiples of int8's."""
    measured = {v["variant"]: v["bench"] for v in variants if "bench" in v}
    if OURS not in measured:
        return []
    ours = measured[OURS]
    lines = []
    for name, other in measured.items():
        if name != OURS:
            size = other["model"]["size_bytes"] / ours["model"]["size_bytes"]
            speed = (other["latency"][0]["stages_ms"]["inference"]["p50"]
                     / ours["latency"][0]["stages_ms"]["inference"]["p50"])
            lines.append(f"- {name}: file {size:.2f}x int8's, inference p50 {speed:.2f}x int8's")
    return lines


def _variants_md(variants: list[dict[str, Any]]) -> list[str]:
    header = ["variant", "file bytes", "parameters", "MACs/window", "inference p50 ms", "end-to-end p50 / p90 ms",
              "cold start", "cold process peak RSS", "UA default", "UA enrolled", "UA source"]
    return ["## Model variants", "", *_table(header, variant_rows(variants)), "",
            "UA: the general models' is the mean over eight corpora, each left out of training (a language, voices "
            "and microphones never heard); the EMO-DB models' is EMO-DB leave one speaker out (7 classes). The two "
            "are not comparable: see each row's source.", "", *_variant_ratios(variants), ""]


def _features_md(section: dict[str, Any]) -> list[str]:
    rows = [[name, *(_ms(r["latency_ms"], k) for k in ("p50", "p90", "p99", "mean")), f"{r['p50_over_ours']:.1f}x",
             *(_ms(r["alone_latency_ms"], k) for k in ("p50", "p90")), "x".join(map(str, r["shape"]))]
            for name, r in section["extractors"].items()]
    header = ["extractor", "interleaved p50 ms", "p90 ms", "p99 ms", "mean ms", "p50 / ours", "alone p50 ms",
              "alone p90 ms", "output shape"]
    return ["## Feature extraction (one 3 s window at 16 kHz)", "", *_table(header, rows), "",
            "Interleaved: the extractors take turns, so each call starts with caches the others filled, as inside a "
            "pipeline. Alone: one extractor's calls back to back, with warm caches.", "",
            "Largest difference between our MFCCs and tf.signal's: "
            f"{section['max_abs_difference_ours_vs_tf_signal']:.2e}.",
            ""]


def _backends_md(backends: list[dict[str, Any]]) -> list[str]:
    rows = []
    for b in backends:
        if "inference_ms" not in b:
            rows.append([b["backend"], b.get("missing") or b.get("failed", "?"), *[""] * 7])
            continue
        rows.append([b["backend"], b["version"], b["numpy"], f"{b['import_s']:.3f}", f"{b['load_s']:.3f}",
                     f"{1000 * b['first_run_s']:.2f}", f"{_ms(b['inference_ms'])} / {_ms(b['inference_ms'], 'p90')}",
                     _mib(b["peak_rss_bytes"]), f"{b['max_abs_difference_vs_ai_edge_litert']:.1e}"])
    header = ["backend", "version", "numpy", "import s", "model load s", "first run ms", "inference p50 / p90 ms",
              "peak RSS", "max |p - p(ai-edge-litert)|"]
    return ["## Backends (same model, same features, fresh process each)", "", *_table(header, rows), "",
            "Import includes `import lightser` (numpy, soundfile, soxr) and the backend's own import.", ""]


def _ours_for_comparison(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Our int8 models' bench reports and UA (default, studio, per-speaker), where the variants section measured
    them."""
    return [v for name in (ROBUST_VARIANT, OURS, SPEAKER_VARIANT) for v in results.get("variants", [])
            if v["variant"] == name and "bench" in v]


def _opensmile_md(peers: list[dict[str, Any]], ours: list[dict[str, Any]]) -> list[str]:
    rows = [[f"openSMILE {p['feature_set']} ({p['n_features']}) + linear SVM",
             *(_pct(p["modes"][m]["ua"]) for m in MODES), _pct(p["modes"]["default"]["macro_f1"]),
             _ms(p["clip_latency_ms"]["end_to_end"]), f"{p['extraction_ms_per_audio_second']:.1f}",
             f"{p['classifier_bytes']:,} (classifier only)"] for p in peers]
    lines = []
    for model in ours:
        e2e = model["bench"]["latency"][0]["stages_ms"]["end_to_end"]["p50"]
        ua = model["ua"] or {}
        rows.append([f"LightSER {model['variant']} (ours)", *(_pct(ua.get(m)) for m in MODES), "", f"{e2e:.2f}", "",
                     f"{model['bench']['model']['size_bytes']:,}"])
        for p in peers:
            gaps = [f"UA {mode} {100 * (ua[mode] - p['modes'][mode]['ua']):+.1f} points"
                    for mode in MODES if ua.get(mode) is not None]
            lines.append(f"- ours ({model['variant']}) vs {p['feature_set']} + SVM: end-to-end "
                         f"{p['clip_latency_ms']['end_to_end']['p50'] / e2e:.1f}x faster; "
                         + ("; ".join(gaps) or "UA not comparable yet (no report)"))
    header = ["system", "UA default", "UA enrolled", "macro-F1 default", "end-to-end p50 ms (3 s clip)",
              "openSMILE ms per audio second (EMO-DB)", "model bytes"]
    return ["## Classic peer: openSMILE functionals + linear SVM (LOSO on EMO-DB, C chosen on the validation speaker)",
            "", *_table(header, rows), "", *lines, ""]


def _opensmile_pool_md(pool: dict[str, Any]) -> list[str]:
    corpus, speaker = pool["protocols"]["corpus"], pool["protocols"]["speaker"]
    rows = [["leave one corpus out, mean over corpora", _pct(corpus["default"]["mean_over_corpora"]["ua"]),
             _pct(corpus["enrolled"]["mean_over_corpora"]["ua"])],
            ["speaker-disjoint 5-fold, pooled", _pct(speaker["default"]["pooled"]["ua"]),
             _pct(speaker["enrolled"]["pooled"]["ua"])]]
    return ["## openSMILE eGeMAPS + class-balanced linear SVM on the pooled corpora", "",
            *_table(["protocol", "UA default", "UA per-speaker normalised"], rows), "",
            f"{pool['n_clips']} clips, {len(pool['clips_by_corpus'])} corpora, the general model's folds; per corpus "
            "in `opensmile-pool.md`.", ""]


def markdown(results: dict[str, Any], plots: Sequence[Path]) -> str:
    """The whole summary."""
    meta = results["meta"]
    lines = ["# LightSER benchmarks", "", f"Command: `{meta['command']}`, {meta['date']}.", "",
             f"Machine: {meta['machine']}. Versions: {meta['versions']}.", "",
             f"Every figure was measured on this machine with one interpreter thread, the whole suite pinned to "
             f"core(s) {meta['cpus']}; none is a Raspberry Pi figure. Input: {meta['clip']}.", ""]
    if "variants" in results:
        lines += _variants_md(results["variants"])
    if "features" in results:
        lines += _features_md(results["features"])
    if "backends" in results:
        lines += _backends_md(results["backends"])
    if "opensmile" in results:
        lines += _opensmile_md(results["opensmile"], _ours_for_comparison(results))
    if "opensmile-pool" in results:
        lines += _opensmile_pool_md(results["opensmile-pool"])
    lines += ["Plots: " + ", ".join(f"`{p.name}`" for p in plots), ""]
    return "\n".join(lines)


def _points(results: dict[str, Any]) -> list[tuple[str, float, float, int]]:
    """(name, end-to-end p50 ms, UA default, bytes) of every system with all three known, on EMO-DB leave one
    speaker out (the general models' UA is another protocol's)."""
    points = []
    for v in results.get("variants", []):
        if "bench" in v and (v["ua"] or {}).get("default") is not None and v["variant"] not in GENERAL:
            points.append((f"LightSER {v['variant']}", v["bench"]["latency"][0]["stages_ms"]["end_to_end"]["p50"],
                           v["ua"]["default"], v["bench"]["model"]["size_bytes"]))
    for p in results.get("opensmile", []):
        points.append((f"openSMILE {p['feature_set']} + SVM", p["clip_latency_ms"]["end_to_end"]["p50"],
                       p["modes"]["default"]["ua"], p["classifier_bytes"]))
    return points


def _bars(path: Path, title: str, names: Sequence[str], values: Sequence[float], unit: str) -> Path:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 0.6 * len(names) + 1.6))
    ax.barh(names, values, color="tab:blue")
    for y, value in enumerate(values):
        ax.text(value, y, f" {value:.2f}", va="center", fontsize=8)
    ax.set_xlabel(unit)
    ax.set_title(title, fontsize=10)
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _scatter(path: Path, points: list[tuple[str, float, float, int]]) -> Path:
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    fig, ax = plt.subplots(figsize=(7, 5))
    for name, ms, ua, size in points:
        ax.scatter(ms, 100 * ua, s=20 + 400 * (size / max(p[3] for p in points)) ** 0.5, alpha=0.6)
        ax.annotate(f"{name}\n{size / 1024:.0f} KiB", (ms, 100 * ua), fontsize=8, xytext=(6, 4),
                    textcoords="offset points")
    latencies = [p[1] for p in points]
    ax.set_xscale("log")
    ax.set_xlim(min(latencies) / 2, max(latencies) * 3)
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.margins(y=0.15)
    ax.set_xlabel("end-to-end latency per 3 s clip, p50 (ms, log scale)")
    ax.set_ylabel("UA, leave-one-speaker-out, no enrolment (%)")
    ax.set_title("UA vs latency; marker area grows with model size", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plots(results: dict[str, Any], out: Path) -> list[Path]:
    """Write the PNGs the results allow; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    written = []
    measured = [v for v in results.get("variants", []) if "bench" in v]
    if measured:
        written.append(_bars(out / "variants.png", "Inference p50 per variant (1 thread)",
                             [v["variant"] for v in measured],
                             [v["bench"]["latency"][0]["stages_ms"]["inference"]["p50"] for v in measured], "ms"))
    if "features" in results:
        rows = results["features"]["extractors"]
        written.append(_bars(out / "features.png", "MFCC of one 3 s window, p50", list(rows),
                             [r["latency_ms"]["p50"] for r in rows.values()], "ms"))
    ran = [b for b in results.get("backends", []) if "inference_ms" in b]
    if ran:
        written.append(_bars(out / "backends.png", "Inference p50 per backend (1 thread)", [b["backend"] for b in ran],
                             [b["inference_ms"]["p50"] for b in ran], "ms"))
    points = _points(results)
    if points:
        written.append(_scatter(out / "summary.png", points))
    return written
