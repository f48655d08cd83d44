"""What a benchmark run produces: measurements, failures and skips, and the frames they become.

Measured rows take the canonical + extra columns of ``schema.RESULT_COLUMNS``; each metric's
figure goes under the column the vocabulary gives it. Failures and skips keep the configuration
and say why, so a later plan can tell "not measured on purpose" from "cannot run".
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd

from predictive_performance.benchmark.architectures import canonical_model_name, get_architecture
from predictive_performance.benchmark.configuration import BenchmarkConfig
from predictive_performance.benchmark.hardware import HardwareInfo
from predictive_performance.schema import RESULT_COLUMNS
from predictive_performance.vocabulary import metrics

SOURCE = "local-runner"
HIGH_CV_THRESHOLD = 0.15  # throughput_cv above this flags a measurement as too noisy to trust

FAILURE_COLUMNS = (
    "model_name",
    "hardware_platform",
    "hardware_name",
    "batch_size",
    "precision",
    "mode",
    "sequence_length",
    "image_size",
    "error",
    "source",
    "measured_at",
)
SKIPPED_COLUMNS = (
    "model_name",
    "hardware_platform",
    "batch_size",
    "precision",
    "mode",
    "sequence_length",
    "image_size",
    "reason",
)


@dataclass
class Measurement:
    """One measured configuration; the metric fields are named after their warehouse columns."""

    config: BenchmarkConfig
    throughput: float
    throughput_cv: float | None
    latency_ms: float
    latency_p50_ms: float
    latency_p90_ms: float
    memory_mb: float | None
    power_w: float | None
    repeats: int
    iterations: int
    framework: str
    measured_at: datetime
    seconds: float  # wall time spent on this configuration, warm-up included
    cpu_contention: float | None = None  # other processes' share of the CPU during the timed runs
    attempts: int = 1

    @property
    def flagged(self) -> bool:
        return self.throughput_cv is not None and self.throughput_cv > HIGH_CV_THRESHOLD

    def metric_values(self) -> dict[str, float | None]:
        """Each metric's figure under its column; a metric the runner does not measure stays empty."""
        return {m.column: getattr(self, m.column, None) for m in metrics()}


@dataclass
class RunOutcome:
    results: pd.DataFrame
    failures: pd.DataFrame
    skipped: pd.DataFrame
    measurements: list[Measurement] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def flagged(self) -> pd.DataFrame:
        if self.results.empty:
            return self.results
        return self.results[self.results["throughput_cv"] > HIGH_CV_THRESHOLD]


def coefficient_of_variation(values: Iterable[float]) -> float | None:
    """Sample standard deviation over the mean; None for fewer than two values or a zero mean."""
    values = [float(v) for v in values]
    if len(values) < 2:
        return None
    mean = statistics.fmean(values)
    return statistics.stdev(values) / mean if mean else None


def results_frame(measurements: list[Measurement], hardware: HardwareInfo) -> pd.DataFrame:
    """Measured rows in the canonical + extra columns of ``schema.RESULT_COLUMNS``."""
    rows = []
    for m in measurements:
        c = m.config
        spec = get_architecture(c.model_name)
        rows.append(
            {
                "model_name": spec.name,
                "model_family": spec.family,
                "model_type": spec.model_type,
                "hardware_platform": c.hardware_platform,
                "hardware_name": hardware.hardware_name_for(c.hardware_platform),
                "num_devices": 1,
                "batch_size": c.batch_size,
                "precision": c.precision,
                "mode": c.mode,
                "workload": "static_batch",
                "sequence_length": c.sequence_length,
                **m.metric_values(),
                "latency_kind": "batch",
                # RAPL's package counter: the processor the model ran on, not the machine at the wall
                "power_scope": "accelerators" if m.power_w is not None else None,
                "source": SOURCE,
                "measured_at": m.measured_at,
                "system_name": None,
                "image_size": c.image_size,
                "latency_p50_ms": m.latency_p50_ms,
                "latency_p90_ms": m.latency_p90_ms,
                "throughput_cv": m.throughput_cv,
                "repeats": m.repeats,
                "framework": m.framework,
                "hardware_description": hardware.description,
            }
        )
    return _typed_results(pd.DataFrame(rows, columns=[c.name for c in RESULT_COLUMNS]))


def _typed_results(frame: pd.DataFrame) -> pd.DataFrame:
    for column in RESULT_COLUMNS:
        if column.sql_type in ("INTEGER", "BIGINT"):
            frame[column.name] = frame[column.name].astype("Int64")
        elif column.sql_type == "DOUBLE":
            frame[column.name] = frame[column.name].astype("float64")
        elif column.sql_type == "TIMESTAMP":
            frame[column.name] = pd.to_datetime(frame[column.name])
        else:
            frame[column.name] = frame[column.name].astype(object)
    return frame


def failure_row(config: BenchmarkConfig, error: str, hardware: HardwareInfo) -> dict:
    """A row of ``raw.failed_benchmarks``: the configuration (catalog name where known) and why it failed."""
    name = config.model_name
    try:
        name = canonical_model_name(name)
    except Exception:  # noqa: BLE001
        pass
    return {
        "model_name": name,
        "hardware_platform": config.hardware_platform,
        "hardware_name": hardware.hardware_name_for(config.hardware_platform),
        "batch_size": config.batch_size,
        "precision": config.precision,
        "mode": config.mode,
        "sequence_length": config.sequence_length,
        "image_size": config.image_size,
        "error": error[:1000],
        "source": SOURCE,
        "measured_at": datetime.now(UTC).replace(tzinfo=None),
    }


def skip_row(config: BenchmarkConfig, reason: str) -> dict:
    """A configuration not measured on purpose (time cap or budget), with the reason."""
    return {**config.as_dict(), "reason": reason}


def rows_frame(rows: list[dict], columns: tuple[str, ...]) -> pd.DataFrame:
    """Failure or skip rows as a frame with nullable integer sizes and a timestamp column."""
    frame = pd.DataFrame(rows, columns=list(columns))
    for name in ("batch_size", "sequence_length", "image_size"):
        if name in frame:
            frame[name] = frame[name].astype("Int64")
    if "measured_at" in frame:
        frame["measured_at"] = pd.to_datetime(frame["measured_at"])
    return frame
