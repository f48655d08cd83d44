"""Shared fixtures: a real DuckDB warehouse on tmp_path, and small sources in each supported format."""

from __future__ import annotations

from pathlib import Path

import pytest

from predictive_performance.config import DB_PATH_VARIABLE, SHARED_DATA_DIR
from predictive_performance.warehouse import Warehouse

LAMBDA_DIR = SHARED_DATA_DIR / "lambda-pytorch-train"
CPU = "AMD EPYC Zen 5 (2 vCPU)"


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
