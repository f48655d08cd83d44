"""Readers for files already in the canonical columns: CSV, Parquet and JSON."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from predictive_performance.ingest.sources import SourceFormat, SourceTables

CANONICAL_SUFFIXES: dict[str, str] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".json": "json", ".jsonl": "json"}


class UnreadableFileError(ValueError):
    """The file cannot be parsed at all; the message names the file and the parser's reason."""


def read_canonical(path: Path) -> pd.DataFrame:
    """Read one canonical file, numbering rows as a person would count them (first data row = 1).

    CSV and JSON cells are read as text so validation can report a bad cell with its value.
    """
    kind = CANONICAL_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise UnreadableFileError(f"{path}: unsupported file type {path.suffix!r}; expected .csv, .parquet or .json")
    if path.stat().st_size == 0:
        raise UnreadableFileError(f"{path}: the file is empty")
    try:
        if kind == "csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
        elif kind == "parquet":
            frame = pd.read_parquet(path)
        else:
            frame = _read_json(path)
    except (ValueError, OSError, pd.errors.ParserError) as error:
        raise UnreadableFileError(f"{path}: cannot be read as {kind}: {error}") from error
    if frame.empty:
        raise UnreadableFileError(f"{path}: the file has no data rows")
    frame.columns = [str(column).strip() for column in frame.columns]
    return frame.assign(source_row=range(1, len(frame) + 1))


def _read_json(path: Path) -> pd.DataFrame:
    """A JSON array of records, or JSON Lines; everything as text, like CSV."""
    lines = path.suffix.lower() == ".jsonl" or path.read_text(encoding="utf-8").lstrip().startswith("{")
    return pd.read_json(path, lines=lines, orient="records", dtype=False, convert_dates=False)


def canonical_files(path: Path) -> list[Path]:
    """Each file is one load; a directory's CSV, Parquet and JSON files in name order."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix.lower() in CANONICAL_SUFFIXES)
    return [path]


def read_canonical_source(path: Path) -> SourceTables:
    """A canonical file as one load; rows without a ``source`` are named after the file."""
    frame = read_canonical(path)
    source = f"import:{path.name}"
    if "source" not in frame:
        frame["source"] = source
    return SourceTables(source, {str(path): frame})


# Recognised last under --format auto: a file no other format claims is read as canonical.
FORMAT = SourceFormat("canonical", detect=lambda path: path.is_file(), read=read_canonical_source, loads=canonical_files)
