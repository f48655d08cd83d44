"""Describing a device the catalog lacks: detection plus short micro-benchmarks, stored as a catalog load.

Public API::

    from predictive_performance.benchmark.microbench import (
        Settings,                  # sizes and timing of the micro-benchmarks
        measure_rates,             # achieved matmul rate per precision and copy bandwidth of one device
        describe_device,           # detection's figures + the micro-benchmarks' -> Description
        store_description,         # a Description as one catalog load (refused when one exists)
        describe_missing_devices,  # what ``perfpredict benchmark`` runs first
    )
"""

from predictive_performance.benchmark.microbench.description import (
    SOURCE,
    Description,
    describe_device,
    describe_missing_devices,
    described_by,
    store_description,
)
from predictive_performance.benchmark.microbench.kernels import Figure, Settings, Skipped, measure_rates

__all__ = [
    "SOURCE",
    "Description",
    "Figure",
    "Settings",
    "Skipped",
    "describe_device",
    "describe_missing_devices",
    "described_by",
    "measure_rates",
    "store_description",
]
