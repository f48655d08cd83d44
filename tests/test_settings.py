"""One settings object: the environment reaches `perfpredict run` and Dagster's run config alike."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from predictive_performance.cli import app
from predictive_performance.modeling import TrainingConfig
from predictive_performance.settings import (
    DB_PATH_VARIABLE,
    DEFAULT_DATA_VARIABLE,
    FAST_TRAINING_VARIABLE,
    INPUT_PATHS_VARIABLE,
    LOCK_WAIT_VARIABLE,
    TIME_BUDGET_VARIABLE,
    TRIALS_VARIABLE,
    Settings,
    THOROUGH_VARIABLE,
    SettingsError,
)

BUDGET_VARIABLES = (
    TIME_BUDGET_VARIABLE, TRIALS_VARIABLE, FAST_TRAINING_VARIABLE, THOROUGH_VARIABLE, INPUT_PATHS_VARIABLE,
    DEFAULT_DATA_VARIABLE,
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for variable in BUDGET_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch


def test_unset_budget_keeps_the_library_defaults():
    settings = Settings.from_env({})
    assert settings.time_budget_s is None and settings.n_trials is None
    assert settings.training_config() == TrainingConfig()
    assert settings.warehouse == (Path("data") / "benchmarks.duckdb").resolve()


def test_environment_values_are_parsed(tmp_path: Path):
    settings = Settings.from_env({
        DB_PATH_VARIABLE: str(tmp_path / "w.duckdb"), TIME_BUDGET_VARIABLE: "5", TRIALS_VARIABLE: "3",
        FAST_TRAINING_VARIABLE: "Yes", DEFAULT_DATA_VARIABLE: "off", INPUT_PATHS_VARIABLE: f"a.csv{os.pathsep}b",
        LOCK_WAIT_VARIABLE: "2.5",
    })
    assert settings.lock_wait_s == 2.5 and Settings.from_env({}).lock_wait_s == 30.0
    assert (settings.warehouse, settings.time_budget_s, settings.n_trials) == (tmp_path / "w.duckdb", 5.0, 3)
    assert settings.fast_training and not settings.include_default_data
    assert settings.input_paths == (Path("a.csv"), Path("b"))
    # fast means fewer folds and trees; the budget stays what the environment says
    assert settings.training_config() == TrainingConfig.fast(time_budget_s=5.0, n_trials=3)


@pytest.mark.parametrize(
    ("variable", "value"),
    [(TIME_BUDGET_VARIABLE, "soon"), (TIME_BUDGET_VARIABLE, "-1"), (TRIALS_VARIABLE, "2.5"), (FAST_TRAINING_VARIABLE, "maybe"),
     (LOCK_WAIT_VARIABLE, "0")],
)
def test_an_invalid_value_is_one_error_naming_its_variable(variable: str, value: str):
    with pytest.raises(SettingsError, match=f"{variable}='{value}'"):
        Settings.from_env({variable: value})


def test_overrides_replace_only_the_values_given():
    settings = Settings.from_env({TIME_BUDGET_VARIABLE: "5", TRIALS_VARIABLE: "3"})
    assert settings.with_overrides(time_budget_s=None, n_trials=7) == Settings.from_env({TIME_BUDGET_VARIABLE: "5", TRIALS_VARIABLE: "7"})


def test_perfpredict_run_defaults_to_the_environment(clean_env, monkeypatch: pytest.MonkeyPatch):
    import dagster_project.pipeline as pipeline

    received: list[Settings] = []

    def record(settings: Settings) -> pipeline.PipelineOutcome:  # what the pipeline would run with
        received.append(settings)
        return pipeline.PipelineOutcome(True)

    monkeypatch.setattr(pipeline, "run_pipeline", record)
    clean_env.setenv(TIME_BUDGET_VARIABLE, "5")
    runner = CliRunner()

    assert runner.invoke(app, ["run"]).exit_code == 0
    assert runner.invoke(app, ["run", "--trials", "4", "--no-default-data", "--thorough", "extra.csv"]).exit_code == 0
    [from_env, from_options] = received
    assert (from_env.time_budget_s, from_env.n_trials, from_env.include_default_data, from_env.thorough) == (5.0, None, True, False)
    assert (from_options.time_budget_s, from_options.n_trials, from_options.include_default_data) == (5.0, 4, False)
    assert from_options.thorough
    assert from_options.input_paths == (Path("extra.csv"),)

    clean_env.setenv(TRIALS_VARIABLE, "many")
    refused = runner.invoke(app, ["run"])
    assert refused.exit_code == 2 and TRIALS_VARIABLE in refused.output


def test_dagster_run_config_defaults_to_the_environment(clean_env):
    import dagster as dg

    from dagster_project.definitions import build_definitions
    from dagster_project.defs.training.assets import TrainingRunConfig

    assert TrainingRunConfig().training() == TrainingConfig()
    clean_env.setenv(TIME_BUDGET_VARIABLE, "5")
    clean_env.setenv(FAST_TRAINING_VARIABLE, "true")
    # a run launched from the UI carries no run config: every field is left to the environment
    job = build_definitions().resolve_job_def("build_everything")
    launched = dg.validate_run_config(job, {})["ops"]["ml__throughput_model"]["config"]
    assert TrainingRunConfig(**launched).training() == TrainingConfig.fast(time_budget_s=5.0)  # unset knobs: the variant's own
    assert TrainingRunConfig(time_budget_s=9.0, fast=False).training() == TrainingConfig(time_budget_s=9.0)
    assert TrainingRunConfig(fast=False, thorough=True).training() == TrainingConfig.thorough(time_budget_s=5.0)


def test_thorough_restores_the_full_search_and_keeps_an_explicit_budget(clean_env):
    """The default run is the short one; ``thorough`` (variable or flag) is the two-minute search per metric."""
    default = Settings.from_env({}).training_config()
    thorough = Settings.from_env({THOROUGH_VARIABLE: "yes"}).training_config()
    assert thorough == TrainingConfig.thorough()
    assert (thorough.time_budget_s, thorough.n_trials, thorough.calibration_group_folds) == (120.0, 30, 12)
    assert default.time_budget_s < thorough.time_budget_s
    assert default.evaluation_group_folds < thorough.evaluation_group_folds
    assert Settings.from_env({THOROUGH_VARIABLE: "1", TIME_BUDGET_VARIABLE: "7"}).training_config().time_budget_s == 7.0
