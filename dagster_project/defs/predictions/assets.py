"""Predictions for every catalog configuration, checked in staging, then published whole."""

import dagster as dg

from dagster_project.defs.resources import WarehouseResource
from dagster_project.defs.training.assets import ML_TABLE_KEYS
from predictive_performance.prediction_matrix import build_prediction_matrix
from predictive_performance.publish import promote_tables, publish_tables
from predictive_performance.recommend import hardware_recommendations
from predictive_performance.report_data import focus_predictions
from predictive_performance.reports import matrix_markdown, predicted_metrics, setting_label
from predictive_performance.settings import artifacts_dir
from predictive_performance.vocabulary import metric
from predictive_performance.warehouse import Warehouse

STAGED_MATRIX_KEY = dg.AssetKey(["predictions_staging", "prediction_matrix"])
PUBLISHED = {
    "prediction_matrix": "Every catalog model x device x batch size x precision x mode: each metric with interval and confidence.",
    "hardware_recommendations": "Per model and objective, devices ranked by predicted figure, with intervals and confidence.",
}


@dg.asset(key=STAGED_MATRIX_KEY, group_name="predictions", kinds={"duckdb"}, deps=list(ML_TABLE_KEYS))
def staged_prediction_matrix(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """The new prediction matrix and recommendations, written beside the published ones until the gate passes."""
    store = warehouse.get()
    matrix = build_prediction_matrix(store, artifacts_dir())
    publish_tables(
        store,
        {
            "predictions_staging.prediction_matrix": matrix,
            "predictions_staging.hardware_recommendations": hardware_recommendations(
                matrix, store.query("select * from marts.dim_hardware"), store.query("select * from marts.dim_models")
            ),
        },
    )
    confidence = metric("throughput").figure("confidence")  # the headline figure
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(matrix),
            "model_version": matrix["model_version"].iloc[0] if len(matrix) else None,
            f"median_{confidence}": float(matrix[confidence].median()),
        }
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["predictions", table], description=description, group_name="predictions", kinds={"duckdb"}, deps=[STAGED_MATRIX_KEY])
        for table, description in PUBLISHED.items()
    ]
)
def published_predictions(warehouse: WarehouseResource):
    """Swap the staged tables in, in one transaction: readers see the old version or the new one."""
    store = warehouse.get()
    counts = promote_tables(store, {f"predictions.{t}": f"predictions_staging.{t}" for t in PUBLISHED})
    for name, rows in counts.items():
        metadata = {"dagster/row_count": rows}
        if name == "predictions.prediction_matrix":
            metadata.update(heatmap_metadata(store))
        yield dg.MaterializeResult(asset_key=name.split("."), metadata=metadata)


def heatmap_metadata(store: Warehouse) -> dict[str, dg.MetadataValue]:
    """The most measured model setting, hardware x batch size per metric: what the report's heatmaps show."""
    focus = focus_predictions(store, configurations=1)
    if not focus:
        return {}
    [rows] = focus
    setting = f"**{setting_label(rows)}**: prediction (confidence)"
    return {f"{column}_heatmap": dg.MetadataValue.md(f"{setting}\n\n{matrix_markdown(rows, column)}")
            for column in predicted_metrics(rows)}
