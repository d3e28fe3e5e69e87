"""Pool per-fold predictions into a report: JSON, Markdown, and confusion-matrix PNGs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import metrics

MODELS = {"float": "float32 Keras", "int8_features": "int8 TFLite (centre window)",
          "int8_runtime": "int8 TFLite via lightser.Recognizer",
          "int8_runtime_speeds": "int8 TFLite via lightser.Recognizer, test-time speed averaging"}
MODE_TEXT = {
    "default": "no enrolment (training-set statistics)",
    "enrolled": "speaker enrolment (the speaker's other unlabelled clips)",
}


def pool(folds: Sequence[dict[str, Any]], labels: Sequence[str]) -> dict[str, Any]:
    """Pooled and per-fold metrics for every mode and model kind."""
    out: dict[str, Any] = {}
    for mode in folds[0]["modes"]:
        out[mode] = {}
        for kind in (k for k in MODELS if k in folds[0]["modes"][mode]):
            y_true = np.concatenate([f["modes"][mode]["y_true"] for f in folds])
            y_pred = np.concatenate([f["modes"][mode][kind] for f in folds])
            per_fold = [metrics.unweighted_accuracy(np.asarray(f["modes"][mode]["y_true"]),
                                                    np.asarray(f["modes"][mode][kind]), len(labels))
                        for f in folds]
            out[mode][kind] = {
                **metrics.summary(y_true, y_pred, labels),
                "fold_ua": per_fold, "fold_ua_mean": float(np.mean(per_fold)), "fold_ua_sd": float(np.std(per_fold)),
            }
        agree = np.concatenate([np.asarray(f["modes"][mode]["int8_features"]) == np.asarray(f["modes"][mode]["float"])
                                for f in folds])
        out[mode]["agreement_int8_float"] = float(agree.mean())
        out[mode]["ua_drop_int8"] = out[mode]["float"]["ua"] - out[mode]["int8_features"]["ua"]
    return out


def calibration(folds: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Expected calibration error of the runtime's confidences over every fold's test clips, before
    and after each fold's temperature (fitted on its validation speakers); None without temperatures."""
    parts = [f["calibration"] for f in folds if "calibration" in f]
    if not parts:
        return None
    correct = np.concatenate([p["correct"] for p in parts]).astype(bool)
    before, after = (np.concatenate([p[key] for p in parts]) for key in ("confidence_raw", "confidence"))
    return {"n": int(len(correct)), "accuracy": float(correct.mean()),
            "mean_confidence_before": float(before.mean()), "mean_confidence_after": float(after.mean()),
            "ece_before": metrics.expected_calibration_error(before, correct),
            "ece_after": metrics.expected_calibration_error(after, correct),
            "temperatures": [f["temperature"] for f in folds if "temperature" in f]}


def by_corpus(folds: Sequence[dict[str, Any]], labels: Sequence[str], mode: str = "default") -> dict[str, Any]:
    """Metrics of each corpus's test clips (int8 via the runtime, and float), over all folds; {} for
    reports of one corpus."""
    if not all("corpora" in f for f in folds):
        return {}
    corpora = np.concatenate([f["corpora"] for f in folds])
    y_true = np.concatenate([f["modes"][mode]["y_true"] for f in folds])
    out = {}
    for corpus in sorted(set(corpora.tolist())):
        mine = corpora == corpus
        out[corpus] = {kind: metrics.summary(y_true[mine],
                                             np.concatenate([f["modes"][mode][kind] for f in folds])[mine], labels)
                       for kind in ("int8_runtime", "float")}
    return out


_SAME_IN_PARTS = ("protocol", "protocol_text", "dataset", "labels", "n_clips", "config", "window_seconds")
_OPTIONAL_IN_PARTS = ("test_speeds",)  # absent from reports written before it existed


def merge(parts: Sequence[dict[str, Any]], command: str) -> dict[str, Any]:
    """One report from reports of disjoint fold subsets of the same recipe (`eval --only`).

    Refuses parts that differ in protocol, data or training config, that were scored with
    different model kinds (by different versions of `eval`), or that repeat a fold.
    """
    first = parts[0]
    for part in parts[1:]:
        differ = [key for key in _SAME_IN_PARTS if part[key] != first[key]]
        if differ:
            raise ValueError(f"reports differ in {differ}; only folds of one recipe can be merged")
    folds = sorted((f for part in parts for f in part["folds"]), key=lambda f: f["fold"])
    if len({json.dumps({mode: sorted(scored) for mode, scored in f["modes"].items()}) for f in folds}) > 1:
        raise ValueError("reports were scored with different model kinds; score each again with "
                         "`lightser-train eval --resume` first")
    names = [f["fold"] for f in folds]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"folds {repeated} appear in more than one report")
    machines = sorted({part["machine"] for part in parts})
    return {
        **{key: first[key] for key in ("title", *_SAME_IN_PARTS)},
        **{key: first[key] for key in _OPTIONAL_IN_PARTS if key in first},
        "command": command, "merged_from": [part["command"] for part in parts],
        "versions": first["versions"], "machine": " / ".join(machines),
        "wall_minutes": sum(part["wall_minutes"] for part in parts),
        "folds": folds, "pooled": pool(folds, first["labels"]),
    }


def _plot_confusion(matrix: np.ndarray, labels: Sequence[str], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6.4, 5.4))
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for (r, c), n in np.ndenumerate(matrix):
        ax.text(c, r, str(n), ha="center", va="center", color="white" if rates[r, c] > 0.5 else "black", fontsize=8)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _resumed_note(folds: Sequence[dict[str, Any]]) -> list[str]:
    resumed = [f for f in folds if f.get("resumed")]
    if not resumed:
        return []
    minutes = sum(f["train_seconds"] for f in resumed) / 60
    backends = sorted({f.get("trained_with", "tensorflow") for f in resumed})
    return [f"{len(resumed)} of {len(folds)} folds reused weights saved by an earlier run with the same config and "
            f"training data (`--resume`): they were exported and scored again, not retrained. Their training took "
            f"{minutes:.1f} min then (Keras backend: {', '.join(backends)}), not included in the wall time above.", ""]


def _corpus_lines(report: dict[str, Any]) -> list[str]:
    corpora = report.get("by_corpus") or {}
    if not corpora:
        return []
    chance = {c: 100 / sum(r is not None for r in m["int8_runtime"]["recall"].values()) for c, m in corpora.items()}
    lines = ["", "Per corpus (no enrolment; each scored on the classes it has; chance = 100 / its classes):", "",
             "| corpus | clips | chance | UA int8 via runtime | WA | macro-F1 | UA float |",
             "|---|---|---|---|---|---|---|"]
    for corpus, m in corpora.items():
        r = m["int8_runtime"]
        lines.append(f"| {corpus} | {r['n']} | {chance[corpus]:.1f} | {100 * r['ua']:.1f} | {100 * r['wa']:.1f} | "
                     f"{100 * r['macro_f1']:.1f} | {100 * m['float']['ua']:.1f} |")
    mean = np.mean([m["int8_runtime"]["ua"] for m in corpora.values()])
    lines.append(f"| **mean over corpora** | | | **{100 * mean:.1f}** | | | |")
    return lines


def _calibration_lines(report: dict[str, Any]) -> list[str]:
    cal = report.get("calibration")
    if not cal:
        return []
    temperatures = ", ".join(f"{t:.2f}" for t in cal["temperatures"])
    return ["", f"Confidence (int8 via runtime, {cal['n']} test clips the gate passed): accuracy "
            f"{100 * cal['accuracy']:.1f} %, mean confidence {100 * cal['mean_confidence_before']:.1f} % without a "
            f"temperature and {100 * cal['mean_confidence_after']:.1f} % with each fold's; expected calibration error "
            f"{100 * cal['ece_before']:.1f} % -> {100 * cal['ece_after']:.1f} % (10 bins). Temperatures, fitted on "
            f"each fold's validation speakers: {temperatures}."]


def _markdown(report: dict[str, Any]) -> str:
    labels = report["labels"]
    lines = [f"# {report['title']}", "", f"Command: `{report['command']}`", ""]
    if report.get("merged_from"):
        lines += ["Merged from the fold subsets of:", "", *(f"- `{c}`" for c in report["merged_from"]), ""]
    lines += [
             f"Protocol: {report['protocol_text']}", "",
             f"Dataset: {report['dataset']} ({report['n_clips']} clips); {len(report['folds'])} folds run, "
             f"{sum(f['n_test'] for f in report['folds'])} clips tested. "
             f"Seed {report['config']['seed']}. Wall time {report['wall_minutes']:.1f} min "
             f"(training and scoring, all folds) on {report['machine']}.",
             f"Versions: {json.dumps(report['versions'])}", "",
             *_resumed_note(report["folds"]),
             "| model | test-time normalisation | UA | WA | macro-F1 | per-fold UA mean ± sd |",
             "|---|---|---|---|---|---|"]
    for mode, kinds in report["pooled"].items():
        for kind, title in ((k, t) for k, t in MODELS.items() if k in kinds):
            m = kinds[kind]
            lines.append(f"| {title} | {MODE_TEXT.get(mode, mode)} | {100 * m['ua']:.1f} | {100 * m['wa']:.1f} | "
                         f"{100 * m['macro_f1']:.1f} | {100 * m['fold_ua_mean']:.1f} ± {100 * m['fold_ua_sd']:.1f} |")
    speeds = report.get("test_speeds", [1.0])
    if speeds != [1.0]:
        lines += ["", f"Test-time speed averaging: `Recognizer(speeds=({', '.join(f'{s:g}' for s in speeds)}))` "
                  "averages the scores of each window played at these speeds (the speeds the model trained at); "
                  "the plain row uses the default, the window as it is."]
    refused = sum(p == metrics.REFUSED for f in report["folds"] for modes in f["modes"].values()
                  for kind, preds in modes.items() if kind.startswith("int8_runtime") for p in preds)
    if refused:
        lines += ["", f"The runtime's speech gate found no speech in {refused} test clip(s) (`NoSpeechError`, "
                  "summed over the runtime rows); each counts as a miss."]
    lines += ["", "int8 vs float on the same held-out features:", ""]
    for mode, kinds in report["pooled"].items():
        lines.append(f"- {MODE_TEXT.get(mode, mode)}: top-1 agreement {100 * kinds['agreement_int8_float']:.1f} %, "
                     f"UA drop {100 * kinds['ua_drop_int8']:.1f} points")
    best_mode = list(report["pooled"])[-1]
    recall = report["pooled"][best_mode]["int8_runtime"]["recall"]
    lines += ["", f"Per-class recall, int8 via runtime, {MODE_TEXT.get(best_mode, best_mode)}:", "",
              "| " + " | ".join(labels) + " |", "|" + "---|" * len(labels),
              "| " + " | ".join("n/a" if recall[lab] is None else f"{100 * recall[lab]:.1f}" for lab in labels)
              + " |",
              "", "Per fold (UA, int8 via runtime):", "", "| fold | test | val | best epoch | " +
              " | ".join(MODE_TEXT.get(m, m) for m in report["pooled"]) + " |",
              "|---|---|---|---|" + "---|" * len(report["pooled"])]
    for i, f in enumerate(report["folds"]):
        cells = [f"{100 * report['pooled'][m]['int8_runtime']['fold_ua'][i]:.1f}" for m in report["pooled"]]
        val = f["val_speaker"] or ("test fold" if report["protocol"] == "paper" else "none")
        val = f"{val.count(',') + 1} speakers" if "," in val else val
        lines.append(f"| {f['fold']} | {f['test_speaker'] or '-'} | {val} | {f['best_epoch']} | "
                     + " | ".join(cells) + " |")
    lines += _corpus_lines(report) + _calibration_lines(report)
    lines += ["", "Confusion matrices: " + ", ".join(f"`{Path(p).name}`" for p in report["plots"]), ""]
    return "\n".join(lines)


def write(report: dict[str, Any], stem: Path) -> None:
    """Write `stem`.json, `stem`.md and `stem`-<mode>.png."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    report["by_corpus"] = by_corpus(report["folds"], report["labels"])
    report["calibration"] = calibration(report["folds"])
    report["plots"] = []
    for mode, kinds in report["pooled"].items():
        png = stem.parent / f"{stem.name}-{mode}.png"
        _plot_confusion(np.asarray(kinds["int8_runtime"]["confusion"]), report["labels"],
                        f"{report['title']}\nint8 via runtime, {MODE_TEXT.get(mode, mode)}", png)
        report["plots"].append(str(png))
    stem.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    stem.with_suffix(".md").write_text(_markdown(report))
