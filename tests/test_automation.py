"""The sensor and the schedule read the real warehouse and ask for runs only when data changed."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from dagster_project.definitions import build_definitions
from dagster_project.defs.automation.schedules import daily_retraining
from dagster_project.defs.automation.sensors import new_benchmark_loads
from predictive_performance.current_models import newest_trained_load_id
from predictive_performance.ingest import ingest_path
from predictive_performance.publish import publish_tables
from tests.conftest import GOOD_ROWS, canonical_csv


def tick(cursor: str | None):
    return new_benchmark_loads.evaluate_tick(dg.build_sensor_context(cursor=cursor))


def test_sensor_requests_one_run_per_new_load_then_none(warehouse, tmp_path):
    assert tick(None).skip_message == "no benchmark loads yet"
    [report] = ingest_path(canonical_csv(tmp_path, GOOD_ROWS, "first.csv"), warehouse)

    first = tick(None)
    assert [request.run_key for request in first.run_requests] == [report.load_id]
    job = build_definitions().resolve_job_def("build_everything")
    ingest = dg.validate_run_config(job, first.run_requests[0].run_config)["ops"]["raw_tables"]["config"]
    assert ingest == {"paths": [], "include_default_data": False}, "the run ingests nothing new: the load is in"
    assert first.cursor == report.load_id
    again = tick(first.cursor)
    assert again.run_requests == [] and "no load newer" in again.skip_message

    ingest_path(canonical_csv(tmp_path, GOOD_ROWS[:1], "second.csv"), warehouse)
    ingest_path(canonical_csv(tmp_path, GOOD_ROWS[1:], "third.csv"), warehouse)
    later = tick(again.cursor or first.cursor)
    assert len(later.run_requests) == 1, "two loads between ticks make one run"
    assert later.cursor == warehouse.latest_load_id()


def evaluate_schedule():
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 11, 29, 3, tzinfo=UTC))
    return daily_retraining.evaluate_tick(context)


def test_schedule_retrains_only_when_a_load_is_newer_than_the_models(warehouse, tmp_path):
    assert evaluate_schedule().skip_message == "no benchmark loads yet"
    ingest_path(canonical_csv(tmp_path, GOOD_ROWS), warehouse)
    assert [r.run_key for r in evaluate_schedule().run_requests] == ["daily-2026-11-29"]

    registry = pd.DataFrame({"model_version": ["throughput-1"], "metric": ["throughput"], "load_ids": [[warehouse.latest_load_id()]],
                             "trained_at": [datetime.now(UTC).replace(tzinfo=None)]})
    publish_tables(warehouse, {"ml.model_registry": registry})
    assert "nothing changed" in evaluate_schedule().skip_message


def test_a_fresh_instance_on_a_trained_warehouse_waits_for_a_new_load(trained_copy, tmp_path):
    """No cursor yet (a new DAGSTER_HOME): the loads the registry's newest versions were trained on count as seen."""
    trained = newest_trained_load_id(trained_copy)
    assert trained == trained_copy.latest_load_id(), "the shared run trained on every load it ingested"
    fresh = tick(None)
    assert fresh.run_requests == [] and fresh.cursor is None
    assert fresh.skip_message == f"nothing changed since training: the current models were trained on every load up to {trained}"
    assert evaluate_schedule().skip_message == fresh.skip_message, "the schedule agrees with the sensor"

    [report] = ingest_path(canonical_csv(tmp_path, GOOD_ROWS, "new.csv"), trained_copy)
    first = tick(None)
    assert [request.run_key for request in first.run_requests] == [report.load_id], "one new load, one run"
    assert first.cursor == report.load_id
    second = tick(first.cursor)
    assert second.run_requests == [] and second.skip_message == f"no load newer than {report.load_id}"
    assert len(evaluate_schedule().run_requests) == 1
