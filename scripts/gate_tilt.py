"""A trial, not kept: the speech gate with each frame's spectrum tilted up (a pre-emphasis
1 - a z^-1, as power weights on `windows.power_spectra`' output) before the pitch search, against
brown noise flat below 100 Hz, which the shipped gate lets through now and then.

Prints, for each coefficient a (0: the shipped gate), the clips of EMO-DB length let through of
535 for brown noise and dialled DTMF at -30 dBFS, and EMO-DB's clips refused under white and
pink noise (the conditions of `scripts.speech_gate`), at -30 dBFS.

    python -m scripts.gate_tilt --tilts 0,0.3,0.5
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

import numpy as np

from lightser import Recognizer, audio, windows
from lightser_export.datasets import EMODB_ROOT, load_emodb
from scripts import speech_gate
from scripts.speech_gate_levels import NOT_SPEECH, RATE, at_peak, clip_passes

NOISE = ("brown noise (flat below 100 Hz)", "brown noise down to 1 Hz", "DTMF digits, 100 ms on, 100 ms off")
NOISY = ("white noise, 0 dB SNR", "pink noise, 0 dB SNR", "white noise, 5 dB SNR")
LEVEL_DB = -30.0


def tilted(spectra: Callable[..., np.ndarray], a: float) -> Callable[..., np.ndarray]:
    """`spectra` (windows.power_spectra) with each row times |1 - a e^-jw|^2."""
    def power(rows: np.ndarray, rate: float, cut_hz: float) -> np.ndarray:
        p = spectra(rows, rate, cut_hz)
        w = np.pi * np.arange(p.shape[1]) / (p.shape[1] - 1)
        return p * (1.0 + a * a - 2.0 * a * np.cos(w))
    return power


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m scripts.gate_tilt", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tilts", default="0,0.3,0.5", help="pre-emphasis coefficients, comma-separated")
    parser.add_argument("--data", type=Path, default=EMODB_ROOT)
    args = parser.parse_args()
    rec = Recognizer()
    clips = [audio.read(u.path, None, RATE) for u in load_emodb(args.data).utterances]
    shipped = windows.power_spectra
    for a in map(float, args.tilts.split(",")):
        windows.power_spectra = tilted(shipped, a)
        for seed, (name, sound) in enumerate(NOT_SPEECH.items()):
            if name in NOISE:
                made = [sound(x, np.random.default_rng([seed, i])) for i, x in enumerate(clips)]
                print(f"a={a:g}\t{name}: let through\t{sum(clip_passes(rec, at_peak(y, LEVEL_DB)) for y in made)}",
                      flush=True)
        for seed, name in enumerate(NOISY):
            made = [speech_gate.SPEECH[name](x, np.random.default_rng([seed, i])) for i, x in enumerate(clips)]
            print(f"a={a:g}\tspeech, {name}: refused\t{sum(not clip_passes(rec, at_peak(y, LEVEL_DB)) for y in made)}",
                  flush=True)
    windows.power_spectra = shipped


if __name__ == "__main__":
    main()
