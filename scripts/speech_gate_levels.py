"""The speech gate and the model at any recording level, and on the bad recordings users have.

    python -m scripts.speech_gate_levels --corpora /work/corpora --out reports/speech-gate

Four measurements, written to OUT/report.md and OUT/report.json:

1. Speech refused: every EMO-DB clip and every clip under --corpora (recursive *.wav; optional,
   as CI lacks them) scaled to a peak of -50, -30, -10 and -1 dBFS and stored as 16-bit
   integers, as a recording made at that level would be, then cut into windows as
   `Recognizer` cuts them; a clip is refused when the gate of a default `Recognizer` lets
   none of its windows through (what makes `predict` raise `NoSpeechError`).
2. Sounds that are not speech at the same levels: those of `scripts/speech_gate.py`, plus a
   1 kHz tone, DTMF digits, clicks and digital silence, each as long as the EMO-DB clip it
   stands in for; music (a plucked melody) is measured, not required.
3. Level independence: `predict` with --model on each EMO-DB clip at peak -1, -30 and -50 dBFS
   (16-bit), and at -50 dBFS kept in float (the level without its 16-bit steps); top-1 agreement
   with -1 dBFS, and UA at each level.
4. Bad recordings: each EMO-DB clip made into one (written as a file where the damage is its
   format), through `predict`: UA and clips refused.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile
import soxr

from lightser import NoSpeechError, Recognizer, audio, windows
from lightser_export.datasets import EMODB_ROOT, load_emodb
from scripts import speech_gate

RATE = 16000
LEVELS_DB = (-50.0, -30.0, -10.0, -1.0)
AGREEMENT_LEVELS_DB = (-1.0, -30.0, -50.0)
Sound = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def at_peak(x: np.ndarray, peak_db: float) -> np.ndarray:
    """`x` scaled to a peak of `peak_db` dBFS and rounded to 16-bit steps (as a WAV at that level holds)."""
    scaled = np.asarray(x, np.float64) * (10 ** (peak_db / 20) / max(float(np.max(np.abs(x))), 1e-30))
    return (np.clip(np.round(scaled * 32768), -32768, 32767) / 32768).astype(np.float32)


def _dtmf(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """DTMF digits as dialled: 100 ms tone pairs (row 697-941 Hz, column 1209-1633 Hz), 100 ms gaps."""
    n = RATE // 10
    t = np.arange(n) / RATE
    y = np.zeros(len(x))
    for start in range(0, len(x) - n, 2 * n):
        low, high = rng.choice([697, 770, 852, 941]), rng.choice([1209, 1336, 1477, 1633])
        y[start : start + n] = np.sin(2 * np.pi * low * t) + np.sin(2 * np.pi * high * t)
    return y.astype(np.float32)


def _clicks(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Four clicks a second (10 ms decaying bursts of 0.5-3 kHz, as keys or a mouse) over faint noise."""
    y = 1e-3 * rng.standard_normal(len(x))
    ring = np.arange(RATE // 100)
    for start in rng.integers(0, max(1, len(x) - ring.size), max(1, 4 * len(x) // RATE)):
        hz = rng.uniform(500, 3000)
        y[start : start + ring.size] += np.exp(-ring / 20) * np.sin(2 * np.pi * hz * ring / RATE)
    return y.astype(np.float32)


NOT_SPEECH: dict[str, Sound] = {
    **speech_gate.OTHER,
    "a 1 kHz tone": speech_gate._tone(1000.0, 1),
    "DTMF digits, 100 ms on, 100 ms off": _dtmf,
    "a held DTMF digit (697 + 1209 Hz)": lambda x, rng: speech_gate._tone(697.0, 1)(x, rng)
    + speech_gate._tone(1209.0, 1)(x, rng),
    "clicks, 4 a second": _clicks,
}
MUSIC = "a plucked melody, 0.25 s notes of a scale at 220-440 Hz, 10 harmonics"


def _encoded(x: np.ndarray, rate: int, subtype: str, channels: int = 1, silent: int | None = None) -> bytes:
    """`x` (at 16 kHz) as a WAV file at `rate` in `subtype`; with `channels` 2, channel `silent` all zeros."""
    y = x if rate == RATE else soxr.resample(x, RATE, rate, quality=audio.RESAMPLE_QUALITY)
    if channels == 2:
        y = np.stack([y, y], axis=1)
        y[:, silent] = 0.0
    buffer = io.BytesIO()
    soundfile.write(buffer, np.clip(y, -1.0, 1.0), rate, subtype=subtype, format="WAV")
    return buffer.getvalue()


def _clipped(x: np.ndarray) -> np.ndarray:
    """Driven into full scale: 10 % of samples at +-1."""
    return np.clip(x / np.quantile(np.abs(x), 0.9), -1.0, 1.0).astype(np.float32)


def _after_silence(x: np.ndarray, noise_db: float | None) -> np.ndarray:
    """10 s of silence (digital zeros, or noise at `noise_db` dBFS RMS) before the clip."""
    lead = np.zeros(10 * RATE)
    if noise_db is not None:
        lead = 10 ** (noise_db / 20) * np.random.default_rng(0).standard_normal(lead.size)
    return np.concatenate([lead, x]).astype(np.float32)


BAD: dict[str, Callable[[np.ndarray], bytes]] = {
    "as recorded (16-bit WAV)": lambda x: _encoded(x, RATE, "PCM_16"),
    "DC offset of +0.2 full scale": lambda x: _encoded(0.7 * x + 0.2, RATE, "PCM_16"),
    "clipped: 10 % of samples at full scale": lambda x: _encoded(_clipped(x), RATE, "PCM_16"),
    "8-bit WAV": lambda x: _encoded(x, RATE, "PCM_U8"),
    "8-bit WAV at peak -30 dBFS": lambda x: _encoded(at_peak(x, -30.0), RATE, "PCM_U8"),
    "mu-law WAV": lambda x: _encoded(x, RATE, "ULAW"),
    "telephone: 8 kHz mu-law WAV": lambda x: _encoded(x, 8000, "ULAW"),
    "telephone: 8 kHz 16-bit WAV": lambda x: _encoded(x, 8000, "PCM_16"),
    "10 s of digital silence first": lambda x: _encoded(_after_silence(x, None), RATE, "PCM_16"),
    "10 s of room noise (-70 dBFS) first": lambda x: _encoded(_after_silence(x, -70.0), RATE, "PCM_16"),
    "stereo, right channel silent": lambda x: _encoded(x, RATE, "PCM_16", 2, 1),
    "stereo, left channel silent": lambda x: _encoded(x, RATE, "PCM_16", 2, 0),
}


def clip_passes(rec: Recognizer, x: np.ndarray, gate: windows.SpeechGate | None = None) -> bool:
    """Whether any window `rec` cuts from x passes its gate, or `gate` (else `predict` raises `NoSpeechError`)."""
    return any((gate or rec.gate)(w) for _, w in windows.sliding([x], rec.plan, "clip"))


def speech_refused(rec: Recognizer, corpora: dict[str, list[Path]]) -> dict[str, dict[str, int]]:
    """Per corpus: clips, and clips refused at each level."""
    out = {}
    for name, paths in corpora.items():
        refused = {f"{level:g}": 0 for level in LEVELS_DB}
        examples: list[str] = []
        for path in paths:
            x = audio.read(path, None, RATE)
            for level in LEVELS_DB:
                if not clip_passes(rec, at_peak(x, level)):
                    refused[f"{level:g}"] += 1
                    examples.append(f"{path.name} at {level:g} dBFS")
        out[name] = {"clips": len(paths), "refused": refused, "examples": examples[:5]}
        print(name, out[name], flush=True)
    return out


def not_speech(rec: Recognizer, clips: list[np.ndarray]) -> dict[str, dict[str, int]]:
    """Per sound: clips of it passed at each level (0 is the target but for music)."""
    out = {}
    for seed, (name, sound) in enumerate({**NOT_SPEECH, "digital silence": lambda x, rng: np.zeros_like(x)}.items()):
        made = [sound(x, np.random.default_rng([seed, i])) for i, x in enumerate(clips)]
        passed = {f"{level:g}": sum(clip_passes(rec, at_peak(y, level)) for y in made)
                  for level in LEVELS_DB}
        out[name] = {"clips": len(made), "passed": passed}
        print(name, out[name], flush=True)
    return out


def unweighted_accuracy(truth: list[str], predicted: list[str | None]) -> float:
    """Mean recall over the classes in `truth`; a refusal (None) counts as wrong."""
    return float(np.mean([np.mean([p == c for t, p in zip(truth, predicted) if t == c]) for c in sorted(set(truth))]))


def predictions(rec: Recognizer, sources: list, sample_rate: float | None) -> list[str | None]:
    """The label `predict` gives each source, None where it finds no speech."""
    out: list[str | None] = []
    for source in sources:
        try:
            out.append(rec.predict(source, sample_rate).label)
        except NoSpeechError:
            out.append(None)
    return out


def levels(rec: Recognizer, clips: list[np.ndarray], truth: list[str]) -> dict[str, dict[str, float]]:
    """UA, refusals and agreement with peak -1 dBFS, at each level of AGREEMENT_LEVELS_DB."""
    labels = {f"{level:g} dBFS": predictions(rec, [at_peak(x, level) for x in clips], RATE)
              for level in AGREEMENT_LEVELS_DB}
    quietest = min(AGREEMENT_LEVELS_DB)  # the same level kept in float: what the 16-bit steps alone cost
    labels[f"{quietest:g} dBFS in float (no 16-bit steps)"] = predictions(
        rec, [(x * 10 ** (quietest / 20) / max(float(np.max(np.abs(x))), 1e-30)).astype(np.float32) for x in clips],
        RATE)
    reference = labels["-1 dBFS"]
    return {key: {"ua": unweighted_accuracy(truth, got), "refused": sum(g is None for g in got),
                  "agreement": float(np.mean([g == r for g, r in zip(got, reference)]))}
            for key, got in labels.items()}


def bad_recordings(rec: Recognizer, clips: list[np.ndarray], truth: list[str]) -> dict[str, dict[str, float]]:
    """UA and refusals for each kind of bad recording in BAD."""
    out = {}
    for name, make in BAD.items():
        got = predictions(rec, [make(x) for x in clips], None)
        out[name] = {"ua": unweighted_accuracy(truth, got), "refused": sum(g is None for g in got)}
        print(name, out[name], flush=True)
    return out


def markdown(result: dict, command: str) -> str:
    """The report as Markdown."""
    heads = " | ".join(f"{level:g} dBFS" for level in LEVELS_DB)
    lines = ["# The speech gate at any level, and bad recordings", "", f"Command: `{command}`", "",
             __doc__.split("\n\n", 2)[2].strip(), "", f"Model: `{result['model']}`.", "",
             "## 1. Speech clips refused (target: 0)", "", f"| corpus | clips | {heads} |",
             "|---|---|" + "---|" * len(LEVELS_DB)]
    for name, row in result["speech"].items():
        lines.append(f"| {name} | {row['clips']} | " + " | ".join(str(v) for v in row["refused"].values()) + " |")
    examples = [e for row in result["speech"].values() for e in row["examples"]]
    lines += ["", "Refused: " + (", ".join(examples) if examples else "none") + ".", "",
              "## 2. Sounds that are not speech: clips let through (target: 0; music is measured only)", "",
              f"| sound | clips | {heads} |", "|---|---|" + "---|" * len(LEVELS_DB)]
    for name, row in result["not_speech"].items():
        shown = f"{name} (music)" if name == MUSIC else name
        lines.append(f"| {shown} | {row['clips']} | " + " | ".join(str(v) for v in row["passed"].values()) + " |")
    lines += ["", "## 3. The same EMO-DB clip at other levels (target: agreement >= 98 %)", "",
              "| peak level | UA | refused | top-1 agreement with -1 dBFS |", "|---|---|---|---|"]
    for key, row in result["levels"].items():
        lines.append(f"| {key} | {100 * row['ua']:.1f} % | {row['refused']} | {100 * row['agreement']:.1f} % |")
    lines += ["", "## 4. Bad recordings (EMO-DB clips made into them)", "", "| recording | UA | refused |",
              "|---|---|---|"]
    for name, row in result["bad"].items():
        lines.append(f"| {name} | {100 * row['ua']:.1f} % | {row['refused']} of {len(result['truth'])} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=EMODB_ROOT, type=Path, help="EMO-DB folder")
    parser.add_argument("--corpora", type=Path, help="folder of more corpora, one sub-folder each (*.wav inside)")
    parser.add_argument("--model", help="model to predict with (default: the bundled default)")
    parser.add_argument("--out", default="reports/speech-gate", type=Path)
    args = parser.parse_args()
    emodb = load_emodb(args.data).utterances
    corpora = {"EMO-DB": sorted(u.path for u in emodb)}
    if args.corpora is not None:
        for folder in sorted(p for p in args.corpora.iterdir() if p.is_dir()):
            corpora[folder.name] = sorted(p for p in folder.rglob("*.wav") if p.is_file())
    clips = [audio.read(u.path, None, RATE) for u in emodb]
    truth = [u.label for u in emodb]
    rec = Recognizer(args.model)
    result = {"model": rec.model.metadata.name, "truth": truth, "speech": speech_refused(rec, corpora),
              "not_speech": not_speech(rec, clips), "levels": levels(rec, clips, truth),
              "bad": bad_recordings(rec, clips, truth)}
    command = "python -m scripts.speech_gate_levels" + (f" --corpora {args.corpora}" if args.corpora else "") + (
        f" --model {args.model}" if args.model else "") + f" --out {args.out}"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps({k: v for k, v in result.items() if k != "truth"}, indent=1))
    (args.out / "report.md").write_text(markdown(result, command))


if __name__ == "__main__":
    main()
