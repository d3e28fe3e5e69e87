"""Labelled utterances from EMO-DB, IEMOCAP or a CSV manifest, with a fixed class order
(the other corpora are in `corpora.py`, which also dispatches on a dataset kind)."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from pathlib import Path

EMODB_LABELS = ("anger", "boredom", "disgust", "fear", "happiness", "sadness", "neutral")
_EMODB_CODES = dict(zip("WLEAFTN", EMODB_LABELS))
_EMODB_NAME = re.compile(r"^(\d\d)([a-z]\d\d)([WLEAFTN])([a-z])\.wav$")

IEMOCAP_LABELS = ("anger", "happiness", "sadness", "neutral")
_IEMOCAP_CODES = {"ang": "anger", "hap": "happiness", "exc": "happiness", "sad": "sadness", "neu": "neutral"}
_IEMOCAP_LINE = re.compile(r"^\[[\d.]+ - [\d.]+\]\t(Ses\d\d[FM]_\S+)\t(\w+)\t")
MANIFEST_COLUMNS = ("path", "label", "speaker")
EMODB_ROOT = Path("../shared/data/emodb")  # where the repository's tools look for EMO-DB by default


class DatasetError(ValueError):
    """A dataset folder or manifest is missing, malformed, or empty."""


@dataclasses.dataclass(frozen=True)
class Utterance:
    """One labelled recording."""

    path: Path
    label: str
    speaker: str
    corpus: str = ""


@dataclasses.dataclass(frozen=True)
class Dataset:
    """Utterances plus the class order that model outputs follow."""

    name: str
    labels: tuple[str, ...]
    utterances: tuple[Utterance, ...]

    def label_indices(self) -> list[int]:
        """Class index of each utterance."""
        index = {label: i for i, label in enumerate(self.labels)}
        return [index[u.label] for u in self.utterances]

    def speakers(self) -> list[str]:
        """Distinct speakers, sorted."""
        return sorted({u.speaker for u in self.utterances})

    def corpora(self) -> list[str]:
        """Distinct corpora, sorted."""
        return sorted({u.corpus for u in self.utterances})


def checked(name: str, labels: tuple[str, ...], utterances: list[Utterance]) -> Dataset:
    if not utterances:
        raise DatasetError(f"{name}: no utterances found")
    if len(set(labels)) != len(labels) or len(labels) < 2:
        raise DatasetError(f"{name}: the class list {list(labels)} must name 2 or more distinct classes")
    unknown = {u.label for u in utterances} - set(labels)
    if unknown:
        raise DatasetError(f"{name}: labels {sorted(unknown)} are not in the class list {list(labels)}")
    return Dataset(name, labels, tuple(sorted(utterances, key=lambda u: str(u.path))))


def load_emodb(root: str | Path) -> Dataset:
    """EMO-DB: `wav/SSsssEv.wav`, speaker = SS, emotion letter E (German initial)."""
    wav_dir = Path(root) / "wav"
    if not wav_dir.is_dir():
        raise DatasetError(f"{root}: no wav/ folder (expected the EMO-DB layout)")
    utterances = []
    for path in wav_dir.glob("*.wav"):
        match = _EMODB_NAME.match(path.name)
        if match is None:
            raise DatasetError(f"{path}: name does not follow the EMO-DB pattern")
        utterances.append(Utterance(path, _EMODB_CODES[match.group(3)], match.group(1), "emodb"))
    return checked("emodb", EMODB_LABELS, utterances)


def load_iemocap(root: str | Path, scope: str = "improvised") -> Dataset:
    """IEMOCAP: 4 classes (excited merged into happiness); speaker = session + gender, e.g. `Ses01F`.

    scope: "improvised" (dialogs named *impro*) or "all" (improvised and scripted).
    """
    if scope not in ("improvised", "all"):
        raise DatasetError(f"scope={scope!r}: expected 'improvised' or 'all'")
    root = Path(root)
    sessions = sorted(root.glob("Session[1-5]"))
    if not sessions:
        raise DatasetError(f"{root}: no Session1..Session5 folders (expected the IEMOCAP layout)")
    utterances = []
    for session in sessions:
        for label_file in sorted((session / "dialog" / "EmoEvaluation").glob("*.txt")):
            dialog = label_file.stem
            if scope == "improvised" and "impro" not in dialog:
                continue
            for line in label_file.read_text(encoding="utf-8", errors="replace").splitlines():
                match = _IEMOCAP_LINE.match(line)
                if match is None or match.group(2) not in _IEMOCAP_CODES:
                    continue
                turn = match.group(1)
                wav = session / "sentences" / "wav" / dialog / f"{turn}.wav"
                if not wav.is_file():
                    raise DatasetError(f"{label_file}: {turn} has no audio at {wav}")
                speaker = turn[:5] + turn.rsplit("_", 1)[1][0]
                utterances.append(Utterance(wav, _IEMOCAP_CODES[match.group(2)], speaker))
    return checked(f"iemocap-{scope}", IEMOCAP_LABELS, utterances)


def load_manifest(csv_path: str | Path, labels: tuple[str, ...] | None = None) -> Dataset:
    """A CSV manifest, UTF-8 (a BOM, as Excel writes, is fine): a header naming the columns
    path, label and speaker (any order or case; other columns are ignored), then one row per
    clip. Relative paths are relative to the CSV's folder.

    labels: the class order; default the distinct labels sorted alphabetically. Every problem
    (a missing file, an empty cell, a clip listed twice, labels that differ only in case)
    raises `DatasetError` naming the line.
    """
    csv_path = Path(csv_path)
    try:
        text = csv_path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{csv_path}: not UTF-8 text (byte {exc.start}); save the manifest as UTF-8") from None
    except OSError as exc:
        raise DatasetError(f"{csv_path}: cannot read manifest ({exc.strerror or exc})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]  # line where a row ends
    if not rows:
        raise DatasetError(f"{csv_path}: empty; expected a header path,label,speaker and a row per clip")
    (header_line, header), body = rows[0], rows[1:]
    names = [name.strip().lower() for name in header]
    if len(set(names)) < len(names):
        raise DatasetError(f"{csv_path}:{header_line}: the header {','.join(header)!r} names a column twice")
    column = {name: i for i, name in enumerate(names)}
    missing = [name for name in MANIFEST_COLUMNS if name not in column]
    if missing:
        raise DatasetError(f"{csv_path}:{header_line}: the header {','.join(header)!r} has no "
                           f"{', '.join(missing)} column; expected {','.join(MANIFEST_COLUMNS)}")
    if not body:
        raise DatasetError(f"{csv_path}: a header and no clips")
    utterances, first_line = [], {}
    for line, row in body:
        if len(row) != len(header):
            raise DatasetError(f"{csv_path}:{line}: {len(row)} fields where the header has {len(header)}")
        name, label, speaker = (row[column[c]].strip() for c in MANIFEST_COLUMNS)
        if not (name and label and speaker):
            raise DatasetError(f"{csv_path}:{line}: the path, label and speaker must not be empty")
        path = Path(name) if Path(name).is_absolute() else csv_path.parent / name
        if not path.is_file():
            raise DatasetError(f"{csv_path}:{line}: no such file {path}")
        if path.resolve() in first_line:
            raise DatasetError(f"{csv_path}:{line}: {name} is listed again "
                               f"(first on line {first_line[path.resolve()]})")
        first_line[path.resolve()] = line
        utterances.append(Utterance(path, label, speaker))
    spellings: dict[str, set[str]] = {}
    for u in utterances:
        spellings.setdefault(u.label.casefold(), set()).add(u.label)
    clash = next((sorted(v) for v in spellings.values() if len(v) > 1), None)
    if clash:
        raise DatasetError(f"{csv_path}: labels {clash} differ only in case; spell each class one way")
    return checked(csv_path.stem, labels or tuple(sorted({u.label for u in utterances})), utterances)
