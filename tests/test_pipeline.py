"""The Dagster definitions end to end: real ingest, real `dbt build`, real GX gates, one DuckDB file."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from predictive_performance.config import ARTIFACTS_VARIABLE, DB_PATH_VARIABLE
from predictive_performance.warehouse import Warehouse
from tests.conftest import CPU, write_lambda_fixture

REQUIRED_FEATURES = [
    "flops_per_item", "bytes_per_item", "arithmetic_intensity", "peak_tflops_at_precision",
    "roofline_throughput", "memory_gb", "memory_bandwidth_gbs", "parameters_million", "batch_size",
]


def cpu_results(path: Path) -> Path:
    """Forty plausible CPU rows: throughput grows with batch size, shrinks with model size, stays under the roofline."""
    models = {"bert-base-uncased": 110.0, "distilbert-base-uncased": 66.0, "gpt2": 124.0, "t5-small": 60.0}
    rows = [
        dict(model_name=model, hardware_platform=platform, hardware_name=CPU, batch_size=batch, precision="fp32",
             mode="inference", sequence_length=128, throughput=round(300.0 / size * batch ** 0.3 * speed, 3))
        for (model, size), (platform, speed), batch in itertools.product(
            models.items(), [("cpu", 1.0), ("onnxruntime", 1.4)], [1, 2, 4, 8, 16]
        )
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


FAST_TRAINING = {"time_budget_s": 5.0, "n_trials": 3}


def run_job(paths: list[Path]) -> dg.ExecuteInProcessResult:
    from dagster_project.definitions import defs
    from dagster_project.defs.training.assets import MODEL_ASSETS

    ops = {"raw_tables": {"config": {"paths": [str(p) for p in paths], "include_default_data": False}}}
    ops.update({asset.op.name: {"config": FAST_TRAINING} for asset in MODEL_ASSETS})
    return defs.resolve_job_def("build_everything").execute_in_process(
        run_config=dg.RunConfig(ops=ops),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


@pytest.fixture(scope="module")
def built_warehouse(tmp_path_factory, lambda_dir_module) -> tuple[Warehouse, dg.ExecuteInProcessResult]:
    """One full pipeline run shared by the assertions below: dbt is the slow part."""
    folder = tmp_path_factory.mktemp("pipeline")
    previous = os.environ.get(DB_PATH_VARIABLE)
    os.environ[DB_PATH_VARIABLE] = str(folder / "benchmarks.duckdb")
    os.environ[ARTIFACTS_VARIABLE] = str(folder / "artifacts")
    try:
        result = run_job([lambda_dir_module, cpu_results(folder / "cpu.csv")])
        yield Warehouse(folder / "benchmarks.duckdb"), result
    finally:
        os.environ.pop(ARTIFACTS_VARIABLE, None)
        if previous is None:
            os.environ.pop(DB_PATH_VARIABLE, None)
        else:
            os.environ[DB_PATH_VARIABLE] = previous


@pytest.fixture(scope="module")
def lambda_dir_module(tmp_path_factory) -> Path:
    return write_lambda_fixture(tmp_path_factory.mktemp("lambda_source") / "lambda")


def test_definitions_load_with_every_stage():
    from dagster_project.definitions import defs

    repository = defs.get_repository_def()
    keys = {key.to_user_string() for key in repository.asset_graph.get_all_asset_keys()}
    assert {"raw/benchmark_results", "raw/loads", "marts/training_features", "marts/coverage_gaps", "marts/dim_hardware"} <= keys
    check_names = {key.name for key in repository.asset_graph.asset_check_keys}
    assert {"gx_raw_benchmarks", "gx_training_features"} <= check_names
    assert defs.resolve_job_def("build_everything") is not None
    assert defs.resolve_sensor_def("new_benchmark_loads").default_status == dg.DefaultSensorStatus.RUNNING
    assert defs.resolve_schedule_def("daily_retraining").default_status == dg.DefaultScheduleStatus.RUNNING


def test_job_materializes_every_asset_and_passes_every_gate(built_warehouse):
    warehouse, result = built_warehouse
    assert result.success
    materialized = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    assert {
        "raw/benchmark_results", "marts/training_features", "marts/coverage_gaps", "ml/throughput_model",
        "ml/model_registry", "ml/evaluation", "predictions/prediction_matrix", "predictions/hardware_recommendations",
        "active_learning/queue", "active_learning/test_batches",
    } <= materialized
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["gx_raw_benchmarks"] and checks["gx_training_features"] and checks["gx_predictions"]


def test_published_predictions_cover_the_grid_with_intervals(built_warehouse):
    warehouse, _ = built_warehouse
    matrix = warehouse.query("select * from predictions.prediction_matrix")
    grid = warehouse.query("select count(*) as n from marts.coverage_gaps")["n"].iloc[0]
    assert len(matrix) == grid
    assert (matrix["throughput_lower"] <= matrix["throughput_pred"]).all()
    assert (matrix["throughput_pred"] <= matrix["throughput_upper"]).all()
    assert matrix["throughput_confidence"].between(0, 1).all()
    assert matrix["model_version"].str.contains("throughput-").all()
    registry = warehouse.query("select metric from ml.model_registry")
    assert "throughput" in set(registry["metric"])
    queue = warehouse.query("select * from active_learning.queue order by rank")
    assert len(queue) == (~matrix["is_tested"]).sum()
    assert queue["expected_information_gain"].is_monotonic_decreasing
    batch = warehouse.query("select * from active_learning.test_batches order by selection_order")
    assert batch["selection_order"].tolist() == list(range(1, len(batch) + 1)) and len(batch) > 0
    splits = set(warehouse.query("select distinct split from ml.evaluation")["split"])
    assert {"random_kfold", "leave_one_hardware_out", "leave_one_model_out"} <= splits


def test_training_features_have_one_row_per_valid_measurement(built_warehouse):
    warehouse, _ = built_warehouse
    features = warehouse.query("select * from marts.training_features")
    raw = warehouse.row_counts()["benchmark_results"]
    flagged = warehouse.query("select count(*) as n from marts.fct_benchmark_results where is_outlier")["n"].iloc[0]
    assert len(features) == raw - flagged
    assert features[REQUIRED_FEATURES].notna().all().all()
    assert set(features["hardware_name"]) == {CPU, "NVIDIA Tesla V100 SXM2 16GB", "NVIDIA H100 80GB SXM5"}
    assert (features["roofline_throughput"] > 0).all()


def test_blocking_gate_stops_dbt_and_keeps_the_last_good_tables(built_warehouse, tmp_path):
    warehouse, _ = built_warehouse
    before = warehouse.query("select count(*) as n from marts.training_features")["n"].iloc[0]
    # A tool writing straight into raw bypasses ingest validation: the GX gate must catch it.
    with duckdb.connect(str(warehouse.path)) as connection:
        connection.execute(
            "insert into raw.benchmark_results (load_id, source_row, model_name, hardware_platform, hardware_name,"
            " batch_size, precision, mode, throughput) select 'rogue', i, 'gpt2', 'cpu', ?, 1, 'fp64', 'inference', -1"
            " from range(1, 200) t(i)",
            [CPU],
        )
    os.environ[DB_PATH_VARIABLE] = str(warehouse.path)

    result = run_job([])

    assert not result.success
    [evaluation] = [e for e in result.get_asset_check_evaluations() if e.check_name == "gx_raw_benchmarks"]
    assert not evaluation.passed
    failed = evaluation.metadata["failed_expectations"].value
    assert "precision" in failed and "throughput" in failed
    materialized = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    assert "marts/training_features" not in materialized
    assert warehouse.query("select count(*) as n from marts.training_features")["n"].iloc[0] == before
