"""The untested configurations scored with the latest model versions: the queue active learning chooses from.

Every untested cell of ``marts.coverage_gaps`` is predicted with ``modeling.predict(...,
components=True)`` and scored on the signals of ``scoring``. Diversity is measured in the novelty
space of the throughput model (the ``NeighbourIndex`` space the confidence score uses): candidates
at their predicted value, the warehouse's tested rows at their measured one (log, relative to the
roofline), with the index's radius as the feature spacing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import lightgbm as lgb
import numpy as np
import pandas as pd

from predictive_performance.active_learning.scoring import (
    DiversitySpace,
    GainWeights,
    leaf_change_scores,
    minmax,
    uncertainty_scores,
)
from predictive_performance.modeling import ModelVersion, load_training_frame, predict, prepare_configurations
from predictive_performance.modeling.targets import metric_rows, offset
from predictive_performance.prediction_matrix import prediction_grid
from predictive_performance.vocabulary import metric
from predictive_performance.warehouse import Warehouse

QUEUE_TABLE = "active_learning.queue"
BATCHES_TABLE = "active_learning.test_batches"
KEY_COLUMNS = ["model_name", "hardware_name", "batch_size", "precision", "mode"]
IDENTITY_COLUMNS = (
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


@dataclass(frozen=True)
class CandidateScores:
    """Untested configurations scored at one moment: identity, predictions, the signals and the gain
    (``frame``), and the space their diversity is measured in (``space``, one row per frame row)."""

    frame: pd.DataFrame
    space: DiversitySpace
    scored_at: datetime

    def queue(self) -> pd.DataFrame:
        """``active_learning.queue``: every untested configuration, best first (``rank`` 1 = run first)."""
        queue = self.frame.sort_values(
            ["expected_information_gain", "model_name", "hardware_name"],
            ascending=[False, True, True],
            kind="mergesort",
        )
        queue = queue.assign(rank=np.arange(1, len(queue) + 1))
        queue["sequence_length"] = pd.array(
            queue["sequence_length"] if "sequence_length" in queue else [None] * len(queue), dtype="Int64"
        )
        queue["scored_at"] = self.scored_at
        return queue[[*QUEUE_COLUMNS, "model_version", "scored_at"]].reset_index(drop=True)

    def space_rows(self, configurations: pd.DataFrame) -> np.ndarray | None:
        """Rows of the diversity space for configurations given by their keys, or None when any is unknown."""
        if not set(KEY_COLUMNS) <= set(configurations.columns):
            return None
        lookup = pd.Series(
            np.arange(len(self.frame)), index=pd.MultiIndex.from_frame(self.frame[KEY_COLUMNS].astype(str))
        )
        positions = lookup.reindex(pd.MultiIndex.from_frame(configurations[KEY_COLUMNS].astype(str)))
        if positions.isna().any():
            return None
        return self.space.Z[positions.to_numpy(dtype=int)]


def score_candidates(
    warehouse: Warehouse,
    versions: dict[str, ModelVersion],
    weights: GainWeights,
    max_candidates: int | None = None,
    seed: int = 0,
) -> CandidateScores:
    """Every untested configuration (a random sample of ``max_candidates``) with predictions, the three signals and the gain."""
    frame = untested_configurations(warehouse, max_candidates, seed)
    # candidates are grid cells (static batches): a metric scores them with its model of that partition, and
    # one without (a static batch's latency comes from throughput) adds nothing of its own
    versions = {c: v for c, v in versions.items() if v.model.default_partition in v.model.partitions}
    predicted = predict(frame, versions=versions, components=True)
    training = load_training_frame(warehouse)
    space = novelty_space(frame, predicted, training, versions)
    uncertainty = uncertainty_scores(predicted, list(versions))
    diversity = space.diversity(space.to_tested())
    change = model_change_scores(frame, predicted, versions, training)
    keep = [c for c in predicted.columns if c.endswith(("_pred", "_lower", "_upper", "_confidence"))]
    scored = frame[[c for c in IDENTITY_COLUMNS if c in frame]].copy()
    scored = pd.concat([scored, predicted[keep].reset_index(drop=True)], axis=1)
    scored["model_version"] = predicted["model_version"].to_numpy()
    scored["hardware"] = scored["hardware_platform"]
    scored["uncertainty"] = uncertainty
    scored["diversity"] = diversity
    scored["expected_model_change"] = change
    scored["expected_information_gain"] = weights.combine(uncertainty, diversity, change)
    return CandidateScores(scored, space, datetime.now(UTC).replace(tzinfo=None))


def untested_configurations(warehouse: Warehouse, max_candidates: int | None = None, seed: int = 0) -> pd.DataFrame:
    """Untested grid cells with catalog features (and ``model_type``)."""
    grid = prediction_grid(warehouse)
    grid = grid[~grid["is_tested"].fillna(False).astype(bool)].reset_index(drop=True)
    if max_candidates and len(grid) > max_candidates:
        grid = grid.sample(max_candidates, random_state=seed).reset_index(drop=True)
    return prepare_configurations(grid, warehouse)


def novelty_space(
    frame: pd.DataFrame, predicted: pd.DataFrame, training: pd.DataFrame, versions: dict[str, ModelVersion]
) -> DiversitySpace:
    """Novelty space of the throughput model (else the first metric's): candidates at their
    predicted value, the warehouse's tested rows at their measured one."""
    anchor = metric("throughput").column
    column = anchor if anchor in versions else next(iter(versions))
    model = versions[column].model.primary  # candidates are static-batch configurations
    index, formulation = model.neighbours, model.settings.formulation
    Z = index.transform(model.spec.matrix(frame))
    rows = _primary_rows(training, versions[column])
    if rows.empty:
        return DiversitySpace.build(Z, index.reference, spacing=index.radius)
    with np.errstate(divide="ignore", invalid="ignore"):
        predicted_values = np.log(predicted[f"{column}_pred"].to_numpy(dtype=float))
        values = predicted_values - offset(frame, column, formulation, model.fitted_reference)
        measured = np.log(rows[column].to_numpy(dtype=float))
        tested_values = measured - offset(rows, column, formulation, model.fitted_reference)
    tested_Z = index.transform(model.spec.matrix(rows))
    return DiversitySpace.build(Z, tested_Z, values, tested_values, spacing=index.radius)


def _primary_rows(training: pd.DataFrame, version: ModelVersion) -> pd.DataFrame:
    """The tested rows of a metric's primary partition (the one candidates are predicted in)."""
    model = version.model
    rows = metric_rows(training, model.metric, (model.primary.settings.formulation,))
    return rows[model.partition_of(rows) == model.primary_partition].reset_index(drop=True)


def model_change_scores(
    frame: pd.DataFrame, predicted: pd.DataFrame, versions: dict[str, ModelVersion], training: pd.DataFrame
) -> np.ndarray:
    """The leaf-change proxy per metric (its LightGBM member, else its upper quantile model), scaled and averaged."""
    parts = []
    for column, version in versions.items():
        model = version.model.primary
        rows = _primary_rows(training, version)
        if rows.empty:
            continue
        natives = (learner.booster_ for learner in model.learners.values())
        booster = next((b for b in natives if isinstance(b, lgb.Booster)), model.quantiles["upper"])
        sigma = predicted[f"{column}_interval_width"].to_numpy(dtype=float) / 2.0
        parts.append(minmax(leaf_change_scores(booster, model.spec.matrix(frame), model.spec.matrix(rows), sigma)))
    return np.clip(np.mean(parts, axis=0), 0.0, 1.0) if parts else np.zeros(len(frame))
