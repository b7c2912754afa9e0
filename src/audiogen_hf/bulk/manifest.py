"""`manifest.jsonl`: one JSON line per finished clip, the record that makes a clip count as done.

Why appended line by line: a clip is first published under its name (temporary file + rename), then its line is
appended with one `write` on an `O_APPEND` descriptor and synced, so a killed run leaves at worst a clip without
a line (remade on resume) or a torn last line (dropped on resume), never a corrupt record. Several processes
append to the same file; at the end the main process rewrites it once, sorted and without duplicates.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

from ..output_files import write_text

MANIFEST_NAME = "manifest.jsonl"


def _sort_key(record: dict) -> tuple:
    return (record.get("index", 0), record.get("variant", 0), record.get("file", ""))


class Manifest:
    """The manifest of one output folder."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.path = self.folder / MANIFEST_NAME

    def exists(self) -> bool:
        return self.path.is_file()

    def _lines(self) -> tuple[list[dict], int]:
        if not self.exists():
            return [], 0
        records, torn = [], 0
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                torn += 1
                continue
            if isinstance(record, dict) and isinstance(record.get("file"), str):
                records.append(record)
            else:
                torn += 1
        return records, torn

    def records(self) -> dict[str, dict]:
        """The last valid line of each file, by file name (a torn line, from a killed run, is skipped)."""
        return {record["file"]: record for record in self._lines()[0]}

    def done(self) -> dict[str, dict]:
        """The records whose clip file exists: the clips a resumed run skips."""
        return {file: r for file, r in self.records().items() if (self.folder / file).is_file()}

    def repair(self) -> None:
        """Drop torn lines (and a last line without its newline) so appends start on a clean line. Call from
        one process, before any appends."""
        if not self.exists():
            return
        records, torn = self._lines()
        clean = self.path.read_bytes().endswith(b"\n") or self.path.stat().st_size == 0
        if torn or not clean:
            if torn:
                warnings.warn(
                    f"{self.path}: dropped {torn} unreadable line(s) left by an interrupted run.",
                    stacklevel=3,
                )
            self._rewrite(records)

    def create(self) -> None:
        """An empty manifest (marks the folder as a bulk output folder before the first clip is written)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644))

    def append(self, record: dict) -> None:
        """Record one finished clip: a single synced append of one line."""
        line = (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(descriptor, line)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def finalize(self) -> list[dict]:
        """Rewrite the manifest once, sorted by prompt and variant, one line per file (the last one). Call from
        one process after every process has finished."""
        records = sorted(self.records().values(), key=_sort_key)
        self._rewrite(records)
        return records

    def _rewrite(self, records: list[dict]) -> None:
        text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records)
        write_text(self.path, text, overwrite=True)
