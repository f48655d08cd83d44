"""The local benchmark runner: measure real configurations on this machine.

Public API::

    from predictive_performance.benchmark import (
        detect_hardware,          # what this machine can run, mapped to the hardware catalog
        BenchmarkConfig,          # one configuration (model, platform, batch, precision, mode, sizes)
        run_configurations,       # measure -> (results_df in schema columns, failures_df); no warehouse
        BenchmarkRunner,          # the same with time caps, checkpoints and the skipped list
        run_benchmark_command,    # plan (queue or coverage) or read a file, measure, ingest
        plan_configurations,      # what to measure next
    )

PyTorch, ONNX Runtime, OpenVINO, NNCF and transformers are optional (``pip install
'perfpredict[bench]'``): they are imported only when a configuration needs them.
"""

from predictive_performance.benchmark.architectures import (
    ARCHITECTURES,
    ArchitectureSpec,
    UnknownArchitectureError,
    canonical_model_name,
    get_architecture,
    list_architectures,
)
from predictive_performance.benchmark.command import BenchmarkReport, run_benchmark_command
from predictive_performance.benchmark.configuration import BenchmarkConfig
from predictive_performance.benchmark.energy import EnergyMeter, rapl_available
from predictive_performance.benchmark.hardware import (
    CpuInfo,
    HardwareInfo,
    PlatformInfo,
    cpu_catalog_name,
    detect_hardware,
)
from predictive_performance.benchmark.plan import (
    DEFAULT_BUDGET,
    coverage_plan,
    load_configs,
    plan_configurations,
    queue_plan,
)
from predictive_performance.benchmark.results import (
    HIGH_CV_THRESHOLD,
    SOURCE,
    Measurement,
    RunOutcome,
    coefficient_of_variation,
)
from predictive_performance.benchmark.runner import BenchmarkRunner, run_configurations

__all__ = [
    "ARCHITECTURES",
    "DEFAULT_BUDGET",
    "HIGH_CV_THRESHOLD",
    "SOURCE",
    "ArchitectureSpec",
    "BenchmarkConfig",
    "BenchmarkReport",
    "BenchmarkRunner",
    "CpuInfo",
    "EnergyMeter",
    "HardwareInfo",
    "Measurement",
    "PlatformInfo",
    "RunOutcome",
    "UnknownArchitectureError",
    "canonical_model_name",
    "coefficient_of_variation",
    "coverage_plan",
    "cpu_catalog_name",
    "detect_hardware",
    "get_architecture",
    "list_architectures",
    "load_configs",
    "plan_configurations",
    "queue_plan",
    "rapl_available",
    "run_benchmark_command",
    "run_configurations",
]
