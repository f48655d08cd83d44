"""The formats ``perfpredict ingest`` knows, in the order ``--format auto`` tries them.

A source-specific format comes before ``canonical``, which claims any file the others leave.
``ingest.FORMATS`` spells the same names for the command line's help (checked by test_ingest).
"""

from __future__ import annotations

from predictive_performance.ingest import (
    canonical,
    ipfs,
    lambda_csv,
    ml_energy,
    mlperf,
    neusight,
    pytorch_gpu_benchmark,
)
from predictive_performance.ingest.sources import SourceFormat

SOURCE_FORMATS: tuple[SourceFormat, ...] = (
    lambda_csv.FORMAT,
    ipfs.FORMAT,
    mlperf.FORMAT,
    ml_energy.FORMAT,
    neusight.FORMAT,
    pytorch_gpu_benchmark.FORMAT,
    canonical.FORMAT,
)
FORMAT_BY_NAME: dict[str, SourceFormat] = {source_format.name: source_format for source_format in SOURCE_FORMATS}
