"""What a user meets first: one line and exit status 2 for every error a user can cause, contradictions
predicted with a note and a lower confidence, predict reading its own output, the settings recommend and
demo assume, power sources, and a readable ``status``.

Most tests use test_predict's small trained world (its module fixture ``world`` is imported here, so it
is trained once more for this module); status uses the shared pipeline run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from predictive_performance.cli import app
from predictive_performance.modeling import predict as predict_frame
from predictive_performance.modeling import workload_features
from predictive_performance.modeling.confidence import unseen_factor
from predictive_performance.modeling.evaluation import SPLITS
from predictive_performance.prediction.plausibility import FACTORS
from predictive_performance.recommend import rank_hardware
from predictive_performance.settings import ARTIFACTS_VARIABLE, DB_PATH_VARIABLE, LOCK_WAIT_VARIABLE
from predictive_performance.status import HELD_OUT_SPLITS
from tests import test_predict
from tests.conftest import CPU, canonical_csv
from tests.factories import CATALOG_ONLY_GPU
from tests.test_reliability import hold_file

# test_predict's small trained world and what is built on it, as this module's fixtures
world, predictor, cli_env = test_predict.world, test_predict.predictor, test_predict.cli_env

CONFIGS = (
    "model_name,hardware_name,hardware_platform,batch_size,precision,mode,sequence_length\n"
    "gpt2,NVIDIA A10,,4,fp16,inference,\n"
    "bert-base-uncased,,cuda,8,fp32,inference,128\n"
)


def invoke(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={**env, "COLUMNS": "220"})


def assert_one_line_error(result: Result, *named: str) -> None:
    """Exit status 2, one line on stderr naming each of ``named``, no traceback anywhere."""
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    for name in named:
        assert name in result.stderr, (name, result.stderr)


@pytest.fixture
def configs_csv(tmp_path: Path) -> Path:
    path = tmp_path / "configs.csv"
    path.write_text(CONFIGS)
    return path


@pytest.fixture
def damaged(world, tmp_path: Path) -> dict:
    """A private copy of the world's warehouse and models, its registry pointing at the copied models."""
    db_path, artifacts = tmp_path / "benchmarks.duckdb", tmp_path / "artifacts"
    shutil.copy(world["db_path"], db_path)
    shutil.copytree(world["artifacts"], artifacts)
    with duckdb.connect(str(db_path)) as connection:
        connection.execute(
            "update ml.model_registry set artifact_path = replace(artifact_path, ?, ?)",
            [str(world["artifacts"]), str(artifacts)],
        )
    version = world["versions"][0]
    return {
        "env": {DB_PATH_VARIABLE: str(db_path), ARTIFACTS_VARIABLE: str(artifacts)},
        "version": artifacts / "models" / version.version,
    }


# --- model versions -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "damage",
    ["manifest-truncated", "learner-missing", "quantile-garbled"],
)
def test_a_missing_or_corrupt_model_version_is_one_line_for_every_command(damaged, configs_csv, tmp_path, damage):
    folder = damaged["version"]
    if damage == "manifest-truncated":
        broken = folder / "manifest.json"
        broken.write_bytes(broken.read_bytes()[:200])
    elif damage == "learner-missing":
        broken = next(p for p in sorted(folder.rglob("*")) if p.suffix in (".ubj", ".cbm") or p.name.startswith("lgb"))
        broken.unlink()
    else:
        broken = folder / "partition-0" / "quantile_lower.txt"  # the largest partition's files
        broken.write_bytes(b"\x00garbage\xff" * 64)
    env = damaged["env"]
    output = tmp_path / "out.csv"
    for args in (
        ["predict", "--input", str(configs_csv), "--output", str(output)],
        ["recommend", "gpt2"],
        ["demo", "--model", "gpt2", "--hardware", "NVIDIA A10", "--output-dir", str(tmp_path / "demo")],
        ["evaluate"],
    ):
        assert_one_line_error(invoke(env, *args), folder.name, broken.name)
    assert not output.exists() and not (tmp_path / "demo").exists()


# --- predict: files ------------------------------------------------------------------------------------


def test_predict_reads_its_own_output_back(cli_env, configs_csv, tmp_path):
    first, second, as_json = tmp_path / "first.csv", tmp_path / "second.csv", tmp_path / "third.json"
    assert invoke(cli_env, "predict", "--input", str(configs_csv), "--output", str(first)).exit_code == 0
    again = invoke(cli_env, "predict", "--input", str(first), "--output", str(as_json))
    assert again.exit_code == 0, again.output
    assert invoke(cli_env, "predict", "--input", str(as_json), "--output", str(second)).exit_code == 0
    before, after = pd.read_csv(first), pd.read_csv(second)
    assert list(after.columns) == list(before.columns) and list(after["input_row"]) == [1, 2]
    assert np.allclose(after["throughput_pred"], before["throughput_pred"], rtol=1e-6)
    assert list(after["hardware_name"]) == list(before["hardware_name"])


def test_predict_refuses_to_overwrite_its_input(cli_env, configs_csv):
    result = invoke(cli_env, "predict", "--input", str(configs_csv), "--output", str(configs_csv))
    assert_one_line_error(result, str(configs_csv), "input")
    assert configs_csv.read_text() == CONFIGS


def test_an_unwritable_output_path_is_one_line(cli_env, configs_csv, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    output = blocker / "predictions.csv"
    assert_one_line_error(invoke(cli_env, "predict", "--input", str(configs_csv), "--output", str(output)), str(output))


def test_a_bad_cell_names_the_file_row_and_column(cli_env, tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text("model_name,hardware_name,batch_size,precision,mode\ngpt2,NVIDIA A10,0,fp32,inference\n")
    result = invoke(cli_env, "predict", "--input", str(source), "--output", str(tmp_path / "p.csv"))
    assert_one_line_error(result, str(source), "row 1, column batch_size")


# --- options -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["recommend", "gpt2", "--top", "0"], "--top"),
        (["recommend", "gpt2", "--sequence-length", "-5"], "--sequence-length"),
        (["demo", "--top", "0"], "--top"),
        (["evaluate", "--by", "nonsense"], "'nonsense'"),
        (["recommend", "gpt2", "--precision", "fp7"], "fp7"),
    ],
)
def test_a_meaningless_option_is_one_line(cli_env, args, named):
    assert_one_line_error(invoke(cli_env, *args), named)


# --- contradictions ----------------------------------------------------------------------------------------

CONTRADICTIONS = [
    ({"hardware_platform": "cpu", "hardware_name": CATALOG_ONLY_GPU}, "platform 'cpu' contradicts NVIDIA L4",
     "platform"),
    ({"sequence_length": 100_000, "batch_size": 1}, "sequence length 100000 exceeds the 512 positions", "sequence"),
    ({"batch_size": 10**9}, "batch size 1000000000 needs about", "memory"),
]


@pytest.mark.parametrize(("change", "said", "check"), CONTRADICTIONS, ids=["platform", "sequence", "memory"])
def test_a_contradiction_is_predicted_with_a_note_and_the_confidence_lowered(predictor, change, said, check):
    config = {"model_name": "bert-base-uncased", "hardware_name": "NVIDIA A10", "batch_size": 8, **change}
    predicted = predictor.batch_predict([config]).iloc[0]

    factor = FACTORS[check]
    assert any(said in note and f"confidence x{factor:g}" in note for note in predicted["notes"].split(" | "))
    features = workload_features(predictor.resolve([config]), predictor.models, predictor.hardware)
    raw = predict_frame(features, versions=predictor.versions).iloc[0]
    for m in predictor.trained_metrics:  # the models' own figures (an unseen platform already cut), x the check's
        confidence = m.figure("confidence")
        assert predicted[confidence] == pytest.approx(raw[confidence] * factor)
        assert predicted[m.figure("pred")] == pytest.approx(raw[m.figure("pred")], rel=1e-6)  # figures as given


def test_contradictions_add_up_and_consistent_rows_are_untouched(predictor):
    both = {"model_name": "bert-base-uncased", "hardware_name": "NVIDIA A10", "sequence_length": 100_000,
            "hardware_platform": "rocm"}
    fine = {"model_name": "bert-base-uncased", "hardware_name": "NVIDIA A10", "hardware_platform": "cuda"}
    predicted = predictor.batch_predict([both, fine])
    features = workload_features(predictor.resolve([both, fine]), predictor.models, predictor.hardware)
    raw = predict_frame(features, versions=predictor.versions)  # rocm, never measured: the model cut it already
    assert unseen_factor(predictor.versions["throughput"].model, features)[0] < 1.0
    assert predicted.loc[0, "throughput_confidence"] == pytest.approx(raw.loc[0, "throughput_confidence"] * 0.25)
    assert predicted.loc[1, "throughput_confidence"] == pytest.approx(raw.loc[1, "throughput_confidence"])
    assert "contradicts" not in predicted.loc[1, "notes"]


def test_cli_predict_writes_contradiction_notes(cli_env, tmp_path):
    source = tmp_path / "odd.csv"
    source.write_text(
        "model_name,hardware_name,hardware_platform,batch_size,precision,mode,sequence_length\n"
        f"bert-base-uncased,{CATALOG_ONLY_GPU},cpu,1000000000,fp32,inference,100000\n"
    )
    output = tmp_path / "odd-predictions.csv"
    result = invoke(cli_env, "predict", "--input", str(source), "--output", str(output))
    assert result.exit_code == 0, result.output
    notes = pd.read_csv(output)["notes"].iloc[0]
    assert "contradicts" in notes and "exceeds the 512 positions" in notes and "needs about" in notes


# --- defaults shown and settable --------------------------------------------------------------------------


def test_recommend_prints_the_settings_it_assumed_and_takes_others(cli_env):
    default = invoke(cli_env, "recommend", "bert-base-uncased", "--top", "3")
    assert default.exit_code == 0, default.output
    # no measured sequence lengths in this warehouse: the catalog's reference, said so
    assert (
        "settings: batch size 1, sequence length 384 (the catalog's reference for bert-base-uncased), "
        "precision fp32, mode inference" in default.output
    )
    short = invoke(
        cli_env, "recommend", "bert-base-uncased", "--top", "3", "--sequence-length", "32", "--precision", "fp16",
        "--mode", "training",
    )
    assert short.exit_code == 0, short.output
    assert "sequence length 32 (given), precision fp16, mode training" in short.output
    assert "fp16 training" in short.output
    vision = invoke(cli_env, "recommend", "resnet-50", "--top", "3", "--image-size", "160")
    assert vision.exit_code == 0 and "image size 160 (given)" in vision.output


def test_a_shorter_sequence_changes_the_recommendation_figures(predictor):
    ranked = {
        length: predictor.recommend_hardware("bert-base-uncased", top_k=None, sequence_length=length)
        .set_index("hardware_name")["score"]
        .sort_index()
        for length in (32, 384)
    }
    assert (ranked[32] > ranked[384]).mean() > 0.9  # shorter inputs, more items per second


def test_power_ranking_labels_each_source_and_puts_tdp_guesses_last(predictor):
    devices = ["NVIDIA A10", "NVIDIA A100 80GB SXM4", CATALOG_ONLY_GPU, "NVIDIA Tesla V100 SXM2 16GB"]
    predictions = predictor.batch_predict(
        [{"model_name": "gpt2", "hardware_name": device, "batch_size": 8} for device in devices]
    )
    # a power model predicts every device but the V100, whose (tiny, so best-ranked) TDP is a guess
    predictions["power_w_pred"] = [150.0, 400.0, 70.0, np.nan]
    hardware = predictor.hardware.assign(power_measured=predictor.hardware["hardware_name"] == "NVIDIA A10")
    hardware.loc[hardware["hardware_name"] == "NVIDIA Tesla V100 SXM2 16GB", "tdp_w"] = 1.0
    ranked = rank_hardware(predictions, hardware, "throughput_per_watt", predictor.models)

    sources = dict(zip(ranked["hardware_name"], ranked["watts_source"], strict=True))
    assert sources == {
        "NVIDIA A10": "measured",
        "NVIDIA A100 80GB SXM4": "modelled",
        CATALOG_ONLY_GPU: "modelled",
        "NVIDIA Tesla V100 SXM2 16GB": "catalog TDP",
    }
    assert ranked["hardware_name"].iloc[-1] == "NVIDIA Tesla V100 SXM2 16GB"
    assert ranked["score"].iloc[:3].is_monotonic_decreasing


def test_cli_power_ranking_says_where_watts_come_from(cli_env):
    result = invoke(cli_env, "recommend", "gpt2", "--power-constrained", "--top", "3")
    assert result.exit_code == 0, result.output
    assert result.output.count("catalog TDP") >= 4  # three rows and the legend
    assert "measured = a power model anchored" in result.output


# --- status -------------------------------------------------------------------------------------------


def test_held_out_splits_of_status_are_evaluation_splits():
    assert set(HELD_OUT_SPLITS) <= set(SPLITS)


def test_status_on_a_trained_warehouse_shows_sources_versions_and_what_is_new(trained_copy, tmp_path):
    env = {"COLUMNS": "220"}
    result = CliRunner().invoke(app, ["status"], env=env)
    assert result.exit_code == 0, result.output
    assert "{" not in result.output  # no Python dict
    for shown in ("sources", "model versions", "MAPE leave one hardware out", "nothing new since training"):
        assert shown in result.output
    assert "%" in result.output

    canonical_csv(tmp_path, [f"gpt2,cpu,{CPU},32,fp32,inference,128,40.0,800.0,900"], "new.csv")
    assert CliRunner().invoke(app, ["ingest", str(tmp_path / "new.csv")]).exit_code == 0
    after = CliRunner().invoke(app, ["status"], env=env)
    assert after.exit_code == 0 and "new since training: 1 load(s), 1 row(s)" in after.output


def test_status_reads_a_warehouse_it_may_not_write(trained_copy):
    trained_copy.path.chmod(0o444)
    holder = hold_file(trained_copy.path, read_only=True)  # a reader locks writers out, even root
    try:
        result = CliRunner().invoke(app, ["status"], env={"COLUMNS": "220"})
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 0, result.output
    assert "model versions" in result.output


def test_status_on_an_empty_warehouse_says_what_to_run(warehouse):
    missing = CliRunner().invoke(app, ["status"])
    assert missing.exit_code == 0 and "perfpredict ingest" in missing.output and "perfpredict run" in missing.output
    assert not warehouse.path.exists()  # status creates nothing
    warehouse.ensure_schema()
    empty = CliRunner().invoke(app, ["status"])
    assert empty.exit_code == 0 and "holds no benchmark results yet" in empty.output


def test_a_locked_warehouse_is_one_line(trained_copy, configs_csv, tmp_path, monkeypatch):
    monkeypatch.setenv(LOCK_WAIT_VARIABLE, "2")  # the commands' wait for the lock, 30 s by default
    holder = hold_file(trained_copy.path)  # a writer: every other process waits, then gives up
    try:
        status = CliRunner().invoke(app, ["status"])
        predicted = CliRunner().invoke(
            app, ["predict", "--input", str(configs_csv), "--output", str(tmp_path / "p.csv")]
        )
    finally:
        holder.kill()
        holder.wait()
    for result in (status, predicted):
        assert_one_line_error(result, str(trained_copy.path), "another process holds it")
