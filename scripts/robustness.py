"""How the models hold up off the studio floor: EMO-DB leave one speaker out, int8 via the runtime,
each test clip also scored under noise, telephone band-limiting and reverberation.

    python -m scripts.robustness runs/h200/emodb-loso-speed-h200 runs/emodb-loso-speed \\
        --out reports/robustness/robustness.md

Each fold's `model-int8.tflite` (trained without its test speaker) scores every clip of that
speaker through `lightser.Recognizer.predict`, as recorded and under each condition below.
Conditions are applied to the 16 kHz waveform with `lightser_export.corrupt`, drawn per clip with
fixed seeds (the same for every model). Babble is four other speakers' EMO-DB clips summed, a
kind of noise no training recipe here uses; those speakers trained the fold's model, so it has
heard these very utterances (with their labels) as speech; the other conditions come from the same generators
as `--corrupt` training, at fixed settings, with other random draws. "agrees" is the share of
clips whose label is the same as for the clip as recorded. "refused" counts clips in which the
runtime's speech gate found no speech (`NoSpeechError`); they count as misses. Fold models that
standardise per speaker (the enrolment model) are enrolled for each clip with `speaker_stats` over
the speaker's other clips under the same condition (other draws), never the scored clip itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from lightser import NoSpeechError, Recognizer, audio
from lightser_export import corrupt
from lightser_export.datasets import load_emodb
from lightser_export.metrics import REFUSED, unweighted_accuracy
from scripts.fold_runs import parse_args

RATE = 16000
BABBLE_TALKERS = 4
Condition = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]  # (clip, its index, rng) -> clip


def conditions(clips: list[np.ndarray], speakers: np.ndarray) -> dict[str, Condition]:
    """Name -> how it changes clip i. Babble draws its talkers among the other speakers' clips."""

    def babble(x: np.ndarray, i: int, rng: np.random.Generator) -> np.ndarray:
        talkers = rng.choice(np.flatnonzero(speakers != speakers[i]), BABBLE_TALKERS, replace=False)
        mix = sum(np.resize(clips[j] / np.sqrt(np.mean(clips[j] ** 2)), len(x)) for j in talkers)
        return corrupt.add_noise(x, mix, 10.0)

    def white(snr_db: float) -> Condition:
        return lambda x, i, rng: corrupt.add_noise(x, corrupt.coloured_noise(len(x), 0.0, RATE, rng), snr_db)

    return {
        "as recorded": lambda x, i, rng: x,
        "white noise, 20 dB SNR": white(20.0),
        "white noise, 10 dB SNR": white(10.0),
        "babble, 10 dB SNR": babble,
        "telephone band (through 8 kHz)": lambda x, i, rng: corrupt.band_limit(x, RATE, 8000),
        "reverberation, RT60 0.6 s": lambda x, i, rng: corrupt.reverberate(x, corrupt.room_impulse(RATE, 0.6, rng)),
    }


def _model(run: Path, speaker: str) -> Path:
    return run / f"speaker-{speaker}" / "model-int8.tflite"


def score(recognizers: dict[str, Recognizer], clips: list[np.ndarray], speakers: np.ndarray, rows: np.ndarray,
          labels: tuple[str, ...], condition: Condition, seed: int) -> np.ndarray:
    """Predicted class index of clips `rows` under `condition`, each by its own fold's recognizer;
    REFUSED where the speech gate found no speech in it (a miss in every score). A recognizer
    that standardises per speaker is first enrolled with the speaker's other clips, under the
    same condition (as a user would enrol where they speak)."""
    heard = {i: condition(clips[i], i, np.random.default_rng([seed, i])) for i in rows}

    def one(i: int) -> int:
        rec = recognizers[speakers[i]]
        try:
            if rec.recipe.normalisation == "speaker":
                others = [heard[j] for j in rows if speakers[j] == speakers[i] and j != i]
                rec = rec.for_speaker(*rec.speaker_stats(others, RATE, min_seconds=0))
            return labels.index(rec.predict(heard[i], RATE).label)
        except NoSpeechError:
            return REFUSED

    return np.array([one(i) for i in rows])


def main() -> None:
    args = parse_args(__doc__, "reports/robustness/robustness.md")
    dataset = load_emodb(args.data)
    clips = [audio.read(u.path, None, RATE) for u in dataset.utterances]
    speakers = np.asarray([u.speaker for u in dataset.utterances])
    y = np.asarray(dataset.label_indices())
    named = conditions(clips, speakers)
    tested = [s for s in sorted(set(speakers)) if all(_model(run, s).is_file() for run in args.runs)]
    rows = np.flatnonzero(np.isin(speakers, tested))
    lines = ["# Robustness: EMO-DB leave one speaker out, int8 via the runtime, under recording conditions", "",
             f"Command: `python -m scripts.robustness {' '.join(map(str, args.runs))} --out {args.out}`", "",
             __doc__.split("\n\n", 2)[2].strip(), "",
             f"Test speakers: {', '.join(tested)} ({len(rows)} clips; those with a fold model in every run).", "",
             "| fold models | " + " | ".join(named) + " |", "|---|" + "---|" * len(named)]
    for run in args.runs:
        recognizers = {s: Recognizer(_model(run, s)) for s in tested}
        preds = {name: score(recognizers, clips, speakers, rows, dataset.labels, cond, seed)
                 for seed, (name, cond) in enumerate(named.items())}
        cells = [f"{100 * unweighted_accuracy(y[rows], p, len(dataset.labels)):.1f} % UA"
                 + ("" if name == "as recorded" else f" ({100 * np.mean(p == preds['as recorded']):.0f} % agrees)")
                 + (f", {np.sum(p == REFUSED)} refused" if np.any(p == REFUSED) else "")
                 for name, p in preds.items()]
        lines.append(f"| `{run}` | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
