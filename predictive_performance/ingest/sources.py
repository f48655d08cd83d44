"""What an importer of one source format provides: how to recognise it, what one load is, how to read it.

Every importer module defines one ``SourceFormat``; ``predictive_performance.ingest.registry`` lists
them. A reader maps its files to canonical rows (``schema.RESULT_COLUMNS`` plus ``source_row`` and,
for wide files, ``source_column``) and leaves validation to ``validation.validate_rows``; a problem
that only the reader can see (a field missing from a JSON file, an unknown unit) becomes a
``Reject`` of its own, and that row stays out of ``results``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from predictive_performance.ingest.validation import Reject
from predictive_performance.warehouse import CatalogFacts


@dataclass
class SourceTables:
    """What a reader found at one load's path."""

    source: str  # the ``source`` of its rows and its load
    results: dict[str, pd.DataFrame]  # per file (its path as the key), so rejects name the file
    rejects: list[Reject] = field(default_factory=list)  # found while reading; those rows are not in results
    skipped: int = 0  # cells or records that are not measurements (zero cells, inferred results, ...)
    hardware_systems: pd.DataFrame | None = None
    catalog: CatalogFacts | None = None  # devices and models the source describes

    @property
    def rejected_rows(self) -> int:
        return len({(reject.file, reject.row) for reject in self.rejects})


def file_label(file: Path, load: Path) -> str:
    """A file as rejects and ``source_file`` name it: its path within the load's directory (many
    ML.ENERGY files share a name such as ``bs64+tp1+pp1.json``), else its name."""
    if load.is_dir() and file.is_relative_to(load):
        return file.relative_to(load).as_posix()
    return file.name


def single_load(path: Path) -> list[Path]:
    """The default: everything at ``path`` is one load."""
    return [path]


@dataclass(frozen=True)
class SourceFormat:
    """One importable format, chosen by ``--format NAME`` or recognised by ``detect`` under ``--format auto``."""

    name: str
    detect: Callable[[Path], bool]  # true for a file or directory of this format
    read: Callable[[Path], SourceTables]
    loads: Callable[[Path], list[Path]] = single_load  # the parts of a path that are each stored as one load
