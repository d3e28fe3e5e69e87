"""What `lightser predict` is given -> the audio files to score: files, folders, globs and manifests."""

from __future__ import annotations

import csv
import dataclasses
import glob
import os
from pathlib import Path
from typing import Iterable, Iterator

import soundfile

from .errors import InvalidArgumentError

# What a folder contributes: names ending in a format libsndfile reads (and common aliases), not hidden.
AUDIO_SUFFIXES = frozenset(
    {f".{name.lower()}" for name in soundfile.available_formats() if name != "RAW"}
    | {".wave", ".aif", ".oga", ".opus", ".mp3"}
)
_MAGIC = frozenset("*?[")


@dataclasses.dataclass(frozen=True)
class Input:
    """One file to score, by the name it is shown under; `problem`: why it cannot be (it is
    then reported as an error row)."""

    name: str
    problem: str | None = None


def is_audio_name(name: str) -> bool:
    """Whether a folder's entry `name` is taken as audio: a known suffix, not hidden."""
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in AUDIO_SUFFIXES


def folder_files(folder: str, recursive: bool) -> Iterator[str]:
    """The audio files in `folder` (and its subfolders if `recursive`), sorted by name, folder by folder."""
    for top, subfolders, names in os.walk(folder):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith(".")) if recursive else []
        yield from (os.path.join(top, name) for name in sorted(names) if is_audio_name(name))


def _expand(argument: str, recursive: bool) -> Iterator[Input]:
    """A file as it is; a folder as its audio files; a pattern (not itself a file) as its
    matches, sorted; anything else as it is, for reading to report what is wrong."""
    if os.path.isdir(argument):
        yield from map(Input, folder_files(argument, recursive))
    elif _MAGIC & set(argument) and not os.path.lexists(argument):
        matches = sorted(glob.glob(argument, recursive=True))
        if not matches:
            yield Input(argument, f"{argument}: no such file, nor any that this pattern matches")
        for match in matches:
            yield from (_expand(match, recursive) if os.path.isdir(match) else [Input(match)])
    else:
        yield Input(argument)


def manifest_paths(manifest: str) -> list[str]:
    """The paths a manifest lists: one a line (blank lines and '#' comments skipped), or a CSV
    file whose header has a `path` column. Relative paths are relative to the manifest's folder."""
    try:
        text = Path(manifest).read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise InvalidArgumentError(f"--manifest {manifest}: cannot read ({exc.strerror or exc})") from None
    lines = text.splitlines()
    first = next(csv.reader(lines[:1]), [])
    if "path" in (cell.strip() for cell in first):
        rows = csv.DictReader(lines, skipinitialspace=True)
        paths = [(row.get("path") or "").strip() for row in rows]
        if "" in paths:
            raise InvalidArgumentError(f"--manifest {manifest}: row {paths.index('') + 2} has no path")
    else:
        paths = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    folder = os.path.dirname(manifest)
    return [os.path.join(folder, path) for path in paths]


def expand(arguments: Iterable[str], manifests: Iterable[str], recursive: bool) -> list[Input]:
    """Every input in order: the arguments' ("-": audio piped to stdin), then each manifest's."""
    listed = [*arguments, *(path for manifest in manifests for path in manifest_paths(manifest))]
    return [entry for argument in listed for entry in (_expand(argument, recursive) if argument != "-" else
                                                       [Input("-")])]
