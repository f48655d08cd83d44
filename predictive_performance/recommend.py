"""Ranking hardware for a model: fastest, quickest to answer, smallest footprint, or most work per watt.

Works on prediction-matrix-shaped rows (``<metric>_pred / _lower / _upper / _confidence`` per
configuration, as ``predictions.prediction_matrix`` and ``PerformancePredictor.batch_predict``
hold them) joined to the hardware catalog, so the same code ranks one configuration for the
command line and builds ``predictions.hardware_recommendations`` from the whole matrix.

Objectives (``OBJECTIVES``):

``throughput``           highest predicted items/s.
``latency``              lowest predicted ms per batch.
``memory``               lowest predicted peak memory.
``throughput_per_watt``  highest items/s per watt: ``power_constrained`` with the throughput metric.
``energy_per_batch``     lowest joules per batch (latency x watts): ``power_constrained`` with latency.

Watts are the predicted ``power_w`` where a power model exists, else the catalog TDP times the
device count (``watts_source`` says which). A configuration must fit in device memory: the
predicted peak memory where a memory model exists, but never less than the weights at the row's
precision (``memory_basis`` says which figure was used). Rows that cannot fit are dropped unless
``require_fit=False``. Ties and near-ties are broken by confidence; every row keeps the interval
of its score and a ``low_confidence`` flag, so a reader sees how sure each rank is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from predictive_performance.modeling.features import PRECISION_BYTES


@dataclass(frozen=True)
class Objective:
    name: str
    metric: str  # the predicted metric it is built on
    higher_is_better: bool
    per_watt: bool  # score = metric / watts (throughput) or metric x watts (latency -> energy)
    unit: str
    description: str


OBJECTIVES: dict[str, Objective] = {
    o.name: o
    for o in (
        Objective("throughput", "throughput", True, False, "items/s", "highest predicted throughput"),
        Objective("latency", "latency_ms", False, False, "ms/batch", "lowest predicted latency per batch"),
        Objective("memory", "memory_mb", False, False, "MB", "lowest predicted peak memory"),
        Objective("throughput_per_watt", "throughput", True, True, "items/J", "most items per joule (throughput / W)"),
        Objective("energy_per_batch", "latency_ms", False, True, "J/batch", "least energy per batch (latency x W)"),
    )
}

_METRIC_OBJECTIVE = {
    "throughput": "throughput",
    "latency_ms": "latency",
    "latency": "latency",
    "memory_mb": "memory",
    "memory": "memory",
    "power_w": "throughput_per_watt",
    "power": "throughput_per_watt",
}
_POWER_OBJECTIVE = {"throughput": "throughput_per_watt", "latency": "energy_per_batch", "memory": "memory"}

HARDWARE_COLUMNS = ("vendor", "device_class", "tdp_w", "memory_gb", "is_measured")


def objective_for(metric: str, power_constrained: bool = False) -> Objective:
    """The objective a metric (``throughput``, ``latency``, ``memory``, ``power``) asks for."""
    name = metric if metric in OBJECTIVES else _METRIC_OBJECTIVE.get(metric)
    if name is None:
        raise ValueError(
            f"unknown metric or objective {metric!r}; expected one of {sorted({*_METRIC_OBJECTIVE, *OBJECTIVES})}"
        )
    if power_constrained:
        name = _POWER_OBJECTIVE.get(name, name)
    return OBJECTIVES[name]


def _numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def with_catalog(predictions: pd.DataFrame, hardware: pd.DataFrame, models: pd.DataFrame | None = None) -> pd.DataFrame:
    """Predictions joined to the device facts ranking needs (and the weights' size, from the model catalog)."""
    frame = predictions.drop(columns=[c for c in HARDWARE_COLUMNS if c in predictions.columns])
    facts = hardware.set_index("hardware_name")[[c for c in HARDWARE_COLUMNS if c in hardware.columns]]
    frame = frame.join(facts, on="hardware_name")
    if models is not None and "weights_mb" not in frame.columns:
        params = frame["model_name"].map(models.set_index("model_name")["parameters_million"])
        bytes_per = frame["precision"].map(PRECISION_BYTES)
        frame["weights_mb"] = pd.to_numeric(params, errors="coerce") * 1e6 * bytes_per / 1048576.0
    return frame


def score(frame: pd.DataFrame, objective: Objective) -> pd.DataFrame:
    """Score columns for every row, vectorised: ``score``, ``score_lower``, ``score_upper``, watts and memory fit."""
    metric = objective.metric
    pred, lower, upper = (_numeric(frame, f"{metric}_{p}") for p in ("pred", "lower", "upper"))
    devices = np.nan_to_num(_numeric(frame, "num_devices"), nan=1.0)
    power = _numeric(frame, "power_w_pred")
    tdp = _numeric(frame, "tdp_w") * devices
    watts = np.where(np.isfinite(power), power, tdp)
    watts_source = np.where(np.isfinite(power), "predicted power_w", np.where(np.isfinite(tdp), "catalog TDP", None))
    with np.errstate(divide="ignore", invalid="ignore"):
        if objective.per_watt and objective.higher_is_better:
            values = (pred / watts, lower / watts, upper / watts)
        elif objective.per_watt:
            values = (pred / 1000.0 * watts, lower / 1000.0 * watts, upper / 1000.0 * watts)
        else:
            values = (pred, lower, upper)
    memory = _numeric(frame, "memory_mb_pred")
    weights = _numeric(frame, "weights_mb")
    # the weights are a floor no prediction may go under: a tree model asked about a model far
    # larger than any it was trained on can predict less memory than its parameters take
    needed = np.fmax(memory, weights)
    basis = np.select(
        [np.isfinite(memory) & ~(weights > memory), np.isfinite(weights)],
        [
            "predicted memory_mb",
            "weights at precision" + np.where(np.isfinite(memory), " (above predicted memory_mb)", ""),
        ],
        default=None,
    )
    capacity = _numeric(frame, "memory_gb") * 1024.0 * devices
    fits = pd.array(np.where(np.isfinite(needed) & np.isfinite(capacity), needed <= capacity, pd.NA), dtype="boolean")
    return frame.assign(
        objective=objective.name,
        score=values[0],
        score_lower=values[1],
        score_upper=values[2],
        score_unit=objective.unit,
        confidence=_numeric(frame, f"{metric}_confidence"),
        watts=watts,
        watts_source=watts_source,
        memory_needed_mb=needed,
        memory_basis=basis,
        fits_in_memory=fits,
    )


def _ordered(frame: pd.DataFrame, objective: Objective, keys: list[str]) -> pd.DataFrame:
    """Best first within each group of ``keys``; unscored rows last; confidence breaks ties."""
    frame = frame.assign(_missing=~np.isfinite(frame["score"].to_numpy(dtype=float)))
    return frame.sort_values(
        [*keys, "_missing", "score", "confidence", "hardware_name"],
        ascending=[True] * len(keys) + [True, not objective.higher_is_better, False, True],
        na_position="last",
        kind="mergesort",
    ).drop(columns="_missing")


def rank_hardware(
    predictions: pd.DataFrame,
    hardware: pd.DataFrame,
    objective: str | Objective,
    models: pd.DataFrame | None = None,
    require_fit: bool = True,
    top_k: int | None = None,
    confidence_threshold: float = 0.5,
    min_confidence: float | None = None,
) -> pd.DataFrame:
    """Rank the devices of prediction rows for one model and configuration (one row per device).

    Returns ``rank`` (1 = best), the device, ``score`` with ``score_lower`` / ``score_upper``
    (the 80 % interval carried through), the metric's own figures (``metric``, ``prediction``,
    ``prediction_lower``, ``prediction_upper``), ``confidence``,
    ``low_confidence``, watts, the memory fit and whether the device was ever measured.
    """
    chosen = objective if isinstance(objective, Objective) else objective_for(objective)
    frame = score(with_catalog(predictions, hardware, models), chosen)
    if require_fit:
        frame = frame[frame["fits_in_memory"].fillna(True).astype(bool)]
    if min_confidence is not None:
        frame = frame[frame["confidence"] >= min_confidence]
    frame = _ordered(frame, chosen, []).drop_duplicates("hardware_name")
    frame = frame.head(top_k) if top_k else frame
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    frame["low_confidence"] = ~(frame["confidence"] >= confidence_threshold)
    return _tidy(frame, chosen)


def hardware_recommendations(
    matrix: pd.DataFrame,
    hardware: pd.DataFrame,
    models: pd.DataFrame | None = None,
    objectives: tuple[str, ...] = ("throughput", "latency", "throughput_per_watt"),
    top_k: int | None = 10,
    confidence_threshold: float = 0.5,
    precisions: tuple[str, ...] | None = None,
    min_confidence: float | None = None,
) -> pd.DataFrame:
    """``predictions.hardware_recommendations``: per model, mode and objective, devices ranked.

    Each device enters with its best configuration (batch size and precision) for the objective
    among those that fit in its memory, so the table answers "which device, and how should I run
    the model on it". ``precisions`` limits the precisions considered (all by default, so a
    device's int8 prediction may win: check ``confidence``); ``min_confidence`` drops rows the
    models are unsure of. Objectives whose metric has no predictions are skipped.
    """
    frame = with_catalog(matrix, hardware, models)
    if precisions:
        frame = frame[frame["precision"].isin(list(precisions))]
    keys = ["model_name", "mode"]
    parts = []
    for name in objectives:
        objective = objective_for(name)
        if not np.isfinite(_numeric(frame, f"{objective.metric}_pred")).any():
            continue
        scored = score(frame, objective)
        scored = scored[scored["fits_in_memory"].fillna(True).astype(bool) & np.isfinite(scored["score"])]
        if min_confidence is not None:
            scored = scored[scored["confidence"] >= min_confidence]
        best = _ordered(scored, objective, keys).drop_duplicates([*keys, "hardware_name"])
        best = _ordered(best, objective, keys)
        best.insert(0, "rank", best.groupby(keys, sort=False).cumcount() + 1)
        if top_k:
            best = best[best["rank"] <= top_k]
        best["low_confidence"] = ~(best["confidence"] >= confidence_threshold)
        parts.append(_tidy(best, objective))
    if not parts:
        return pd.DataFrame(columns=["model_name", "mode", "objective", "rank", "hardware_name"])
    out = pd.concat(parts, ignore_index=True)
    first = ["model_name", "mode", "objective", "rank", "hardware_name"]
    return out[first + [c for c in out.columns if c not in first]]


def _tidy(frame: pd.DataFrame, objective: Objective) -> pd.DataFrame:
    """The published columns, the same for every objective: the metric's figures under generic names."""
    metric = objective.metric
    frame = frame.assign(
        metric=metric,
        prediction=frame[f"{metric}_pred"],
        prediction_lower=frame[f"{metric}_lower"],
        prediction_upper=frame[f"{metric}_upper"],
    )
    columns = [
        "rank",
        "model_name",
        "hardware_name",
        "hardware_platform",
        "vendor",
        "objective",
        "score",
        "score_lower",
        "score_upper",
        "score_unit",
        "metric",
        "prediction",
        "prediction_lower",
        "prediction_upper",
        "confidence",
        "low_confidence",
        "watts",
        "watts_source",
        "memory_needed_mb",
        "memory_basis",
        "memory_gb",
        "fits_in_memory",
        "is_measured",
        "num_devices",
        "batch_size",
        "precision",
        "mode",
        "model_version",
    ]
    present = [c for c in columns if c in frame.columns]
    return frame[present].rename(columns={"is_measured": "hardware_measured"}).reset_index(drop=True)
