"""Ingest as a sequence of steps: find the sources, read, validate, store one load (see ``predictive_performance.ingest``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from predictive_performance.ingest import FORMATS, lambda_csv
from predictive_performance.ingest.canonical import CANONICAL_SUFFIXES, UnreadableFileError, read_canonical
from predictive_performance.ingest.ipfs import is_ipfs_database, read_ipfs
from predictive_performance.ingest.validation import Reject, validate_rows
from predictive_performance.progress import Advance, step
from predictive_performance.warehouse import LoadRecord, Warehouse

MAX_REJECTS_SHOWN = 20


@dataclass
class IngestReport:
    """What one ingest did: rows stored, refused and skipped, and why each refusal happened."""

    label: str
    format: str
    source: str
    rows_accepted: int = 0
    rows_rejected: int = 0
    rows_skipped: int = 0
    rejects: list[Reject] = field(default_factory=list)
    load_id: str | None = None
    already_loaded_as: str | None = None  # set when the same content was ingested before
    warnings: list[str] = field(default_factory=list)  # stored rows that training will not use yet

    @property
    def stored(self) -> bool:
        return self.load_id is not None

    def summary(self) -> str:
        if self.already_loaded_as:
            return f"{self.label} [{self.format}]: already loaded as load {self.already_loaded_as}; nothing stored"
        outcome = f"stored as load {self.load_id}" if self.stored else "nothing stored"
        skipped = f", {self.rows_skipped} not measured (skipped)" if self.rows_skipped else ""
        head = (
            f"{self.label} [{self.format}]: {self.rows_accepted} accepted, "
            f"{self.rows_rejected} rejected{skipped}; {outcome}"
        )
        shown = [f"  {reject}" for reject in self.rejects[:MAX_REJECTS_SHOWN]]
        if len(self.rejects) > MAX_REJECTS_SHOWN:
            shown.append(f"  ... and {len(self.rejects) - MAX_REJECTS_SHOWN} more")
        shown += [f"  warning: {warning}" for warning in self.warnings]
        return "\n".join([head, *shown])


class IngestError(ValueError):
    """An ingest that stored nothing; ``report`` says which rows and columns were at fault."""

    def __init__(self, message: str, report: IngestReport) -> None:
        super().__init__(message)
        self.report = report


def ingest_path(path: str | Path, warehouse: Warehouse, fmt: str = "auto", allow_partial: bool = False) -> list[IngestReport]:
    """Ingest a file or every supported file in a directory; one load per logical source.

    A Lambda directory is one source (its throughput and batch-size files belong together).
    Raises ``IngestError`` at the first source that stores nothing; earlier loads stay.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or directory")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    sources = _sources(path, fmt)
    reports = []
    for number, (source_path, source_format) in enumerate(sources, start=1):
        with step("ingest", f"{source_path.name} ({number}/{len(sources)})") as advance:
            reports.append(_ingest_source(source_path, source_format, warehouse, allow_partial, advance))
    return reports


def ingest_frame(
    frame: pd.DataFrame,
    warehouse: Warehouse,
    source: str,
    fmt: str = "frame",
    path: str | None = None,
    failures: pd.DataFrame | None = None,
    allow_partial: bool = False,
) -> IngestReport:
    """Validate and store rows that are already in memory (e.g. from the benchmark runner)."""
    label = path or f"<{source}>"
    frame = frame.copy()
    if "source_row" not in frame:
        frame["source_row"] = range(1, len(frame) + 1)
    if "source" not in frame:
        frame["source"] = source
    report = IngestReport(label, fmt, source)
    with step("ingest", label) as advance:
        return _store(report, {label: frame}, warehouse, allow_partial, advance, failures=failures)


def _sources(path: Path, fmt: str) -> list[tuple[Path, str]]:
    if fmt == "lambda" or (fmt == "auto" and _looks_like_lambda(path)):
        return [(path, "lambda")]
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in (*CANONICAL_SUFFIXES, ".duckdb", ".db"))
        if not files:
            raise UnreadableFileError(f"{path}: no .csv, .parquet, .json or .duckdb files found")
        return [source for file in files for source in _sources(file, fmt)]
    if fmt == "ipfs" or (fmt == "auto" and is_ipfs_database(path)):
        return [(path, "ipfs")]
    return [(path, "canonical")]


def _looks_like_lambda(path: Path) -> bool:
    if path.is_dir():
        return any(lambda_csv.is_lambda_file(p) for p in path.iterdir())
    return lambda_csv.is_lambda_file(path)


def _ingest_source(path: Path, fmt: str, warehouse: Warehouse, allow_partial: bool, advance: Advance) -> IngestReport:
    digest = content_digest(path)
    previous = warehouse.load_with_content(digest)
    if previous is not None:
        advance(detail=f"already loaded as load {previous}")
        return IngestReport(str(path), fmt, "", already_loaded_as=previous)
    advance(detail="reading")
    report = _read_and_store(path, fmt, warehouse, allow_partial, digest, advance)
    advance(report.rows_accepted, detail=f"{report.rows_accepted:,} accepted, {report.rows_rejected:,} rejected")
    return report


def content_digest(path: Path) -> str:
    """SHA-256 over the file, or over every file of a directory in name order."""
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def _read_and_store(
    path: Path, fmt: str, warehouse: Warehouse, allow_partial: bool, digest: str, advance: Advance
) -> IngestReport:
    if fmt == "lambda":
        tables = lambda_csv.read_lambda(path)
        report = IngestReport(str(path), fmt, lambda_csv.SOURCE, rows_skipped=tables.skipped_cells)
        return _store(report, tables.results, warehouse, allow_partial, advance, systems=tables.hardware_systems, digest=digest)
    if fmt == "ipfs":
        frame = read_ipfs(path)
        report = IngestReport(str(path), fmt, "ipfs-accelerate")
        return _store(report, {str(path): frame}, warehouse, allow_partial, advance, digest=digest)
    frame = read_canonical(path)
    source = f"import:{path.name}"
    if "source" not in frame:
        frame["source"] = source
    report = IngestReport(str(path), fmt, source)
    return _store(report, {str(path): frame}, warehouse, allow_partial, advance, digest=digest)


def _store(
    report: IngestReport,
    parts: dict[str, pd.DataFrame],
    warehouse: Warehouse,
    allow_partial: bool,
    advance: Advance,
    systems: pd.DataFrame | None = None,
    failures: pd.DataFrame | None = None,
    digest: str | None = None,
) -> IngestReport:
    """Validate each part, then store all accepted rows of all parts as one load."""
    accepted = []
    for label, frame in parts.items():
        advance(len(frame), detail=f"{len(frame):,} rows read from {Path(label).name}, validating")
        validated = validate_rows(frame, Path(label).name)
        accepted.append(_located(validated.accepted, frame, label))
        report.rejects.extend(validated.rejects)
        report.rows_rejected += validated.rejected_rows
    rows = pd.concat(accepted, ignore_index=True)
    report.rows_accepted = len(rows)
    if report.rejects and not allow_partial:
        report.rows_accepted = 0
        raise IngestError(report.summary(), report)
    if rows.empty and (failures is None or failures.empty):
        raise IngestError(f"{report.label}: no rows to store", report)
    rows["source_row"] = range(1, len(rows) + 1)
    advance(len(rows), detail=f"{len(rows):,} accepted, storing")
    report.warnings = unknown_names(rows)
    report.load_id = warehouse.append_load(
        LoadRecord(
            source=report.source,
            format=report.format,
            results=rows,
            path=report.label,
            rows_rejected=report.rows_rejected,
            rows_skipped=report.rows_skipped,
            hardware_systems=systems,
            failures=failures,
            content_sha256=digest,
        )
    )
    return report


def unknown_names(rows: pd.DataFrame) -> list[str]:
    """Models and devices the catalogs do not know, with the rows that name them.

    Such rows are real measurements, so they are stored; dbt leaves them out of training
    (``unknown model`` / ``unknown hardware``) until the catalog or its aliases name them.
    """
    from predictive_performance.names import NameResolver, map_distinct  # names imports the Lambda importer

    resolver = NameResolver()
    checks = (
        ("model_name", "model", resolver.model, "model_architectures.csv (or model_aliases.csv)"),
        ("hardware_name", "device", resolver.device, "hardware_devices.csv (or hardware_aliases.csv)"),
    )
    warnings = []
    for column, kind, resolve, seed in checks:
        unknown = rows[map_distinct(rows[column], resolve).isna()]
        for name, group in unknown.groupby(column, sort=True):
            first = group.iloc[0]
            more = f" and {len(group) - 1} more row(s)" if len(group) > 1 else ""
            warnings.append(
                f"{first['source_file']} {first['source_location']}{more}, column {column}: unknown {kind} {name!r}; "
                f"stored, but not used for training until dbt/seeds/{seed} has it"
            )
    return warnings


def _located(accepted: pd.DataFrame, frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """Record where each row came from before rows of several files are numbered as one load."""
    location = "row " + accepted["source_row"].astype(str)
    if "source_column" in frame:
        location = location + ", column " + frame.loc[accepted.index, "source_column"].astype(str)
    return accepted.assign(source_file=Path(label).name, source_location=location)
