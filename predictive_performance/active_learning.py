"""Active learning: which untested configurations to benchmark next, and in what batches.

Every untested cell of ``marts.coverage_gaps`` is scored with the latest saved model versions
(``modeling.predict(..., components=True)``) on three 0-1 signals:

``uncertainty``            the calibrated interval width and the ensemble members' spread (log space),
                           each min-max scaled over the candidates, averaged over the metrics.
``diversity``              distance to the nearest tested configuration and, while a set is being
                           chosen, to those already chosen (``DiversitySpace``): the distance in the
                           models' standardised novelty space (the ``NeighbourIndex`` space the
                           confidence score uses) times the difference between the candidate's
                           predicted throughput and the tested row's measured one (log, relative to
                           the roofline); ``d / (d + scale)``, scale the typical spacing of tested
                           rows times the spread of their measured values.
``expected_model_change``  a leaf-change proxy for gradient-boosted trees: a new label moves the value
                           of every leaf it falls into by about ``residual / (n_leaf + 1)``, so the
                           expected change is the mean over trees of ``sigma / (n_leaf + 1)`` with
                           ``sigma`` the predicted half-interval (the expected |residual|) and
                           ``n_leaf`` the training rows sharing the candidate's leaf.

``expected_information_gain`` is their weighted mean (``GainWeights``), so also 0-1. Sets are chosen
greedily: after each pick the diversity of the rest is recomputed against it.

Tables: ``active_learning.queue`` (every untested configuration, ranked; the benchmark runner plans
from it) and ``active_learning.test_batches`` (batches with ``selection_order``). ``save_state``
writes both to files under the artifacts folder (and publishes them) so a queue survives restarts.

The scoring helpers at the top take plain arrays and DataFrames, so they work without a warehouse.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from predictive_performance.config import DB_PATH_VARIABLE, DBT_PROJECT_DIR, artifacts_dir
from predictive_performance.modeling import (
    ModelVersion,
    TrainingConfig,
    latest_version,
    load_training_frame,
    predict,
    prepare_configurations,
    train_and_register,
)
from predictive_performance.modeling.targets import metric_rows, offset
from predictive_performance.vocabulary import metric_columns
from predictive_performance.prediction_matrix import prediction_grid
from predictive_performance.recommend import objective_for, rank_hardware, score, with_catalog
from predictive_performance.warehouse import Warehouse

log = logging.getLogger(__name__)

QUEUE_TABLE = "active_learning.queue"
BATCHES_TABLE = "active_learning.test_batches"
KEY_COLUMNS = ["model_name", "hardware_name", "batch_size", "precision", "mode"]
QUEUE_COLUMNS = [
    "model_name",
    "model_type",
    "hardware_name",
    "hardware",
    "hardware_platform",
    "batch_size",
    "precision",
    "mode",
    "sequence_length",
    "uncertainty",
    "diversity",
    "expected_model_change",
    "expected_information_gain",
    "rank",
]
LEAF_TREES = 100  # trees read for the leaf-change proxy: the early trees carry most of the fit
CHUNK = 8192


@dataclass(frozen=True)
class GainWeights:
    """How the signals combine into ``expected_information_gain``.

    The defaults are measured (``benchmarks/active_learning_curve.py``, 16 seeds): against
    uncertainty and diversity alone, a 0.1 weight on the leaf-change proxy saved 0-5 points more
    of the tests random needs from 270 tests on, and was even (within 3 points) below that.
    """

    uncertainty: float = 0.45
    diversity: float = 0.45
    expected_model_change: float = 0.1

    def combine(self, uncertainty: np.ndarray, diversity: np.ndarray, change: np.ndarray) -> np.ndarray:
        total = self.uncertainty + self.diversity + self.expected_model_change
        if total <= 0:
            raise ValueError("gain weights must not all be zero")
        return (
            self.uncertainty * uncertainty + self.diversity * diversity + self.expected_model_change * change
        ) / total


# --- pure scoring helpers ---------------------------------------------------------------------------


def minmax(values: Iterable[float]) -> np.ndarray:
    """Scale to 0-1 over the finite values; missing values score 0; a constant vector scores 0."""
    v = np.asarray(values, dtype=np.float64)
    out = np.zeros(len(v))
    finite = np.isfinite(v)
    if not finite.any():
        return out
    lo, hi = v[finite].min(), v[finite].max()
    if hi - lo > 1e-12:
        out[finite] = (v[finite] - lo) / (hi - lo)
    return out


def uncertainty_scores(components: pd.DataFrame, metrics: Iterable[str] | None = None) -> np.ndarray:
    """Per row: mean over metrics of (scaled interval width + scaled ensemble spread) / 2, in 0-1."""
    if metrics is None:
        metrics = [c[: -len("_interval_width")] for c in components.columns if c.endswith("_interval_width")]
    parts = []
    for metric in metrics:
        width = components.get(f"{metric}_interval_width")
        spread = components.get(f"{metric}_spread")
        pieces = [minmax(x) for x in (width, spread) if x is not None]
        if pieces:
            parts.append(np.mean(pieces, axis=0))
    if not parts:
        return np.zeros(len(components))
    return np.clip(np.mean(parts, axis=0), 0.0, 1.0)


def nearest_distance(
    Z: np.ndarray,
    reference: np.ndarray | None,
    values: np.ndarray | None = None,
    reference_values: np.ndarray | None = None,
) -> np.ndarray:
    """Distance from each row of ``Z`` to the nearest row of ``reference`` (inf if none).

    Euclidean; with ``values`` (one per row of ``Z``) and ``reference_values``, the distance to a
    reference row is the Euclidean one times the absolute difference of the values.
    """
    Z = np.asarray(Z, dtype=np.float64)
    if reference is None or len(reference) == 0:
        return np.full(len(Z), np.inf)
    R = np.asarray(reference, dtype=np.float64)
    joint = values is not None and reference_values is not None
    out = np.empty(len(Z))
    r2 = (R**2).sum(axis=1)
    for start in range(0, len(Z), CHUNK):
        block = Z[start : start + CHUNK]
        d = np.sqrt(np.maximum((block**2).sum(axis=1)[:, None] + r2[None, :] - 2.0 * block @ R.T, 0.0))
        if joint:
            d *= np.abs(np.asarray(values)[start : start + len(block), None] - np.asarray(reference_values)[None, :])
        out[start : start + len(block)] = d.min(axis=1)
    return out


@dataclass(frozen=True)
class DiversitySpace:
    """Where the diversity of candidates is measured against the tested configurations.

    ``Z`` / ``tested_Z`` are rows of the models' standardised novelty space. With ``values`` (a
    candidate's predicted log value of the anchor metric, relative to its roofline) and
    ``tested_values`` (the measured ones), the distance between two configurations is their feature
    distance times their value difference (improved greedy sampling, Wu, Lin & Huang 2019): a
    candidate is novel when no tested configuration is both near it and measured near what it is
    predicted to reach, so tests spread over the range of outcomes as well as over the features.
    Diversity is ``d / (d + scale)`` with a fixed scale (the typical feature spacing, times the
    spread of the measured values when there are values), so it fades as tests fill the space and
    uncertainty decides more of the later picks.
    """

    Z: np.ndarray
    tested_Z: np.ndarray
    values: np.ndarray | None = None
    tested_values: np.ndarray | None = None
    scale: float = 1.0

    @classmethod
    def build(
        cls,
        Z: np.ndarray,
        tested_Z: np.ndarray,
        values: np.ndarray | None = None,
        tested_values: np.ndarray | None = None,
        spacing: float = 1.0,
    ) -> DiversitySpace:
        """The space with ``scale = spacing * std(tested_values)`` (``spacing`` without values);
        a candidate without a finite predicted value takes the median measured value."""
        Z, tested_Z = np.asarray(Z, dtype=np.float64), np.asarray(tested_Z, dtype=np.float64)
        if values is None or tested_values is None:
            return cls(Z, tested_Z, scale=spacing)
        tested_values = np.asarray(tested_values, dtype=np.float64)
        fill = float(np.nanmedian(tested_values)) if np.isfinite(tested_values).any() else 0.0
        values = np.where(np.isfinite(values), values, fill)
        tested_values = np.where(np.isfinite(tested_values), tested_values, fill)
        spread = float(np.std(tested_values))
        return cls(Z, tested_Z, values, tested_values, spacing * spread if spread > 1e-12 else spacing)

    def to_tested(self) -> np.ndarray:
        """Each candidate's distance to the nearest tested configuration."""
        return nearest_distance(self.Z, self.tested_Z, self.values, self.tested_values)

    def to_candidate(self, position: int) -> np.ndarray:
        """Each candidate's distance to the candidate at ``position`` (taken as tested at its predicted value)."""
        at = slice(position, position + 1)
        if self.values is None:
            return nearest_distance(self.Z, self.Z[at])
        return nearest_distance(self.Z, self.Z[at], self.values, self.values[at])

    def diversity(self, distance: np.ndarray) -> np.ndarray:
        """``d / (d + scale)``: 0 on top of a tested configuration, towards 1 far from all; 1 when none is tested."""
        with np.errstate(invalid="ignore"):
            return np.where(np.isfinite(distance), distance / (distance + max(self.scale, 1e-12)), 1.0)


def leaf_change_scores(
    booster: lgb.Booster, X_candidates: np.ndarray, X_train: np.ndarray, sigma: np.ndarray, trees: int = LEAF_TREES
) -> np.ndarray:
    """Mean over the first ``trees`` trees of ``sigma / (n_leaf + 1)``: how far one new label moves the leaves it lands in."""
    n_trees = min(trees, booster.num_trees())
    train_leaves = booster.predict(X_train, pred_leaf=True, num_iteration=n_trees).reshape(len(X_train), -1)[
        :, :n_trees
    ]
    counts = [np.bincount(train_leaves[:, t], minlength=int(train_leaves[:, t].max()) + 1) for t in range(n_trees)]
    out = np.empty(len(X_candidates))
    for start in range(0, len(X_candidates), CHUNK):
        block = booster.predict(X_candidates[start : start + CHUNK], pred_leaf=True, num_iteration=n_trees)
        block = block.reshape(len(block), -1)[:, :n_trees]
        per_tree = np.column_stack(
            [np.take(np.append(c, 0), np.minimum(block[:, t], len(c))) for t, c in enumerate(counts)]
        )
        out[start : start + len(block)] = np.mean(1.0 / (per_tree + 1.0), axis=1)
    return out * np.nan_to_num(np.asarray(sigma, dtype=np.float64), nan=0.0)


def simple_space(frame: pd.DataFrame) -> np.ndarray:
    """A standardised encoding from the identifying columns alone (log2 batch size, one-hot names)."""
    parts = []
    if "batch_size" in frame:
        b = np.log2(pd.to_numeric(frame["batch_size"], errors="coerce").fillna(1).clip(lower=1).to_numpy(dtype=float))
        parts.append(((b - b.mean()) / (b.std() or 1.0))[:, None])
    for column in ("model_name", "hardware_name", "hardware_platform", "precision", "mode"):
        if column in frame:
            parts.append(pd.get_dummies(frame[column].astype(str)).to_numpy(dtype=float))
    return np.hstack(parts) if parts else np.zeros((len(frame), 1))


def _platform(frame: pd.DataFrame) -> pd.Series:
    for column in ("hardware_platform", "hardware"):
        if column in frame:
            return frame[column].astype(str).str.lower()
    raise KeyError("configurations need a hardware_platform (or hardware) column")


def select_batch(
    frame: pd.DataFrame,
    batch_size: int,
    Z: np.ndarray | None = None,
    ensure_diversity: bool = True,
    hardware_constraints: Mapping[str, int] | None = None,
    hardware_availability: Mapping[str, float] | None = None,
    diversity_weight: float = 0.5,
    gain_column: str = "expected_information_gain",
    reference: np.ndarray | None = None,
) -> pd.DataFrame:
    """Greedy batch: each step takes the best ``(1 - w) * gain * availability + w * diversity``.

    ``hardware_constraints`` caps tests per platform (0: none); ``hardware_availability`` (0-1)
    scales a platform's gain (missing: 1.0; 0: none). Diversity is ``d / (d + scale)`` to the
    already selected rows (and ``reference`` rows, e.g. the tested ones) in ``Z`` (default
    ``simple_space``), ``scale`` the median distance between candidates. Without
    ``ensure_diversity`` the order is gain alone. Returns the chosen rows with ``selection_order``
    1..n, ``availability``, ``adjusted_gain`` and ``diversity_at_selection``.
    """
    frame = frame.reset_index(drop=True)
    constraints = {str(k).lower(): int(v) for k, v in (hardware_constraints or {}).items()}
    availability = {str(k).lower(): float(v) for k, v in (hardware_availability or {}).items()}
    platform = _platform(frame)
    avail = platform.map(lambda p: availability.get(p, 1.0)).to_numpy(dtype=float)
    gain = (
        pd.to_numeric(frame[gain_column], errors="coerce").fillna(0.0).to_numpy(dtype=float)
        if gain_column in frame
        else np.ones(len(frame))
    )
    value = np.clip(gain, 0.0, None) * np.clip(avail, 0.0, 1.0)
    eligible = (avail > 0) & platform.map(lambda p: constraints.get(p, 1) > 0).to_numpy()
    Z = simple_space(frame) if Z is None else np.asarray(Z, dtype=np.float64)
    w = float(np.clip(diversity_weight, 0.0, 1.0)) if ensure_diversity else 0.0
    scale = 1.0
    if w > 0 and eligible.sum() > 1:
        rng = np.random.default_rng(0)
        sample = Z[rng.choice(np.flatnonzero(eligible), min(500, int(eligible.sum())), replace=False)]
        pairwise = np.sqrt(np.maximum(((sample[:, None, :] - sample[None, :, :]) ** 2).sum(-1), 0.0))
        positive = pairwise[pairwise > 1e-9]
        scale = float(np.median(positive)) if positive.size else 1.0
    value_scaled = value / value[eligible].max() if eligible.any() and value[eligible].max() > 0 else value
    space = DiversitySpace.build(Z, np.empty((0, Z.shape[1])) if reference is None else reference, spacing=scale)
    nearest = space.to_tested()
    used: dict[str, int] = {}
    chosen, diversity_at = [], []
    available = eligible.copy()
    while len(chosen) < batch_size and available.any():
        diversity = space.diversity(nearest)
        objective = (1.0 - w) * value_scaled + w * diversity
        objective = np.where(available, objective, -np.inf)
        best = int(np.argmax(objective))
        chosen.append(best)
        diversity_at.append(float(diversity[best]))
        available[best] = False
        p = platform.iloc[best]
        used[p] = used.get(p, 0) + 1
        if p in constraints and used[p] >= constraints[p]:
            available &= (platform != p).to_numpy()
        if w > 0:
            nearest = np.minimum(nearest, space.to_candidate(best))
            # an exact duplicate adds nothing
            available &= nearest > 1e-9
    out = frame.iloc[chosen].copy()
    out.insert(0, "selection_order", np.arange(1, len(chosen) + 1))
    out["availability"] = avail[chosen]
    out["adjusted_gain"] = value[chosen]
    out["diversity_at_selection"] = diversity_at
    return out.reset_index(drop=True)


def greedy_gain_order(
    scored: pd.DataFrame,
    space: DiversitySpace,
    budget: int,
    weights: GainWeights = GainWeights(),
    value: np.ndarray | None = None,
) -> tuple[list[int], np.ndarray]:
    """Positions of ``budget`` rows chosen one at a time, each maximising the gain with diversity
    recomputed against the tested rows and those already chosen, and each pick's diversity when it
    was chosen. ``value`` (optional) multiplies the gain."""
    u = scored["uncertainty"].to_numpy(dtype=float)
    c = scored["expected_model_change"].to_numpy(dtype=float)
    nearest = space.to_tested()
    factor = np.ones(len(scored)) if value is None else np.asarray(value, dtype=float)
    available = np.ones(len(scored), dtype=bool)
    chosen: list[int] = []
    diversity_at: list[float] = []
    while len(chosen) < budget and available.any():
        diversity = space.diversity(nearest)
        gain = np.where(available, weights.combine(u, diversity, c) * factor, -np.inf)
        best = int(np.argmax(gain))
        chosen.append(best)
        diversity_at.append(float(diversity[best]))
        available[best] = False
        nearest = np.minimum(nearest, space.to_candidate(best))
        # a configuration identical in features to a chosen one adds nothing
        available &= np.abs(space.Z - space.Z[best]).max(axis=1) > 1e-9
    return chosen, np.asarray(diversity_at)


# --- hardware recommendations ---------------------------------------------------------------------


class HardwareRecommender:
    """Ranks devices for a model and objective from prediction rows, and says which rows could flip a ranking."""

    def __init__(self, warehouse: Warehouse | None = None, confidence_threshold: float = 0.5) -> None:
        self.warehouse = warehouse
        self.confidence_threshold = confidence_threshold
        self._catalog: tuple[pd.DataFrame, pd.DataFrame] | None = None

    def catalog(self, warehouse: Warehouse | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        if self._catalog is None:
            wh = warehouse or self.warehouse or Warehouse.from_env()
            self._catalog = (wh.query("select * from marts.dim_hardware"), wh.query("select * from marts.dim_models"))
        return self._catalog

    def recommend(
        self, predictions: pd.DataFrame, model_name: str, objective: str = "throughput", top_k: int | None = 5
    ) -> pd.DataFrame:
        """Devices ranked for one model (each with its best configuration), as ``recommend.rank_hardware``."""
        hardware, models = self.catalog()
        rows = predictions[predictions["model_name"] == model_name]
        chosen = objective_for(objective)
        rows = score(with_catalog(rows, hardware, models), chosen)
        rows = rows.sort_values("score", ascending=not chosen.higher_is_better, na_position="last")
        return rank_hardware(
            rows, hardware, chosen, models, top_k=top_k, confidence_threshold=self.confidence_threshold
        )

    def decision_relevance(self, predictions: pd.DataFrame, objective: str = "throughput") -> np.ndarray:
        """Per row, 0-1: how much of its score interval overlaps the leading device's for its model and mode.

        The leader of each (model, mode) is the row with the best point score among those that fit;
        a row whose interval reaches past the leader's bound could take first place, so measuring
        it decides the recommendation. The leader scores the largest overlap any rival has with it.
        """
        hardware, models = self.catalog()
        chosen = objective_for(objective)
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


# --- the system ------------------------------------------------------------------------------------


def default_marts_refresh(warehouse: Warehouse) -> None:
    """``dbt build`` of the project against this warehouse (what ``perfpredict run`` does between ingest and training)."""
    dbt = Path(sys.executable).with_name("dbt")
    env = {**os.environ, DB_PATH_VARIABLE: str(warehouse.path)}
    command = [
        str(dbt) if dbt.exists() else "dbt",
        "build",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
    ]
    subprocess.run(command, check=True, env=env, cwd=DBT_PROJECT_DIR)


@dataclass
class ActiveLearningSystem:
    """Scores untested configurations, picks test sets and batches, and learns from their results."""

    warehouse: Warehouse | None = None
    artifacts: str | Path | None = None
    config: TrainingConfig | None = None
    weights: GainWeights = field(default_factory=GainWeights)
    max_candidates: int | None = None  # score a random sample of the untested grid (None: all of it)
    seed: int = 0
    batches: list[pd.DataFrame] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.warehouse = self.warehouse or Warehouse.from_env()
        self.artifacts = Path(self.artifacts) if self.artifacts is not None else artifacts_dir()
        self._scored: pd.DataFrame | None = None
        self._space: DiversitySpace | None = None
        self._queue: pd.DataFrame | None = None

    # scoring ------------------------------------------------------------------------------------------

    def versions(self) -> dict[str, ModelVersion]:

        found = {m: v for m in metric_columns() if (v := latest_version(m, self.artifacts)) is not None}
        if not found:
            raise FileNotFoundError(f"no trained model versions under {self.artifacts}: train first")
        return found

    def candidates(self) -> pd.DataFrame:
        """Untested grid cells with catalog features (and ``model_type``)."""
        grid = prediction_grid(self.warehouse)
        grid = grid[~grid["is_tested"].fillna(False).astype(bool)].reset_index(drop=True)
        if self.max_candidates and len(grid) > self.max_candidates:
            grid = grid.sample(self.max_candidates, random_state=self.seed).reset_index(drop=True)
        return prepare_configurations(grid, self.warehouse)

    def score_candidates(self, refresh: bool = False) -> pd.DataFrame:
        """Every untested configuration with predictions, the three signals and the gain (cached)."""
        if self._scored is not None and not refresh:
            return self._scored
        versions = self.versions()
        frame = self.candidates()
        predicted = predict(frame, versions=versions, components=True)
        metrics = list(versions)
        uncertainty = uncertainty_scores(predicted, metrics)
        training = load_training_frame(self.warehouse)
        self._space = self._diversity_space(frame, predicted, training, versions)
        diversity = self._space.diversity(self._space.to_tested())
        change = self._model_change(frame, predicted, versions, training)
        gain = self.weights.combine(uncertainty, diversity, change)
        keep = [c for c in predicted.columns if c.endswith(("_pred", "_lower", "_upper", "_confidence"))]
        scored = frame[
            [
                c
                for c in (
                    "model_name",
                    "model_type",
                    "hardware_name",
                    "hardware_platform",
                    "batch_size",
                    "precision",
                    "mode",
                    "sequence_length",
                    "num_devices",
                )
                if c in frame
            ]
        ].copy()
        scored = pd.concat([scored, predicted[keep].reset_index(drop=True)], axis=1)
        scored["model_version"] = predicted["model_version"].to_numpy()
        scored["hardware"] = scored["hardware_platform"]
        scored["uncertainty"] = uncertainty
        scored["diversity"] = diversity
        scored["expected_model_change"] = change
        scored["expected_information_gain"] = gain
        self._scored = scored
        self._queue = None
        return scored

    @staticmethod
    def _diversity_space(
        frame: pd.DataFrame, predicted: pd.DataFrame, training: pd.DataFrame, versions: dict[str, ModelVersion]
    ) -> DiversitySpace:
        """Novelty space of the throughput model (else the first metric's): candidates at their
        predicted value, the warehouse's tested rows at their measured one."""
        metric = "throughput" if "throughput" in versions else next(iter(versions))
        model = versions[metric].model
        index, formulation = model.neighbours, model.settings.formulation
        Z = index.transform(model.spec.matrix(frame))
        rows = metric_rows(training, metric, (formulation,))
        if rows.empty:
            return DiversitySpace.build(Z, index.reference, spacing=index.radius)
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.log(predicted[f"{metric}_pred"].to_numpy(dtype=float)) - offset(frame, metric, formulation)
            tested_values = np.log(rows[metric].to_numpy(dtype=float)) - offset(rows, metric, formulation)
        tested_Z = index.transform(model.spec.matrix(rows))
        return DiversitySpace.build(Z, tested_Z, values, tested_values, spacing=index.radius)

    def _model_change(
        self,
        frame: pd.DataFrame,
        predicted: pd.DataFrame,
        versions: dict[str, ModelVersion],
        training: pd.DataFrame,
    ) -> np.ndarray:
        parts = []
        for metric, version in versions.items():
            model = version.model
            rows = metric_rows(training, metric, (model.settings.formulation,))
            if rows.empty:
                continue
            booster = next((m for m in model.models.values() if isinstance(m, lgb.Booster)), model.quantiles["upper"])
            sigma = predicted[f"{metric}_interval_width"].to_numpy(dtype=float) / 2.0
            parts.append(minmax(leaf_change_scores(booster, model.spec.matrix(frame), model.spec.matrix(rows), sigma)))
        return np.clip(np.mean(parts, axis=0), 0.0, 1.0) if parts else np.zeros(len(frame))

    # choosing ------------------------------------------------------------------------------------------

    def _records(self, rows: pd.DataFrame) -> list[dict]:
        columns = [c for c in QUEUE_COLUMNS if c in rows] + [c for c in rows.columns if c not in QUEUE_COLUMNS]
        return [
            {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
            for r in rows[columns].to_dict("records")
        ]

    def recommend_configurations(self, budget: int = 20) -> list[dict]:
        """The ``budget`` most informative untested configurations, chosen greedily (diversity to tested and chosen)."""
        scored = self.score_candidates()
        order, diversity = greedy_gain_order(scored, self._space, budget, self.weights)
        chosen = self._with_selection_gain(scored, order, diversity)
        return self._records(chosen[QUEUE_COLUMNS])

    def _with_selection_gain(
        self, scored: pd.DataFrame, order: list[int], diversity: np.ndarray, factor: np.ndarray | None = None
    ) -> pd.DataFrame:
        """The chosen rows with the diversity and gain they had when picked (against tested + earlier picks)."""
        chosen = scored.iloc[order].copy()
        chosen["diversity"] = diversity
        chosen["expected_information_gain"] = self.weights.combine(
            chosen["uncertainty"].to_numpy(), diversity, chosen["expected_model_change"].to_numpy()
        ) * (1.0 if factor is None else factor[order])
        chosen["rank"] = np.arange(1, len(order) + 1)
        return chosen.reset_index(drop=True)

    def queue_table(self) -> pd.DataFrame:
        """``active_learning.queue``: every untested configuration, best first (``rank`` 1 = run first)."""
        if self._queue is not None:
            return self._queue
        scored = self.score_candidates()
        queue = scored.sort_values(
            ["expected_information_gain", "model_name", "hardware_name"],
            ascending=[False, True, True],
            kind="mergesort",
        )
        queue = queue.assign(rank=np.arange(1, len(queue) + 1))
        queue["sequence_length"] = pd.array(
            queue["sequence_length"] if "sequence_length" in queue else [None] * len(queue), dtype="Int64"
        )
        queue["scored_at"] = datetime.now(UTC).replace(tzinfo=None)
        self._queue = queue[[*QUEUE_COLUMNS, "model_version", "scored_at"]].reset_index(drop=True)
        return self._queue

    def test_batches_table(self) -> pd.DataFrame:
        """``active_learning.test_batches``: every batch suggested so far, with ``batch_id`` and ``selection_order``."""
        if not self.batches:
            return pd.DataFrame(columns=["batch_id", "selection_order", *QUEUE_COLUMNS])
        return pd.concat(self.batches, ignore_index=True)

    def _space_for(self, frame: pd.DataFrame) -> np.ndarray | None:
        """Rows of the scored space for configurations given by their keys, or None when any is unknown."""
        if self._scored is None or not set(KEY_COLUMNS) <= set(frame.columns):
            return None
        lookup = pd.Series(
            np.arange(len(self._scored)), index=pd.MultiIndex.from_frame(self._scored[KEY_COLUMNS].astype(str))
        )
        keys = pd.MultiIndex.from_frame(frame[KEY_COLUMNS].astype(str))
        positions = lookup.reindex(keys)
        if positions.isna().any():
            return None
        return self._space.Z[positions.to_numpy(dtype=int)]

    def suggest_test_batch(
        self,
        configurations: list[dict] | pd.DataFrame | None = None,
        batch_size: int = 10,
        ensure_diversity: bool = True,
        hardware_constraints: Mapping[str, int] | None = None,
        hardware_availability: Mapping[str, float] | None = None,
        diversity_weight: float = 0.5,
    ) -> pd.DataFrame:
        """A batch from ``configurations`` (default: the queue's top 500), see ``select_batch``; recorded in ``test_batches``."""
        if configurations is None:
            configurations = self.queue_table().head(500)
        frame = pd.DataFrame(configurations).reset_index(drop=True)
        Z = self._space_for(frame)
        reference = self._space.tested_Z if Z is not None else None
        batch = select_batch(
            frame,
            batch_size,
            Z,
            ensure_diversity,
            hardware_constraints,
            hardware_availability,
            diversity_weight,
            reference=reference,
        )
        batch.insert(0, "batch_id", f"batch-{datetime.now(UTC):%Y%m%dT%H%M%S%f}")
        batch["created_at"] = datetime.now(UTC).replace(tzinfo=None)
        self.batches.append(batch)
        return batch

    def integrate_with_hardware_recommender(
        self,
        hardware_recommender: HardwareRecommender | None = None,
        test_budget: int = 20,
        optimize_for: str = "throughput",
    ) -> dict[str, Any]:
        """Tests that decide recommendations: the gain is scaled by ``(1 + decision_relevance) / 2``.

        Returns ``recommendations`` (list of dicts, as ``recommend_configurations`` plus
        ``decision_relevance``), ``objective``, ``contested`` (model/mode pairs whose leading device
        an untested configuration could still overtake) and ``table`` (the chosen rows as a DataFrame).
        """
        recommender = hardware_recommender or HardwareRecommender(self.warehouse)
        if recommender.warehouse is None:
            recommender.warehouse = self.warehouse
        scored = self.score_candidates()
        objective = objective_for(optimize_for)
        if f"{objective.metric}_pred" not in scored:
            raise ValueError(f"no trained {objective.metric} model: cannot optimise for {optimize_for!r}")
        relevance = recommender.decision_relevance(scored, objective.name)
        factor = (1.0 + relevance) / 2.0
        order, diversity = greedy_gain_order(scored, self._space, test_budget, self.weights, factor)
        chosen = self._with_selection_gain(scored, order, diversity, factor)
        chosen["decision_relevance"] = relevance[order]
        contested = scored.loc[relevance > 0, ["model_name", "mode"]].drop_duplicates()
        table = chosen[
            [
                *QUEUE_COLUMNS,
                "decision_relevance",
                f"{objective.metric}_pred",
                f"{objective.metric}_lower",
                f"{objective.metric}_upper",
            ]
        ]
        return {
            "recommendations": self._records(table),
            "objective": objective.name,
            "contested": contested.reset_index(drop=True),
            "table": table,
        }

    # learning -----------------------------------------------------------------------------------------

    def update_with_benchmark_results(
        self,
        results: pd.DataFrame | list[dict],
        retrain: bool = True,
        refresh_marts: Callable[[Warehouse], None] | None = default_marts_refresh,
        source: str = "active_learning",
    ):
        """Ingest measured results, rebuild the marts, retrain every metric and rescore. Returns the ingest report."""
        from predictive_performance.ingest import ingest_frame

        report = ingest_frame(pd.DataFrame(results), self.warehouse, source=source)
        if refresh_marts is not None:
            refresh_marts(self.warehouse)
        if retrain:
            train_and_register(
                load_training_frame(self.warehouse),
                self.config or TrainingConfig(),
                None,
                self.artifacts,
                evaluate=False,
                warehouse=self.warehouse,
            )
        self._scored = self._queue = None
        return report

    # state -------------------------------------------------------------------------------------------

    def state_dir(self) -> Path:
        return Path(self.artifacts) / "active_learning"

    def save_state(self, path: str | Path | None = None, publish: bool = True) -> Path:
        """Queue and batches to ``<artifacts>/active_learning/`` (Parquet + ``state.json``), and to the warehouse tables."""
        folder = Path(path) if path else self.state_dir()
        folder.mkdir(parents=True, exist_ok=True)
        queue = self.queue_table()
        batches = self.test_batches_table()
        queue.to_parquet(folder / "queue.parquet", index=False)
        batches.to_parquet(folder / "test_batches.parquet", index=False)
        state = {
            "saved_at": datetime.now(UTC).isoformat(),
            "weights": asdict(self.weights),
            "max_candidates": self.max_candidates,
            "seed": self.seed,
            "queue_rows": len(queue),
            "batches": int(batches["batch_id"].nunique()) if len(batches) else 0,
        }
        (folder / "state.json").write_text(json.dumps(state, indent=2))
        if publish:
            from predictive_performance.publish import publish_tables

            publish_tables(self.warehouse, {QUEUE_TABLE: queue, BATCHES_TABLE: batches})
        return folder

    def load_state(self, path: str | Path | None = None) -> ActiveLearningSystem:
        """Restore the queue, batches and weights written by ``save_state``."""
        folder = Path(path) if path else self.state_dir()
        state = json.loads((folder / "state.json").read_text())
        self.weights = GainWeights(**state["weights"])
        self.max_candidates, self.seed = state["max_candidates"], state["seed"]
        self._queue = pd.read_parquet(folder / "queue.parquet")
        self._scored = None
        batches = pd.read_parquet(folder / "test_batches.parquet")
        self.batches = [b for _, b in batches.groupby("batch_id", sort=False)] if len(batches) else []
        return self

    @classmethod
    def load(
        cls,
        warehouse: Warehouse | None = None,
        artifacts: str | Path | None = None,
        path: str | Path | None = None,
        **kwargs,
    ) -> ActiveLearningSystem:
        return cls(warehouse=warehouse, artifacts=artifacts, **kwargs).load_state(path)
