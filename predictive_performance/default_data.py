"""The data the main command learns from when nobody has ingested anything yet."""

from __future__ import annotations

from pathlib import Path

from predictive_performance.ingest import IngestReport, ingest_path
from predictive_performance.settings import SAMPLE_DATA_DIR, SHARED_DATA_DIR
from predictive_performance.warehouse import Warehouse

# Each public source in ../shared/data with the format that reads it (its README says what one row
# of each means). Named, not detected, so a folder added there without an importer is noticed by
# test_default_data rather than read as canonical files.
PUBLIC_SOURCES: dict[str, str] = {
    "lambda-pytorch-train": "lambda",
    "neusight": "neusight",
    "pytorch-gpu-benchmark": "pytorch-gpu-benchmark",
    "ml-energy": "ml-energy",
    "mlperf-inference-v4.1": "mlperf",
}


class NoDataError(RuntimeError):
    """Neither the warehouse nor the default locations hold any benchmark results."""


def default_sources() -> list[tuple[Path, str]]:
    """The embedded sample measurements, and every public source that sits beside the repo."""
    sources = [(path, "canonical") for path in sorted(SAMPLE_DATA_DIR.glob("*.parquet"))]
    for folder, fmt in PUBLIC_SOURCES.items():
        if (SHARED_DATA_DIR / folder).is_dir():
            sources.append((SHARED_DATA_DIR / folder, fmt))
    return sources


def ingest_default_data(warehouse: Warehouse) -> list[IngestReport]:
    """Ingest each default source not loaded before; content already stored is skipped."""
    sources = default_sources()
    if not sources and not warehouse.row_counts()["benchmark_results"]:
        raise NoDataError(
            f"no benchmark data found: the warehouse {warehouse.path} is empty, there is no sample data "
            f"in {SAMPLE_DATA_DIR} and no public data in {SHARED_DATA_DIR}. "
            "Ingest some with `perfpredict ingest PATH` or measure some with `perfpredict benchmark`."
        )
    return [report for path, fmt in sources for report in ingest_path(path, warehouse, fmt=fmt)]
