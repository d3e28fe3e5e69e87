"""Same answers before and after a speed change: every EMO-DB clip through every bundled model.

    python -m scripts.speed_parity score OUT.json      # with the code to check on the path
    python -m scripts.speed_parity compare BEFORE.json AFTER.json [--markdown FILE]

`score` runs `Recognizer.predict` on each of the 535 clips as recorded (a 16 kHz WAV file, read
by path) and again as a 48 kHz 16-bit WAV in memory (the clip resampled with soxr's VHQ, so the
runtime's decode and resample stages both work), and writes every label and score. Run it once
with the old code first on PYTHONPATH (e.g. `git archive main` unpacked under /tmp, see
docs/speed.md), once with the new. `compare` counts the labels that changed and the largest
score difference, and exits 1 if any label changed.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import soundfile
import soxr

import lightser
from lightser import Recognizer
from lightser.errors import LightSERError
from lightser.model import bundled_models

EMODB_WAV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "emodb" / "wav"
HIGH_RATE = 48000


def as_48k_wav(path: Path) -> bytes:
    """The clip at `path` resampled to HIGH_RATE, as 16-bit WAV bytes."""
    samples, rate = soundfile.read(path, dtype="float32")
    buffer = io.BytesIO()
    soundfile.write(buffer, soxr.resample(samples, rate, HIGH_RATE, quality="VHQ"), HIGH_RATE, format="WAV",
                    subtype="PCM_16")
    return buffer.getvalue()


def answer(rec: Recognizer, source: Any) -> dict[str, Any]:
    """The label and scores `rec` gives `source`, or the error it raises."""
    try:
        prediction = rec.predict(source)
    except LightSERError as exc:
        return {"error": type(exc).__name__}
    return {"label": prediction.label, "scores": [prediction.scores[label] for label in rec.labels]}


def score(wav_dir: Path) -> dict[str, Any]:
    """model -> input ("16k" or "48k") -> clip name -> `answer`."""
    paths = sorted(wav_dir.glob("*.wav"))
    if not paths:
        raise SystemExit(f"no WAV files in {wav_dir}")
    high = {path.name: as_48k_wav(path) for path in paths}
    out: dict[str, Any] = {"lightser": str(Path(lightser.__file__).parent), "models": {}}
    for name in bundled_models():
        rec = Recognizer(name, num_threads=1)
        out["models"][name] = {"16k": {p.name: answer(rec, p) for p in paths},
                               "48k": {p.name: answer(rec, high[p.name]) for p in paths}}
        print(f"{name}: {len(paths)} clips x 2 rates", file=sys.stderr, flush=True)
    return out


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per model and input: clips, labels changed, largest |score difference|."""
    rows = []
    for model, inputs in after["models"].items():
        for rate, clips in inputs.items():
            old = before["models"][model][rate]
            changed = sum(old[clip].get("label", old[clip].get("error")) != new.get("label", new.get("error"))
                          for clip, new in clips.items())
            gaps = [np.max(np.abs(np.subtract(old[clip]["scores"], new["scores"])))
                    for clip, new in clips.items() if "scores" in new and "scores" in old[clip]]
            rows.append({"model": model, "input": rate, "clips": len(clips), "labels_changed": int(changed),
                         "max_score_difference": float(max(gaps, default=0.0))})
    return rows


def markdown(rows: list[dict[str, Any]], before: str, after: str) -> str:
    """The comparison as a Markdown table."""
    lines = ["| model | input | clips | labels changed | largest score difference |", "|---|---|---|---|---|"]
    lines += [f"| `{r['model']}` | {r['input']} | {r['clips']} | {r['labels_changed']} | "
              f"{r['max_score_difference']:.2g} |" for r in rows]
    return f"Before: `{before}`; after: `{after}`.\n\n" + "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """`score` or `compare` (see the module's docstring)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    scoring = sub.add_parser("score", help="score every clip with every bundled model")
    scoring.add_argument("out", type=Path)
    scoring.add_argument("--wav-dir", type=Path, default=EMODB_WAV)
    comparing = sub.add_parser("compare", help="compare two `score` outputs")
    comparing.add_argument("before", type=Path)
    comparing.add_argument("after", type=Path)
    comparing.add_argument("--markdown", type=Path, help="also write the table here")
    args = parser.parse_args(argv)
    if args.command == "score":
        args.out.write_text(json.dumps(score(args.wav_dir)) + "\n")
        return 0
    before, after = json.loads(args.before.read_text()), json.loads(args.after.read_text())
    rows = differences(before, after)
    text = markdown(rows, before["lightser"], after["lightser"])
    print(text, end="")
    if args.markdown:
        args.markdown.write_text(text)
    return 1 if any(r["labels_changed"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
