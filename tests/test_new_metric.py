"""Adding a fifth metric is one vocabulary entry plus its data.

The toy metric (energy per batch) is registered for one test only; nothing else in the library is
touched. Its rows train a real model version through the Dagster model asset built from the
vocabulary, the predictor returns its prediction columns and result keys, and the held-out figures
and the comparison report give it a row of its own.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from predictive_performance import vocabulary
from predictive_performance.modeling import evaluation_table, load_version, publish_saved_versions
from predictive_performance.predict import PerformancePredictor
from predictive_performance.reports import comparison_report, evaluation_summary
from predictive_performance.settings import ARTIFACTS_VARIABLE, DB_PATH_VARIABLE
from predictive_performance.warehouse import Warehouse
from tests.conftest import FAST_TRAINING
from tests.factories import seed_catalogs, simulate, write_marts

ENERGY = vocabulary.Metric(
    "energy_j", "energy", "J per batch", "confidence_energy", False, "rated_power",
    "The current energy model version (joules per batch).",
)
# load_training_frame joins these from marts.dim_hardware, as dbt's training_features leaves them out
JOINED_PEAKS = ["peak_fp16_tflops", "peak_bf16_tflops", "peak_int8_tops"]


@pytest.fixture
def energy_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``marts.training_features`` with an ``energy_j`` column: rated power x utilisation x batch time."""
    monkeypatch.setattr(vocabulary, "METRICS", (*vocabulary.METRICS, ENERGY))
    models, hardware = seed_catalogs()
    frame = simulate(models, hardware)
    rng = np.random.default_rng(3)
    utilisation = 0.4 + 0.3 * frame["batch_size"] / (frame["batch_size"] + 8.0)
    frame["energy_j"] = frame["tdp_w"] * utilisation * frame["latency_ms"] / 1000.0 * np.exp(rng.normal(0, 0.05, len(frame)))
    db_path = tmp_path / "benchmarks.duckdb"
    write_marts(db_path, models, hardware, frame)
    with duckdb.connect(str(db_path)) as connection:
        connection.register("features", frame.drop(columns=JOINED_PEAKS))
        connection.execute("create table marts.training_features as select * from features")
    monkeypatch.setenv(DB_PATH_VARIABLE, str(db_path))
    monkeypatch.setenv(ARTIFACTS_VARIABLE, str(tmp_path / "artifacts"))
    return db_path


def test_a_registered_metric_trains_predicts_and_reports(energy_warehouse: Path, tmp_path: Path):
    from dagster_project.definitions import build_definitions
    from dagster_project.defs.training.assets import model_key, model_run_config

    key = model_key(ENERGY)
    asset = build_definitions().resolve_assets_def(key)  # with the definitions' warehouse: $BENCHMARK_DB_PATH
    result = dg.materialize(
        [asset],
        run_config={"ops": {op: config for op, config in model_run_config(FAST_TRAINING).items()
                            if op == key.to_python_identifier()}},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    [materialization] = result.asset_materializations_for_node(key.to_python_identifier())
    assert materialization.metadata["trained"].value is True
    version = load_version(materialization.metadata["model_version"].value, tmp_path / "artifacts")
    assert version.metric == "energy_j"
    assert "energy_j" in materialization.metadata["held_out_figures"].value

    # a prediction column and result keys, named by the vocabulary entry
    predictor = PerformancePredictor.load()
    configs = pd.DataFrame({"model_name": ["bert-base-uncased", "resnet-50"], "hardware_name": "NVIDIA A10",
                            "batch_size": [8, 32], "precision": "fp16", "mode": "inference"})
    predicted = predictor.batch_predict(configs)
    assert (predicted["energy_j_pred"] > 0).all()
    assert (predicted["energy_j_lower"] <= predicted["energy_j_pred"]).all()
    assert (predicted["energy_j_pred"] <= predicted["energy_j_upper"]).all()
    single = predictor.predict("bert-base-uncased", hardware_name="NVIDIA A10", batch_size=8, precision="fp16")
    assert single["energy"] == pytest.approx(predicted["energy_j_pred"].iloc[0])
    assert 0.0 <= single["confidence_energy"] <= 1.0
    assert single["units"]["energy"] == "J per batch"

    # a report row: the held-out figures once published, and a section of the comparison report
    warehouse = Warehouse(energy_warehouse)
    publish_saved_versions(warehouse, [version])
    summary = evaluation_summary(evaluation_table(warehouse))
    assert set(summary["metric"]) == {"energy_j"}
    assert {"leave_one_hardware_out", "leave_one_model_out"} <= set(summary["split"])
    report = comparison_report(predicted, ["energy"], output_format="markdown")
    assert "## energy_j (J per batch)" in report
