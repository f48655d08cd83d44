"""Shared fixtures: a real DuckDB warehouse on tmp_path, and small sources in each supported format."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from predictive_performance.settings import ARTIFACTS_VARIABLE, DAGSTER_HOME_VARIABLE, DB_PATH_VARIABLE, SHARED_DATA_DIR
from predictive_performance.warehouse import Warehouse

LAMBDA_DIR = SHARED_DATA_DIR / "lambda-pytorch-train"
CPU = "AMD EPYC Zen 5 (2 vCPU)"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Dagster's dbt assets read dbt's manifest when imported: parse once on a fresh clone, before collection."""
    from dagster_project.defs.transform.project import prepare_dbt_manifest

    prepare_dbt_manifest()


@pytest.fixture(scope="session", autouse=True)
def dagster_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Runs the tests start (``perfpredict run``, the active-learning update) land here, not in ./.dagster."""
    home = tmp_path_factory.mktemp("dagster_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DAGSTER_HOME_VARIABLE, str(home))
        yield home


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    path = tmp_path / "benchmarks.duckdb"
    monkeypatch.setenv(DB_PATH_VARIABLE, str(path))
    return Warehouse(path)


@pytest.fixture
def lambda_dir(tmp_path: Path) -> Path:
    return write_lambda_fixture(tmp_path / "lambda")


def write_lambda_fixture(folder: Path) -> Path:
    """A small copy of the Lambda layout (two systems, three models), so tests do not need ../shared."""
    folder.mkdir()
    header = "name_gpu,num_gpu,watt,price,bert_base_squad,resnet50,ncf\n"
    (folder / "pytorch-train-throughput-fp16.csv").write_text(
        header + "LambdaCloud V100 16GB,1.0,300.0,9937.5,189.0,833.0,23476979.0\n"
        "Dell 2x H100 80GB SXM5,2.0,1400.0,73437.5,1654.0,0.0,260586100.0\n"
    )
    (folder / "pytorch-train-bs-fp16.csv").write_text(
        header + "LambdaCloud V100 16GB,1,300,9937.5,16,256,2560000\nDell 2x H100 80GB SXM5,2,1400,73437.5,64,1024,10000000\n"
    )
    (folder / "pytorch-train-throughput-fp32.csv").write_text(
        header + "LambdaCloud V100 16GB,1.0,300.0,9937.5,42.0,369.0,9932793.0\n"
        "Dell 2x H100 80GB SXM5,2.0,1400.0,73437.5,0.0,0.0,0.0\n"
    )
    (folder / "pytorch-train-bs-fp32.csv").write_text(
        header + "LambdaCloud V100 16GB,1,300,9937.5,8,128,1280000\nDell 2x H100 80GB SXM5,2,1400,73437.5,32,512,4000000\n"
    )
    return folder


def canonical_csv(tmp_path: Path, rows: list[str], name: str = "results.csv") -> Path:
    header = "model_name,hardware_platform,hardware_name,batch_size,precision,mode,sequence_length,throughput,latency_ms,memory_mb\n"
    path = tmp_path / name
    path.write_text(header + "".join(row + "\n" for row in rows))
    return path


GOOD_ROWS = [
    f"bert-base-uncased,cpu,{CPU},1,fp32,inference,128,25.0,40.0,450",
    f"bert-base-uncased,onnxruntime,{CPU},8,fp32,inference,128,60.0,133.3,700",
    f"resnet-50,openvino,{CPU},4,fp32,inference,,30.0,,",
]


# --- one real pipeline run, shared ---------------------------------------------------------------------

FAST_TRAINING = {"time_budget_s": 5.0, "n_trials": 3, "fast": True}


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


def run_job(paths: list[Path]) -> dg.ExecuteInProcessResult:
    """``build_everything`` in-process on the warehouse and artifacts the environment names, with fast tuning.

    The definitions are built on call, so a metric a test registers in the vocabulary gets its model asset.
    """
    from dagster_project.definitions import build_definitions
    from dagster_project.defs.training.assets import model_run_config

    ops = {"raw_tables": {"config": {"paths": [str(p) for p in paths], "include_default_data": False}}}
    ops.update(model_run_config(FAST_TRAINING))
    return build_definitions().resolve_job_def("build_everything").execute_in_process(
        run_config=dg.RunConfig(ops=ops),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


@dataclass(frozen=True)
class PipelineRun:
    folder: Path  # holds benchmarks.duckdb and artifacts/
    result: dg.ExecuteInProcessResult

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(self.folder / "benchmarks.duckdb")

    @property
    def artifacts(self) -> Path:
        return self.folder / "artifacts"


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory) -> PipelineRun:
    """The whole job once per session (dbt and training are the slow part); read it, never change it.

    Tests that change the warehouse take ``trained_copy`` instead.
    """
    folder = tmp_path_factory.mktemp("pipeline")
    lambda_source = write_lambda_fixture(tmp_path_factory.mktemp("lambda_source") / "lambda")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DB_PATH_VARIABLE, str(folder / "benchmarks.duckdb"))
        patch.setenv(ARTIFACTS_VARIABLE, str(folder / "artifacts"))
        result = run_job([lambda_source, cpu_results(folder / "cpu.csv")])
    return PipelineRun(folder, result)


@pytest.fixture
def trained_copy(pipeline_run: PipelineRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    """A private copy of the shared run's warehouse and models, named by the environment for this test."""
    folder = tmp_path / "trained"
    shutil.copytree(pipeline_run.folder, folder)
    monkeypatch.setenv(DB_PATH_VARIABLE, str(folder / "benchmarks.duckdb"))
    monkeypatch.setenv(ARTIFACTS_VARIABLE, str(folder / "artifacts"))
    return Warehouse(folder / "benchmarks.duckdb")
