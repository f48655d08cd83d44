"""What a predictor builds from many predictions: a hardware x batch-size matrix and its heatmap,
a hardware ranking and a comparison report.

Each function takes a ``PerformancePredictor`` (its ``batch_predict``, catalogs and versions), so
the predictor stays a thin facade and these stay testable one by one. The defaults of the public
API live on the facade's methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from predictive_performance import vocabulary
from predictive_performance.modeling.derived import answering_version
from predictive_performance.modeling.partitions import row_partitions
from predictive_performance.names import canonical_platform, is_platform, map_distinct
from predictive_performance.prediction.defaults import RESULTS
from predictive_performance.recommend import objective_for, rank_hardware

if TYPE_CHECKING:
    from predictive_performance.predict import PerformancePredictor

MATRIX_FIGURES = ("pred", "lower", "upper", "confidence", "low_confidence")
# A serving prediction as the demo and the report show it: a vLLM-style server capped at 32 concurrent
# sequences, in bf16, answering in output tokens/s, per-token latency and accelerator power.
SERVING = {"workload": "serving", "batch_size": 32, "precision": "bf16", "mode": "inference", "latency_kind": "token",
           "power_scope": "accelerators"}
SERVING_PARTITION = "workload=serving"


def serving_configurations(
    predictor: PerformancePredictor, models: Sequence[str] = (), devices: Sequence[str] = (), n: int = 1
) -> pd.DataFrame:
    """``SERVING`` configurations for the models and devices the serving rows measured: those given where
    they did, else the first ``n`` of each; empty when the throughput model has no serving partition."""
    throughput = predictor.versions.get(vocabulary.metric("throughput").column)
    if throughput is None or SERVING_PARTITION not in throughput.model.partitions:
        return pd.DataFrame()
    served = throughput.model.partitions[SERVING_PARTITION]
    models = [m for m in models if m in served.known_models] or sorted(served.known_models)[:n]
    devices = [d for d in devices if d in served.known_hardware] or sorted(served.known_hardware)[:n]
    return pd.DataFrame([{"model_name": m, "hardware_name": d, **SERVING} for m in models for d in devices])


def _grid(
    predictor: PerformancePredictor,
    model_names: Sequence[str],
    entries: Sequence[str],
    batch_sizes: Sequence[int],
    **settings: Any,
) -> pd.DataFrame:
    """Configurations for every model x hardware entry (platform or device) x batch size; ``label``: the entry."""
    return pd.DataFrame(
        [
            {"model_name": model, **predictor.catalogs.hardware_entry(entry), "batch_size": int(batch), **settings,
             "label": entry}
            for model in model_names
            for entry in entries
            for batch in batch_sizes
        ]
    )


def _hardware_entries(predictor: PerformancePredictor, hardware_platforms: Sequence[str] | None) -> list[str]:
    """The platforms and devices asked for; by default every measured device."""
    return list(hardware_platforms) if hardware_platforms else predictor.catalogs.measured_devices()


def prediction_matrix(
    predictor: PerformancePredictor,
    model_name: str,
    *,
    metric: str,
    batch_sizes: Sequence[int],
    hardware_platforms: Sequence[str] | None,
    precision: str,
    mode: str,
    sequence_length: int | None,
    model_type: str | None,
) -> pd.DataFrame:
    """One metric for a model over hardware x batch sizes, as a long frame (one row per cell)."""
    wanted = predictor.trained_metric(metric)
    grid = _grid(
        predictor, [model_name], _hardware_entries(predictor, hardware_platforms), batch_sizes,
        model_type=model_type, precision=precision, mode=mode, sequence_length=sequence_length,
    )
    predicted = predictor.batch_predict(grid.drop(columns="label"))
    labels = [
        f"{label} ({device})" if is_platform(label) and label != device else device
        for label, device in zip(grid["label"], predicted["hardware_name"], strict=True)
    ]
    matrix = predicted[
        ["model_name", "hardware_name", "hardware_platform", "num_devices", "batch_size", "precision", "mode"]
    ].copy()
    matrix.insert(1, "hardware", labels)
    matrix["metric"] = wanted.column
    matrix["unit"] = wanted.unit
    for figure in MATRIX_FIGURES:
        matrix["value" if figure == "pred" else figure] = predicted[wanted.figure(figure)]
    matrix["hardware_measured"] = predicted["hardware_measured"]
    matrix["model_version"] = map_distinct(
        pd.Series(row_partitions(predicted, wanted)),
        lambda partition: answering_version(wanted.column, partition, predictor.versions),
    ).to_numpy()
    matrix["notes"] = predicted["notes"]
    return matrix


def prediction_heatmap(
    predictor: PerformancePredictor, matrix: pd.DataFrame, output_path: str | Path, title: str | None
) -> Path:
    """Heatmap PNG of a ``prediction_matrix`` frame, each cell with value and confidence."""
    from predictive_performance.reports import prediction_heatmap as heatmap

    return heatmap(matrix, output_path, confidence_threshold=predictor.confidence_threshold, title=title)


def recommend_hardware(
    predictor: PerformancePredictor,
    model_name: str,
    *,
    metric: str,
    batch_size: int,
    power_constrained: bool,
    precision: str,
    mode: str,
    hardware_platforms: Sequence[str] | None,
    top_k: int | None,
    include_unmeasured: bool,
    min_confidence: float | None,
    sequence_length: int | None,
    image_size: int | None,
) -> pd.DataFrame:
    """Catalog devices ranked for a model by the objective ``metric`` asks for (``recommend.objective_for``)."""
    try:
        metric = vocabulary.metric(metric).column
    except ValueError:
        pass  # an objective name such as "throughput_per_watt"
    objective = objective_for(metric, power_constrained)
    predictor.trained_metric(objective.metric)
    hardware = predictor.hardware
    if hardware_platforms:
        platforms = {canonical_platform(p) for p in hardware_platforms}
        hardware = hardware[hardware["hardware_platform"].isin(platforms)]
    if not include_unmeasured:
        hardware = hardware[hardware["is_measured"].astype(bool)]
    if hardware.empty:
        raise ValueError("no catalog device matches the platforms / measured filter given")
    configs = pd.DataFrame(
        {
            "model_name": model_name,
            "hardware_name": hardware["hardware_name"].to_numpy(),
            "batch_size": batch_size,
            "precision": precision,
            "mode": mode,
            "sequence_length": sequence_length,
            "image_size": image_size,
        }
    )
    return rank_hardware(
        predictor.batch_predict(configs),
        predictor.hardware.assign(power_measured=predictor.hardware["hardware_name"].isin(_power_measured(predictor))),
        objective,
        models=predictor.models,
        top_k=top_k,
        confidence_threshold=predictor.confidence_threshold,
        min_confidence=min_confidence,
    )


def _power_measured(predictor: PerformancePredictor) -> set[str]:
    """Devices with measured power rows in the warehouse (none before the marts are built)."""
    if not predictor.warehouse.table_exists(RESULTS):
        return set()
    column = vocabulary.metric("power").column
    found = predictor.warehouse.query(f"select distinct hardware_name from {RESULTS} where {column} is not null")
    return set(found["hardware_name"])


def comparison_report(
    predictor: PerformancePredictor,
    model_names: Sequence[str],
    *,
    metrics: Sequence[str] | None,
    output_format: str,
    output_path: str | Path | None,
    batch_sizes: Sequence[int],
    hardware_platforms: Sequence[str] | None,
    precision: str,
    mode: str,
) -> str:
    """A report comparing models across hardware (``reports.comparison_report``); untrained metrics are noted."""
    from predictive_performance.reports import comparison_report as render

    wanted = [vocabulary.metric(m).column for m in metrics] if metrics else predictor.metrics
    skipped = [m for m in wanted if m not in predictor.metrics]
    grid = _grid(
        predictor, model_names, _hardware_entries(predictor, hardware_platforms), batch_sizes,
        precision=precision, mode=mode,
    )
    return render(
        predictor.batch_predict(grid.drop(columns="label")),
        [m for m in wanted if m in predictor.metrics],
        output_format=output_format,
        output_path=output_path,
        confidence_threshold=predictor.confidence_threshold,
        model_versions={m: v.version for m, v in predictor.versions.items()},
        notes=[f"{m}: no trained model (no measurements yet), left out" for m in skipped],
    )
