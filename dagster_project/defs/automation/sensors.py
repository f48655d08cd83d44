"""Retrain when new benchmark results land: one run per new load, never one per tick, never for trained loads."""

import dagster as dg

from dagster_project.defs.jobs import build_everything
from predictive_performance.current_models import newest_trained_load_id
from predictive_performance.warehouse import Warehouse, WarehouseError

NO_NEW_DATA_CONFIG = {"ops": {"raw_tables": {"config": {"paths": [], "include_default_data": False}}}}


def newest_untrained_load(warehouse: Warehouse) -> str | dg.SkipReason:
    """The newest load id when the current models were not trained on it, else why there is nothing to train.

    The sensor and the schedule both ask this, so they never disagree on what is trained.
    """
    try:
        latest = warehouse.latest_load_id()
        trained = newest_trained_load_id(warehouse)
    except WarehouseError as error:  # a run is writing right now; look again next tick
        return dg.SkipReason(f"warehouse busy: {error}")
    if latest is None:
        return dg.SkipReason("no benchmark loads yet")
    if trained is not None and latest <= trained:
        return dg.SkipReason(f"nothing changed since training: the current models were trained on every load up to {trained}")
    return latest


@dg.sensor(
    job=build_everything,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts build_everything when raw.loads has a load id newer than the last one seen and than the models'.",
)
def new_benchmark_loads(context: dg.SensorEvaluationContext):
    """Load ids sort by time, so the newest one is the cursor; several loads between ticks make one run.

    Loads the current models were trained on count as seen, whatever the cursor says: a fresh
    instance (no cursor) on a trained warehouse, or one whose loads `perfpredict run` trained, asks for nothing.
    """
    latest = newest_untrained_load(Warehouse.from_env())
    if isinstance(latest, dg.SkipReason):
        return latest
    if context.cursor and latest <= context.cursor:
        return dg.SkipReason(f"no load newer than {context.cursor}")
    context.update_cursor(latest)
    return dg.RunRequest(run_key=latest, run_config=NO_NEW_DATA_CONFIG, tags={"perfpredict/load_id": latest})
