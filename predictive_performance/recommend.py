"""Ranking hardware for a model: fastest, quickest to answer, smallest footprint, or most work per watt.

Works on prediction-matrix-shaped rows (``<metric>_pred / _lower / _upper / _confidence`` per
configuration, as ``predictions.prediction_matrix`` and ``PerformancePredictor.batch_predict``
hold them) joined to the hardware catalog, so the same code ranks one configuration for the
command line and builds ``predictions.hardware_recommendations`` from the whole matrix.

Objectives (``objectives()``):

``throughput``           highest predicted items/s.
``latency``              lowest predicted ms per batch.
``memory``               lowest predicted peak memory.
``throughput_per_watt``  highest items/s per watt: ``power_constrained`` with the throughput metric.
``energy_per_batch``     lowest joules per batch (latency x watts): ``power_constrained`` with latency.

Watts are the predicted ``power_w`` where a power model exists, else the catalog TDP times the
device count. ``watts_source`` says how much that figure is worth: ``measured`` (a power model
anchored by the device's own power rows: the hardware frame's ``power_measured``), ``modelled``
(a power model extrapolating to a device never measured for power) or ``catalog TDP`` (no power
model: the rated figure, which real runs rarely draw). Per-watt objectives rank measured and
modelled devices before TDP guesses, so a TDP nobody checked cannot take first place. A configuration must fit in device memory: the
predicted peak memory where a memory model exists, but never less than the weights at the row's
precision (``memory_basis`` says which figure was used). Rows that cannot fit are dropped unless
``require_fit=False``. Ties and near-ties are broken by confidence; every row keeps the interval
of its score and a ``low_confidence`` flag, so a reader sees how sure each rank is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from predictive_performance import vocabulary
from predictive_performance.modeling.features import PRECISION_BYTES
from predictive_performance.warehouse import Warehouse


@dataclass(frozen=True)
class Objective:
    name: str
    metric: str  # the column of the predicted metric it is built on (``Metric.column``)
    higher_is_better: bool
    per_watt: bool  # score = metric / watts (throughput) or metric x watts (latency -> energy)
    unit: str
    description: str


def objectives() -> dict[str, Objective]:
    """Every objective by name, built from the vocabulary's metrics when called."""
    throughput, latency, memory = (vocabulary.metric(key) for key in ("throughput", "latency", "memory"))
    return {
        o.name: o
        for o in (
            Objective(throughput.key, throughput.column, throughput.higher_is_better, False, "items/s",
                      "highest predicted throughput"),
            Objective(latency.key, latency.column, latency.higher_is_better, False, "ms/batch",
                      "lowest predicted latency per batch"),
            Objective(memory.key, memory.column, memory.higher_is_better, False, "MB", "lowest predicted peak memory"),
            Objective(
                f"{throughput.key}_per_watt", throughput.column, True, True, "items/J",
                "most items per joule (throughput / W)",
            ),
            Objective("energy_per_batch", latency.column, False, True, "J/batch", "least energy per batch (latency x W)"),
        )
    }


HARDWARE_COLUMNS = ("vendor", "device_class", "tdp_w", "memory_gb", "is_measured", "power_measured")
WATTS_SOURCES = ("measured", "modelled", "catalog TDP")  # best evidence first


def objective_for(name: str, power_constrained: bool = False) -> Objective:
    """The objective an objective name or a metric (``throughput``, ``latency_ms``, ``power``, ...) asks for.

    A metric asks for the objective built on it; power, which nobody maximises or minimises alone,
    asks for throughput per watt. ``power_constrained`` turns an objective into its per-watt form
    where it has one (throughput -> throughput per watt, latency -> energy per batch).
    """
    table = objectives()
    chosen = table.get(name) or _metric_objective(name, table)
    if power_constrained:
        chosen = next((o for o in table.values() if o.per_watt and o.metric == chosen.metric), chosen)
    return chosen


def _metric_objective(name: str, table: dict[str, Objective]) -> Objective:
    expected = f"expected an objective ({', '.join(table)}) or a metric"
    try:
        wanted = vocabulary.metric(name)
    except ValueError as error:
        raise ValueError(f"unknown metric or objective {name!r}; {expected}") from error
    per_watt = wanted == vocabulary.metric("power")
    column = vocabulary.metric("throughput").column if per_watt else wanted.column
    found = next((o for o in table.values() if o.metric == column and o.per_watt == per_watt), None)
    if found is None:
        raise ValueError(f"no objective is built on the metric {name!r}; {expected}")
    return found


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
    power_metric, memory_metric = vocabulary.metric("power"), vocabulary.metric("memory")
    power = _numeric(frame, power_metric.figure("pred"))
    tdp = _numeric(frame, "tdp_w") * devices
    watts = np.where(np.isfinite(power), power, tdp)
    measured = frame["power_measured"].fillna(False).to_numpy(dtype=bool) if "power_measured" in frame else False
    watts_source = np.select(
        [np.isfinite(power) & measured, np.isfinite(power), np.isfinite(tdp)], list(WATTS_SOURCES), default=None
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        if objective.per_watt and objective.higher_is_better:
            values = (pred / watts, lower / watts, upper / watts)
        elif objective.per_watt:
            values = (pred / 1000.0 * watts, lower / 1000.0 * watts, upper / 1000.0 * watts)
        else:
            values = (pred, lower, upper)
    memory = _numeric(frame, memory_metric.figure("pred"))
    weights = _numeric(frame, "weights_mb")
    # the weights are a floor no prediction may go under: a tree model asked about a model far
    # larger than any it was trained on can predict less memory than its parameters take
    needed = np.fmax(memory, weights)
    basis = np.select(
        [np.isfinite(memory) & ~(weights > memory), np.isfinite(weights)],
        [
            f"predicted {memory_metric.column}",
            "weights at precision" + np.where(np.isfinite(memory), f" (above predicted {memory_metric.column})", ""),
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
    """Best first within each group of ``keys``; unscored rows last, per watt TDP guesses after the
    measured and modelled; confidence breaks ties."""
    guess = objective.per_watt & (frame["watts_source"] == WATTS_SOURCES[-1]).to_numpy()
    frame = frame.assign(_missing=~np.isfinite(frame["score"].to_numpy(dtype=float)), _guess=guess)
    return frame.sort_values(
        [*keys, "_missing", "_guess", "score", "confidence", "hardware_name"],
        ascending=[True] * len(keys) + [True, True, not objective.higher_is_better, False, True],
        na_position="last",
        kind="mergesort",
    ).drop(columns=["_missing", "_guess"])


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


def decision_relevance(
    predictions: pd.DataFrame, hardware: pd.DataFrame, models: pd.DataFrame | None, objective: str | Objective
) -> np.ndarray:
    """Per row, 0-1: how much of its score interval overlaps the leading device's for its model and mode.

    The leader of each (model, mode) is the row with the best point score among those that fit;
    a row whose interval reaches past the leader's bound could take first place, so measuring
    it decides the recommendation. The leader scores the largest overlap any rival has with it.
    """
    chosen = objective if isinstance(objective, Objective) else objective_for(objective)
    frame = score(with_catalog(predictions.reset_index(drop=True), hardware, models), chosen)
    sign = 1.0 if chosen.higher_is_better else -1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        s, lo, hi = (sign * np.log(frame[c].to_numpy(dtype=float)) for c in ("score", "score_lower", "score_upper"))
    if sign < 0:
        lo, hi = hi, lo
    fits = frame["fits_in_memory"].fillna(True).astype(bool).to_numpy() & np.isfinite(s)
    relevance = np.zeros(len(frame))
    keys = frame[["model_name", "mode"]].astype(str).agg("|".join, axis=1).to_numpy()
    for key in np.unique(keys):
        idx = np.flatnonzero((keys == key) & fits)
        if len(idx) < 2:
            continue
        leader = idx[np.argmax(s[idx])]
        width = np.maximum(hi[idx] - lo[idx], 1e-9)
        overlap = np.clip((hi[idx] - lo[leader]) / width, 0.0, 1.0)
        overlap[idx == leader] = 0.0
        relevance[idx] = overlap
        relevance[leader] = overlap.max()
    return np.nan_to_num(relevance)


@dataclass(frozen=True)
class HardwareRecommender:
    """The functions above with the catalog read from a warehouse: devices ranked for a model, and
    which prediction rows could still change a ranking (what active learning measures first).

    ``warehouse`` None: the one a caller passes (the active-learning system's), else the environment's.
    The catalog is read on each call, so a recommender never answers from an old copy.
    """

    warehouse: Warehouse | None = None
    confidence_threshold: float = 0.5

    def catalog(self, warehouse: Warehouse | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``marts.dim_hardware`` and ``marts.dim_models``."""
        source = self.warehouse or warehouse or Warehouse.from_env()
        return source.query("select * from marts.dim_hardware"), source.query("select * from marts.dim_models")

    def recommend(
        self, predictions: pd.DataFrame, model_name: str, objective: str = "throughput", top_k: int | None = 5
    ) -> pd.DataFrame:
        """Devices ranked for one model, each with its best configuration (``rank_hardware``)."""
        hardware, models = self.catalog()
        rows = predictions[predictions["model_name"] == model_name]
        return rank_hardware(
            rows, hardware, objective, models, top_k=top_k, confidence_threshold=self.confidence_threshold
        )

    def decision_relevance(
        self, predictions: pd.DataFrame, objective: str = "throughput", warehouse: Warehouse | None = None
    ) -> np.ndarray:
        """``decision_relevance`` of every row against the catalog (see the function)."""
        hardware, models = self.catalog(warehouse)
        return decision_relevance(predictions, hardware, models, objective)


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
