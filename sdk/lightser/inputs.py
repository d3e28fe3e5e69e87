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
    """The audio files in `folder` (and its subfolders if `recursive`, linked ones too, each
    folder once however many links lead to it), sorted by name, folder by folder."""
    seen = {os.path.realpath(folder)}
    for top, subfolders, names in os.walk(folder, followlinks=True):
        kept = []
        for name in sorted(d for d in subfolders if not d.startswith(".")) if recursive else []:
            real = os.path.realpath(os.path.join(top, name))
            if real not in seen:
                seen.add(real)
                kept.append(name)
        subfolders[:] = kept
        yield from (os.path.join(top, name) for name in sorted(names) if is_audio_name(name))


def _expand(argument: str, recursive: bool) -> Iterator[Input]:
    """A file as it is; a folder as its audio files (a folder without any is reported); a
    pattern (not itself a file) as its matches, sorted, each file once however many links lead
    to it; anything else as it is, for reading to report what is wrong."""
    if os.path.isdir(argument):
        files = list(folder_files(argument, recursive))
        if not files:
            where = "in it or its subfolders" if recursive else "in it (-r: its subfolders too)"
            yield Input(argument, f"{argument}: a folder with no audio file {where}")
        yield from map(Input, files)
    elif _MAGIC & set(argument) and not os.path.lexists(argument):
        matches = sorted(glob.glob(argument, recursive=True))
        if not matches:
            yield Input(argument, f"{argument}: no such file, nor any that this pattern matches")
        seen: set[str] = set()
        for match in matches:
            if os.path.isdir(match):
                yield from _expand(match, recursive)
            elif (real := os.path.realpath(match)) not in seen:
                seen.add(real)
                yield Input(match)
    else:
        yield Input(argument)


def manifest_paths(manifest: str) -> list[str]:
    """The paths a manifest lists: one a line, or a CSV file whose header has a `path` column (in
    any case); blank lines, empty rows and '#' comments are skipped, and a UTF-8 BOM (as Excel
    writes) is fine. Relative paths are relative to the manifest's folder."""
    try:
        text = Path(manifest).read_text(encoding="utf-8-sig", errors="surrogateescape")
    except OSError as exc:
        raise InvalidArgumentError(f"--manifest {manifest}: cannot read ({exc.strerror or exc})") from None
    folder = os.path.dirname(manifest)
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    header = [cell.strip().lower() for cell in next(csv.reader(lines[:1]), [])]
    if "path" in header:
        column = header.index("path")
        rows = [row for row in csv.reader(lines[1:], skipinitialspace=True) if any(cell.strip() for cell in row)]
        paths = [row[column].strip() if len(row) > column else "" for row in rows]
        if "" in paths:
            raise InvalidArgumentError(f"--manifest {manifest}: CSV row {paths.index('') + 1} has no path")
    elif len(header) > 1 and not os.path.lexists(os.path.join(folder, lines[0].strip())):
        raise InvalidArgumentError(f"--manifest {manifest}: its first line looks like a CSV header without a "
                                   f"'path' column ({lines[0][:80]!r}); name the column of paths 'path'")
    else:
        paths = [line.strip() for line in lines]
    return [os.path.join(folder, path) for path in paths]


def expand(arguments: Iterable[str], manifests: Iterable[str], recursive: bool) -> list[Input]:
    """Every input in order: the arguments' ("-": audio piped to stdin), then each manifest's."""
    listed = [*arguments, *(path for manifest in manifests for path in manifest_paths(manifest))]
    return [entry for argument in listed for entry in (_expand(argument, recursive) if argument != "-" else
                                                       [Input("-")])]
