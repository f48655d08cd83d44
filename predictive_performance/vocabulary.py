"""The project's vocabulary: the metrics it predicts and the categories a configuration is made of.

Every other module asks this one. A metric is one frozen ``Metric``; ``METRICS`` is the tuple of
them, in the order tables and reports show them. Adding a metric is one entry here plus its data:
the training assets, prediction columns, result keys, reports and recommendations derive from it.

Code reads ``metrics()`` (or looks one up with ``metric``) when it runs rather than copying the
tuple when it is imported, so a test can register a metric for the length of one test.

dbt's project vars and the Great Expectations suites hold the same category values as literals
(SQL and JSON cannot import Python); ``tests/test_vocabulary.py`` proves they agree with this module.
"""

from __future__ import annotations

from dataclasses import dataclass

FIGURES: tuple[str, ...] = ("pred", "lower", "upper", "confidence")


@dataclass(frozen=True)
class Metric:
    """One predicted metric: where it is stored, what results call it and how it is judged.

    ``reference`` names the physics reference the efficiency target divides by (the functions in
    ``predictive_performance.modeling.targets.REFERENCES``): what an ideal device would show.
    """

    column: str  # the warehouse column, e.g. ``latency_ms``
    key: str  # the short name in results and on the command line, e.g. ``latency``
    unit: str
    confidence_key: str  # the result key of its confidence
    higher_is_better: bool
    reference: str
    description: str  # what one model version of it predicts, for the Dagster UI
    # Columns whose values change what one figure of the metric means (a per-token latency is not a
    # per-batch one): a model is fitted, evaluated and asked per combination of their values, never across.
    partition_by: tuple[str, ...] = ()

    @property
    def asset_name(self) -> str:
        """The Dagster asset that holds its current model version, e.g. ``latency_model``."""
        return f"{self.key}_model"

    def figure(self, figure: str) -> str:
        """A prediction column: ``pred``, ``lower``, ``upper``, ``confidence``, ... -> ``latency_ms_pred``."""
        return f"{self.column}_{figure}"

    @property
    def figures(self) -> tuple[str, ...]:
        """Its prediction columns: value, interval bounds and confidence."""
        return tuple(self.figure(figure) for figure in FIGURES)


METRICS: tuple[Metric, ...] = (
    Metric("throughput", "throughput", "items/s", "confidence", True, "roofline_throughput",
           "The current throughput model version (items per second of the whole system), one model per workload.",
           ("workload",)),
    Metric("latency_ms", "latency", "ms per batch", "confidence_latency", False, "roofline_batch_time",
           "The current latency model version (milliseconds), one model per latency kind and workload.",
           ("latency_kind", "workload")),
    Metric("memory_mb", "memory", "MB (peak)", "confidence_memory", False, "weights_memory",
           "The current peak-memory model version (MB), one model per workload.", ("workload",)),
    Metric("power_w", "power", "W (average)", "confidence_power", False, "rated_power",
           "The current power model version (W), one model per power scope; empty until power has been measured.",
           ("power_scope",)),
)


def metrics() -> tuple[Metric, ...]:
    """Every metric, read when called (so a metric registered by a test is seen)."""
    return METRICS


def metric_columns() -> tuple[str, ...]:
    """The warehouse columns of every metric: ``throughput``, ``latency_ms``, ..."""
    return tuple(m.column for m in metrics())


def metric(name: str | Metric) -> Metric:
    """A metric by its column or its key, any case (``latency`` and ``latency_ms`` are the same)."""
    if isinstance(name, Metric):
        return name
    wanted = str(name).strip().lower()
    for candidate in metrics():
        if wanted in (candidate.column, candidate.key):
            return candidate
    raise ValueError(f"unknown metric {name!r}; expected one of {', '.join(m.key for m in metrics())}")


# tpu (Google), xpu (Intel GPUs) and npu (other dedicated inference accelerators) extend DESIGN.md's list
PLATFORMS: frozenset[str] = frozenset(
    {"cpu", "cuda", "rocm", "mps", "openvino", "qnn", "webnn", "webgpu", "onnxruntime", "tpu", "xpu", "npu"}
)
# fp4 covers the 4-bit float formats (mxfp4, nvfp4); int4 is the integer one
PRECISIONS: frozenset[str] = frozenset({"fp64", "fp32", "fp16", "bf16", "amp", "fp8", "fp4", "int8", "int4"})
MODES: frozenset[str] = frozenset({"inference", "training"})

# How the inputs reach the model: the same batch run repeatedly, a server under a concurrency cap
# (batch_size is the cap), or an MLPerf scenario's load generator.
DEFAULT_WORKLOAD = "static_batch"
WORKLOADS: frozenset[str] = frozenset({"static_batch", "serving", "offline", "server", "single_stream", "multi_stream"})
# The workloads whose system chose the batch itself; only their rows may leave batch_size empty.
SYSTEM_BATCHED_WORKLOADS: frozenset[str] = frozenset({"offline", "server"})

# What one latency_ms means: one batch, the median time per generated token, an MLPerf query at its
# 90th percentile (SingleStream: one sample) or 99th (MultiStream: eight samples), or one whole
# request (a generated response; the 2023 ML.ENERGY leaderboard).
DEFAULT_LATENCY_KIND = "batch"
LATENCY_KINDS: frozenset[str] = frozenset({"batch", "token", "query_p90", "query_p99", "request"})

# What one power_w covers: the accelerators only, summed over them (NVML, RAPL package), or the
# whole system at the wall (MLPerf Power).
DEFAULT_POWER_SCOPE = "accelerators"
POWER_SCOPES: frozenset[str] = frozenset({"accelerators", "system"})

# What an empty partition column means (``Metric.partition_by``), in measurements and in requests.
PARTITION_DEFAULTS: dict[str, str] = {
    "workload": DEFAULT_WORKLOAD, "latency_kind": DEFAULT_LATENCY_KIND, "power_scope": DEFAULT_POWER_SCOPE,
}

# How a multi-device row splits its work; empty for one device.
# sequence: each item's tokens split over the devices (Ulysses / ring attention), every device sees the whole batch
PARALLELISMS: frozenset[str] = frozenset({"data", "tensor", "pipeline", "expert", "sequence"})

# Spellings seen in the wild, mapped to the canonical precision.
PRECISION_ALIASES: dict[str, str] = {
    "float64": "fp64",
    "double": "fp64",
    "float32": "fp32",
    "float": "fp32",
    "single": "fp32",
    "full": "fp32",
    "float16": "fp16",
    "half": "fp16",
    "bfloat16": "bf16",
    "float8": "fp8",
    "mxfp4": "fp4",
    "nvfp4": "fp4",
    "qint8": "int8",
    "int8_dynamic": "int8",
    "mixed": "amp",
    "mixed_precision": "amp",
}
