"""Configurations as given: read from a file or passed in, checked cell by cell before any name is resolved.

Counts (batch size, devices, input sizes) are parsed here, once, so that every bad cell is reported
with its row and column instead of failing later inside the feature code.

What the figures are to mean is part of a configuration: ``workload`` (default ``static_batch``),
``task``, ``latency_kind`` and ``power_scope`` (default ``accelerators``). The latency kind defaults
to the one the workload measures (per output token when serving, per query at the 90th percentile
for an MLPerf stream, per batch otherwise), and ``batch_size`` may stay empty only where the system
chooses the batch (MLPerf offline / server); elsewhere it defaults to 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from predictive_performance.ingest.validation import INTEGER_LIMIT
from predictive_performance.vocabulary import (
    DEFAULT_LATENCY_KIND,
    DEFAULT_POWER_SCOPE,
    DEFAULT_WORKLOAD,
    LATENCY_KINDS,
    POWER_SCOPES,
    SYSTEM_BATCHED_WORKLOADS,
    WORKLOADS,
)

# What a configuration is made of; any other column of an input file (metrics, a previous
# prediction's figures, notes and versions) is ignored, so predict reads its own output back.
CONFIGURATION_COLUMNS = (
    "model_name", "model_type", "hardware_name", "hardware_platform", "num_devices", "batch_size", "precision",
    "mode", "sequence_length", "image_size", "workload", "task", "latency_kind", "power_scope",
)
REQUIRED_INPUT = ("model_name", "batch_size", "precision", "mode")
NUMERIC_INPUT = ("batch_size", "num_devices", "sequence_length", "image_size")
DEFAULTS: dict[str, Any] = {"precision": "fp32", "mode": "inference"}
DEFAULT_BATCH_SIZE = 1
SEMANTIC_INPUT: dict[str, frozenset[str]] = {
    "workload": WORKLOADS, "latency_kind": LATENCY_KINDS, "power_scope": POWER_SCOPES,
}
# the latency a workload measures, where it is not one batch
WORKLOAD_LATENCY_KIND: dict[str, str] = {"serving": "token", "single_stream": "query_p90", "multi_stream": "query_p90"}


def read_configurations(path: str | Path, require_settings: bool = True) -> pd.DataFrame:
    """Configurations from a CSV, Parquet or JSON file in the canonical columns (no metrics needed).

    Needs model_name, hardware_name or hardware_platform and (with ``require_settings``)
    batch_size, precision and mode. Empty cells are missing values; a number that is not one is
    reported with its row (first data row = 1) and column. Only ``CONFIGURATION_COLUMNS`` are
    kept, with ``input_row``. Raises ``ValueError``.
    """
    from predictive_performance.ingest.canonical import read_canonical

    frame = read_canonical(Path(path))
    kept = [c for c in frame.columns if c in CONFIGURATION_COLUMNS]
    frame = frame[[*kept, "source_row"]].replace({"": None}).rename(columns={"source_row": "input_row"})
    needed = REQUIRED_INPUT if require_settings else ("model_name",)
    missing = [c for c in needed if c not in frame.columns]
    if "hardware_name" not in frame.columns and "hardware_platform" not in frame.columns:
        missing.append("hardware_name or hardware_platform")
    if missing:
        raise ValueError(f"{path}: missing column(s): {', '.join(missing)}")
    problems = _parse_counts(frame, frame["input_row"], "row")
    workload = frame["workload"].astype(str).str.strip().str.lower() if "workload" in frame else None
    system_batched = workload.isin(SYSTEM_BATCHED_WORKLOADS) if workload is not None else False
    for column in needed:
        empty = frame[column].isna() & ~(system_batched if column == "batch_size" else False)
        problems += [f"row {row}, column {column}: empty" for row in frame.loc[empty, "input_row"]]
    if problems:
        raise _input_error(f"{path}: ", problems)
    return frame


def configuration_frame(configs: Sequence[dict] | pd.DataFrame) -> pd.DataFrame:
    """A checked copy of configurations (dicts or a DataFrame) with counts parsed and defaults filled.

    Raises ``ValueError`` naming every bad cell by configuration (first = 1) and column.
    """
    frame = pd.DataFrame(list(configs)) if not isinstance(configs, pd.DataFrame) else configs.copy()
    if frame.empty:
        raise ValueError("no configurations to predict")
    if "model_name" not in frame.columns:
        raise ValueError("each configuration needs a model_name")
    if "hardware_name" not in frame.columns and "hardware_platform" not in frame.columns:
        raise ValueError("each configuration needs hardware_name or hardware_platform")
    frame = frame.reset_index(drop=True)
    problems = _parse_counts(frame, range(1, len(frame) + 1), "configuration")
    unnamed = np.flatnonzero(frame["model_name"].map(_blank).to_numpy())
    problems += [f"configuration {position + 1}, column model_name: empty" for position in unnamed]
    problems += _parse_semantics(frame)
    if problems:
        raise _input_error("", problems)
    batch = frame["batch_size"] if "batch_size" in frame else pd.Series(None, index=frame.index, dtype=object)
    system_batched = frame["workload"].isin(SYSTEM_BATCHED_WORKLOADS)
    frame["batch_size"] = batch.where(batch.notna() | system_batched, DEFAULT_BATCH_SIZE)
    for column, default in DEFAULTS.items():
        frame[column] = frame[column].where(frame[column].notna(), default) if column in frame else default
    if "model_type" not in frame.columns:
        frame["model_type"] = None
    return frame


def _parse_semantics(frame: pd.DataFrame) -> list[str]:
    """Canonical workload, latency kind and power scope in place, defaults filled; one problem per unknown value."""
    problems = []
    for column, allowed in SEMANTIC_INPUT.items():
        given = frame[column] if column in frame else pd.Series(None, index=frame.index, dtype=object)
        values = given.astype(object).map(lambda v: None if _blank(v) else str(v).strip().lower())
        for position in np.flatnonzero((values.notna() & ~values.isin(allowed)).to_numpy()):
            problems.append(
                f"configuration {position + 1}, column {column}: unknown {values.iloc[position]!r} "
                f"(expected one of {', '.join(sorted(allowed))})"
            )
        frame[column] = values
    frame["workload"] = frame["workload"].fillna(DEFAULT_WORKLOAD)
    kind = frame["latency_kind"].fillna(frame["workload"].map(WORKLOAD_LATENCY_KIND))
    frame["latency_kind"] = kind.fillna(DEFAULT_LATENCY_KIND)
    frame["power_scope"] = frame["power_scope"].fillna(DEFAULT_POWER_SCOPE)
    if "task" not in frame.columns:
        frame["task"] = None
    return problems


def _blank(value: Any) -> bool:
    """An empty cell: None, NaN or blank text."""
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)) or (
        isinstance(value, str) and not value.strip()
    )


def _parse_counts(frame: pd.DataFrame, rows: Iterable, label: str) -> list[str]:
    """Parse ``NUMERIC_INPUT`` columns in place as positive integers (None where empty).

    Returns one problem per bad cell, naming the row (``label`` and number) and the column:
    text, booleans, fractions, infinities, zero, negatives and counts beyond 32 bits are refused.
    """
    rows = list(rows)
    problems = []
    for column in NUMERIC_INPUT:
        if column not in frame.columns:
            continue
        values = frame[column]
        present, numbers = _present_numbers(values)
        whole = np.isfinite(numbers) & (numbers % 1 == 0) & (numbers > 0)
        fits = whole & (numbers <= INTEGER_LIMIT)
        for position in np.flatnonzero((present & ~fits).to_numpy()):
            value = values.iloc[position]
            value = value.item() if isinstance(value, np.generic) else value  # 2.5, not np.float64(2.5)
            too_big = whole.iloc[position]
            reason = f"{value!r} exceeds {INTEGER_LIMIT}" if too_big else f"not a positive integer {value!r}"
            problems.append(f"{label} {rows[position]}, column {column}: {reason}")
        frame[column] = numbers.where(fits).astype("Int64").astype(object).where(fits, None)
    return problems


def _present_numbers(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(which cells hold something, their number: NaN for text and booleans).

    A numeric column (what ``batch_predict`` gets from Python ints or a parsed CSV) is converted
    whole; only object columns, which may hold text or booleans, are looked at cell by cell.
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype(float)
        return numbers.notna(), numbers
    given = values.astype(object).map(lambda v: None if _blank(v) else v)
    numbers = pd.to_numeric(
        given.map(lambda v: np.nan if v is None or isinstance(v, bool | np.bool_) else v), errors="coerce"
    ).astype(float)
    return given.notna(), numbers


def _input_error(prefix: str, problems: list[str], shown: int = 20) -> ValueError:
    """One ``ValueError`` naming the first ``shown`` problems and how many more there are."""
    more = f" (and {len(problems) - shown} more)" if len(problems) > shown else ""
    return ValueError(prefix + "; ".join(problems[:shown]) + more)
