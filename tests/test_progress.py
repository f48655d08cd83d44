"""Progress of the long stages, and a command line that imports nothing heavy before it is needed.

The library reports through the ``perfpredict.progress`` logger (captured here with ``caplog``);
the command line draws the reports with rich on a terminal (rich's ``TTY_COMPATIBLE`` /
``FORCE_COLOR`` make the subprocess's stdout count as one) and stays quiet with ``--quiet``.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from predictive_performance.ingest import ingest_path
from predictive_performance.modeling import train_and_register
from predictive_performance.progress import LOGGER_NAME, Progress
from predictive_performance.settings import DB_PATH_VARIABLE
from tests.conftest import GOOD_ROWS, canonical_csv
from tests.factories import CONFIG, seed_catalogs, simulate

PERFPREDICT = Path(sys.executable).with_name("perfpredict")
ORCHESTRATION = {"dagster", "dagster_dbt", "dbt", "great_expectations"}
LEARNER_LIBRARIES = {"xgboost", "lightgbm", "catboost", "shap", "sklearn", "optuna"}
DATA_LIBRARIES = {"pandas", "numpy", "duckdb", "pyarrow"}


def reports(caplog: pytest.LogCaptureFixture) -> list[Progress]:
    return [record.progress for record in caplog.records if record.name == LOGGER_NAME]


def finished(caplog: pytest.LogCaptureFixture, stage: str) -> dict[str, Progress]:
    return {event.task: event for event in reports(caplog) if event.stage == stage and event.done}


def test_an_ingest_reports_each_file_with_rows_read_and_accepted(warehouse, tmp_path, caplog):
    folder = tmp_path / "results"
    folder.mkdir()
    canonical_csv(folder, GOOD_ROWS, "a.csv")
    canonical_csv(folder, GOOD_ROWS[:2], "b.csv")
    with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
        ingest_path(folder, warehouse)
    done = finished(caplog, "ingest")
    assert set(done) == {"a.csv (1/2)", "b.csv (2/2)"}
    assert done["a.csv (1/2)"].detail == "3 accepted, 0 rejected" and done["a.csv (1/2)"].elapsed_s >= 0
    details = [event.detail for event in reports(caplog) if not event.done]
    assert "3 rows read from a.csv, validating" in details and "2 accepted, storing" in details


def test_training_reports_each_metric_and_step_with_elapsed_time(tmp_path, caplog):
    frame = simulate(*seed_catalogs())
    with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
        train_and_register(frame, CONFIG, ["memory_mb"], tmp_path / "artifacts", evaluate=True)
    done = finished(caplog, "training")
    partition = "memory_mb [workload=static_batch]"  # the fits and figures of one partition name it
    expected = {
        "memory_mb: formulation screen",
        *(f"memory_mb: search {algorithm}" for algorithm in CONFIG.algorithms),
        f"{partition}: final fit and calibration",
        f"{partition}: evaluation leave_one_hardware_out",
        f"{partition}: evaluation leave_one_model_out",
        "memory_mb: model",
    }
    assert expected <= set(done)
    assert all(event.elapsed_s is not None and event.elapsed_s >= 0 for event in done.values())
    folds = [e for e in reports(caplog) if e.task == f"{partition}: evaluation leave_one_hardware_out" and not e.done]
    devices_in_folds = min(len(set(frame["hardware_name"])), CONFIG.evaluation_group_folds)
    assert folds[-1].completed == folds[-1].total == devices_in_folds  # one advance per fold
    assert done["memory_mb: model"].detail.startswith("saved memory_mb-")
    # the learners' libraries load when the version's files are opened, and only those it holds
    opened = imported_after(
        f"from predictive_performance.modeling import latest_version; latest_version('memory_mb', {str(tmp_path / 'artifacts')!r}).model",
        LEARNER_LIBRARIES,
    )
    assert set(CONFIG.algorithms) <= set(opened) and "catboost" not in opened and "optuna" not in opened
    assert "sklearn" not in opened  # XGBoost and LightGBM load without their scikit-learn wrappers


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    terminal = {"TTY_COMPATIBLE": "1", "FORCE_COLOR": "1", "COLUMNS": "160"}  # rich treats stdout as a terminal
    return subprocess.run(
        [str(PERFPREDICT), *args], env={**os.environ, **env, **terminal}, capture_output=True, text=True, timeout=300
    )


def test_cli_ingest_draws_progress_on_a_terminal_and_none_with_quiet(tmp_path):
    source = canonical_csv(tmp_path, GOOD_ROWS)
    env = {DB_PATH_VARIABLE: str(tmp_path / "shown.duckdb")}
    shown = run_cli(["ingest", str(source)], env)
    assert shown.returncode == 0, shown.stderr
    assert "ingest: results.csv (1/1) (3 accepted, 0 rejected)" in shown.stdout
    assert "3 accepted, 0 rejected; stored as load" in shown.stdout  # the summary, as before

    quiet = run_cli(["ingest", "--quiet", str(source)], {DB_PATH_VARIABLE: str(tmp_path / "quiet.duckdb")})
    assert quiet.returncode == 0, quiet.stderr
    assert "ingest: results.csv" not in quiet.stdout and "done" not in quiet.stdout
    assert "3 accepted, 0 rejected; stored as load" in quiet.stdout


def imported_after(statement: str, libraries: set[str]) -> list[str]:
    """The top-level packages among ``libraries`` that a fresh interpreter holds after ``statement``."""
    probe = f"{statement}; import json, sys; print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({sorted(libraries)!r}))))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(result.stdout)


def test_the_command_line_imports_no_data_or_orchestration_library():
    assert imported_after("import predictive_performance.cli", DATA_LIBRARIES | ORCHESTRATION | LEARNER_LIBRARIES) == []


def test_predict_recommend_demo_and_status_import_no_orchestration_and_no_learner_before_a_model_opens():
    modules = ("predict", "recommend", "demo", "status", "prediction.inputs", "cli.prediction")
    statement = "; ".join(f"import predictive_performance.{module}" for module in modules)
    assert imported_after(statement, ORCHESTRATION | LEARNER_LIBRARIES) == []
