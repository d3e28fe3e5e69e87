"""The seven public emotional-speech corpora of `shared/data/corpora` beside EMO-DB: one loader each,
their labels mapped onto one class set, checks against the published checksum lists, and the pool
of all of them that the general model trains on.

Each loader reads the folder that `shared/data/corpora/extract.sh` makes for its corpus
(`<dest>/<corpus>/`). Speakers are named `<corpus>/<id>` so that two corpora never share one.
"""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path
from typing import Callable, Iterable, Sequence

from .datasets import Dataset, DatasetError, Utterance, checked, load_emodb, load_iemocap, load_manifest

CLASSES = ("anger", "boredom", "disgust", "fear", "happiness", "neutral", "sadness", "surprise")
# The general model's classes: the six every listener agrees on. Boredom is acted in EMO-DB only
# (10 speakers), so no other corpus can test it; surprise is left out (docs/corpora.md says why).
GENERAL_LABELS = ("anger", "disgust", "fear", "happiness", "neutral", "sadness")
CHECKSUMS = Path("../shared/data/corpora")  # <corpus>.sha256 lists, relative to the repository root
SOURCES = {  # what to fetch for each corpus (shared/data/corpora/README.md)
    "tess": "NidupDorji/SpeechEmotionRecognitionSystemUsingPython",
    "savee": "robertjkeck2/EmoNet",
    "emovo": "fp1acm8/SER",
    "nemo": "amu-cai/nEMO",
    "ased": "Ethio2021/ASED_V1",
    "urdu": "siddiquelatif/URDU-Dataset",
    "esd0020": "sanjana1194/Voice-Conversion",
}

ABOUT = {  # language and licence (the corpus's own terms; shared/data/corpora/README.md, EMO-DB's README)
    "emodb": ("German", "free for research; see its README"),
    "tess": ("English (Canadian)", "CC BY-NC-ND 4.0"),
    "savee": ("English (British)", "research use, registration asked by its authors"),
    "emovo": ("Italian", "research / non-commercial"),
    "nemo": ("Polish", "CC BY-NC-SA 4.0"),
    "ased": ("Amharic", "none stated"),
    "urdu": ("Urdu", "research use only"),
    "esd0020": ("English", "academic research"),
}

# Every corpus label, as the corpus spells it, mapped to a class of CLASSES.
LABEL_MAPS: dict[str, dict[str, str]] = {
    "tess": {"angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "happiness", "neutral": "neutral",
             "pleasant_surprise": "surprise", "sad": "sadness"},
    "savee": {"a": "anger", "d": "disgust", "f": "fear", "h": "happiness", "n": "neutral", "sa": "sadness",
              "su": "surprise"},
    "emovo": {"rab": "anger", "dis": "disgust", "pau": "fear", "gio": "happiness", "neu": "neutral",
              "tri": "sadness", "sor": "surprise"},
    "nemo": {"anger": "anger", "fear": "fear", "happiness": "happiness", "neutral": "neutral", "sadness": "sadness",
             "surprised": "surprise"},
    "ased": {"Neutral": "neutral", "Fearful": "fear", "Happy": "happiness", "Sad": "sadness", "Angry": "anger"},
    "urdu": {"Angry": "anger", "Happy": "happiness", "Neutral": "neutral", "Sad": "sadness"},
    "esd0020": {"Angry": "anger", "Happy": "happiness", "Neutral": "neutral", "Sad": "sadness",
                "Surprise": "surprise"},
}

_TESS_FOLDER = re.compile(r"^(OAF|YAF)_(\w+)$", re.IGNORECASE)
_SAVEE_NAME = re.compile(r"^(DC|JE|JK|KL)_(sa|su|a|d|f|h|n)\d\d\.wav$")
_EMOVO_NAME = re.compile(r"^(\w+)-([fm]\d)-\w+\.wav$")
_ASED_NAME = re.compile(r"^[a-z]\d-\d\d-\d\d-\d\d-(\d\d)\.wav$", re.IGNORECASE)
_ASED_FOLDER = re.compile(r"^0\d(\w+)$")
_URDU_NAME = re.compile(r"^(S[MF]\d+)_F\d+_[AHNS]\d+\.wav$")


def _label(corpus: str, raw: str, where: Path) -> str:
    try:
        return LABEL_MAPS[corpus][raw]
    except KeyError:
        raise DatasetError(f"{where}: label {raw!r} is not one of {corpus}'s "
                           f"({', '.join(LABEL_MAPS[corpus])})") from None


def _matched(pattern: re.Pattern[str], path: Path, corpus: str) -> re.Match[str]:
    match = pattern.match(path.name)
    if match is None:
        raise DatasetError(f"{path}: name does not follow the {corpus} layout")
    return match


def _wavs(folder: Path) -> list[Path]:
    """The .wav files under `folder`, recursively (macOS `.DS_Store` and `._*` files are not audio)."""
    return sorted(p for p in folder.rglob("*.wav") if not p.name.startswith("._"))


def _tess(root: Path) -> Iterable[tuple[Path, str, str]]:
    for path in _wavs(root / "TESS_Toronto_emotional_speech_set_data"):
        match = _TESS_FOLDER.match(path.parent.name)
        if match is None:
            raise DatasetError(f"{path.parent}: folder does not follow the TESS layout (OAF_angry, YAF_sad, ...)")
        yield path, _label("tess", match.group(2).lower(), path), match.group(1).upper()


def _savee(root: Path) -> Iterable[tuple[Path, str, str]]:
    for path in _wavs(root / "data" / "SAVEE"):
        match = _matched(_SAVEE_NAME, path, "savee")
        yield path, _label("savee", match.group(2), path), match.group(1)


def _emovo(root: Path) -> Iterable[tuple[Path, str, str]]:
    for path in _wavs(root / "data" / "EMOVO"):
        match = _matched(_EMOVO_NAME, path, "emovo")
        yield path, _label("emovo", match.group(1), path), match.group(2)


def _nemo(root: Path) -> Iterable[tuple[Path, str, str]]:
    table = root / "data.tsv"
    try:
        rows = list(csv.DictReader(table.read_text(encoding="utf-8").splitlines(), delimiter="\t"))
    except OSError as exc:
        raise DatasetError(f"{table}: cannot read nEMO's label table ({exc.strerror or exc})") from None
    for line, row in enumerate(rows, start=2):
        if not {"file_id", "emotion", "speaker_id"} <= set(row) or None in row.values():
            raise DatasetError(f"{table}:{line}: expected the columns file_id, emotion and speaker_id")
        path = root / "samples" / row["file_id"].strip()
        if not path.is_file():
            raise DatasetError(f"{table}:{line}: no such file {path}")
        yield path, _label("nemo", row["emotion"].strip(), path), row["speaker_id"].strip()


def _ased(root: Path) -> Iterable[tuple[Path, str, str]]:
    for path in _wavs(root):
        folder = _ASED_FOLDER.match(path.parent.name)
        if folder is None:
            raise DatasetError(f"{path.parent}: folder does not follow the ASED layout (01Neutral .. 05Angry)")
        yield path, _label("ased", folder.group(1), path), _matched(_ASED_NAME, path, "ased").group(1)


def _urdu(root: Path) -> Iterable[tuple[Path, str, str]]:
    for path in _wavs(root):
        yield path, _label("urdu", path.parent.name, path), _matched(_URDU_NAME, path, "urdu").group(1)


def _esd0020(root: Path) -> Iterable[tuple[Path, str, str]]:
    for path in _wavs(root / "Emotion Speech Dataset" / "0020"):
        yield path, _label("esd0020", path.parent.name, path), "0020"


READERS: dict[str, Callable[[Path], Iterable[tuple[Path, str, str]]]] = {
    "tess": _tess, "savee": _savee, "emovo": _emovo, "nemo": _nemo, "ased": _ased, "urdu": _urdu,
    "esd0020": _esd0020,
}
CORPORA = ("emodb", *READERS)


def _checksum_list(corpus: str, checksums: Path) -> dict[str, str]:
    """{path relative to the corpus folder: sha256} from `<checksums>/<corpus>.sha256`."""
    listing = checksums / f"{corpus}.sha256"
    try:
        lines = listing.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DatasetError(f"{listing}: cannot read the checksum list ({exc.strerror or exc})") from None
    return {line[66:].removeprefix("*"): line[:64] for line in lines if line.strip()}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_corpus(corpus: str, root: Path, checksums: Path, verify: bool = False) -> None:
    """Raise `DatasetError` naming what to fetch unless every file of the checksum list is under
    `root`; with `verify`, also unless every file's sha256 matches the list."""
    expected = _checksum_list(corpus, checksums)
    missing = [name for name in expected if not (root / name).is_file()]
    hint = (f"fetch {SOURCES[corpus]} and run shared/data/corpora/extract.sh (see "
            f"{checksums / 'README.md'})")
    if missing:
        raise DatasetError(f"{corpus}: {len(missing)} of {len(expected)} files missing under {root} "
                           f"(first: {missing[0]}); {hint}")
    if verify:
        wrong = [name for name, digest in expected.items() if _sha256(root / name) != digest]
        if wrong:
            raise DatasetError(f"{corpus}: {len(wrong)} of {len(expected)} files differ from their checksums "
                               f"(first: {wrong[0]}); {hint}")


def load_corpus(corpus: str, root: str | Path, checksums: Path | None = None, verify: bool = False) -> Dataset:
    """One corpus from its folder, labels mapped onto `CLASSES` (the class order: those it has).

    checksums: the folder of `<corpus>.sha256` lists; with it, an incomplete corpus is an error,
    and `verify` also checks every file's sha256. Without it, whatever is there is read.
    """
    if corpus not in READERS:
        raise DatasetError(f"corpus {corpus!r}: expected one of {', '.join(READERS)}")
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no {corpus} folder; fetch {SOURCES[corpus]} and run "
                           "shared/data/corpora/extract.sh (see shared/data/corpora/README.md)")
    if checksums is not None:
        check_corpus(corpus, root, checksums, verify)
    utterances = [Utterance(path, label, f"{corpus}/{speaker}", corpus)
                  for path, label, speaker in READERS[corpus](root)]
    labels = tuple(c for c in CLASSES if any(u.label == c for u in utterances))
    return checked(corpus, labels, utterances)


def load_pool(root: str | Path, emodb: str | Path | None, corpora: Sequence[str] = CORPORA,
              labels: Sequence[str] = GENERAL_LABELS, checksums: Path | None = None, verify: bool = False) -> Dataset:
    """The corpora named in `corpora` (each from `<root>/<corpus>/`, EMO-DB from `emodb`), pooled,
    keeping the clips of the classes in `labels` (a corpus gives no examples of a class it lacks)."""
    unknown = sorted(set(corpora) - set(CORPORA))
    if unknown or not corpora:
        raise DatasetError(f"corpora {unknown or '(none)'}: expected names from {', '.join(CORPORA)}")
    utterances: list[Utterance] = []
    for corpus in corpora:
        if corpus == "emodb":
            if emodb is None:
                raise DatasetError("corpora: emodb is named but no EMO-DB folder was given")
            part = load_emodb(emodb)
            part_utterances = [Utterance(u.path, u.label, f"emodb/{u.speaker}", "emodb") for u in part.utterances]
        else:
            part_utterances = list(load_corpus(corpus, Path(root) / corpus, checksums, verify).utterances)
        utterances += [u for u in part_utterances if u.label in labels]
    return checked("pool", tuple(labels), utterances)


KINDS = ("emodb", "iemocap", "manifest", "pool", *READERS)


def load(kind: str, location: str | Path, scope: str = "improvised", labels: tuple[str, ...] | None = None,
         emodb: str | Path | None = None, corpora: Sequence[str] = CORPORA, checksums: Path | None = None,
         verify: bool = False) -> Dataset:
    """Dispatch on `kind` (one of KINDS). `labels`: the class order of a manifest or the pool;
    `emodb`, `corpora`: the pool's parts; `checksums`, `verify`: see `load_corpus`."""
    if labels and kind not in ("manifest", "pool"):
        raise DatasetError(f"labels: the class order is fixed for {kind}; it can be set for a manifest or the pool")
    if kind == "emodb":
        return load_emodb(location)
    if kind == "iemocap":
        return load_iemocap(location, scope)
    if kind == "manifest":
        return load_manifest(location, labels)
    if kind == "pool":
        return load_pool(location, emodb, corpora, labels or GENERAL_LABELS, checksums, verify)
    if kind in READERS:
        return load_corpus(kind, location, checksums, verify)
    raise DatasetError(f"dataset kind {kind!r}: expected one of {', '.join(KINDS)}")


def provenance(dataset: Dataset) -> dict[str, dict[str, object]]:
    """Per corpus in `dataset`: clips, speakers, language and licence (for a model's metadata)."""
    out: dict[str, dict[str, object]] = {}
    for corpus in dataset.corpora():
        mine = [u for u in dataset.utterances if u.corpus == corpus]
        language, licence = ABOUT.get(corpus, ("unknown", "unknown"))
        out[corpus or dataset.name] = {"clips": len(mine), "speakers": len({u.speaker for u in mine}),
                                       "language": language, "licence": licence}
    return out
