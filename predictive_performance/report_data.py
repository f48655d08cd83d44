"""What the pipeline report shows, read from the published tables of a warehouse.

Kept apart from ``reports`` (which only renders) so the report can be rebuilt from any warehouse
and each query is small: the prediction matrix and the coverage table hold every catalog model x
device x batch size x precision x mode, so only focused slices and aggregates leave DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from predictive_performance.modeling import evaluation_table
from predictive_performance.vocabulary import metric
from predictive_performance.warehouse import Warehouse, WarehouseError


@dataclass(frozen=True)
class ReportData:
    """Frames of the pipeline report; an empty frame where a table is not published yet."""

    focus: list[pd.DataFrame]  # prediction_matrix rows of one model x precision x mode each, a few devices
    evaluation: pd.DataFrame  # ml.evaluation rows of the newest version of each metric
    coverage: pd.DataFrame  # model x device: tested configurations of all catalog configurations
    queue: pd.DataFrame  # the top of active_learning.queue
    test_batch: pd.DataFrame  # the newest active_learning.test_batches batch
    versions: pd.DataFrame  # the newest ml.model_registry row per metric
    totals: dict[str, int]
    serving: pd.DataFrame = field(default_factory=pd.DataFrame)  # serving predictions, where serving models exist


def _table(warehouse: Warehouse, table: str, sql: str, parameters: list | None = None) -> pd.DataFrame:
    return warehouse.query(sql, parameters) if warehouse.table_exists(table) else pd.DataFrame()


def _count(warehouse: Warehouse, table: str) -> int:
    frame = _table(warehouse, table, f"select count(*) as n from {table}")
    return int(frame["n"].iloc[0]) if len(frame) else 0


def focus_predictions(warehouse: Warehouse, configurations: int = 2, devices: int = 10) -> list[pd.DataFrame]:
    """Predictions for the most measured model x precision x mode settings, on a few devices each.

    Devices measured for that setting come first, then the fastest predicted ones: the heatmap
    then shows both what the models know and what they extrapolate to.
    """
    if not (warehouse.table_exists("predictions.prediction_matrix") and warehouse.table_exists("marts.coverage_gaps")):
        return []
    settings = warehouse.query(
        """select model_name, precision, mode from marts.coverage_gaps
           group by all order by sum(is_tested::int) desc, model_name, precision, mode limit ?""",
        [configurations],
    )
    fastest = metric("throughput").figure("pred")
    frames = []
    for model, precision, mode in settings.itertuples(index=False):
        rows = warehouse.query(
            f"""with measured as (
                   select hardware_name, bool_or(is_tested) as hardware_measured from marts.coverage_gaps
                   where model_name = $1 and precision = $2 and mode = $3 group by hardware_name
               ),
               setting as (
                   select p.*, coalesce(m.hardware_measured, false) as hardware_measured
                   from predictions.prediction_matrix as p left join measured as m using (hardware_name)
                   where p.model_name = $1 and p.precision = $2 and p.mode = $3
               ),
               chosen as (
                   select hardware_name from setting group by hardware_name
                   order by bool_or(hardware_measured) desc, max({fastest}) desc nulls last, hardware_name
                   limit $4
               )
               select setting.* from setting join chosen using (hardware_name)
               order by hardware_measured desc, hardware_name, batch_size""",
            [model, precision, mode, devices],
        )
        if len(rows):
            frames.append(rows)
    return frames


def serving_predictions(warehouse: Warehouse, artifacts: str | Path | None = None, n: int = 3) -> pd.DataFrame:
    """Serving predictions (``views.SERVING``) for up to ``n`` models x ``n`` devices the serving rows measured;
    empty without trained models or without a serving partition. The one slice computed, not read."""
    from predictive_performance.predict import PerformancePredictor  # the model libraries load only here
    from predictive_performance.prediction.views import serving_configurations

    try:
        predictor = PerformancePredictor.load(model_path=artifacts, warehouse=warehouse)
    except (FileNotFoundError, WarehouseError):
        return pd.DataFrame()
    configs = serving_configurations(predictor, n=n)
    return predictor.batch_predict(configs) if len(configs) else pd.DataFrame()


def load_report_data(
    warehouse: Warehouse, configurations: int = 2, devices: int = 10, queue_rows: int = 15,
    artifacts: str | Path | None = None,
) -> ReportData:
    """Everything the pipeline report renders, from the tables the pipeline publishes (and the serving models)."""
    coverage = _table(
        warehouse,
        "marts.coverage_gaps",
        """select model_name, hardware_name, hardware_platform,
                  sum(is_tested::int)::int as tested, count(*)::int as configurations
           from marts.coverage_gaps group by all order by hardware_platform, hardware_name, model_name""",
    )
    totals = {
        "measured rows": _count(warehouse, "raw.benchmark_results"),
        "predicted configurations": _count(warehouse, "predictions.prediction_matrix"),
        "tested configurations": int(coverage["tested"].sum()) if len(coverage) else 0,
    }
    return ReportData(
        focus=focus_predictions(warehouse, configurations, devices),
        evaluation=evaluation_table(warehouse) if warehouse.table_exists("ml.model_registry") else pd.DataFrame(),
        coverage=coverage,
        queue=_table(warehouse, "active_learning.queue", "select * from active_learning.queue order by rank limit ?",
                     [queue_rows]),
        test_batch=_table(
            warehouse,
            "active_learning.test_batches",
            """select * from active_learning.test_batches
               where batch_id = (select max(batch_id) from active_learning.test_batches) order by selection_order""",
        ),
        versions=_table(
            warehouse,
            "ml.model_registry",
            """select metric, model_version, algorithm, target_formulation, n_rows, trained_at from ml.model_registry
               qualify row_number() over (partition by metric order by trained_at desc) = 1 order by metric""",
        ),
        totals=totals,
        serving=serving_predictions(warehouse, artifacts),
    )
