"""The speech gate's pitch range (`SpeechGate.pitch_hz`): speech clips refused and sounds that are not
speech let through, for the shipped 60-400 Hz and two wider ranges (a high excited voice, as ASED's
`h3-06-02-02-30.wav`, sits at the top of the shipped range).

Speech: every EMO-DB clip and every clip under --corpora at peak -1 dBFS (16-bit), refused when no
window passes. Not speech: the sounds of `scripts.speech_gate_levels` at -30 dBFS, clips passed.

    python -m scripts.gate_pitch_range --corpora /work/corpora --out reports/speech-gate/pitch-range.md
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from lightser import Recognizer, audio
from lightser_export.datasets import EMODB_ROOT, load_emodb
from scripts.speech_gate_levels import NOT_SPEECH, RATE, at_peak, clip_passes

RANGES = ((60.0, 400.0), (60.0, 500.0), (60.0, 600.0))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m scripts.gate_pitch_range", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=EMODB_ROOT)
    parser.add_argument("--out", type=Path, default=Path("reports/speech-gate/pitch-range.md"))
    args = parser.parse_args()
    rec = Recognizer()
    gates = {f"{low:g}-{high:g} Hz": dataclasses.replace(rec.gate, pitch_hz=(low, high)) for low, high in RANGES}
    emodb = load_emodb(args.data).utterances
    clips = [audio.read(u.path, None, RATE) for u in emodb]
    rows = []
    for name, make in NOT_SPEECH.items():
        made = [at_peak(make(x, np.random.default_rng([7, i])), -30.0) for i, x in enumerate(clips)]
        rows.append((f"{name} (let through, of {len(made)})", [sum(clip_passes(rec, y, g) for y in made)
                                                                for g in gates.values()]))
    files = sorted(p for p in args.corpora.rglob("*.wav") if p.is_file()) + [u.path for u in emodb]
    refused: dict[str, list[str]] = {name: [] for name in gates}
    for path in files:
        x = at_peak(audio.read(path, None, RATE), -1.0)
        for name, gate in gates.items():
            if not clip_passes(rec, x, gate):
                refused[name].append(path.name)
    rows.insert(0, (f"speech refused, of {len(files)}", [len(v) for v in refused.values()]))
    lines = ["# The speech gate's pitch range", "", f"Command: `python -m scripts.gate_pitch_range --corpora "
             f"{args.corpora} --out {args.out}`", "", __doc__.split("\n\n")[1].strip(), "",
             "| | " + " | ".join(gates) + " |", "|---|" + "---|" * len(gates)]
    lines += [f"| {name} | " + " | ".join(str(v) for v in values) + " |" for name, values in rows]
    lines += ["", "Speech refused: " + "; ".join(f"{k}: {', '.join(v) or 'none'}" for k, v in refused.items()) + "."]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(args.out.read_text())


if __name__ == "__main__":
    main()
