"""Bring benchmark results into the warehouse from any supported source.

Every source is mapped to canonical rows, validated row by row, and stored in one
transaction. By default a file with any rejected row stores nothing: a partly loaded file is
harder to fix than a refused one. ``allow_partial=True`` stores the good rows and still
reports every reject.
"""

from __future__ import annotations

from typing import Any

FORMATS = ("auto", "canonical", "lambda", "ipfs", "neusight", "pytorch-gpu-benchmark", "ml-energy", "mlperf")
# the readers need pandas and DuckDB; the command line names FORMATS in its help without loading them
LAZY = ("IngestError", "IngestReport", "Reject", "content_digest", "ingest_frame", "ingest_path", "unknown_names")

__all__ = ["FORMATS", *LAZY]


def __getattr__(name: str) -> Any:
    """The ingest functions, imported from ``ingest.loading`` on first use (PEP 562)."""
    if name not in LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from predictive_performance.ingest import loading

    return getattr(loading, name)
