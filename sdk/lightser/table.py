"""`lightser predict`'s output: one record per file (or window), as TSV, CSV or JSON lines, and
what an output file already holds, for `--resume`."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Iterator, Sequence, get_args

from .errors import InvalidArgumentError
from .results import Status

FORMATS = ("tsv", "csv", "jsonl")
_DELIMITERS = {"tsv": "\t", "csv": ","}
STATUSES = get_args(Status)  # a record's status


class Table:
    """Writes records (dicts as `Result.to_dict` and `Segment.to_dict` give, with "file") in one
    format: for TSV and CSV a header, then file, [start, end,] status, label, confidence, one
    column per class score, message; for JSON lines, each record as it is."""

    def __init__(self, format: str, labels: Sequence[str], segments: bool) -> None:
        if format not in FORMATS:
            raise InvalidArgumentError(f"format={format!r}: expected one of {', '.join(FORMATS)}")
        self.format, self.labels = format, tuple(labels)
        times = ["start", "end"] if segments else []
        self.columns = ["file", *times, "status", "label", "confidence", *self.labels, "message"]
        if format != "jsonl" and len(set(self.columns)) < len(self.columns):
            raise InvalidArgumentError(f"the model's labels {list(self.labels)} repeat a column of the {format} "
                                       "table; use --format jsonl, which keeps the scores apart")
        self._status = self.columns.index("status")

    def _csv_line(self, cells: Sequence[str]) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=_DELIMITERS[self.format], lineterminator="\n").writerow(cells)
        return buffer.getvalue()

    def header(self) -> str:
        """The header line ("" for JSON lines, which have none)."""
        return "" if self.format == "jsonl" else self._csv_line(self.columns)

    def line(self, record: dict[str, Any]) -> str:
        """One record as a line (several physical lines only where a CSV field holds a line break)."""
        if self.format == "jsonl":
            return json.dumps(record, ensure_ascii=False) + "\n"
        flat = {**record, **record.get("scores", {})}
        return self._csv_line([_cell(flat.get(column)) for column in self.columns])

    def done(self, text: str) -> tuple[list[str], int]:
        """(the file of each complete record in `text`, an output file's content, and the length of
        `text` they take). Only the last record may be cut short (a killed run): it is not counted.
        `InvalidArgumentError` if `text` is not this table's, or holds a whole line that is not
        one of its records."""
        header = self.header()
        if not text.startswith(header):
            if header.startswith(text):  # the header itself was cut short
                return [], 0
            raise InvalidArgumentError(f"its first line is not this table's header ({text[:120]!r}...): "
                                       "another --format, model or --segments?")
        lines = _Lines(text[len(header):])
        files, end = [], 0
        for name in self._names(lines):
            if name is None:
                if lines.whole or lines.position < len(text) - len(header):  # a whole line: not cut short
                    raise InvalidArgumentError(f"record {len(files) + 1} is damaged or not a {self.format} record "
                                               "of lightser predict (another --format, or another file?); "
                                               "not resuming, and the file is left as it is")
                break
            files.append(name)
            end = lines.position
        return files, len(header) + end

    def _names(self, lines: _Lines) -> Iterator[str | None]:
        """The file of each record in turn; None for one that is cut short or malformed, which
        ends the reading."""
        if self.format == "jsonl":
            for line in lines:
                try:
                    record = json.loads(line) if line.endswith("\n") else None
                except json.JSONDecodeError:
                    record = None
                valid = (isinstance(record, dict) and isinstance(record.get("file"), str)
                         and record.get("status") in STATUSES)
                yield record["file"] if valid else None  # type: ignore[index]
                if not valid:
                    return
            return
        reader = csv.reader(lines, delimiter=_DELIMITERS[self.format], strict=True)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error:
                row = []
            valid = len(row) == len(self.columns) and lines.whole and row[self._status] in STATUSES
            yield row[0] if valid else None
            if not valid:
                return


class _Lines:
    """The lines of a text (line breaks kept), counting how much of it has been handed out."""

    def __init__(self, text: str) -> None:
        self._lines = iter(io.StringIO(text, newline="\n").readline, "")
        self.position, self.whole = 0, True

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.position += len(line)
        self.whole = line.endswith("\n")
        return line


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value)
