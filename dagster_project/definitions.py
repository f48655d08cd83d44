"""Everything Dagster shows: assets, checks, resources and jobs of perfpredict."""

import dagster as dg

from dagster_project.defs.active_learning.assets import active_learning_tables
from dagster_project.defs.automation.schedules import daily_retraining
from dagster_project.defs.automation.sensors import new_benchmark_loads
from dagster_project.defs.ingest.assets import raw_tables
from dagster_project.defs.ingest.checks import raw_benchmarks_suite
from dagster_project.defs.jobs import build_everything
from dagster_project.defs.predictions.assets import published_predictions, staged_prediction_matrix
from dagster_project.defs.predictions.checks import predictions_suite
from dagster_project.defs.reports.assets import comparison_report
from dagster_project.defs.resources import build_resources
from dagster_project.defs.training.assets import ml_tables, model_assets
from dagster_project.defs.transform.assets import perfpredict_dbt_models
from dagster_project.defs.transform.checks import training_features_suite


def build_definitions() -> dg.Definitions:
    """The definitions for the vocabulary as it stands when called: one model asset per metric."""
    models = model_assets()
    return dg.Definitions(
        assets=[raw_tables, perfpredict_dbt_models, *models, ml_tables(models), staged_prediction_matrix,
                published_predictions, active_learning_tables, comparison_report],
        asset_checks=[raw_benchmarks_suite, training_features_suite, predictions_suite],
        jobs=[build_everything],
        sensors=[new_benchmark_loads],
        schedules=[daily_retraining],
        resources=build_resources(),
        # DuckDB allows one writer: steps run one after another in the run's own process.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
