"""The Dagster definitions end to end: real ingest, real `dbt build`, real GX gates, one DuckDB file."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from dagster_project.instance import INSTANCE_FILE, INSTANCE_YAML, prepare_instance_folder, project_instance
from predictive_performance import vocabulary
from predictive_performance.settings import DAGSTER_HOME_VARIABLE
from predictive_performance.vocabulary import Metric, metrics
from tests.conftest import CPU, FAST_TRAINING, run_job

REQUIRED_FEATURES = [
    "flops_per_item", "bytes_per_item", "arithmetic_intensity", "peak_tflops_at_precision",
    "roofline_throughput", "memory_gb", "memory_bandwidth_gbs", "parameters_million", "batch_size",
]


def test_definitions_load_with_every_stage():
    from dagster_project.definitions import defs

    repository = defs.get_repository_def()
    keys = {key.to_user_string() for key in repository.asset_graph.get_all_asset_keys()}
    assert {"raw/benchmark_results", "raw/loads", "marts/training_features", "marts/coverage_gaps", "marts/dim_hardware"} <= keys
    assert {"ml/throughput_model", "ml/latency_model", "ml/memory_model", "ml/power_model"} <= keys
    check_names = {key.name for key in repository.asset_graph.asset_check_keys}
    assert {"gx_raw_benchmarks", "gx_training_features"} <= check_names
    job = defs.resolve_job_def("build_everything")
    assert keys == {key.to_user_string() for key in job.asset_layer.selected_asset_keys}, "the job builds every asset"
    assert defs.resolve_sensor_def("new_benchmark_loads").default_status == dg.DefaultSensorStatus.RUNNING
    assert defs.resolve_schedule_def("daily_retraining").default_status == dg.DefaultScheduleStatus.RUNNING


def test_the_dagster_instance_defaults_to_a_folder_of_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Unset DAGSTER_HOME becomes ./.dagster, with a dagster.yaml the webserver alone can launch runs from."""
    from dagster._core.run_coordinator import DefaultRunCoordinator

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(DAGSTER_HOME_VARIABLE, raising=False)
    home = prepare_instance_folder()
    assert home == tmp_path / ".dagster" and os.environ[DAGSTER_HOME_VARIABLE] == str(home), "Dagster's own processes see it"
    assert (home / INSTANCE_FILE).read_text() == INSTANCE_YAML
    with project_instance() as instance:
        assert not instance.is_ephemeral and Path(instance.root_directory) == home
        assert isinstance(instance.run_coordinator, DefaultRunCoordinator)
    (home / INSTANCE_FILE).write_text("telemetry:\n  enabled: false\n")
    prepare_instance_folder()
    assert (home / INSTANCE_FILE).read_text() == "telemetry:\n  enabled: false\n", "a user's own dagster.yaml is kept"


def test_perfpredict_run_refuses_a_dagster_home_it_cannot_create(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from typer.testing import CliRunner

    from predictive_performance.cli import app

    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.setenv(DAGSTER_HOME_VARIABLE, str(blocker / "home"))
    refused = CliRunner().invoke(app, ["run"])
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    [line] = refused.output.strip().splitlines()
    assert line.startswith(f"error: {DAGSTER_HOME_VARIABLE}={blocker / 'home'} cannot hold the Dagster instance")


TOY_METRIC = Metric("energy_j", "energy", "J per batch", "confidence_energy", False, "rated_power",
                    "The current energy model version (joules per batch).")


def test_model_assets_follow_the_vocabulary(monkeypatch: pytest.MonkeyPatch):
    """A metric registered in the vocabulary gets its model asset, its description and its run config."""
    from dagster_project.definitions import build_definitions
    from dagster_project.defs.training.assets import model_run_config

    monkeypatch.setattr(vocabulary, "METRICS", (*vocabulary.METRICS, TOY_METRIC))
    job = build_definitions().resolve_job_def("build_everything")
    models = {key.to_user_string() for key in job.asset_layer.selected_asset_keys if key.path[0] == "ml"}
    assert models == {f"ml/{m.asset_name}" for m in metrics()} | {"ml/model_registry", "ml/evaluation"}
    assert "ml/energy_model" in models
    graph = job.asset_layer.asset_graph
    assert graph.get(dg.AssetKey(["ml", "energy_model"])).description == TOY_METRIC.description
    registry = graph.get(dg.AssetKey(["ml", "model_registry"]))
    assert dg.AssetKey(["ml", "energy_model"]) in registry.parent_keys
    assert dg.validate_run_config(job, {"ops": model_run_config(FAST_TRAINING)})["ops"].keys() >= {"ml__energy_model"}


def test_job_materializes_every_asset_and_passes_every_gate(pipeline_run):
    result = pipeline_run.result
    assert result.success
    materialized = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    assert {
        "raw/benchmark_results", "marts/training_features", "marts/coverage_gaps", "ml/throughput_model",
        "ml/model_registry", "ml/evaluation", "predictions/prediction_matrix", "predictions/hardware_recommendations",
        "active_learning/queue", "active_learning/test_batches",
    } <= materialized
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["gx_raw_benchmarks"] and checks["gx_training_features"] and checks["gx_predictions"]


def test_published_predictions_cover_the_grid_with_intervals(pipeline_run):
    warehouse = pipeline_run.warehouse
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


def test_training_features_have_one_row_per_valid_measurement(pipeline_run):
    warehouse = pipeline_run.warehouse
    features = warehouse.query("select * from marts.training_features")
    raw = warehouse.row_counts()["benchmark_results"]
    flagged = warehouse.query("select count(*) as n from marts.fct_benchmark_results where is_outlier")["n"].iloc[0]
    assert len(features) == raw - flagged
    assert features[REQUIRED_FEATURES].notna().all().all()
    assert set(features["hardware_name"]) == {CPU, "NVIDIA Tesla V100 SXM2 16GB", "NVIDIA H100 80GB SXM5"}
    assert (features["roofline_throughput"] > 0).all()


def test_blocking_gate_stops_dbt_and_keeps_the_last_good_tables(trained_copy):
    warehouse = trained_copy
    before = warehouse.query("select count(*) as n from marts.training_features")["n"].iloc[0]
    # A tool writing straight into raw bypasses ingest validation: the GX gate must catch it.
    with duckdb.connect(str(warehouse.path)) as connection:
        connection.execute(
            "insert into raw.benchmark_results (load_id, source_row, model_name, hardware_platform, hardware_name,"
            " batch_size, precision, mode, throughput) select 'rogue', i, 'gpt2', 'cpu', ?, 1, 'fp12', 'inference', -1"
            " from range(1, 200) t(i)",
            [CPU],
        )
    result = run_job([])

    assert not result.success
    [evaluation] = [e for e in result.get_asset_check_evaluations() if e.check_name == "gx_raw_benchmarks"]
    assert not evaluation.passed
    failed = evaluation.metadata["failed_expectations"].value
    assert "precision" in failed and "throughput" in failed
    materialized = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    assert "marts/training_features" not in materialized
    assert warehouse.query("select count(*) as n from marts.training_features")["n"].iloc[0] == before


def test_readme_python_api_snippet_runs_as_written(trained_copy, tmp_path: Path, monkeypatch) -> None:
    """The README's "Python API" block, verbatim, on the shared run's warehouse and models."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Python API", 1)[1]
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)

    exec(compile(snippet, "README.md (Python API)", "exec"), {})

    heatmap = tmp_path / "artifacts" / "reports" / "bert_throughput.png"
    report = tmp_path / "artifacts" / "reports" / "comparison.html"
    assert heatmap.stat().st_size > 0
    assert "<html" in report.read_text().lower()
