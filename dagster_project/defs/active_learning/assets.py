"""The benchmarks to run next: a ranked queue of untested configurations and a test batch."""

import dagster as dg

from dagster_project.defs.resources import WarehouseResource
from predictive_performance.active_learning import ActiveLearningSystem
from predictive_performance.settings import artifacts_dir

PUBLISHED_MATRIX_KEY = dg.AssetKey(["predictions", "prediction_matrix"])


class TestBatchConfig(dg.Config):
    batch_size: int = 10
    hardware_constraints: dict[str, int] = {}
    """Most tests per platform in the batch, e.g. {"cuda": 3, "cpu": 2}."""


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["active_learning", "queue"], group_name="active_learning", kinds={"duckdb"}, deps=[PUBLISHED_MATRIX_KEY],
                     description="Untested configurations ranked by expected information gain, with its parts."),
        dg.AssetSpec(["active_learning", "test_batches"], group_name="active_learning", kinds={"duckdb"}, deps=[PUBLISHED_MATRIX_KEY],
                     description="The suggested test batch, diverse and within hardware limits, in selection_order."),
    ]
)
def active_learning_tables(config: TestBatchConfig, warehouse: WarehouseResource):
    """Score every untested cell with the current models, pick a batch, publish both tables whole."""
    learner = ActiveLearningSystem.from_models(warehouse=warehouse.get(), artifacts=artifacts_dir())
    batch = learner.suggest_test_batch(
        batch_size=config.batch_size, ensure_diversity=True, hardware_constraints=config.hardware_constraints or None
    )
    learner.save_state()
    queue = learner.queue_table()
    yield dg.MaterializeResult(
        asset_key=["active_learning", "queue"],
        metadata={"dagster/row_count": len(queue), "top_gain": float(queue["expected_information_gain"].max()) if len(queue) else 0.0},
    )
    yield dg.MaterializeResult(
        asset_key=["active_learning", "test_batches"],
        metadata={"dagster/row_count": len(batch), "batch": dg.MetadataValue.md(batch.head(10).to_markdown(index=False)) if len(batch) else "empty"},
    )
