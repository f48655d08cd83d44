"""Retrain when new benchmark results land: one run per new load, never one per tick."""

import dagster as dg

from dagster_project.defs.jobs import build_everything
from predictive_performance.warehouse import Warehouse, WarehouseError

NO_NEW_DATA_CONFIG = {"ops": {"raw_tables": {"config": {"paths": [], "include_default_data": False}}}}


@dg.sensor(
    job=build_everything,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts build_everything when raw.loads has a load id newer than the last one seen.",
)
def new_benchmark_loads(context: dg.SensorEvaluationContext):
    """Load ids sort by time, so the newest one is the cursor; several loads between ticks make one run."""
    try:
        latest = Warehouse.from_env().latest_load_id()
    except WarehouseError as error:  # a run is writing right now; look again next tick
        return dg.SkipReason(f"warehouse busy: {error}")
    if latest is None:
        return dg.SkipReason("no benchmark loads yet")
    if context.cursor and latest <= context.cursor:
        return dg.SkipReason(f"no load newer than {context.cursor}")
    context.update_cursor(latest)
    return dg.RunRequest(run_key=latest, run_config=NO_NEW_DATA_CONFIG, tags={"perfpredict/load_id": latest})
