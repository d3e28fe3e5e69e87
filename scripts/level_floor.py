"""Whether a higher log floor makes a quiet 16-bit recording read like a loud one: the level
table of `speech_gate_levels` (EMO-DB's clips at peak -1, -30 and -50 dBFS as 16-bit PCM, and
-50 dBFS in float) for a model scored with its recipe's `log_offset` set to each of --offsets
(raised without retraining, or a model trained with a high one scored at its own).
Each window is scaled to its own 99.9th-percentile amplitude before the MFCC, so the offset
is a floor relative to the window: raising it masks what lies below, such as the rounding
noise of a recording with few significant bits.

    python -m scripts.level_floor --offsets 1e-6,1e-4,1e-3,1e-2 --out reports/speech-gate/level-floor.md
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from lightser import Recognizer, audio
from lightser_export.datasets import EMODB_ROOT, load_emodb
from scripts.speech_gate_levels import RATE, levels


def with_offset(model: str, offset: float) -> Recognizer:
    """A Recognizer for `model` whose feature recipe has `log_offset=offset`."""
    rec = Recognizer(model)
    object.__setattr__(rec, "recipe", dataclasses.replace(rec.recipe, log_offset=offset))
    return rec


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m scripts.level_floor", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=EMODB_ROOT)
    parser.add_argument("--model", default="general-int8")
    parser.add_argument("--offsets", default="1e-6,1e-4,1e-3,1e-2", help="log offsets, comma-separated")
    parser.add_argument("--out", type=Path, default=Path("reports/speech-gate/level-floor.md"))
    args = parser.parse_args()
    emodb = load_emodb(args.data).utterances
    clips = [audio.read(u.path, None, RATE) for u in emodb]
    truth = [u.label for u in emodb]
    offsets = [float(value) for value in args.offsets.split(",")]
    rows = {offset: levels(with_offset(args.model, offset), clips, truth) for offset in offsets}
    heads = list(rows[offsets[0]])
    lines = ["# A higher log floor against 16-bit rounding at low levels", "",
             f"Command: `python -m scripts.level_floor --model {args.model} --offsets {args.offsets} "
             f"--out {args.out}`", "", __doc__.split("\n\n")[0].replace("\n", " "), "",
             f"Model: `{args.model}` (trained with log_offset {Recognizer(args.model).recipe.log_offset:g}). "
             "Each cell: UA / top-1 agreement with -1 dBFS, "
             f"over EMO-DB's {len(clips)} clips.", "",
             "| log_offset | " + " | ".join(heads) + " |", "|---" * (len(heads) + 1) + "|"]
    for offset, row in rows.items():
        lines.append(f"| {offset:g} | " + " | ".join(
            f"{100 * row[h]['ua']:.1f} % / {100 * row[h]['agreement']:.1f} %" for h in heads) + " |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
