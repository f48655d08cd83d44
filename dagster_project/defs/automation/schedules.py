"""A daily rebuild that retrains only when a load arrived that the current models were not trained on."""

import dagster as dg

from dagster_project.defs.automation.sensors import NO_NEW_DATA_CONFIG, newest_untrained_load
from dagster_project.defs.jobs import build_everything
from predictive_performance.warehouse import Warehouse


@dg.schedule(
    job=build_everything,
    cron_schedule="0 3 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily at 03:00: rebuild and retrain when a load arrived after the newest model version's data.",
)
def daily_retraining(context: dg.ScheduleEvaluationContext):
    untrained = newest_untrained_load(Warehouse.from_env())
    if isinstance(untrained, dg.SkipReason):
        return untrained
    run_key = f"daily-{context.scheduled_execution_time:%Y-%m-%d}"
    return dg.RunRequest(run_key=run_key, run_config=NO_NEW_DATA_CONFIG)
