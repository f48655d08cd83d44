"""The data the main command learns from when nobody has ingested anything yet."""

from __future__ import annotations

from pathlib import Path

from predictive_performance.ingest import IngestReport, ingest_path
from predictive_performance.settings import SAMPLE_DATA_DIR, SHARED_DATA_DIR
from predictive_performance.warehouse import Warehouse


class NoDataError(RuntimeError):
    """Neither the warehouse nor the default locations hold any benchmark results."""


def default_sources() -> list[tuple[Path, str]]:
    """The embedded sample measurements, and the public Lambda set when it sits beside the repo."""
    sources = [(path, "canonical") for path in sorted(SAMPLE_DATA_DIR.glob("*.parquet"))]
    lambda_dir = SHARED_DATA_DIR / "lambda-pytorch-train"
    if lambda_dir.is_dir():
        sources.append((lambda_dir, "lambda"))
    return sources


def ingest_default_data(warehouse: Warehouse) -> list[IngestReport]:
    """Ingest each default source not loaded before; content already stored is skipped."""
    sources = default_sources()
    if not sources and not warehouse.row_counts()["benchmark_results"]:
        raise NoDataError(
            f"no benchmark data found: the warehouse {warehouse.path} is empty, there is no sample data "
            f"in {SAMPLE_DATA_DIR} and no Lambda data in {SHARED_DATA_DIR}. "
            "Ingest some with `perfpredict ingest PATH` or measure some with `perfpredict benchmark`."
        )
    return [report for path, fmt in sources for report in ingest_path(path, warehouse, fmt=fmt)]
