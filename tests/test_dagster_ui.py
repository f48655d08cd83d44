"""The real Dagster UI in headless Chromium: it shows the CLI's run, and "Materialize all" builds the prediction tables.

``perfpredict run`` goes first, on a DAGSTER_HOME that does not exist yet: it creates the project's
instance (dagster_project/instance.py) and its run lands there, so the webserver started afterwards on
the same folder lists that run and the model assets' metadata. Only ``dagster-webserver`` runs, not ``dagster dev``: without the daemon the sensor and the schedule (both
on by default) cannot tick, so no second run starts beside the one the button launches (DuckDB allows one
writer) or writes while the test reads the warehouse. The webserver launches runs itself because the
instance the CLI created uses the DefaultRunCoordinator; the queued coordinator would wait for the daemon.
A run launched from the UI has no run config: the environment gives it (and the CLI) small inputs and fast tuning.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from dagster_project.instance import INSTANCE_FILE, INSTANCE_YAML
from predictive_performance.settings import (
    ARTIFACTS_VARIABLE,
    DAGSTER_HOME_VARIABLE,
    DB_PATH_VARIABLE,
    DEFAULT_DATA_VARIABLE,
    FAST_TRAINING_VARIABLE,
    INPUT_PATHS_VARIABLE,
    PROJECT_ROOT,
    TIME_BUDGET_VARIABLE,
    TRIALS_VARIABLE,
)
from predictive_performance.warehouse import Warehouse
from tests.browser import chromium, console_errors, full_page_screenshot
from tests.conftest import FAST_TRAINING, cpu_results, write_lambda_fixture

T = TypeVar("T")

# Generous: on 2 shared cores the code location alone can take minutes to load, and the run many more.
SERVER_TIMEOUT_S = 6 * 60
RUN_TIMEOUT_S = 20 * 60
LOCATIONS_QUERY = """{ workspaceOrError { ... on Workspace { locationEntries {
  name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
RUNS_QUERY = "{ runsOrError { ... on Runs { results { runId status stepStats { stepKey status } } } } }"
LATEST_MATERIALIZATIONS_QUERY = "{ assetNodes { assetKey { path } assetMaterializations(limit: 1) { runId } } }"
NEWEST_THROUGHPUT_VERSION_SQL = "select arg_max(model_version, trained_at) as version from ml.model_registry where metric = 'throughput'"
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}
PUBLISHED_TABLES = ("predictions.prediction_matrix", "predictions.hardware_recommendations", "active_learning.queue")
MATERIALIZE_ALL = "//button[normalize-space()='Materialize all' and not(@disabled)]"
# At the zoom that fits the whole graph Dagster draws groups and assets as small boxes, assets coloured by status.
GROUP_BOX = "//div[contains(@class, 'collapsedGroupNodeBox')]"
ASSET_BOX = "//div[contains(@class, 'minimalAssetNodeBox')]"
MATERIALIZED_BOX = ASSET_BOX + "[contains(@style, 'color-background-green')]"


@dataclass(frozen=True)
class DagsterUI:
    url: str
    folder: Path  # the warehouse, artifacts, inputs and the webserver's log
    process: subprocess.Popen

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(self.folder / "benchmarks.duckdb")

    @property
    def log(self) -> Path:
        return self.folder / "webserver.log"

    def graphql(self, query: str) -> dict:
        request = urllib.request.Request(
            f"{self.url}/graphql", data=json.dumps({"query": query}).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            body = json.load(response)
        assert "errors" not in body, f"GraphQL errors for {query!r}: {body['errors']}"
        return body["data"]

    def runs(self) -> list[dict]:
        return self.graphql(RUNS_QUERY)["runsOrError"]["results"]

    def wait_for(self, condition: Callable[[], T | None], timeout_s: float, what: str) -> T:
        """Poll ``condition`` until it returns something; fail with the webserver's log if it dies or time runs out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"dagster-webserver exited ({self.process.returncode}) waiting for {what}:\n{self.log_tail()}")
            with contextlib.suppress(urllib.error.URLError, ConnectionError):  # not listening yet
                if (value := condition()) is not None:
                    return value
            time.sleep(2)
        pytest.fail(f"no {what} after {timeout_s:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def loaded_location(ui: DagsterUI) -> str | None:
    """The code location's name once loaded; a load error fails at once with Dagster's message."""
    entries = ui.graphql(LOCATIONS_QUERY)["workspaceOrError"]["locationEntries"]
    if not entries or entries[0]["loadStatus"] != "LOADED":
        return None
    loaded = entries[0]["locationOrLoadError"]
    assert loaded["__typename"] != "PythonError", f"code location failed to load: {loaded['message']}"
    return entries[0]["name"]


def stop(process: subprocess.Popen) -> None:
    """End the webserver's whole process group: it, the code server, any run worker and dbt."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@dataclass(frozen=True)
class CliRun:
    """``perfpredict run`` finished in ``folder``; ``env`` is what it ran with, and what the webserver gets."""

    folder: Path
    env: dict[str, str]
    output: str

    @property
    def home(self) -> Path:
        return Path(self.env[DAGSTER_HOME_VARIABLE])


@pytest.fixture
def cli_run(tmp_path: Path) -> CliRun:
    """``perfpredict run`` as a user types it, on small inputs with fast tuning and a DAGSTER_HOME not yet made."""
    inputs = [write_lambda_fixture(tmp_path / "lambda"), cpu_results(tmp_path / "cpu.csv")]
    env = os.environ | {
        DAGSTER_HOME_VARIABLE: str(tmp_path / "dagster_home"),
        DB_PATH_VARIABLE: str(tmp_path / "benchmarks.duckdb"),
        ARTIFACTS_VARIABLE: str(tmp_path / "artifacts"),
        INPUT_PATHS_VARIABLE: os.pathsep.join(str(path) for path in inputs),
        DEFAULT_DATA_VARIABLE: "false",
        TIME_BUDGET_VARIABLE: str(FAST_TRAINING["time_budget_s"]),
        TRIALS_VARIABLE: str(FAST_TRAINING["n_trials"]),
        FAST_TRAINING_VARIABLE: str(FAST_TRAINING["fast"]).lower(),
    }
    command = [str(Path(sys.executable).with_name("perfpredict")), "run"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert done.returncode == 0, f"perfpredict run failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    # off a terminal only the summary: dbt's own lines stay in its log file
    assert "pipeline succeeded" in done.stdout and "START sql" not in done.stdout, done.stdout[-3000:]
    return CliRun(tmp_path, env, done.stdout)


@pytest.fixture
def dagster_ui(cli_run: CliRun) -> Iterator[DagsterUI]:
    """``dagster-webserver`` on a free loopback port, on the instance, warehouse and inputs of ``cli_run``."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("dagster-webserver")), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
    with (cli_run.folder / "webserver.log").open("w") as log:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=cli_run.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    ui = DagsterUI(f"http://127.0.0.1:{port}", cli_run.folder, process)
    try:
        ui.wait_for(lambda: loaded_location(ui), SERVER_TIMEOUT_S, "loaded code location")
        yield ui
    finally:
        stop(process)


def open_asset_graph(driver: WebDriver, ui: DagsterUI) -> None:
    """The global asset graph, once its groups are drawn and the button that materializes them is ready."""
    driver.get(f"{ui.url}/asset-groups")
    WebDriverWait(driver, 120).until(
        lambda d: d.find_elements(By.XPATH, MATERIALIZE_ALL) and d.find_elements(By.XPATH, GROUP_BOX), "the asset graph"
    )


def expand_every_group(driver: WebDriver) -> None:
    """Room for the graph (navigation hidden), then every group open: ⌥E lays the graph out again to fit."""
    driver.find_element(By.XPATH, "//button[normalize-space()='Hide navigation']").click()
    ActionChains(driver).key_down(Keys.ALT).send_keys("e").key_up(Keys.ALT).perform()
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.XPATH, ASSET_BOX), "expanded asset groups")


def open_runs_list(driver: WebDriver, ui: DagsterUI, run_id: str) -> None:
    """The runs page, once it lists ``run_id`` (each row links to the run's page)."""
    driver.get(f"{ui.url}/runs")
    WebDriverWait(driver, 120).until(lambda d: d.find_elements(By.XPATH, f"//a[contains(@href, '/runs/{run_id}')]"), f"run {run_id} listed")


def open_asset_events(driver: WebDriver, ui: DagsterUI, asset_path: str, *texts: str) -> None:
    """An asset's events tab (each materialization with its metadata), once it shows every one of ``texts``."""
    driver.get(f"{ui.url}/assets/{asset_path}?view=events")
    WebDriverWait(driver, 120).until(
        lambda d: all(text in d.find_element(By.TAG_NAME, "body").text for text in texts), f"{texts} on {asset_path}"
    )


def latest_materialization_runs(ui: DagsterUI) -> dict[str, str]:
    """The run of each asset's newest materialization, as the UI reads it from the instance."""
    nodes = ui.graphql(LATEST_MATERIALIZATIONS_QUERY)["assetNodes"]
    return {"/".join(node["assetKey"]["path"]): node["assetMaterializations"][0]["runId"] for node in nodes if node["assetMaterializations"]}


@pytest.mark.timeout(SERVER_TIMEOUT_S + 2 * RUN_TIMEOUT_S + 5 * 60)
def test_the_ui_shows_the_cli_run_then_materialize_all_builds_the_prediction_tables(dagster_ui: DagsterUI, cli_run: CliRun, tmp_path: Path):
    assert (cli_run.home / INSTANCE_FILE).read_text() == INSTANCE_YAML, "perfpredict run created the instance it ran in"
    [cli] = dagster_ui.runs()
    assert cli["status"] == "SUCCESS", f"the CLI's run is in the instance: {cli}"
    version = dagster_ui.warehouse.query(NEWEST_THROUGHPUT_VERSION_SQL)["version"].iloc[0]
    assert set(latest_materialization_runs(dagster_ui).values()) == {cli["runId"]}
    with chromium(width=1920, height=1200) as driver:
        open_runs_list(driver, dagster_ui, cli["runId"])
        open_asset_events(driver, dagster_ui, "ml/throughput_model", f"Materialized in run {cli['runId'][:8]}", version, "held_out_figures")
        full_page_screenshot(driver, tmp_path / "dagster_model_asset.png")
        errors = console_errors(driver)

        open_asset_graph(driver, dagster_ui)
        driver.find_element(By.XPATH, MATERIALIZE_ALL).click()
        clicked = time.monotonic()

        def launched_from_the_ui() -> list[dict] | None:
            return [run for run in dagster_ui.runs() if run["runId"] != cli["runId"]] or None

        launched = dagster_ui.wait_for(launched_from_the_ui, 180, "run after clicking Materialize all")
        errors += console_errors(driver)
    assert len(launched) == 1, f"one click, one run: {launched}"
    run_id = launched[0]["runId"]
    # The browser is closed while the run works: the graph's live polling would take CPU from it.

    def finished() -> dict | None:
        runs = dagster_ui.runs()
        assert {run["runId"] for run in runs} == {run_id, cli["runId"]}, f"only the CLI and the button start runs (no daemon), yet: {runs}"
        [run] = [run for run in runs if run["runId"] == run_id]
        return run if run["status"] in FINISHED else None

    run = dagster_ui.wait_for(finished, RUN_TIMEOUT_S, f"end of run {run_id}")
    failed = [step["stepKey"] for step in run["stepStats"] if step["status"] != "SUCCESS"]
    assert run["status"] == "SUCCESS", f"run {run['runId']} ended {run['status']}; steps not succeeded: {failed}"
    print(f"\nMaterialize all: run {run['runId']} succeeded {time.monotonic() - clicked:.0f} s after the click")
    assert set(latest_materialization_runs(dagster_ui).values()) == {run_id}, "the button's run materialized every asset again"

    warehouse = dagster_ui.warehouse
    for table in PUBLISHED_TABLES:
        assert warehouse.table_exists(table), f"{table} missing after the UI's run"
        assert warehouse.query(f"select count(*) as n from {table}")["n"].iloc[0] > 0, f"{table} is empty"
    loaded = set(warehouse.query("select path from raw.loads")["path"])
    assert loaded == {str(tmp_path / "lambda"), str(tmp_path / "cpu.csv")}, "the runs ingest what the environment names, nothing else"

    with chromium(width=1920, height=1200) as driver:
        open_asset_graph(driver, dagster_ui)
        expand_every_group(driver)

        def all_materialized(d: WebDriver) -> bool:
            boxes = d.find_elements(By.XPATH, ASSET_BOX)
            return bool(boxes) and len(d.find_elements(By.XPATH, MATERIALIZED_BOX)) == len(boxes)

        WebDriverWait(driver, 120).until(all_materialized, "the asset graph shows every asset materialized")
        full_page_screenshot(driver, tmp_path / "dagster_asset_graph.png")
        errors += console_errors(driver)
    assert errors == [], f"console errors in the Dagster UI: {errors}"
