"""A daily rebuild that retrains only when something changed since the last trained model."""

import dagster as dg

from dagster_project.defs.automation.sensors import NO_NEW_DATA_CONFIG
from dagster_project.defs.jobs import build_everything
from predictive_performance.warehouse import Warehouse, WarehouseError

LAST_TRAINING_SQL = "select max(trained_at) as trained_at from ml.model_registry"
LAST_LOAD_SQL = "select max(loaded_at) as loaded_at from raw.loads"


@dg.schedule(
    job=build_everything,
    cron_schedule="0 3 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily at 03:00: rebuild and retrain when a load arrived after the newest model version.",
)
def daily_retraining(context: dg.ScheduleEvaluationContext):
    warehouse = Warehouse.from_env()
    try:
        if not warehouse.table_exists("raw.loads"):
            return dg.SkipReason("no benchmark loads yet")
        loaded_at = warehouse.query(LAST_LOAD_SQL)["loaded_at"].iloc[0]
        trained_at = (
            warehouse.query(LAST_TRAINING_SQL)["trained_at"].iloc[0] if warehouse.table_exists("ml.model_registry") else None
        )
    except WarehouseError as error:
        return dg.SkipReason(f"warehouse busy: {error}")
    if trained_at is not None and loaded_at <= trained_at:
        return dg.SkipReason(f"nothing changed since the models trained at {trained_at}")
    run_key = f"daily-{context.scheduled_execution_time:%Y-%m-%d}"
    return dg.RunRequest(run_key=run_key, run_config=NO_NEW_DATA_CONFIG)
