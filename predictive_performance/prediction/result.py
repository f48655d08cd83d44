"""``Prediction``: one configuration's predicted figures as a typed, read-only value.

The published API promised a dict (``prediction["throughput"]``, ``prediction["confidence"]``,
``prediction.get("notes")``), so a ``Prediction`` is also a read-only mapping with the same keys
in the same order; ``to_dict()`` gives a plain dict. The metric keys come from the vocabulary:
``<key>``, ``<key>_lower``, ``<key>_upper`` and the metric's confidence key.

What a figure means is part of the result: ``workload``, ``latency_kind`` and ``power_scope`` (and
the units say it: ``ms per output token``, ``W (average, whole system)``). A metric whose model has
no partition for them is ``None``, with a note naming the partitions it has.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from predictive_performance.modeling import ModelVersion
from predictive_performance.modeling.derived import available_metrics
from predictive_performance.prediction.assembly import split_notes
from predictive_performance.vocabulary import Metric, metric, metrics

# What one latency or power figure means, where it is not the vocabulary's default unit.
LATENCY_UNITS: dict[str, str] = {
    "token": "ms per output token", "query_p90": "ms per query (90th percentile)", "request": "ms per request",
}
POWER_UNITS: dict[str, str] = {"system": "W (average, whole system at the wall)"}


@dataclass(frozen=True)
class Prediction(Mapping[str, Any]):
    """Every metric of one configuration with its 80 % interval and confidence, and where they came from."""

    model_name: str
    model_name_requested: str
    model_type: str | None
    hardware_name: str
    hardware_name_requested: str | None
    hardware_platform: str
    num_devices: int
    batch_size: int | None  # None where the system chose it (MLPerf offline / server)
    precision: str
    mode: str
    sequence_length: int | None
    image_size: int | None
    workload: str
    task: str | None
    latency_kind: str
    power_scope: str
    figures: dict[str, float | None]  # per metric: value, _lower, _upper and confidence, by result key
    units: dict[str, str]  # metric key -> unit
    low_confidence: dict[str, bool]  # metric key -> under the threshold; trained metrics only
    confidence_threshold: float
    hardware_measured: bool
    model_measured: bool
    model_version: str  # every version used, comma-separated
    model_versions: dict[str, str]  # metric key -> version
    fallback: dict | None  # what was asked, what was used and how close, where a similar name stood in
    notes: list[str]
    explanation: dict[str, dict] | None = None  # SHAP contributions per metric key, when asked for

    @classmethod
    def from_row(
        cls, row: pd.Series, versions: Mapping[str, ModelVersion], confidence_threshold: float
    ) -> Prediction:
        """The result for one row of ``assembly.predict_resolved``; metrics without a model are None."""
        figures: dict[str, float | None] = {}
        low: dict[str, bool] = {}
        available = available_metrics(versions)
        for m in metrics():
            trained = m.column in available and pd.notna(row[m.figure("pred")])
            for key, column in _figure_columns(m).items():
                figures[key] = _plain(row[column]) if trained else None
            if trained:
                low[m.key] = bool(row[m.figure("low_confidence")])
        return cls(
            model_name=row["model_name"],
            model_name_requested=row["model_name_raw"],
            model_type=_plain(row.get("model_type")),
            hardware_name=row["hardware_name"],
            hardware_name_requested=_plain(row["hardware_name_raw"]),
            hardware_platform=row["hardware_platform"],
            num_devices=int(row["num_devices"]),
            batch_size=None if pd.isna(row["batch_size"]) else int(row["batch_size"]),
            precision=row["precision"],
            mode=row["mode"],
            sequence_length=_plain(row.get("sequence_length")),
            image_size=_plain(row.get("image_size")),
            workload=row["workload"],
            task=_plain(row.get("task")),
            latency_kind=row["latency_kind"],
            power_scope=row["power_scope"],
            figures=figures,
            units=figure_units(row["latency_kind"], row["power_scope"]),
            low_confidence=low,
            confidence_threshold=confidence_threshold,
            hardware_measured=bool(row["hardware_measured"]),
            model_measured=bool(row["model_measured"]),
            model_version=row["model_version"],
            model_versions={metric(column).key: v.version for column, v in versions.items()},
            fallback=row["fallback"] or None,
            notes=split_notes(row["notes"]),
        )

    def to_dict(self) -> dict[str, Any]:
        """A plain dict, keys in the order of the published API (``explanation`` only when explained)."""
        out: dict[str, Any] = {}
        for field in fields(self):
            if field.name == "figures":
                out.update(self.figures)
            elif field.name != "explanation" or self.explanation is not None:
                out[field.name] = getattr(self, field.name)
        return out

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())


def figure_units(latency_kind: str, power_scope: str) -> dict[str, str]:
    """Metric key -> unit, saying what this row's latency and power figures cover."""
    units = {m.key: m.unit for m in metrics()}
    units[metric("latency").key] = LATENCY_UNITS.get(latency_kind, units[metric("latency").key])
    units[metric("power").key] = POWER_UNITS.get(power_scope, units[metric("power").key])
    return units


def _figure_columns(m: Metric) -> dict[str, str]:
    """Result key -> prediction column, for one metric: ``latency_lower`` -> ``latency_ms_lower``."""
    return {
        m.key: m.figure("pred"),
        f"{m.key}_lower": m.figure("lower"),
        f"{m.key}_upper": m.figure("upper"),
        m.confidence_key: m.figure("confidence"),
    }


def _plain(value: Any) -> Any:
    """Plain Python values for results: floats, ints, None for missing."""
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value
