"""Ingest as a sequence of steps: find the sources, read, validate, store one load (see ``predictive_performance.ingest``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from predictive_performance.ingest.canonical import CANONICAL_SUFFIXES, UnreadableFileError
from predictive_performance.ingest.registry import FORMAT_BY_NAME, SOURCE_FORMATS
from predictive_performance.ingest.sources import SourceFormat, SourceTables, file_label
from predictive_performance.ingest.validation import Reject, check_required_columns, validate_rows
from predictive_performance.progress import Advance, step
from predictive_performance.warehouse import CatalogFacts, LoadRecord, Warehouse

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
    """Ingest a file, or everything a directory holds; one load per logical source.

    Under ``fmt="auto"`` each format's ``detect`` is asked in turn (``registry.SOURCE_FORMATS``), and a
    directory no format claims is searched: ``../shared/data`` ingests each public source in it.
    What one load is belongs to the format (a Lambda directory, each pytorch-gpu-benchmark results
    folder, each canonical file). Raises ``IngestError`` at the first load that stores nothing; earlier
    loads stay.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or directory")
    if fmt != "auto" and fmt not in FORMAT_BY_NAME:
        raise ValueError(f"unknown format {fmt!r}; expected one of auto, {', '.join(FORMAT_BY_NAME)}")
    sources = _sources(path, fmt)
    if not sources:
        raise UnreadableFileError(f"{path}: no benchmark files found (expected {', '.join(FORMAT_BY_NAME)} data)")
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
        return _store(report, SourceTables(source, {label: frame}), warehouse, allow_partial, advance, failures=failures)


def ingest_catalog(catalog: CatalogFacts, warehouse: Warehouse, source: str, label: str) -> IngestReport:
    """Store devices and models a source describes, without measured rows, as one load.

    How a device the catalog lacks gets its specs (``benchmark.microbench``): dbt merges the load's
    figures into the catalog where the seeds have none.
    """
    report = IngestReport(label, "catalog", source)
    with step("ingest", label) as advance:
        return _store(report, SourceTables(source, {}, catalog=catalog), warehouse, False, advance)


def _sources(path: Path, fmt: str) -> list[tuple[Path, SourceFormat]]:
    """The loads under ``path``, each with the format that reads it."""
    if fmt != "auto":
        chosen = FORMAT_BY_NAME[fmt]
        return [(part, chosen) for part in chosen.loads(path)]
    for candidate in SOURCE_FORMATS:
        if candidate.detect(path):
            return [(part, candidate) for part in candidate.loads(path)]
    if path.is_dir():
        return [source for child in sorted(path.iterdir()) if _may_hold_results(child) for source in _sources(child, fmt)]
    return []


def _may_hold_results(path: Path) -> bool:
    """Directories and data files; licences, READMEs and hidden files are not benchmark data."""
    if path.name.startswith("."):
        return False
    return path.is_dir() or path.suffix.lower() in (*CANONICAL_SUFFIXES, ".duckdb", ".db")


def _ingest_source(path: Path, fmt: SourceFormat, warehouse: Warehouse, allow_partial: bool, advance: Advance) -> IngestReport:
    digest = content_digest(path)
    previous = warehouse.load_with_content(digest)
    if previous is not None:
        advance(detail=f"already loaded as load {previous}")
        return IngestReport(str(path), fmt.name, "", already_loaded_as=previous)
    advance(detail="reading")
    report = _read_and_store(path, fmt, warehouse, allow_partial, digest, advance)
    advance(report.rows_accepted, detail=f"{report.rows_accepted:,} accepted, {report.rows_rejected:,} rejected")
    return report


def content_digest(path: Path) -> str:
    """SHA-256 over the file, or over every file under a directory (sub-folders too) in path order."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    digest = hashlib.sha256()
    for file in files:
        digest.update((file.relative_to(path).as_posix() if path.is_dir() else file.name).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def _read_and_store(
    path: Path, fmt: SourceFormat, warehouse: Warehouse, allow_partial: bool, digest: str, advance: Advance
) -> IngestReport:
    tables = fmt.read(path)
    report = IngestReport(
        str(path), fmt.name, tables.source, rows_rejected=tables.rejected_rows,
        rows_skipped=tables.skipped, rejects=list(tables.rejects),
    )
    return _store(report, tables, warehouse, allow_partial, advance, digest=digest)


def _store(
    report: IngestReport,
    tables: SourceTables,
    warehouse: Warehouse,
    allow_partial: bool,
    advance: Advance,
    failures: pd.DataFrame | None = None,
    digest: str | None = None,
) -> IngestReport:
    """Validate the rows of all files in one pass, then store the accepted ones as one load."""
    frames = {file_label(Path(label), Path(report.label)): frame for label, frame in tables.results.items()}
    rows = pd.DataFrame(columns=["source_row"])
    if frames:
        for file, frame in frames.items():
            check_required_columns(list(frame.columns), file)
        together = pd.concat(frames.values(), ignore_index=True)
        files = pd.Series(np.repeat(list(frames), [len(frame) for frame in frames.values()]), index=together.index)
        read_from = next(iter(frames)) if len(frames) == 1 else f"{len(frames):,} files"
        advance(len(together), detail=f"{len(together):,} rows read from {read_from}, validating")
        validated = validate_rows(together, files)
        rows = _located(validated.accepted, together, files).reset_index(drop=True)
        report.rejects.extend(validated.rejects)
        report.rows_rejected += validated.rejected_rows
    report.rows_accepted = len(rows)
    if report.rejects and not allow_partial:
        report.rows_accepted = 0
        raise IngestError(report.summary(), report)
    catalog = tables.catalog or CatalogFacts()
    if rows.empty and (failures is None or failures.empty) and not catalog.tables():
        raise IngestError(f"{report.label}: no rows to store", report)
    rows["source_row"] = range(1, len(rows) + 1)
    advance(len(rows), detail=f"{len(rows):,} accepted, storing")
    report.warnings = unknown_names(rows) if not rows.empty else []
    report.load_id = warehouse.append_load(
        LoadRecord(
            source=report.source,
            format=report.format,
            results=rows,
            path=report.label,
            rows_rejected=report.rows_rejected,
            rows_skipped=report.rows_skipped,
            hardware_systems=tables.hardware_systems,
            failures=failures,
            content_sha256=digest,
            catalog=tables.catalog,
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


def _located(accepted: pd.DataFrame, frame: pd.DataFrame, files: pd.Series) -> pd.DataFrame:
    """Record where each row came from before rows of several files are numbered as one load."""
    location = "row " + accepted["source_row"].astype(str)
    if "source_column" in frame:
        location = location + ", column " + frame.loc[accepted.index, "source_column"].astype(str)
    return accepted.assign(source_file=files.loc[accepted.index], source_location=location)
