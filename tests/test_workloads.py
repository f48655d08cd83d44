"""Figures that mean different things under one column are fitted, judged and asked for apart.

On ``factories.simulate_workloads``: static batches (per-batch latency, accelerator power), LLM
serving (tokens/s, per-token latency, accelerator power) and MLPerf-like offline runs (the system
chose the batch; wall power). Real XGBoost / LightGBM and a real DuckDB warehouse throughout.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from predictive_performance.cli import app
from predictive_performance.demo import resolve_setting, serving_view
from predictive_performance.modeling import FeatureSpec, MetricEstimator, evaluate_metric, train_and_register
from predictive_performance.modeling.derived import derivation_of
from predictive_performance.predict import PerformancePredictor
from predictive_performance.report_data import ReportData, serving_predictions
from predictive_performance.reports import pipeline_report
from predictive_performance.settings import ARTIFACTS_VARIABLE, DB_PATH_VARIABLE
from tests.factories import CONFIG, HOST_POWER_W, seed_catalogs, simulate_workloads, write_marts

BATCH = "latency_kind=batch,workload=static_batch"
TOKEN = "latency_kind=token,workload=serving"
REQUEST = "latency_kind=request,workload=serving"
H100 = "NVIDIA H100 80GB SXM5"


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    models, hardware = seed_catalogs()
    rows = simulate_workloads(models, hardware)
    # five whole-response latencies: a kind the data has, too few rows for a model of its own
    request = rows[rows["workload"] == "serving"].head(5).assign(latency_kind="request", latency_ms=9000.0)
    return pd.concat([rows, request], ignore_index=True)


@pytest.fixture(scope="module")
def latency(frame) -> MetricEstimator:
    return MetricEstimator(CONFIG).fit(frame, "latency")


@pytest.fixture(scope="module")
def power(frame) -> MetricEstimator:
    return MetricEstimator(CONFIG).fit(frame, "power")


def _median_ratio(predicted: pd.Series, measured: pd.Series) -> float:
    return float(np.median(predicted.to_numpy() / measured.to_numpy()))


def test_each_latency_kind_and_power_scope_gets_its_own_model_at_its_own_scale(frame, latency, power):
    # a static batch's latency is the throughput model's (``derived``): no latency model of its own
    assert set(latency.model_.partitions) == {TOKEN}
    assert latency.model_.untrained == {REQUEST: 5}
    assert set(power.model_.partitions) == {"power_scope=accelerators", "power_scope=system"}
    for estimator, column, partition, rows in (
        (latency, "latency_ms", TOKEN, frame["latency_kind"] == "token"),
        (power, "power_w", "power_scope=accelerators", frame["power_scope"] == "accelerators"),
        (power, "power_w", "power_scope=system", frame["power_scope"] == "system"),
    ):
        part = frame[rows]
        assert estimator.model_.partitions[partition].n_rows == len(part)
        predicted = estimator.predict(part)[f"{column}_pred"]
        assert _median_ratio(predicted, part[column]) == pytest.approx(1.0, abs=0.15), partition
    offline = frame[frame["power_scope"] == "system"]
    wall = power.predict(offline)["power_w_pred"]
    accelerators = power.predict(offline.assign(power_scope="accelerators"))["power_w_pred"]
    assert np.median(wall.to_numpy() - accelerators.to_numpy()) > 0.5 * HOST_POWER_W


def test_a_partition_without_a_model_gets_no_figure(frame, latency):
    serving = frame[frame["latency_kind"] == "token"].head(3)
    asked = pd.concat([serving.assign(latency_kind="request"), serving.assign(latency_kind="query_p90"), serving])
    predicted = latency.predict(asked.reset_index(drop=True))
    assert predicted.iloc[:6].isna().all().all()  # neither the too-small nor the unseen kind is answered
    assert predicted.iloc[6:]["latency_ms_pred"].notna().all()


def test_evaluation_is_per_partition_with_rows_per_source(frame, latency):
    result = evaluate_metric(frame, "latency", latency.model_.settings, CONFIG, splits=("leave_one_hardware_out",))
    table = result.table
    assert set(table["partition"]) == {TOKEN}
    sources = table[table["stratum"] == "source"].groupby("partition")["stratum_value"].unique()
    assert list(sources[TOKEN]) == ["sim-serving"]
    overall = table.query("stratum == 'all' and method == 'model'").set_index("partition")
    assert overall.loc[TOKEN, "n_rows"] == (frame["latency_kind"] == "token").sum()
    assert overall.loc[TOKEN, "mape"] < 0.5
    assert set(result.summary()) >= {f"{TOKEN}/leave_one_hardware_out/model", f"{TOKEN}/leave_one_hardware_out/baseline"}


def test_a_static_batch_latency_is_judged_on_the_throughput_models_held_out_predictions(frame):
    static = frame[frame["workload"] == "static_batch"].reset_index(drop=True)
    # the first 40 latencies were computed by dbt from throughput: not measurements, not judged on
    static["latency_imputed"] = np.arange(len(static)) < 40
    throughput = MetricEstimator(CONFIG).fit(static, "throughput")
    result = evaluate_metric(static, "throughput", throughput.settings_, CONFIG, splits=("leave_one_hardware_out",))
    latency = result.table.query("metric == 'latency_ms' and stratum == 'all'").set_index("method")
    assert set(latency["partition"]) == {BATCH} and latency["note"].str.contains("from the throughput model").all()
    assert latency.loc["model", "n_rows"] == len(static) - 40
    held = result.predictions.merge(static[["latency_ms", "latency_imputed"]], left_on="row", right_index=True)
    held = held[~held["latency_imputed"]]
    implied = 1000.0 * static.loc[held["row"], "batch_size"].to_numpy() / held["pred"]
    ape = (implied - held["latency_ms"]).abs() / held["latency_ms"]
    assert latency.loc["model", "mape"] == pytest.approx(ape.mean())
    # the latency interval is the throughput one, bounds swapped: the same rows are covered
    covered = (held["actual"] >= held["lower"]) & (held["actual"] <= held["upper"])
    assert latency.loc["model", "coverage"] == pytest.approx(covered.mean())


def test_a_split_batchs_latency_counts_the_batch_once():
    """Eight data-parallel devices step through 8 x 4 items; eight sequence-parallel ones through the same 4."""
    derivation = derivation_of("latency_ms", "latency_kind=batch,workload=static_batch")
    rows = pd.DataFrame({"batch_size": [4, 4], "num_devices": [8, 8], "parallelism": ["data", "sequence"]})
    assert derivation.convert(rows, np.array([100.0, 100.0])).tolist() == [320.0, 40.0]


def test_a_batch_the_system_chose_is_its_own_case_not_batch_one(frame):
    rows = frame[frame["workload"] == "offline"].head(1)
    spec = FeatureSpec.fit(frame)
    chosen, one = spec.matrix(pd.concat([rows, rows.assign(batch_size=1)], ignore_index=True))
    names = spec.names
    assert chosen[names.index("batch_chosen_by_system")] == 1 and one[names.index("batch_chosen_by_system")] == 0
    assert np.isnan(chosen[names.index("log_batch_size")]) and one[names.index("log_batch_size")] == 0
    assert chosen[names.index("workload=offline")] == 1


@pytest.fixture(scope="module")
def predictor(frame, tmp_path_factory) -> PerformancePredictor:
    folder = tmp_path_factory.mktemp("workloads")
    models, hardware = seed_catalogs()
    write_marts(folder / "benchmarks.duckdb", models, hardware, frame)
    train_and_register(frame, CONFIG, None, folder / "artifacts", evaluate=False)
    return PerformancePredictor.load(model_path=folder / "artifacts", db_path=folder / "benchmarks.duckdb")


def test_a_serving_prediction_gives_tokens_per_second_per_token_latency_and_accelerator_power(frame, predictor):
    result = predictor.predict("gpt2-medium", hardware_name=H100, workload="serving", batch_size=32, precision="bf16",
                               task="lm-arena-chat")
    assert (result.workload, result.latency_kind, result.power_scope) == ("serving", "token", "accelerators")
    truth = frame.query(f"model_name == 'gpt2-medium' and hardware_name == '{H100}' and workload == 'serving' "
                        "and batch_size == 32").iloc[0]
    for key, column in (("throughput", "throughput"), ("latency", "latency_ms"), ("power", "power_w")):
        assert result[f"{key}_lower"] <= result[key] <= result[f"{key}_upper"], key
        assert result[key] == pytest.approx(truth[column], rel=0.3), key
    assert result.units["latency"] == "ms per output token"
    static = predictor.predict("gpt2-medium", hardware_name=H100, batch_size=32, precision="fp16")
    assert (static.workload, static.latency_kind, static.power_scope) == ("static_batch", "batch", "accelerators")
    # per batch here, per output token there: each from its own model, at its own scale
    assert static.units["latency"] == "ms per batch"
    assert static["latency"] != pytest.approx(result["latency"], rel=0.05)


def test_a_kind_or_scope_without_a_model_is_refused_with_a_note(predictor):
    result = predictor.predict("gpt2", hardware_name=H100, workload="serving", batch_size=8, latency_kind="request")
    assert result["latency"] is None and result["throughput"] is not None
    assert any(f"no latency_ms model for {REQUEST}" in note for note in result["notes"])
    offline = predictor.batch_predict([{"model_name": "gpt2", "hardware_name": H100, "workload": "offline",
                                        "precision": "fp16", "power_scope": "system"}])
    row = offline.iloc[0]
    assert pd.isna(row["batch_size"]) and row["throughput_pred"] > 0 and row["power_w_pred"] > 0
    assert np.isnan(row["latency_ms_pred"]) and np.isnan(row["memory_mb_pred"])
    with pytest.raises(ValueError, match="column power_scope: unknown 'wall'"):
        predictor.predict("gpt2", hardware_name=H100, power_scope="wall")


def test_predict_command_reads_and_writes_the_workload_columns(predictor, tmp_path, monkeypatch):
    monkeypatch.setenv(DB_PATH_VARIABLE, str(predictor.warehouse.path))
    monkeypatch.setenv(ARTIFACTS_VARIABLE, str(next(iter(predictor.versions.values())).path.parents[1]))
    configs = tmp_path / "configs.csv"
    configs.write_text(
        "model_name,hardware_name,batch_size,precision,mode,workload,task,latency_kind,power_scope\n"
        f"gpt2,{H100},32,bf16,inference,serving,lm-arena-chat,,\n"
        f"gpt2,{H100},,fp16,inference,offline,,,system\n"
    )
    output = tmp_path / "predictions.csv"
    result = CliRunner().invoke(app, ["predict", "--input", str(configs), "--output", str(output)])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(output)
    assert list(written["latency_kind"]) == ["token", "batch"] and list(written["power_scope"]) == ["accelerators", "system"]
    assert written["throughput_pred"].gt(0).all() and written["power_w_pred"].gt(0).all()
    assert written["latency_ms_pred"].notna().tolist() == [True, False]


def test_the_demo_and_the_report_show_a_serving_prediction(predictor, tmp_path):
    setting = resolve_setting(predictor, "gpt2-medium", None, H100, sequence_length=None, image_size=None, batch_size=1,
                              precision="fp32", mode="inference", metric="throughput", top=3, power_constrained=False)
    view = serving_view(predictor, setting, tmp_path)
    [table] = view.tables
    assert view.chart.is_file() and "gpt2-medium served on NVIDIA H100 80GB SXM5" in str(table.title)
    assert list(table.columns[1].cells) == ["items/s", "ms per output token", "W (average)"]
    artifacts = next(iter(predictor.versions.values())).path.parents[1]
    serving = serving_predictions(predictor.warehouse, artifacts)
    assert len(serving) == 9 and set(serving["workload"]) == {"serving"} and serving["latency_ms_pred"].notna().all()
    data = ReportData([], pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), {}, serving)
    page = pipeline_report(data, tmp_path / "report.html").read_text()
    assert "ms per output token" in page and "Serving" in page
