"""Fuzz the decode-to-prediction path with random and mutated audio-file bytes.

Each case is fixed by its seed, so `case(seed)` rebuilds the same bytes anywhere.
test_fuzz.py runs a bounded number of seeds in a child process; by hand, for longer:

    python tests/fuzz_wav.py --seconds 600 --start 100000

Before each case the seed goes to stderr as `SEED n`, so a crash or a hang names it.
Exit status 0: every case ended in a `Prediction` or a `LightSERError` within
--case-seconds; 1: one did not (its seed and what happened are printed). Add such
seeds to REGRESSION_SEEDS in test_fuzz.py.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from functools import lru_cache

import numpy as np
import soundfile

# Fields of a canonical 44-byte WAV header: offset -> width in bytes.
WAV_FIELDS = {4: 4, 16: 4, 20: 2, 22: 2, 24: 4, 28: 4, 32: 2, 34: 2, 40: 4}
INTERESTING = (0, 1, 2, 3, 7, 8, 255, 1000, 8000, 44100, 65535, 2**31 - 1, 2**32 - 1)


def _tone(rate: int, seconds: float, channels: int) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    x = 0.3 * np.sin(2 * np.pi * (150 + 40 * np.sin(2 * np.pi * 3 * t)) * t)
    return np.stack([x] * channels, axis=1) if channels > 1 else x


@lru_cache(maxsize=1)
def bases() -> tuple[bytes, ...]:
    """Small valid files to mutate: WAV (five sample formats), FLAC and OGG."""
    specs = [
        ("WAV", "PCM_16", 16000, 1),
        ("WAV", "FLOAT", 8000, 1),
        ("WAV", "PCM_24", 22050, 2),
        ("WAV", "PCM_U8", 11025, 1),
        ("WAV", "PCM_32", 48000, 6),
        ("FLAC", "PCM_16", 16000, 1),
        ("OGG", "VORBIS", 16000, 1),
    ]
    out = []
    for fmt, subtype, rate, channels in specs:
        buffer = io.BytesIO()
        soundfile.write(buffer, _tone(rate, 0.5, channels), rate, format=fmt, subtype=subtype)
        out.append(buffer.getvalue())
    return tuple(out)


def mutate(rng: random.Random, data: bytes) -> bytes:
    """1 to 8 random edits: bit flips, odd bytes, cuts, insertions, odd WAV header fields."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(7)
        if op == 0 and b:
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        elif op == 1 and b:
            b[rng.randrange(len(b))] = rng.choice((0, 1, 0x7F, 0x80, 0xFF))
        elif op == 2 and b:
            b[rng.randrange(min(len(b), 64))] = rng.randrange(256)
        elif op == 3:
            del b[rng.randrange(len(b) + 1) :]
        elif op == 4:
            at = rng.randrange(len(b) + 1)
            b[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16)))
        elif len(b) >= 44:
            at = rng.choice(list(WAV_FIELDS))
            width = WAV_FIELDS[at]
            value = rng.randrange(2**32) if op == 5 else rng.choice(INTERESTING)
            b[at : at + width] = (value % 2 ** (8 * width)).to_bytes(width, "little")
    return bytes(b)


def case(seed: int) -> bytes:
    """The bytes of case `seed`: every 10th is random bytes, the rest a mutated valid file."""
    rng = random.Random(seed)
    if seed % 10 == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(2000)))
    return mutate(rng, rng.choice(bases()))


def run(start: int, stop: int, seconds: float, case_seconds: float) -> int:
    """Cases start..stop-1 until `seconds` pass; 0 if all behaved, else 1."""
    from lightser import LightSERError, Recognizer

    rec = Recognizer()
    began = time.monotonic()
    done = 0
    for seed in range(start, stop):
        if time.monotonic() - began > seconds:
            break
        print(f"SEED {seed}", file=sys.stderr, flush=True)
        data = case(seed)
        t0 = time.monotonic()
        try:
            rec.predict(data)
        except LightSERError:
            pass
        except Exception as exc:  # the point of the exercise
            print(f"FAIL seed {seed}: {type(exc).__name__}: {exc}", flush=True)
            return 1
        took = time.monotonic() - t0
        if took > case_seconds:
            print(f"FAIL seed {seed}: took {took:.1f} s", flush=True)
            return 1
        done += 1
    print(f"OK {done} cases from seed {start}", flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--count", type=int, default=10**9)
    parser.add_argument("--seeds", type=int, nargs="*", help="run exactly these seeds")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--case-seconds", type=float, default=5.0)
    args = parser.parse_args()
    if args.seeds:
        return max(run(s, s + 1, args.seconds, args.case_seconds) for s in args.seeds)
    return run(args.start, args.start + args.count, args.seconds, args.case_seconds)


if __name__ == "__main__":
    sys.exit(main())
