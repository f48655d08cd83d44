"""PerformancePredictor, recommendations, reports and the predict / recommend / evaluate commands.

One module fixture trains real XGBoost + LightGBM models (throughput, latency, memory; no power,
so a metric without a model is covered too) on simulated measurements of six GPUs, and writes a
DuckDB warehouse whose ``marts.dim_models`` / ``marts.dim_hardware`` are the dbt seed catalogs
with measurement counts, as dbt builds them. Everything else in the catalogs is "catalog only".
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from predictive_performance import vocabulary
from predictive_performance.cli import app
from predictive_performance.modeling import (
    UnknownEntityError,
    evaluate_metric,
    publish,
    train_and_register,
)
from predictive_performance.predict import PerformancePredictor
from predictive_performance.prediction.inputs import read_configurations
from predictive_performance.prediction.resolution import UnknownNameError
from predictive_performance.prediction.result import Prediction
from predictive_performance.recommend import hardware_recommendations
from predictive_performance.settings import ARTIFACTS_VARIABLE, DB_PATH_VARIABLE
from predictive_performance.warehouse import Warehouse
from tests.factories import (
    CATALOG_ONLY_CPU,
    CATALOG_ONLY_GPU,
    CONFIG,
    MEASURED,
    MODELS,
    seed_catalogs,
    simulate,
    write_marts,
)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("predict")
    models, hardware = seed_catalogs()
    frame = simulate(models, hardware)
    db_path = folder / "benchmarks.duckdb"
    write_marts(db_path, models, hardware, frame)
    artifacts = folder / "artifacts"
    # a static batch's latency is no model of its own: it comes from the throughput model
    versions = train_and_register(frame, CONFIG, ["throughput", "memory_mb"], artifacts, evaluate=False)
    evaluation = evaluate_metric(
        frame, "throughput", versions[0].model.settings, CONFIG, splits=("leave_one_hardware_out",)
    )
    publish(Warehouse(db_path), versions, {versions[0].version: evaluation})
    return {"db_path": db_path, "artifacts": artifacts, "versions": versions, "frame": frame}


@pytest.fixture(scope="module")
def predictor(world) -> PerformancePredictor:
    return PerformancePredictor.load(model_path=world["artifacts"], db_path=world["db_path"])


# --- predict --------------------------------------------------------------------------------------------


def test_predict_returns_every_metric_with_interval_and_confidence(predictor, world):
    result = predictor.predict(
        "bert-base-uncased", hardware_name="NVIDIA A100 80GB SXM4", batch_size=8, precision="fp16"
    )
    for key, confidence in (
        ("throughput", "confidence"),
        ("latency", "confidence_latency"),
        ("memory", "confidence_memory"),
    ):
        assert result[f"{key}_lower"] <= result[key] <= result[f"{key}_upper"], key
        assert 0.0 <= result[confidence] <= 1.0
        assert isinstance(result["low_confidence"][key], bool)
    # no power measurements, so no power model: present, empty, and said so
    assert result["power"] is None and result["confidence_power"] is None and "power" not in result["low_confidence"]
    assert any("power_w" in note for note in result["notes"])
    assert not any("latency_ms" in note for note in result["notes"])
    # one prediction for both: latency = 1000 x batch / throughput, the bounds swapped, the same confidence
    assert result["latency"] == pytest.approx(1000.0 * 8 / result["throughput"])
    assert result["latency_lower"] == pytest.approx(1000.0 * 8 / result["throughput_upper"])
    assert result["latency_upper"] == pytest.approx(1000.0 * 8 / result["throughput_lower"])
    assert result["confidence_latency"] == result["confidence"]
    assert result["model_versions"]["throughput"] == world["versions"][0].version
    assert set(result["model_version"].split(",")) == {v.version for v in world["versions"]}
    assert result["hardware_measured"] and result["model_measured"] and result["fallback"] is None
    # the simulated truth: throughput ~ roofline x 0.3 x 8/12; within the model's error on a seen configuration
    truth = (
        world["frame"]
        .query(
            "model_name == 'bert-base-uncased' and hardware_name == 'NVIDIA A100 80GB SXM4' and batch_size == 8 "
            "and precision == 'fp16' and mode == 'inference'"
        )["throughput"]
        .iloc[0]
    )
    assert result["throughput"] == pytest.approx(truth, rel=0.3)


def test_a_prediction_is_a_frozen_value_that_still_answers_like_the_published_dict(predictor):
    result = predictor.predict("gpt2", hardware_name="NVIDIA A10", batch_size=4)

    assert isinstance(result, Prediction)
    plain = result.to_dict()
    assert type(plain) is dict and dict(result) == plain and list(result.keys()) == list(plain) == list(result)
    assert list(plain)[:3] == ["model_name", "model_name_requested", "model_type"]
    for m in vocabulary.metrics():  # every metric of the vocabulary has its four keys, trained or not
        assert {m.key, f"{m.key}_lower", f"{m.key}_upper", m.confidence_key} <= set(result)
        assert result.units[m.key] == m.unit
    assert result["throughput"] == result.figures["throughput"] == plain["throughput"] > 0
    assert result["batch_size"] == result.batch_size == 4 and result.get("notes") == result.notes
    assert "explanation" not in result and result.get("explanation") is None and result.get("nothing", 7) == 7
    with pytest.raises(KeyError):
        result["throughput_pred"]  # a batch_predict column, not a result key
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.batch_size = 8  # type: ignore[misc]


def test_the_constructor_takes_loaded_parts_and_reads_nothing(predictor, world, tmp_path):
    elsewhere = Warehouse(tmp_path / "never-opened.duckdb")
    rebuilt = PerformancePredictor(predictor.versions, predictor.catalogs, warehouse=elsewhere)

    assert rebuilt.predict("gpt2", hardware_name="NVIDIA A10")["throughput"] == pytest.approx(
        predictor.predict("gpt2", hardware_name="NVIDIA A10")["throughput"]
    )
    assert not elsewhere.path.exists()
    with pytest.raises(FileNotFoundError, match="no trained models"):
        PerformancePredictor.load(model_path=tmp_path / "no-artifacts", db_path=world["db_path"])


def test_unknown_device_gets_a_clear_error_naming_it(predictor):
    with pytest.raises(UnknownEntityError, match="NVIDIA Z9000 Ultra") as caught:
        predictor.predict("bert-base-uncased", hardware_name="NVIDIA Z9000 Ultra")
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, UnknownNameError)
    assert caught.value.kind == "hardware" and caught.value.names == ["NVIDIA Z9000 Ultra"]
    assert "hardware_devices.csv" in str(caught.value) and "fallback_to_similar" in str(caught.value)
    with pytest.raises(UnknownEntityError, match="no-such-model"):
        predictor.predict("no-such-model", hardware_name="NVIDIA A100 80GB SXM4")


def test_catalog_only_devices_get_lower_confidence(predictor):
    """Same model and settings: a measured GPU, a catalog-only GPU, a catalog-only CPU (nothing like it measured)."""
    configs = pd.DataFrame(
        [
            {"model_name": model, "hardware_name": device, "batch_size": batch, "precision": "fp16"}
            for model in MODELS
            for device in ("NVIDIA A100 80GB SXM4", CATALOG_ONLY_GPU, CATALOG_ONLY_CPU)
            for batch in (1, 8)
        ]
    )
    predicted = predictor.batch_predict(configs)
    confidence = predicted.groupby("hardware_name")["throughput_confidence"].mean()
    assert confidence[CATALOG_ONLY_GPU] < confidence["NVIDIA A100 80GB SXM4"]
    assert confidence[CATALOG_ONLY_CPU] < confidence[CATALOG_ONLY_GPU]
    cpu_rows = predicted[predicted["hardware_name"] == CATALOG_ONLY_CPU]
    assert cpu_rows["throughput_low_confidence"].all()
    assert not cpu_rows["hardware_measured"].any()

    result = predictor.predict("gpt2", hardware_name=CATALOG_ONLY_CPU)
    assert result["low_confidence"]["throughput"] and result["confidence"] < predictor.confidence_threshold
    assert any("no measurements" in note and CATALOG_ONLY_CPU in note for note in result["notes"])


def test_lambda_and_alias_spellings_predict_like_catalog_names(predictor):
    aliased = predictor.predict(
        "resnet50", hardware_name="Dell 2x H100 80GB SXM5", batch_size=8, precision="half", mode="train"
    )
    assert (aliased["model_name"], aliased["hardware_name"]) == ("resnet-50", "NVIDIA H100 80GB SXM5")
    assert (aliased["num_devices"], aliased["precision"], aliased["mode"]) == (2, "fp16", "training")
    assert aliased["model_name_requested"] == "resnet50"
    canonical = predictor.predict(
        "resnet-50",
        hardware_name="NVIDIA H100 80GB SXM5",
        batch_size=8,
        precision="fp16",
        mode="training",
        num_devices=2,
    )
    assert aliased["throughput"] == canonical["throughput"] and aliased["latency"] == canonical["latency"]


def test_platform_alone_uses_the_most_measured_device_and_says_so(predictor, world):
    result = predictor.predict("gpt2", hardware_platform="cuda", batch_size=8)
    counts = world["frame"].groupby("hardware_name").size()
    # every measured device has the same number of rows here: the newest release wins the tie
    assert result["hardware_name"] in set(counts.index)
    assert result["hardware_name"] == "NVIDIA H100 80GB SXM5"
    assert any("only the platform 'cuda'" in note and "NVIDIA H100 80GB SXM5" in note for note in result["notes"])
    # a device name passed as the platform is taken as the device
    as_device = predictor.predict("gpt2", hardware_platform="NVIDIA A10", batch_size=8)
    assert as_device["hardware_name"] == "NVIDIA A10" and as_device["hardware_platform"] == "cuda"


def test_fallback_to_similar_is_explained(predictor):
    result = predictor.predict("bert-base-cased", hardware_name="RTX 3090", fallback_to_similar=True)
    assert result["model_name"] == "bert-base-uncased"
    assert result["fallback"]["model"]["requested"] == "bert-base-cased"
    assert result["fallback"]["model"]["used"] == "bert-base-uncased"
    assert 0.5 < result["fallback"]["model"]["similarity"] <= 1.0
    assert "hardware" not in result["fallback"]  # "RTX 3090" is an alias, not a fallback
    assert any(note.startswith("fallback:") for note in result["notes"])


def test_batch_predict_matches_single_predictions_in_order(predictor):
    configs = [
        {
            "model_name": "t5-small",
            "hardware_name": "NVIDIA A10",
            "batch_size": 1,
            "precision": "fp32",
            "mode": "inference",
        },
        {
            "model_name": "gpt2",
            "hardware_name": CATALOG_ONLY_GPU,
            "batch_size": 32,
            "precision": "fp16",
            "mode": "training",
        },
        {"model_name": "resnet-50", "hardware_platform": "cuda", "batch_size": 8},
    ]
    batch = predictor.batch_predict(configs)
    assert list(batch["model_name"]) == ["t5-small", "gpt2", "resnet-50"]
    for position, config in enumerate(configs):
        single = predictor.predict(**config)
        # float32 model matrices: the same numbers up to rounding, whatever the batch around a row
        assert batch.loc[position, "throughput_pred"] == pytest.approx(single["throughput"], rel=1e-6)
        assert batch.loc[position, "memory_mb_confidence"] == pytest.approx(single["confidence_memory"], rel=1e-6)
    assert batch["power_w_pred"].isna().all()
    for metric in ("throughput", "latency_ms", "memory_mb", "power_w"):
        assert {f"{metric}_{f}" for f in ("pred", "lower", "upper", "confidence")} <= set(batch.columns)


def test_verbose_explains_each_metric_with_shap_values_that_add_up(predictor):
    result = predictor.predict("bert-base-uncased", hardware_name="NVIDIA A10", batch_size=8, verbose=True)
    assert set(result["explanation"]) == {"throughput", "memory"}  # latency is the throughput model's
    for key in ("throughput", "memory"):
        explanation = result["explanation"][key]
        table = explanation["features"]
        assert {"feature", "value", "contribution", "factor"} <= set(table.columns) and len(table) > 3
        assert table["contribution"].abs().is_monotonic_decreasing
        # log(prediction) = base value + contributions + physics offset
        assert np.exp(explanation["log_prediction"]) == pytest.approx(result[key], rel=1e-3)
        assert "TreeSHAP" in explanation["explained"]
        assert explanation["metric"] == vocabulary.metric(key).column and key in result.model_versions
    assert not any(
        name in set(result["explanation"]["throughput"]["features"]["feature"])
        for name in ("model_name", "hardware_name")
    )
    top = predictor.explain("bert-base-uncased", "throughput", top=5, hardware_name="NVIDIA A10", batch_size=8)
    assert len(top) == 5
    with pytest.raises(ValueError, match="derived from throughput"):
        predictor.explain("bert-base-uncased", "latency", hardware_name="NVIDIA A10", batch_size=8)


# --- matrix, heatmap, recommendations, report -----------------------------------------------------------------


def test_prediction_matrix_and_heatmap(predictor, tmp_path):
    matrix = predictor.generate_prediction_matrix(
        "bert-base-uncased",
        metric="throughput",
        batch_sizes=[1, 8, 32],
        hardware_platforms=["cuda", "NVIDIA A10", CATALOG_ONLY_CPU],
    )
    assert len(matrix) == 9 and set(matrix["batch_size"]) == {1, 8, 32}
    assert list(dict.fromkeys(matrix["hardware"])) == ["cuda (NVIDIA H100 80GB SXM5)", "NVIDIA A10", CATALOG_ONLY_CPU]
    assert (matrix["lower"] <= matrix["value"]).all() and (matrix["value"] <= matrix["upper"]).all()
    assert matrix.loc[matrix["hardware_name"] == CATALOG_ONLY_CPU, "low_confidence"].all()
    path = predictor.visualize_prediction_matrix(matrix, tmp_path / "charts" / "heatmap.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    with pytest.raises(ValueError, match="power_w"):
        predictor.generate_prediction_matrix("bert-base-uncased", metric="power")


def test_recommend_hardware_ranks_fitting_devices(predictor):
    ranked = predictor.recommend_hardware("bert-base-uncased", metric="throughput", batch_size=8, top_k=None)
    assert list(ranked["rank"]) == list(range(1, len(ranked) + 1))
    scored = ranked["score"].dropna()
    assert scored.is_monotonic_decreasing
    # a device without a peak at the precision (UntetherAI has no fp32 datapath) cannot be scored: it comes last
    assert ranked["score"].iloc[len(scored):].isna().all() and len(scored) < len(ranked)
    assert {"score_lower", "score_upper", "confidence", "low_confidence", "hardware_measured"} <= set(ranked.columns)
    bounded = ranked.dropna(subset=["score"])
    assert (bounded["score_lower"] <= bounded["score"]).all() and (bounded["score"] <= bounded["score_upper"]).all()

    per_watt = predictor.recommend_hardware("bert-base-uncased", batch_size=8, power_constrained=True, top_k=5)
    assert (per_watt["objective"] == "throughput_per_watt").all() and per_watt["score"].is_monotonic_decreasing
    assert np.allclose(per_watt["score"], per_watt["prediction"] / per_watt["watts"])
    assert (per_watt["metric"] == "throughput").all() and (per_watt["watts_source"] == "catalog TDP").all()

    latency = predictor.recommend_hardware("gpt2", metric="latency", batch_size=1, include_unmeasured=False)
    assert latency["score"].is_monotonic_increasing and latency["hardware_measured"].all()

    # Llama-2-7B in fp32: its weights alone (25.7 GB) do not fit a 16 GB V100, so the V100 is left out
    big = predictor.recommend_hardware("llama-2-7b", batch_size=1, precision="fp32", mode="training", top_k=None)
    assert "NVIDIA Tesla V100 SXM2 16GB" not in set(big["hardware_name"])
    assert (big["memory_needed_mb"] <= big["memory_gb"] * 1024).all()


def test_hardware_recommendations_table_from_a_matrix(predictor):
    grid = pd.MultiIndex.from_product(
        [["gpt2", "resnet-50"], [*MEASURED, CATALOG_ONLY_GPU], [1, 8], ["fp32", "fp16"], ["inference"]],
        names=["model_name", "hardware_name", "batch_size", "precision", "mode"],
    ).to_frame(index=False)
    matrix = predictor.batch_predict(grid)
    table = hardware_recommendations(matrix, predictor.hardware, predictor.models, top_k=3)
    assert set(table["objective"]) == {"throughput", "latency", "throughput_per_watt"}
    for (_, _, objective), group in table.groupby(["model_name", "mode", "objective"]):
        assert list(group["rank"]) == [1, 2, 3]
        assert group["hardware_name"].is_unique
        ordered = (
            group["score"].is_monotonic_increasing if objective == "latency" else group["score"].is_monotonic_decreasing
        )
        assert ordered
    best = table.query("model_name == 'gpt2' and objective == 'throughput' and rank == 1").iloc[0]
    assert best["score"] == matrix.query("model_name == 'gpt2'")["throughput_pred"].max()


def test_comparison_report_is_self_contained_html(predictor, tmp_path):
    path = predictor.generate_comparison_report(
        ["bert-base-uncased", "resnet50"],
        metrics=["throughput", "latency", "power"],
        output_format="html",
        output_path=tmp_path / "report.html",
        hardware_platforms=["NVIDIA A10", CATALOG_ONLY_GPU],
        batch_sizes=[1, 8],
    )
    text = Path(path).read_text()
    assert text.startswith("<!DOCTYPE html>") and "resnet-50" in text and CATALOG_ONLY_GPU in text
    assert len(re.findall(r'src="data:image/png;base64,', text)) == 2  # throughput and latency charts
    assert not re.search(r'(src|href)="(?!data:)', text) and "<script" not in text
    assert "80% interval" in text and "power_w: no trained model" in text
    markdown = predictor.generate_comparison_report(["gpt2"], output_format="markdown", hardware_platforms=["cuda"])
    assert markdown.startswith("# ") and "| model |" in markdown


# --- command line -----------------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(world) -> dict[str, str]:
    return {DB_PATH_VARIABLE: str(world["db_path"]), ARTIFACTS_VARIABLE: str(world["artifacts"])}


def test_cli_predict_accepts_importer_names_and_catalog_only_devices(cli_env, tmp_path):
    source = tmp_path / "configs.csv"
    source.write_text(
        "model_name,hardware_name,hardware_platform,batch_size,precision,mode\n"
        "resnet50,Dell 2x H100 80GB SXM5,,8,fp16,training\n"
        "bert_base_squad,LambdaCloud V100 16GB,,16,FP32,train\n"
        f"gpt2,{CATALOG_ONLY_GPU},,1,half,inference\n"
        "t5-small,,cuda,4,fp32,inference\n"
    )
    output = tmp_path / "out" / "predictions.csv"
    result = CliRunner().invoke(app, ["predict", "--input", str(source), "--output", str(output)], env=cli_env)
    assert result.exit_code == 0, result.output
    predictions = pd.read_csv(output)
    assert list(predictions["input_row"]) == [1, 2, 3, 4]
    assert list(predictions["hardware_name"]) == [
        "NVIDIA H100 80GB SXM5",
        "NVIDIA Tesla V100 SXM2 16GB",
        CATALOG_ONLY_GPU,
        "NVIDIA H100 80GB SXM5",
    ]
    assert list(predictions["num_devices"]) == [2, 1, 1, 1]
    for metric in ("throughput", "latency_ms", "memory_mb"):
        assert predictions[[f"{metric}_{f}" for f in ("pred", "lower", "upper", "confidence")]].notna().all().all()
    assert predictions["model_version"].notna().all()
    assert not predictions.loc[2, "hardware_measured"]
    assert "predicted 4 configuration(s)" in result.output


def test_cli_predict_unknown_name_exits_2_naming_it(cli_env, tmp_path):
    source = tmp_path / "configs.csv"
    source.write_text(
        "model_name,hardware_name,batch_size,precision,mode\nresnet50,Quantum Abacus 9000,1,fp32,inference\n"
    )
    result = CliRunner().invoke(
        app, ["predict", "--input", str(source), "--output", str(tmp_path / "p.csv")], env=cli_env
    )
    assert result.exit_code == 2
    assert "Quantum Abacus 9000" in result.output and "unknown hardware" in result.output
    assert not (tmp_path / "p.csv").exists()


def test_read_configurations_reports_bad_cells(tmp_path):
    source = tmp_path / "configs.csv"
    source.write_text("model_name,hardware_name,batch_size,precision,mode\ngpt2,NVIDIA A10,eight,fp32,inference\n")
    with pytest.raises(ValueError, match=r"row 1, column batch_size: not a positive integer 'eight'"):
        read_configurations(source)
    source.write_text("model_name,hardware_name,batch_size\ngpt2,NVIDIA A10,8\n")
    with pytest.raises(ValueError, match="missing column"):
        read_configurations(source)


def test_cli_recommend_and_evaluate(cli_env, tmp_path):
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["recommend", "gpt2", "--batch-size", "8", "--power-constrained", "--top", "3"],
        env={**cli_env, "COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "throughput per watt" in result.output and "items/J" in result.output

    result = runner.invoke(app, ["evaluate"], env={**cli_env, "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "throughput / leave_one_hardware_out" in result.output
    assert "baseline" in result.output and "model" in result.output
    by_key = runner.invoke(app, ["evaluate", "--metric", "Throughput"], env={**cli_env, "COLUMNS": "200"})
    assert by_key.exit_code == 0, by_key.output  # a key or a column, any case: one vocabulary
    assert "throughput / leave_one_hardware_out" in by_key.output and "latency_ms /" not in by_key.output
    result = runner.invoke(app, ["evaluate", "--metric", "speed"], env=cli_env)
    assert result.exit_code == 2 and "unknown metric 'speed'" in result.output

    empty = {**cli_env, DB_PATH_VARIABLE: str(tmp_path / "empty.duckdb")}
    result = runner.invoke(app, ["evaluate"], env=empty)
    assert result.exit_code == 1 and "run `perfpredict run` first" in result.output
