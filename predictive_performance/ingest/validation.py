"""Row-level validation of canonical benchmark rows, shared by every importer.

Each problem becomes a ``Reject`` that names the file, the row and the column, so a person
can fix the source. Validation never drops a problem silently: a row is either accepted
whole, typed as the warehouse stores it, or listed with every reason it was refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from predictive_performance.schema import REQUIRED_COLUMNS, RESULT_COLUMNS
from predictive_performance.vocabulary import (
    DEFAULT_LATENCY_KIND,
    DEFAULT_WORKLOAD,
    LATENCY_KINDS,
    MODES,
    PARALLELISMS,
    PLATFORMS,
    POWER_SCOPES,
    PRECISION_ALIASES,
    PRECISIONS,
    SYSTEM_BATCHED_WORKLOADS,
    WORKLOADS,
    metric_columns,
)

INTEGER_LIMIT = 2**31 - 1  # the warehouse stores counts as 32-bit INTEGER
CELL_COLUMNS = frozenset({"throughput", "batch_size"})
POSITIVE_SIZES = ("sequence_length", "image_size", "repeats")  # optional, but never zero or negative
BOOLEAN_SPELLINGS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


@dataclass(frozen=True)
class Reject:
    """One reason one row was refused."""

    file: str
    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file} row {self.row}, column {self.column}: {self.reason}"


class SchemaError(ValueError):
    """The file as a whole does not fit the canonical schema (e.g. a required column is missing)."""


@dataclass(frozen=True)
class ValidatedRows:
    accepted: pd.DataFrame  # keeps the input's index, so callers can line rows up with the source
    rejects: list[Reject]
    rejected_rows: int


def check_required_columns(columns: list[str], file_label: str) -> None:
    """Refuse a whole file that lacks a required column, naming the file and the columns."""
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if "throughput" not in columns and "latency_ms" not in columns:
        missing.append("throughput or latency_ms")
    if missing:
        raise SchemaError(f"{file_label}: missing required column(s): {', '.join(missing)}")


def validate_rows(frame: pd.DataFrame, file_label: str | pd.Series) -> ValidatedRows:
    """Type and check canonical rows; ``frame['source_row']`` numbers the rows in the source.

    Text cells are parsed here (not by the file reader) so that a bad cell can be reported
    with its value instead of turning a whole column into text. ``file_label`` names the file, or
    each row's file (a Series on ``frame``'s index) when the rows of many files are checked in one
    pass: every pass costs a fixed ~0.1 s of column work, which a source of 500 one-row files
    would pay 500 times. Such a caller checks each file's own columns (``check_required_columns``)
    before joining them, as a joined frame has every file's columns. Duplicates count within a file.
    """
    if isinstance(file_label, str):
        check_required_columns(list(frame.columns), file_label)
    files = pd.Series(file_label, index=frame.index) if isinstance(file_label, str) else file_label
    rows = frame["source_row"].to_numpy()
    typed = pd.DataFrame({"source_row": frame["source_row"].astype("int64")}, index=frame.index)
    problems: list[tuple[np.ndarray, str, str]] = []  # (mask, column, reason)

    def refuse(mask: pd.Series | np.ndarray, column: str, reason: str) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            problems.append((mask, column, reason))

    for column in RESULT_COLUMNS:
        if column.name not in frame:
            continue
        raw = frame[column.name]
        if column.is_numeric:
            typed[column.name] = _parse_numbers(raw, column.name, column.sql_type != "DOUBLE", refuse)
        elif column.sql_type == "TIMESTAMP":
            typed[column.name] = _parse_timestamps(raw, column.name, refuse)
        elif column.sql_type == "BOOLEAN":
            typed[column.name] = _parse_booleans(raw, column.name, refuse)
        else:
            typed[column.name] = _clean_text(raw)

    _normalise_categories(typed, refuse)
    system_batched = typed["workload"].isin(SYSTEM_BATCHED_WORKLOADS)
    for name in REQUIRED_COLUMNS:
        missing = ~_present_in_source(frame[name])
        refuse(missing & ~system_batched if name == "batch_size" else missing, name, "missing value")
    _check_semantics(typed, refuse)
    _check_ranges(typed, refuse)
    # A bad cell is already reported as such; this is for rows that measured neither.
    measured = [_present_in_source(frame[name]) for name in ("throughput", "latency_ms") if name in frame]
    refuse(~np.logical_or.reduce(measured), "throughput", "needs throughput or latency_ms; both are empty")
    _check_duplicates(typed, files, refuse)

    rejects = [
        Reject(str(files.iloc[i]), int(rows[i]), _column_label(frame, column, i), reason.format(value=_cell(frame, column, i)))
        for mask, column, reason in problems
        for i in np.flatnonzero(mask)
    ]
    file_order = {file: number for number, file in enumerate(files.astype(str).unique())}
    rejects.sort(key=lambda reject: (file_order[reject.file], reject.row, reject.column))
    bad = np.zeros(len(frame), dtype=bool)
    for mask, _, _ in problems:
        bad |= mask
    return ValidatedRows(typed.loc[~bad], rejects, int(bad.sum()))


def _present_in_source(raw: pd.Series) -> pd.Series:
    """True where the source had a non-empty cell (used to avoid double-reporting bad values)."""
    as_text = raw.astype("string").str.strip()
    return raw.notna() & (as_text != "")


def _clean_text(raw: pd.Series) -> pd.Series:
    text = raw.astype("string").str.strip()
    return text.mask(text == "").astype(object).where(text.notna() & (text != ""), None)


def _parse_numbers(raw: pd.Series, name: str, integral: bool, refuse) -> pd.Series:
    present = _present_in_source(raw)
    numbers = pd.to_numeric(raw.astype("string").str.strip() if raw.dtype == object else raw, errors="coerce")
    # JSON true / false would otherwise pass as 1 / 0
    numbers = numbers.astype("float64").mask(raw.map(lambda v: isinstance(v, bool | np.bool_)))
    refuse(present & numbers.isna(), name, "not a number: {value!r}")
    refuse(np.isinf(numbers), name, "not a finite number: {value!r}")
    if integral:
        finite = numbers.where(np.isfinite(numbers))
        refuse(finite.notna() & (finite % 1 != 0), name, "not a whole number: {value!r}")
        refuse(finite.abs() > INTEGER_LIMIT, name, f"{{value!r}} exceeds the largest storable count {INTEGER_LIMIT}")
        return finite.where((finite % 1 == 0) & (finite.abs() <= INTEGER_LIMIT)).astype("Int64")
    return numbers.where(np.isfinite(numbers))


def _parse_timestamps(raw: pd.Series, name: str, refuse) -> pd.Series:
    present = _present_in_source(raw)
    stamps = pd.to_datetime(raw, errors="coerce", utc=True, format="mixed")
    refuse(present & stamps.isna(), name, "not a timestamp: {value!r}")
    return stamps.dt.tz_convert(None)


def _parse_booleans(raw: pd.Series, name: str, refuse) -> pd.Series:
    present = _present_in_source(raw)
    parsed = raw.map(lambda v: bool(v) if isinstance(v, bool | np.bool_) else BOOLEAN_SPELLINGS.get(str(v).strip().lower()))
    refuse(present & parsed.isna(), name, "not true or false: {value!r}")
    return parsed.where(present, None).astype(object)


def _categorise(
    typed: pd.DataFrame, column: str, allowed: frozenset[str], refuse,
    default: str | None = None, aliases: dict[str, str] | None = None, noun: str | None = None,
) -> None:
    """Lower-case ``column`` in place (spellings mapped by ``aliases``, a missing column or cell becoming
    ``default``), refusing values outside ``allowed``."""
    values = typed[column].str.lower() if column in typed else pd.Series(None, index=typed.index, dtype=object)
    if aliases:
        values = values.replace(aliases)
    if default is not None:
        values = values.fillna(default)
    refuse(values.notna() & ~values.isin(allowed), column,
           f"unknown {noun or column.replace('_', ' ')} {{value!r}}; expected one of {', '.join(sorted(allowed))}")
    typed[column] = values.astype(object).where(values.notna(), None)


def _check_semantics(typed: pd.DataFrame, refuse) -> None:
    """What a latency or a power figure means must be known before it is stored."""
    has_latency = typed["latency_ms"].notna() if "latency_ms" in typed else pd.Series(False, index=typed.index)
    typed["latency_kind"] = typed["latency_kind"].where(typed["latency_kind"].notna() | ~has_latency, DEFAULT_LATENCY_KIND)
    if "power_w" in typed:
        refuse(typed["power_w"].notna() & typed["power_scope"].isna(), "power_scope",
               f"power_w needs its scope: one of {', '.join(sorted(POWER_SCOPES))}")


def _normalise_categories(typed: pd.DataFrame, refuse) -> None:
    _categorise(typed, "precision", PRECISIONS, refuse, aliases=PRECISION_ALIASES)
    _categorise(typed, "mode", MODES, refuse)
    _categorise(typed, "hardware_platform", PLATFORMS, refuse, noun="platform")
    _categorise(typed, "workload", WORKLOADS, refuse, default=DEFAULT_WORKLOAD)
    _categorise(typed, "latency_kind", LATENCY_KINDS, refuse)
    _categorise(typed, "power_scope", POWER_SCOPES, refuse)
    _categorise(typed, "parallelism", PARALLELISMS, refuse)


def _check_ranges(typed: pd.DataFrame, refuse) -> None:
    refuse(typed["batch_size"].fillna(1) <= 0, "batch_size", "must be a positive whole number, got {value!r}")
    if "num_devices" in typed:
        refuse(typed["num_devices"].fillna(1) <= 0, "num_devices", "must be a positive whole number, got {value!r}")
    else:
        typed["num_devices"] = pd.array([1] * len(typed), dtype="Int64")
    typed["num_devices"] = typed["num_devices"].fillna(1)
    for name in POSITIVE_SIZES:
        if name in typed:
            refuse(typed[name].fillna(1) <= 0, name, "must be a positive whole number, got {value!r}")
    for name in metric_columns():
        if name in typed:
            refuse(typed[name] < 0, name, "negative value {value!r}")
            refuse(typed[name] == 0, name, "zero is not a measurement; leave the cell empty when unknown")


def _check_duplicates(typed: pd.DataFrame, files: pd.Series, refuse) -> None:
    """The same measurement twice in one file is a copy-paste error, not a repeat run."""
    content = [c for c in typed.columns if c != "source_row"]
    keyed = typed[content].assign(source_file=files.to_numpy())
    refuse(keyed.duplicated(keep="first"), "*", "duplicate of an earlier row in the same file")


def _column_label(frame: pd.DataFrame, column: str, position: int) -> str:
    """Wide sources (one model per column) name the source column a measure came from."""
    if "source_column" in frame and column in CELL_COLUMNS:
        return f"{frame['source_column'].iloc[position]} ({column})"
    return column


def _cell(frame: pd.DataFrame, column: str, position: int) -> object:
    if column not in frame:
        return None
    value = frame[column].iloc[position]
    value = value.item() if isinstance(value, np.generic) else value  # inf, not np.float64(inf)
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value
