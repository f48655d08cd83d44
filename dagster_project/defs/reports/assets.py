"""The pipeline's HTML report: predictions, held-out accuracy, coverage and the next tests, in one file."""

import dagster as dg

from dagster_project.defs.active_learning.assets import active_learning_tables
from dagster_project.defs.predictions.assets import published_predictions
from dagster_project.defs.resources import WarehouseResource
from predictive_performance.report_data import load_report_data
from predictive_performance.reports import evaluation_summary, markdown_table, pipeline_report
from predictive_performance.settings import artifacts_dir

REPORT_FILE = "reports/perfpredict_report.html"


@dg.asset(
    key_prefix="reports",
    group_name="reports",
    kinds={"html"},
    deps=[*published_predictions.keys, *active_learning_tables.keys],
)
def comparison_report(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """One self-contained HTML page (no scripts, no links) over the published tables, for people without Dagster."""
    data = load_report_data(warehouse.get(), artifacts=artifacts_dir())
    path = pipeline_report(data, artifacts_dir() / REPORT_FILE)
    totals = "\n".join(f"- {name}: {count:,}" for name, count in data.totals.items())
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "size_bytes": path.stat().st_size,
            "preview": dg.MetadataValue.md(f"{totals}\n\n{markdown_table(evaluation_summary(data.evaluation))}"),
        }
    )
