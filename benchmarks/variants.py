"""Model variants: the default `general-int8` (the same network, trained on eight corpora), its
float32 twin and its per-speaker twin `general-speaker-int8`, UA from leaving each corpus out;
full-integer int8, float32, float16 and dynamic-range (weights-only int8, what the original
Light-SERNet code exported) of the studio model `emodb-int8`; `emodb-robust-int8` (trained also
under recording conditions) and the per-speaker `emodb-speaker-int8`, UA from EMO-DB's leave one
speaker out: size, latency and UA.

A variant's model is `models/emodb-<variant>.tflite` when present, otherwise (studio model
only) it is converted here from the trained Keras weights (`lightser-train fit` leaves them in
runs/fit-emodb/). UA comes from each model's leave-one-speaker-out report when it has the variant.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from lightser.metadata import read_metadata, sidecar_path

from .common import CACHE, ROOT, bench_report, shown

ROBUST_VARIANT = "robust-int8"  # the EMO-DB model trained also under recording conditions
SPEAKER_VARIANT = "speaker-int8"  # the per-speaker model; the others are exports of the studio model
VARIANTS = (ROBUST_VARIANT, "int8", "float32", "float16", "dynamic-range", SPEAKER_VARIANT)
MODELS = ROOT / "models"
LOCO_REPORT = ROOT / "reports" / "general" / "steps-4k" / "loco-4k.json"
LOCO_ENROLLED_REPORT = ROOT / "reports" / "general" / "loco-enrolled" / "loco-enrolled.json"
# general model -> (its leave-one-corpus-out report, the report's model kind for it)
GENERAL = {"general-int8": (LOCO_REPORT, "int8_runtime"), "general-float32": (LOCO_REPORT, "float"),
           "general-speaker-int8": (LOCO_ENROLLED_REPORT, "int8_runtime")}
WEIGHTS = ROOT / "runs" / "fit-emodb" / "best.weights.h5"
REPORT = ROOT / "reports" / "emodb-loso" / "studio" / "emodb-loso-speed-h200.json"
SPEAKER_REPORT = ROOT / "reports" / "emodb-loso" / "speaker" / "emodb-loso-speaker-speed.json"
ROBUST_REPORT = ROOT / "reports" / "emodb-loso" / "robust" / "emodb-loso-corrupt.json"
# report model kind whose pooled UA belongs to each variant, and what it is
UA_TEXT = {"int8_runtime": "int8 TFLite through lightser.Recognizer",
           "float": "Keras float32: the same network as the float32 TFLite model"}
UA_KINDS = {"int8": ("int8_runtime", UA_TEXT["int8_runtime"]), "float32": ("float", UA_TEXT["float"])}


def convert(variant: str, reference: Path, weights: Path, out_dir: Path) -> Path:
    """Build the network `reference`'s metadata describes, load `weights`, export `variant`."""
    from lightser_export import convert as export
    from lightser_export import network

    meta = read_metadata(sidecar_path(reference))
    config = meta.training.get("config", {})
    model = network.build(meta.recipe.shape, len(meta.labels), l2=config.get("l2", 1e-6),
                          dropout=config.get("dropout", 0.3))
    model.load_weights(weights)
    path = out_dir / f"emodb-{variant}.tflite"
    training = {**meta.training, "converted_from": str(weights)}
    export.write_model(export.to_tflite(model, variant), path, meta.labels, meta.recipe, variant, training)
    return path


def locate(weights: Path = WEIGHTS) -> dict[str, Any]:
    """variant -> (path, where it came from), or a string saying why it is missing."""
    found: dict[str, Any] = {}
    reference = MODELS / "emodb-int8.tflite"
    for variant in VARIANTS:
        shipped = MODELS / f"emodb-{variant}.tflite"
        if shipped.is_file():
            found[variant] = (shipped, "models/")
        elif variant in ("int8", SPEAKER_VARIANT, ROBUST_VARIANT):
            found[variant] = f"missing: no {shown(shipped)}"
        elif weights.is_file():
            found[variant] = (convert(variant, reference, weights, CACHE / "models"),
                              f"converted from {shown(weights)}")
        else:
            found[variant] = f"missing: no {shown(shipped)} and no Keras weights at {shown(weights)}"
    return found


def locate_general() -> dict[str, Any]:
    """general model -> (path, "models/"), or a string saying why it is missing."""
    paths = {name: MODELS / f"{name}.tflite" for name in GENERAL}
    return {name: (path, "models/") if path.is_file() else f"missing: no {shown(path)}" for name, path in paths.items()}


def general_ua(general: dict[str, tuple[Path, str]] = GENERAL) -> dict[str, Any]:
    """general model -> {test-time normalisation mode: UA averaged over the corpora left out}, where
    its report (in `general`) is; each fold of a leave-one-corpus-out report is one corpus."""
    pooled = {path: json.loads(path.read_text())["pooled"] for path, _ in general.values() if path.is_file()}
    return {name: {"ua": {mode: float(np.mean(modes[kind]["fold_ua"])) for mode, modes in pooled[path].items()},
                   "source": f"{shown(path)}: leave one corpus out, mean over corpora ({UA_TEXT[kind]})"}
            for name, (path, kind) in general.items() if path in pooled}


def _reports(report: Path, speaker_report: Path, robust_report: Path) -> dict[str, Path]:
    """variant -> the LOSO report its UA comes from."""
    return {**{variant: report for variant in VARIANTS}, SPEAKER_VARIANT: speaker_report, ROBUST_VARIANT: robust_report}


def report_ua(report: Path = REPORT, speaker_report: Path = SPEAKER_REPORT,
              robust_report: Path = ROBUST_REPORT) -> dict[str, Any]:
    """variant -> {test-time normalisation mode: pooled UA} from the LOSO reports, where they have them."""
    out = {}
    for path, kinds in ((report, UA_KINDS), (speaker_report, {SPEAKER_VARIANT: UA_KINDS["int8"]}),
                        (robust_report, {ROBUST_VARIANT: UA_KINDS["int8"]})):
        if path.is_file():
            pooled = json.loads(path.read_text())["pooled"]
            out.update({variant: {"ua": {mode: modes[kind]["ua"] for mode, modes in pooled.items()},
                                  "source": f"{shown(path)}: {text}"}
                        for variant, (kind, text) in kinds.items()})
    return out


def _no_ua(variant: str, report: Path) -> str:
    if report.is_file():
        return f"not measured: {shown(report)} has no {variant} figures"
    return f"missing: no {shown(report)} (run `lightser-train eval` first)"


def measure(runs: int, warmup: int, weights: Path = WEIGHTS, report: Path = REPORT,
            speaker_report: Path = SPEAKER_REPORT, robust_report: Path = ROBUST_REPORT) -> list[dict[str, Any]]:
    """One record per variant: its `lightser bench` report and UA, or why either is missing."""
    ua = {**general_ua(), **report_ua(report, speaker_report, robust_report)}
    own_reports = {**{name: path for name, (path, _) in GENERAL.items()},
                   **_reports(report, speaker_report, robust_report)}
    records = []
    for variant, found in {**locate_general(), **locate(weights)}.items():
        record: dict[str, Any] = {"variant": variant}
        if isinstance(found, str):
            record["missing"] = found
        else:
            record.update(path=str(found[0]), origin=found[1], bench=bench_report(found[0], runs, warmup))
        record.update(ua.get(variant) or {"ua": None, "source": _no_ua(variant, own_reports[variant])})
        records.append(record)
    return records
