"""Does the runtime give x86's answers on aarch64? Run by scripts/arm64_check.sh.

`reference OUT.json EMODB_WAV_DIR MODEL...` (on x86) records, for a few clips,
`Recognizer.predict`'s label and scores, the MFCCs, and the model's raw output tensor.
`check REF.json` (on emulated aarch64) recomputes them there and compares: the label must
match; int8 output bytes must be identical, both from x86's features (the interpreter
alone) and from the features computed here (the whole pipeline); float outputs and
scores must agree within 1e-5.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from lightser import Recognizer, audio, bench, features

TOLERANCE = 1e-5
EMODB_CLIPS = ("03a01Fa.wav", "08b02Nb.wav", "11a04Wc.wav", "13b09Ta.wav", "16b10Lb.wav")


def clips(emodb_wav: Path) -> dict[str, tuple[Any, float | None]]:
    """name -> (audio source, sample rate for arrays): synthetic clips at 16 and 48 kHz
    (the second goes through the resampler) and EMO-DB files when present."""
    out: dict[str, tuple[Any, float | None]] = {
        f"synthetic-3s-{rate // 1000}k": (bench.synthetic_voice(3.0, rate), float(rate)) for rate in (16000, 48000)
    }
    for name in EMODB_CLIPS:
        if (emodb_wav / name).is_file():
            out[name] = (str(emodb_wav / name), None)
    return out


def max_difference(a: Any, b: Any) -> float:
    """Largest absolute element-wise difference."""
    return float(np.max(np.abs(np.subtract(a, b))))


def raw_output(interpreter: Any, feats: np.ndarray) -> np.ndarray:
    """The output tensor exactly as the interpreter returns it, for one feature matrix."""
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    x = feats[None, :, :, None]
    scale, zero_point = source["quantization"]
    if scale:
        info = np.iinfo(source["dtype"])
        x = np.clip(np.round(x / scale) + zero_point, info.min, info.max)
    interpreter.set_tensor(source["index"], x.astype(source["dtype"]))
    interpreter.invoke()
    return interpreter.get_tensor(target["index"])[0].copy()


class Subject:
    """One model, loaded once: a Recognizer and a bare interpreter beside it."""

    def __init__(self, model_path: str) -> None:
        self.rec = Recognizer(model_path, num_threads=1)
        self.interpreter = self.rec.model.backend.interpreter(Path(model_path).read_bytes(), 1)
        self.exact = np.dtype(self.interpreter.get_output_details()[0]["dtype"]) == np.int8

    def measure(self, source: Any, rate: float | None) -> dict[str, Any]:
        """predict()'s label and scores, the centre window's MFCCs, and the raw output."""
        prediction = self.rec.predict(source, rate)
        feats = features.extract(audio.read(source, rate, self.rec.recipe.sample_rate), self.rec.recipe)
        return {"label": prediction.label, "scores": list(prediction.scores.values()),
                "features": feats.tolist(), "raw": raw_output(self.interpreter, feats).tolist()}

    def differences(self, expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
        """What differs between x86's answers and these (empty: all match)."""
        alone = raw_output(self.interpreter, np.asarray(expected["features"], np.float32))
        problems = []
        for what, raw in {"interpreter on x86's features": alone, "whole pipeline": np.asarray(got["raw"])}.items():
            if self.exact:
                same = np.array_equal(raw, expected["raw"])
            else:
                same = np.allclose(raw, expected["raw"], rtol=0, atol=TOLERANCE)
            if not same:
                problems.append(f"{what}: output {raw.tolist()} != x86 {expected['raw']}")
        if got["label"] != expected["label"]:
            problems.append(f"label {got['label']} != x86 {expected['label']}")
        worst = max_difference(got["scores"], expected["scores"])
        if worst > TOLERANCE:
            problems.append(f"scores differ by {worst:.2e} > {TOLERANCE}")
        return problems


def reference(out: Path, emodb_wav: Path, models: list[str]) -> None:
    """Write x86's answers for every model and clip."""
    sources = clips(emodb_wav)
    answers = {}
    for model_path in models:
        subject = Subject(model_path)
        answers[model_path] = {name: subject.measure(*clip) for name, clip in sources.items()}
    out.write_text(json.dumps({"emodb_wav": str(emodb_wav), "models": answers}))
    print(f"reference: {len(models)} model(s) x {len(sources)} clip(s) -> {out}")


def check(ref_path: Path) -> int:
    """Recompute on this machine and compare with x86; one line per model and clip."""
    ref = json.loads(ref_path.read_text())
    sources = clips(Path(ref["emodb_wav"]))
    failures = 0
    started = time.perf_counter()
    for model_path, by_clip in ref["models"].items():
        subject = Subject(model_path)
        for name, expected in by_clip.items():
            got = subject.measure(*sources[name])
            problems = subject.differences(expected, got)
            mfcc = max_difference(got["features"], expected["features"])
            scores = max_difference(got["scores"], expected["scores"])
            print(f"{'FAIL' if problems else 'OK  '} {Path(model_path).name} {name}: {got['label']}, max difference "
                  f"MFCC {mfcc:.1e}, scores {scores:.1e}" + "".join(f"\n     {p}" for p in problems), flush=True)
            failures += bool(problems)
    print(f"{failures} failed; emulated wall time {time.perf_counter() - started:.0f} s (not a latency figure)")
    return 1 if failures else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["reference"]:
        reference(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4:])
        sys.exit(0)
    sys.exit(check(Path(sys.argv[2])))
