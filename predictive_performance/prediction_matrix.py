"""The prediction matrix: every catalog model x device x batch size x precision x mode, every metric.

The grid is ``marts.coverage_gaps`` (the same cells the coverage report counts), so a tested and
an untested cell are predicted by the same model and can be compared side by side.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from predictive_performance.modeling import predict, prepare_configurations
from predictive_performance.progress import step
from predictive_performance.vocabulary import metrics
from predictive_performance.warehouse import Warehouse

GRID_COLUMNS = ["model_name", "hardware_name", "hardware_platform", "batch_size", "precision", "mode", "is_tested"]


def prediction_grid(warehouse: Warehouse) -> pd.DataFrame:
    """The configurations to predict, one per coverage cell."""
    return warehouse.query(f"select {', '.join(GRID_COLUMNS)} from marts.coverage_gaps order by all")


def build_prediction_matrix(warehouse: Warehouse, artifacts: str | Path | None = None) -> pd.DataFrame:
    """Predict every metric that has a trained model for every grid cell, with intervals and confidence."""
    grid = prediction_grid(warehouse)
    with step("predictions", "prediction matrix", total=len(grid)) as advance:
        features = prepare_configurations(grid, warehouse)
        predicted = predict(features, artifacts=artifacts)
        advance(len(grid), detail=f"{len(grid):,} configurations")
    # Metrics without a trained model (no data yet) keep empty columns, so readers see one shape.
    figure_columns = [column for metric in metrics() for column in metric.figures]
    predicted = predicted.reindex(columns=[*figure_columns, "model_version"])
    matrix = pd.concat([grid.reset_index(drop=True), predicted[figure_columns].reset_index(drop=True)], axis=1)
    matrix["model_version"] = predicted["model_version"].to_numpy()
    matrix["predicted_at"] = datetime.now(UTC).replace(tzinfo=None)
    return matrix
