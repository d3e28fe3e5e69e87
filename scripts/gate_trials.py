"""Trials of changes to the speech gate's voice check against brown noise flat below 100 Hz, which
the gate let through now and then until its comb test (min-comb) was kept; the others were not.
Each variant patches one step of `windows`, or sets a field of the gate (min-comb):

- tilt a: each frame's spectrum times |1 - a e^-jw|^2 (a pre-emphasis) before the pitch search
  and the tone test (`windows.power_spectra`);
- compress p: the pitch search on the power spectrum raised to p (1: the shipped gate; 0.5: the
  autocorrelation of the magnitude), the tone test as shipped (`windows.periodicity_of`);
- mid-share s: a frame with less than s of its power between 300 and 3 400 Hz is not a voice
  (marked as a tone; `windows.tone_frames`);
- min-comb r: the gate's comb test (`windows.comb_ratio`: a voice's harmonics stand r times above
  the valleys between them) at r instead of the shipped 3; 0 turns it off.

Prints, for each value (0 for tilt and mid-share, 1 for compress, 3 for min-comb: the shipped gate),
the clips of EMO-DB length let through of 535 for brown noise and dialled DTMF at -30 dBFS, and
EMO-DB's clips refused under white and pink noise (the conditions of `scripts.speech_gate`) and as
recorded, at -30 dBFS.

    python -m scripts.gate_trials --variant tilt --values 0,0.3,0.5
    python -m scripts.gate_trials --variant compress --values 1,0.5,0.33
    python -m scripts.gate_trials --variant mid-share --values 0,0.5
    python -m scripts.gate_trials --variant min-comb --values 0,1.5,2,3,4,8
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any, Callable

import numpy as np

from lightser import Recognizer, audio, windows
from lightser_export.datasets import EMODB_ROOT, load_emodb
from scripts import speech_gate
from scripts.speech_gate_levels import NOT_SPEECH, RATE, at_peak, clip_passes

NOISE = ("brown noise (flat below 100 Hz)", "brown noise down to 1 Hz", "DTMF digits, 100 ms on, 100 ms off")
NOISY = ("white noise, 0 dB SNR", "pink noise, 0 dB SNR", "white noise, 5 dB SNR", "as recorded")
LEVEL_DB = -30.0
MID_HZ = (300.0, 3400.0)


def tilted(spectra: Callable[..., np.ndarray], a: float) -> Callable[..., np.ndarray]:
    """`spectra` (windows.power_spectra) with each row times |1 - a e^-jw|^2."""
    def power(rows: np.ndarray, rate: float, cut_hz: float) -> np.ndarray:
        p = spectra(rows, rate, cut_hz)
        w = np.pi * np.arange(p.shape[1]) / (p.shape[1] - 1)
        return p * (1.0 + a * a - 2.0 * a * np.cos(w))
    return power


def compressed(periodicity: Callable[..., Any], p: float) -> Callable[..., Any]:
    """`periodicity` (windows.periodicity_of) of the power spectrum raised to `p`."""
    return lambda power, rate, pitch_hz: periodicity(power**p, rate, pitch_hz)


def mid_share(tones: Callable[..., Any], least: float) -> Callable[..., Any]:
    """`tones` (windows.tone_frames) also marking frames with under `least` of their power in MID_HZ
    (at the gate's 8 kHz)."""
    def tone_frames(power: np.ndarray, max_share: float, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tonal, pairs = tones(power, max_share, pairs)
        hz = np.arange(power.shape[1]) * windows.PITCH_RATE / 2 / (power.shape[1] - 1)
        mid = power[:, (hz >= MID_HZ[0]) & (hz <= MID_HZ[1])].sum(axis=1) / np.maximum(power.sum(axis=1), 1e-30)
        return tonal | (mid < least), pairs
    return tone_frames


VARIANTS = {"tilt": ("power_spectra", tilted), "compress": ("periodicity_of", compressed),
            "mid-share": ("tone_frames", mid_share)}
FIELDS = {"min-comb": "min_comb"}  # variants that set a `SpeechGate` field instead


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m scripts.gate_trials", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", choices=[*VARIANTS, *FIELDS], default="tilt")
    parser.add_argument("--values", default="0,0.3,0.5", help="the variant's values, comma-separated")
    parser.add_argument("--data", type=Path, default=EMODB_ROOT)
    args = parser.parse_args()
    rec = Recognizer()
    clips = [audio.read(u.path, None, RATE) for u in load_emodb(args.data).utterances]
    step, patch = VARIANTS.get(args.variant, ("power_spectra", None))
    shipped, gate = getattr(windows, step), rec.gate
    try:
        for value in map(float, args.values.split(",")):
            if patch is None:
                gate = dataclasses.replace(rec.gate, **{FIELDS[args.variant]: value})
            else:
                setattr(windows, step, patch(shipped, value))
            tag = f"{args.variant}={value:g}"
            for seed, (name, sound) in enumerate(NOT_SPEECH.items()):
                if name in NOISE:
                    made = [sound(x, np.random.default_rng([seed, i])) for i, x in enumerate(clips)]
                    passed = sum(clip_passes(rec, at_peak(y, LEVEL_DB), gate) for y in made)
                    print(f"{tag}\t{name}: let through\t{passed}", flush=True)
            for seed, name in enumerate(NOISY):
                made = [speech_gate.SPEECH[name](x, np.random.default_rng([seed, i])) for i, x in enumerate(clips)]
                refused = sum(not clip_passes(rec, at_peak(y, LEVEL_DB), gate) for y in made)
                print(f"{tag}\tspeech, {name}: refused\t{refused}", flush=True)
    finally:
        setattr(windows, step, shipped)


if __name__ == "__main__":
    main()
