"""Cut a stream of audio blocks into model windows, and tell speech windows from silence and noise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from .errors import AudioTooShortError

PITCH_RATE = 8000
STEADY_FRAMES = 6  # this many voiced frames (0.4 s) with one pitch, to the sample, is a hum or a tone
STEADY_SHARE = 0.035  # ...or within one sample where that is under this share of the period (a high voice's is not)
DIGITAL_SILENCE_DB = -90.0  # below this, a window holds no sound at all (16-bit audio's own floor is -101 dBFS)
LINE_BINS = 4  # a spectral line: its peak bin and this many either side (31 Hz at 8 kHz, padded to twice 64 ms)
MAX_HARMONIC = 6  # two lines can be a voice's harmonics up to this order (see `harmonic`)
PAIR_RATIO = 1.25  # two lines this far apart are two tones (DTMF's closest: 1.28); nearer, one gliding pitch
BURST_BLOCKS = 16  # a frame's 4 ms blocks, for `burst_share`
MAX_BURST_SHARE = 0.9  # this share of a frame's energy in a quarter of its blocks: clicks, not a voice
CLICK_PAIR_PERIODICITY = 0.5  # two equal bursts repeat once: their periodicity is 0.5 at most
COMB_HARMONICS = 4  # the comb test's harmonics: the first this many whose valleys lie above the cut
COMB_BAND = 0.125  # each band of the comb test: its centre plus or minus this share of the pitch
MIN_SECONDS = 0.25  # audio shorter than this is not classified
GATE_FRAME_SECONDS = 0.064  # the speech gate's frame
REFUSALS = {  # why `SpeechGate` turns a window away, in words ("quiet": see `refusal_text`)
    "silent": f"digital silence (below {DIGITAL_SILENCE_DB:g} dBFS)",
    "unvoiced": "without a voiced pitch (noise, hum, tones, whispers)",
}


def refusal_text(refusal: str, silence_db: float | None) -> str:
    """Why the gate turned a window away, in words; a quiet one names the `silence_db` level."""
    return f"quieter than {silence_db:g} dBFS" if refusal == "quiet" else REFUSALS[refusal]


@dataclass(frozen=True)
class WindowPlan:
    """How audio at `rate` is cut, all in samples: windows of `length` every `hop`, nothing
    under `minimum`, gate frames of `frame`. Derived once from a model's recipe (`of`)."""

    rate: int
    length: int
    hop: int
    minimum: int
    frame: int

    @classmethod
    def of(cls, rate: int, window: int, hop_seconds: float) -> WindowPlan:
        """The plan for windows of `window` samples (a recipe's `window_samples`) every
        `hop_seconds` at `rate`."""
        return cls(rate, window, int(round(hop_seconds * rate)), int(round(MIN_SECONDS * rate)),
                   int(GATE_FRAME_SECONDS * rate))

    def cutter(self) -> Cutter:
        """A fresh `Cutter` for one stream."""
        return Cutter(self.length, self.hop)


class Cutter:
    """Windows of `length` samples every `hop` over audio fed block by block: the state that
    `sliding` (a file's blocks) and live listening (pushed chunks) share. Holds at most
    `length` + one block."""

    def __init__(self, length: int, hop: int) -> None:
        self.length, self.hop = length, hop
        self.buffer = np.zeros(0, np.float32)
        self.offset = 0  # sample index of buffer[0]
        self.total = 0  # samples fed
        self.next_start = 0  # where the next regular window starts
        self.covered = 0  # where the last regular window ends

    def feed(self, block: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """(start sample, samples) of each regular window `block` completes."""
        self.buffer = np.concatenate([self.buffer, block])
        self.total += block.shape[0]
        done = []
        while self.next_start + self.length <= self.total:
            begin = self.next_start - self.offset
            done.append((self.next_start, self.buffer[begin : begin + self.length]))
            self.covered, self.next_start = self.next_start + self.length, self.next_start + self.hop
        keep_from = min(self.next_start, self.total - self.length)  # a window's worth stays, for `last`
        if keep_from > self.offset:
            self.buffer, self.offset = self.buffer[keep_from - self.offset :], keep_from
        return done

    def last(self) -> list[tuple[int, np.ndarray]]:
        """At the end: audio up to `length` samples as one window, as it is (the features pad
        it), or the window ending at the last sample if the regular ones stop short of it."""
        if self.covered == 0:
            return [(0, self.buffer)]
        return [(self.total - self.length, self.buffer[-self.length :])] if self.covered < self.total else []


def sliding(blocks: Iterable[np.ndarray], plan: WindowPlan, name: str) -> Iterator[tuple[int, np.ndarray]]:
    """(start sample, samples) of each window of `plan` over the concatenated `blocks` (see
    `Cutter`). Fewer than `plan.minimum` samples in all raises `AudioTooShortError` naming `name`."""
    cutter = plan.cutter()
    for block in blocks:
        yield from cutter.feed(block)
    if cutter.total < plan.minimum:
        heard = "no audio" if cutter.total == 0 else f"{cutter.total / plan.rate:.4g} s of audio"
        raise AudioTooShortError(f"{name}: {heard}; the minimum is {plan.minimum / plan.rate:g} s")
    yield from cutter.last()


def frame_rows(x: np.ndarray, frame: int) -> np.ndarray:
    """Consecutive non-overlapping frames of `frame` samples as rows (one row if x is shorter)."""
    n_frames = max(1, x.shape[0] // frame)
    return (x[: n_frames * frame] if x.shape[0] >= frame else x).reshape(n_frames, -1)


MAX_LEVEL_DB = 400.0  # the level of any frame louder than float32 can square


def level_db(rows: np.ndarray) -> np.ndarray:
    """RMS level in dBFS of each row around its mean: a DC offset is not sound. Rows so loud that
    float32 overflows (samples near 1e19 and up) read as MAX_LEVEL_DB."""
    centred = rows - rows.mean(axis=1, keepdims=True)  # before squaring, so an offset costs no precision
    with np.errstate(over="ignore", invalid="ignore"):
        power = np.einsum("ij,ij->i", centred, centred).astype(np.float64) / rows.shape[1]
    return np.fmin(10.0 * np.log10(power + 1e-20), MAX_LEVEL_DB)


def decimated(rows: np.ndarray, step: int) -> np.ndarray:
    """Each row's runs of `step` samples averaged (a crude low-pass, then every `step`-th sample):
    strided slices added in order, the values of a mean over a short last axis at a tenth of its cost."""
    usable = rows[:, : rows.shape[1] // step * step]
    return sum((usable[:, k::step] for k in range(1, step)), usable[:, 0::step]) / step


def cut_bin(size: int, rate: float, cut_hz: float) -> int:
    """The first bin of a `size`-point spectrum at `rate` that `power_spectra` keeps."""
    return int(np.ceil(cut_hz * size / rate))


def power_spectra(rows: np.ndarray, rate: float, cut_hz: float) -> np.ndarray:
    """|FFT|**2 of each row, zero-padded to twice its length, after removing each row's mean and
    everything below `cut_hz` (rumble would otherwise mask a pitch)."""
    size = 2 * rows.shape[1]
    centred = rows - rows.mean(axis=1, keepdims=True, dtype=np.float64)  # else the padding's step leaks high
    spectrum = np.fft.rfft(centred, size, axis=1)
    spectrum[:, : cut_bin(size, rate, cut_hz)] = 0.0
    return spectrum.real**2 + spectrum.imag**2


def periodicity_of(power: np.ndarray, rate: float, pitch_hz: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """`periodicity` from `power_spectra`' output."""
    size = 2 * (power.shape[1] - 1)
    min_lag, max_lag = int(rate / pitch_hz[1]), int(np.ceil(rate / pitch_hz[0]))
    corr = np.fft.irfft(power, size, axis=1)[:, : max_lag + 1]
    span = corr[:, min_lag : max_lag + 1] / np.maximum(corr[:, :1], 1e-20)
    best = span.argmax(axis=1)
    inside = (best > 0) & (best < span.shape[1] - 1)
    return np.where(inside, span.max(axis=1), 0.0), best + min_lag


def periodicity(
    rows: np.ndarray, rate: float, pitch_hz: tuple[float, float], cut_hz: float
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's strongest repetition with a pitch of `pitch_hz` (low, high) at `rate`: the peak of
    its autocorrelation over those periods relative to lag 0 (1.0: perfectly periodic), and that
    period in samples, above `cut_hz` (see `power_spectra`). A row whose maximum there falls on
    an end of the range (no peak inside it, as in noise) scores 0."""
    return periodicity_of(power_spectra(rows, rate, cut_hz), rate, pitch_hz)


def two_lines(power: np.ndarray, width: int = LINE_BINS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The share of each row's power in its two strongest spectral lines (a peak bin and `width`
    bins either side), and the lower and the higher line's peak bins. Near 1: a tone or a pair of
    tones (DTMF), or a high voice whose first two harmonics carry nearly all its power (see
    `harmonic`); lower: a voice that spreads over many harmonics."""
    left = power.copy()
    bins = np.arange(power.shape[1])
    peaks = []
    for _ in range(2):
        peaks.append(left.argmax(axis=1))
        left[np.abs(bins - peaks[-1][:, None]) <= width] = 0.0
    share = 1.0 - left.sum(axis=1) / np.maximum(power.sum(axis=1), 1e-30)
    return share, np.minimum(*peaks), np.maximum(*peaks)


def harmonic(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Whether the lines at bins `low` and `high` are harmonics a < b of one pitch: the fundamental
    and any harmonic (a = 1), or two of the first MAX_HARMONIC (a voice's 2nd and 3rd, say), within
    half a bin per line scaled to the other and a bin. DTMF pairs never are. (A loop: it sees the
    few frames that look like tones, where NumPy's per-call cost would outweigh the work.)"""
    return np.array([_harmonics(max(lo, 1), hi) for lo, hi in zip(low.tolist(), high.tolist())], bool)


def _harmonics(low: int, high: int) -> bool:
    for a in range(1, MAX_HARMONIC):
        b = round(high * a / low)
        if b > a and (a == 1 or b <= MAX_HARMONIC) and abs(high - b * low / a) <= 0.5 * (b / a + 1) + 1:
            return True
    return False


def tone_lines(low: np.ndarray, high: np.ndarray, tones: np.ndarray) -> np.ndarray:
    """Whether each frame's two strongest lines, at bins `low` and `high`, both lie within LINE_BINS
    of a line of one row of `tones` (the two lines of a frame found to be a pair of tones): that
    tone's start or end, where a dialled DTMF digit's cut edges spread and shift its lines."""
    near_low = np.abs(low[:, None, None] - tones).min(axis=2) <= LINE_BINS
    near_high = np.abs(high[:, None, None] - tones).min(axis=2) <= LINE_BINS
    return np.any(near_low & near_high, axis=1)


def tone_frames(power: np.ndarray, max_share: float, tones: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which rows of `power` are tones: `max_share` or more of their power in two lines that are
    not one pitch's harmonics, or the two lines of a pair of tones in `tones` (its cut edges).
    Returns them, and `tones` with this call's pairs of tones added."""
    share, low, high = two_lines(power)
    tonal = share >= max_share
    if tonal.any():
        tonal[tonal] = ~harmonic(low[tonal], high[tonal])
        pairs = tonal & (high >= PAIR_RATIO * low)
        if pairs.any():
            tones = np.concatenate([tones, np.column_stack([low, high])[pairs]])
    if tones.size:
        tonal |= tone_lines(low, high, tones)
    return tonal, tones


def band_means(power: np.ndarray, centre: np.ndarray, half: np.ndarray) -> np.ndarray:
    """Each row's mean power in the bins `centre` +- `half` (in bins, rounded, clipped to the
    spectrum), one column per column of `centre`."""
    cumulative = np.zeros((power.shape[0], power.shape[1] + 1))
    np.cumsum(power, axis=1, out=cumulative[:, 1:])
    lo = np.clip(np.rint(centre - half), 0, power.shape[1] - 1).astype(np.intp)
    hi = np.clip(np.rint(centre + half), 0, power.shape[1] - 1).astype(np.intp)
    rows = np.arange(power.shape[0])[:, None]
    return (cumulative[rows, hi + 1] - cumulative[rows, lo]) / (hi - lo + 1)


_COMB_STEPS = np.concatenate([np.arange(COMB_HARMONICS) + d for d in (0.0, -0.5, 0.5)])  # harmonics, valleys


def comb_ratio(power: np.ndarray, period: np.ndarray, cut: int) -> np.ndarray:
    """Each row's mean power per bin at `COMB_HARMONICS` harmonics k f0 of the pitch of `period`
    samples over that midway between them, at (k -+ 1/2) f0 (both sides averaged, so that a
    spectral tilt cancels), from the first k whose lower valley lies at or above bin `cut`.
    A voice's harmonics stand well above their valleys; narrowband noise, which repeats at a
    wandering period too, has one lump and no comb."""
    f0 = 2 * (power.shape[1] - 1) / period[:, None]  # in bins
    half = COMB_BAND * f0
    centres = (np.ceil((cut + half) / f0 + 0.5) + _COMB_STEPS) * f0  # (k - 1/2) f0 - half >= cut
    peaks, below, above = band_means(power, centres, half).reshape(-1, 3, COMB_HARMONICS).sum(axis=2).T
    return peaks / np.maximum((below + above) / 2, 1e-30)


def burst_share(rows: np.ndarray, blocks: int = BURST_BLOCKS) -> np.ndarray:
    """The share of each row's energy (about its mean) in the loudest quarter of its `blocks`
    equal blocks: near 1 for a click or two, lower for a voice, whose every period carries some."""
    centred = rows[:, : rows.shape[1] // blocks * blocks] - rows.mean(axis=1, keepdims=True)
    parts = centred.reshape(rows.shape[0], blocks, -1)
    energy = np.sort(np.einsum("ijk,ijk->ij", parts, parts), axis=1)
    return energy[:, -(blocks // 4) :].sum(axis=1) / np.maximum(energy.sum(axis=1), 1e-30)


def steady(periods: np.ndarray) -> bool:
    """Whether STEADY_FRAMES or more pitch periods (in samples) hold still as a machine's do: all
    within one sample, and that sample less than STEADY_SHARE of the period (a voice above
    about 290 Hz at 8 kHz moves by a sample, and that is more)."""
    if periods.size < STEADY_FRAMES:
        return False
    spread = np.ptp(periods)
    return bool(spread == 0 or (spread == 1 and 1 < STEADY_SHARE * periods.min()))


@dataclass(frozen=True)
class SpeechGate:
    """Which windows are speech, judged against the window itself rather than a loudness.

    A window is refused as "quiet" where its loudest 10 % of `frame`-sample frames (its
    90th-percentile level) stay below `threshold_db` (None: no such level), and, if `voicing`,
    as "silent" below `floor_db` (digital silence) and as "unvoiced" unless a voice is
    found: of the frames less than `range_db` below that level, at least `min_voiced` (one if
    fewer than `short` frames qualify) repeat with a pitch of `pitch_hz` above `cut_hz` at
    `min_periodicity` or more, or at `weak_periodicity` where the window rises `contrast_db`
    or more above its own floor (its 10th-percentile level) as syllables do and steady noise
    does not. Nothing but `threshold_db` and `floor_db` depends on the level. Frames with
    `max_line_share` or more of their power in two spectral lines that are not harmonics of
    one pitch are tones, not a voice, and so are frames with the lines of such a pair of tones
    (its cut edges: `tone_lines`); frames that repeat no more than two clicks can and hold
    their energy in a quarter of the frame are clicks (`burst_share`); a pitch that holds
    still over `STEADY_FRAMES` frames is a machine's (hum; `steady`); in a window without that
    contrast and with `short` frames or more to judge, frames whose harmonics stand less than
    `min_comb` times above the valleys between them are narrowband noise (`comb_ratio`; brown
    noise repeats at a wandering period just above the cut). Noise, hum, tones, DTMF digits and
    clicks fail this; music and other pitched sound pass (docs/speech-gate.md).
    """

    rate: int
    frame: int
    threshold_db: float | None = None
    voicing: bool = True
    floor_db: float = DIGITAL_SILENCE_DB
    min_periodicity: float = 0.5
    weak_periodicity: float = 0.3
    contrast_db: float = 20.0
    max_line_share: float = 0.9
    min_voiced: int = 2
    short: int = 8
    range_db: float = 30.0
    pitch_hz: tuple[float, float] = (60.0, 400.0)
    cut_hz: float = 130.0
    min_comb: float = 3.0

    def __call__(self, x: np.ndarray) -> bool:
        return self.refusal(x) is None

    def refusal(self, x: np.ndarray) -> str | None:
        """None if `x` is speech, else why not: "silent", "quiet" or "unvoiced"."""
        return self.judge(x)[0]

    def judge(self, x: np.ndarray) -> tuple[str | None, float]:
        """(`refusal(x)`, the share of `x`'s frames less than `range_db` below its loudest 10 %):
        how much of the window the sound fills, low where speech starts after a long silence."""
        rows = frame_rows(x, self.frame)
        levels = level_db(rows)
        order = np.argsort(levels)
        typical = np.interp(0.9 * (levels.size - 1), np.arange(levels.size), levels[order])  # 90th percentile
        share = float(np.mean(levels >= typical - self.range_db))
        if self.threshold_db is not None and typical < self.threshold_db:
            return "quiet", share
        if self.voicing and typical < self.floor_db:
            return "silent", share
        return (None if not self.voicing or self._voiced(rows, levels, order, typical) else "unvoiced"), share

    def _voiced(self, rows: np.ndarray, levels: np.ndarray, order: np.ndarray, typical: float) -> bool:
        """Enough frames repeat with a pitch, are neither tones nor narrowband noise, and the pitch
        moves as a voice does (a hum's stays put)."""
        quietest = np.interp(0.1 * (levels.size - 1), np.arange(levels.size), levels[order])  # 10th percentile
        contrasted = typical - quietest >= self.contrast_db
        least = self.weak_periodicity if contrasted else self.min_periodicity
        floor = max(typical - self.range_db, -np.inf if self.threshold_db is None else self.threshold_db)
        loudest = order[::-1]
        candidates = loudest[levels[loudest] >= floor]
        long_enough = candidates.size >= self.short
        need = self.min_voiced if long_enough else 1
        combed = long_enough and not contrasted  # steady sound: narrowband noise, unless its harmonics stand out
        step = max(1, self.rate // PITCH_RATE)  # pitch needs no more than 8 kHz: half or less the work
        periods: list[np.ndarray] = []
        tones = np.zeros((0, 2), int)  # the two line bins of each frame found to be a pair of tones
        for part in (candidates[: self.short], candidates[self.short :]):  # the loudest usually settle it
            if part.size:
                low = decimated(rows[part], step)
                power = power_spectra(low, self.rate / step, self.cut_hz)
                strength, period = periodicity_of(power, self.rate / step, self.pitch_hz)
                tonal, tones = tone_frames(power, self.max_line_share, tones)
                voice = (strength >= least) & ~tonal
                cut = cut_bin(2 * (power.shape[1] - 1), self.rate / step, self.cut_hz)
                if combed:
                    voice[voice] = comb_ratio(power[voice], period[voice], cut) >= self.min_comb
                weak = voice & (strength < CLICK_PAIR_PERIODICITY)  # two clicks repeat once: 0.5 at most
                if weak.any():
                    voice[weak] = burst_share(low[weak]) < MAX_BURST_SHARE
                periods.append(period[voice])
            found = np.concatenate(periods)
            if found.size >= need and not steady(found):
                return True
        return False
