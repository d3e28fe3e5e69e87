"""What weighting a clip's windows by the share of them the sound fills changes: for every bundled
model without per-speaker normalisation, how many of EMO-DB's clips get another label from
`predict` (weighted) than from a plain mean of the same speech windows' scores.

    python -m scripts.window_weights --out reports/speech-gate/window-weights.md
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from lightser import Recognizer, audio, bundled_models, windows
from lightser_export.datasets import EMODB_ROOT, load_emodb


def changed(rec: Recognizer, clips: list[np.ndarray]) -> tuple[int, int]:
    """(clips whose label the weights change, clips with two or more speech windows)."""
    scorer, moved, several = rec.scorer, 0, 0
    for x in clips:
        scores, weights = [], []
        for _, window in windows.sliding([x], rec.plan, "clip"):
            refusal, share = scorer.judge(window)
            if refusal is None:
                scores.append(scorer.scores(window))
                weights.append(share)
        if len(scores) > 1:
            several += 1
            moved += int(np.mean(scores, axis=0).argmax() != np.average(scores, axis=0, weights=weights).argmax())
    return moved, several


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m scripts.window_weights", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=EMODB_ROOT)
    parser.add_argument("--out", type=Path, default=Path("reports/speech-gate/window-weights.md"))
    args = parser.parse_args()
    clips = [audio.read(u.path, None, 16000) for u in load_emodb(args.data).utterances]
    lines = ["# Weighted windows against a plain mean", "",
             f"Command: `python -m scripts.window_weights --out {args.out}`", "", __doc__.split("\n\n")[0], "",
             "| model | labels changed | clips with 2+ speech windows | clips |", "|---|---|---|---|"]
    for name in bundled_models():
        rec = Recognizer(name)
        if rec.recipe.normalisation != "speaker":
            moved, several = changed(rec, clips)
            lines.append(f"| {name} | {moved} | {several} | {len(clips)} |")
    args.out.write_text("\n".join(lines) + "\n")
    print(args.out.read_text())


if __name__ == "__main__":
    main()
