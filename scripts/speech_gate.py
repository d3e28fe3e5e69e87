"""Which windows the runtime's speech gate lets through: EMO-DB speech, clean and degraded, against
sounds that are not speech.

    python -m scripts.speech_gate --out reports/speech-gate/conditions.md

Every clip is cut into windows as `lightser.Recognizer` cuts it (3 s, hop 1.5 s) and each window
is put to the gate of a default `Recognizer` (loudness, and voicing) and to the loudness check
alone. Degradations come from `lightser_export.corrupt`, drawn per clip with fixed seeds. The
sounds that are not speech are as long as the EMO-DB clip they stand in for, at -30 dBFS RMS.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Callable

import numpy as np

from lightser import Recognizer, audio, windows
from lightser_export import corrupt
from lightser_export.datasets import EMODB_ROOT, load_emodb

RATE = 16000
LEVEL = 10 ** (-30 / 20)
Condition = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _noise(exponent: float, flat_below_hz: float = corrupt.FLAT_BELOW_HZ) -> Condition:
    return lambda x, rng: LEVEL * corrupt.coloured_noise(len(x), exponent, RATE, rng, flat_below_hz)


def _noisy(exponent: float, snr_db: float) -> Condition:
    return lambda x, rng: corrupt.add_noise(x, corrupt.coloured_noise(len(x), exponent, RATE, rng), snr_db)


def _tone(hz: float, harmonics: int, vibrato: float = 0.0) -> Condition:
    """A tone with `harmonics` harmonics of falling strength whose pitch wavers by +-`vibrato`
    (0: steady, as mains hum or a held electronic note; a sung note wavers)."""

    def make(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        t = np.arange(len(x)) / RATE
        phase = 2 * np.pi * np.cumsum(hz * (1 + vibrato * np.sin(2 * np.pi * 5 * t))) / RATE + rng.uniform(0, 6.3)
        y = sum(np.sin(k * phase) / k for k in range(1, harmonics + 1))
        return (LEVEL * y / np.sqrt(np.mean(y**2))).astype(np.float32)

    return make


def _melody(note_seconds: float, harmonics: int) -> Condition:
    """A tune: random notes of the A major scale (220-440 Hz), each `note_seconds` long, plucked
    (each note decays), with `harmonics` harmonics of falling strength."""
    scale = 220.0 * 2 ** (np.array([0, 2, 4, 5, 7, 9, 11, 12]) / 12)

    def make(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n = int(note_seconds * RATE)
        hz = np.repeat(rng.choice(scale, len(x) // n + 1), n)[: len(x)]
        phase = 2 * np.pi * np.cumsum(hz) / RATE
        decay = np.exp(-3.0 * (np.arange(len(x)) % n) / n)
        y = decay * sum(np.sin(k * phase) / k for k in range(1, harmonics + 1))
        return (LEVEL * y / np.sqrt(np.mean(y**2))).astype(np.float32)

    return make


def _plus(condition: Condition, snr_db: float) -> Condition:
    """The clip with the sound `condition` makes mixed in at `snr_db`."""
    return lambda x, rng: corrupt.add_noise(x, condition(x, rng), snr_db)


def _burst(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The clip at -45 dBFS RMS, then 20 ms of full-scale noise half a second in."""
    y = (x * 10 ** (-45 / 20) / np.sqrt(np.mean(x**2))).astype(np.float32)
    y[RATE // 2 : RATE // 2 + RATE // 50] = rng.uniform(-1, 1, RATE // 50)
    return y


def _middle(seconds: float) -> Condition:
    n = int(seconds * RATE)
    return lambda x, rng: x[max(0, (len(x) - n) // 2) :][:n]


SPEECH: dict[str, Condition] = {
    "as recorded": lambda x, rng: x,
    "white noise, 10 dB SNR": _noisy(0.0, 10.0),
    "white noise, 5 dB SNR": _noisy(0.0, 5.0),
    "white noise, 0 dB SNR": _noisy(0.0, 0.0),
    "pink noise, 0 dB SNR": _noisy(1.0, 0.0),
    "telephone band (through 8 kHz)": lambda x, rng: corrupt.band_limit(x, RATE, 8000),
    "reverberation, RT60 0.8 s": lambda x, rng: corrupt.reverberate(x, corrupt.room_impulse(RATE, 0.8, rng)),
    "the middle 0.5 s only": _middle(0.5),
    "40 Hz rumble 10 dB above it": _plus(_tone(40.0, 1), -10.0),
    "60 Hz mains hum with 10 harmonics, 0 dB SNR": _plus(_tone(60.0, 10), 0.0),
    "at -45 dBFS beside a 20 ms full-scale burst": _burst,
}
OTHER: dict[str, Condition] = {
    "white noise": _noise(0.0),
    "pink noise (as in training: flat below 100 Hz)": _noise(1.0),
    "brown noise (flat below 100 Hz)": _noise(2.0),
    "pink noise down to 1 Hz": _noise(1.0, 1.0),
    "brown noise down to 1 Hz": _noise(2.0, 1.0),
    "mains hum, 50 Hz with 10 harmonics": _tone(50.0, 10),
    "mains hum, 60 Hz with 10 harmonics": _tone(60.0, 10),
    "rectified hum, 100 Hz with 10 harmonics": _tone(100.0, 10),
    "rectified hum, 120 Hz with 10 harmonics": _tone(120.0, 10),
    "a steady note, 220 Hz with 10 harmonics": _tone(220.0, 10),
    "a sung note, 220 Hz with 10 harmonics and 2 % vibrato": _tone(220.0, 10, 0.02),
    "a plucked melody, 0.25 s notes of a scale at 220-440 Hz, 10 harmonics": _melody(0.25, 10),
}


def window_passes(rec: Recognizer, x: np.ndarray) -> list[tuple[bool, bool]]:
    """(passes the loudness check, passes the whole gate) for each window `rec` cuts from x."""
    loudness = dataclasses.replace(rec.gate, voicing=False)
    return [(loudness(w), rec.gate(w)) for _, w in windows.sliding([x], rec.plan, "clip")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=EMODB_ROOT, type=Path)
    parser.add_argument("--out", default="reports/speech-gate/conditions.md", type=Path)
    args = parser.parse_args()
    clips = [audio.read(u.path, None, RATE) for u in load_emodb(args.data).utterances]
    rec = Recognizer()
    lines = ["# The speech gate on EMO-DB speech and on sounds that are not speech", "",
             f"Command: `python -m scripts.speech_gate --out {args.out}`", "",
             __doc__.split("\n\n", 2)[2].strip(), "",
             "A clip with no window through the gate raises `NoSpeechError` in `predict`.", "",
             "| input | windows | through the loudness check | through the whole gate | clips with no window through |",
             "|---|---|---|---|---|"]
    for seed, (name, condition) in enumerate({**SPEECH, **OTHER}.items()):
        per_clip = [window_passes(rec, condition(x, np.random.default_rng([seed, i]))) for i, x in enumerate(clips)]
        flat = np.array([p for clip in per_clip for p in clip])
        refused = sum(not any(gate for _, gate in clip) for clip in per_clip)
        kind = "EMO-DB speech, " + name if name in SPEECH else name
        lines.append(f"| {kind} | {len(flat)} | {100 * flat[:, 0].mean():.1f} % | {100 * flat[:, 1].mean():.1f} % "
                     f"| {refused} of {len(clips)} |")
        print(lines[-1], flush=True)
    args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
