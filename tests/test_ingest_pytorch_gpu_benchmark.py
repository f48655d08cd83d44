"""The pytorch-gpu-benchmark importer against a real DuckDB warehouse: iteration timings, loads, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from predictive_performance.ingest import IngestError, ingest_path
from predictive_performance.ingest.pytorch_gpu_benchmark import is_pytorch_gpu_benchmark, read_results, result_folders
from predictive_performance.settings import SHARED_DATA_DIR
from tests.conftest import GOOD_ROWS, canonical_csv

SOURCE_DIR = SHARED_DATA_DIR / "pytorch-gpu-benchmark"
OLD_RUN = "GeForce GTX 1080 Ti_single_model_inference_benchmark(2).csv"
NEW_RUN = "TITAN Xp_2_gpus__half_model_train_benchmark.csv"
SYSTEM_INFO = """benchmark start : 2021/01/07 17:16:17
system_configs

uname_result(system='Linux', node='g2', release='3.10.0', version='#1 SMP', machine='x86_64', processor='x86_64')
                    cpu_count: 20
gpu_configs

Number of GPUs on current device : 4
CUDA Version : 10.2
Cudnn Version : 7605
Device Name : TITAN Xp
"""


def write_results(root: Path, old_run: str = "resnet18,vgg16\n10,100\n20,110\n30,120\n", new_run: str = "resnet50\n40\n44\n") -> Path:
    """A small copy of the source: an older single-GPU folder, and a newer one with its config and system info."""
    old, new = root / "results" / "1080TI", root / "results" / "TITANXP"
    old.mkdir(parents=True)
    new.mkdir(parents=True)
    (old / OLD_RUN).write_text(old_run)
    (new / NEW_RUN).write_text(new_run)
    (new / "config.json").write_text(json.dumps({"WARM_UP": 5, "NUM_TEST": 2, "BATCH_SIZE": 12, "NUM_GPU": 1}))
    (new / "system_info.txt").write_text(SYSTEM_INFO)
    return root


def test_each_model_column_becomes_one_batch_latency_row(warehouse, tmp_path):
    reports = ingest_path(write_results(tmp_path / "pytorch-gpu-benchmark"), warehouse)

    assert [(r.format, r.rows_accepted, r.rows_rejected) for r in reports] == [("pytorch-gpu-benchmark", 2, 0), ("pytorch-gpu-benchmark", 1, 0)]
    rows = warehouse.query("select * from raw.benchmark_results").set_index("model_name")
    vgg = rows.loc["vgg16"]
    assert (vgg["hardware_name"], vgg["hardware_platform"], vgg["num_devices"], vgg["batch_size"]) == ("GeForce GTX 1080 Ti", "cuda", 1, 12)
    assert (vgg["precision"], vgg["mode"], vgg["workload"], vgg["latency_kind"], vgg["image_size"]) == (
        "fp32", "inference", "static_batch", "batch", 224)
    assert (vgg["latency_ms"], vgg["latency_p50_ms"], vgg["latency_p90_ms"], vgg["repeats"]) == (110.0, 110.0, 118.0, 3)
    assert vgg["throughput_cv"] == pytest.approx(10 / 110), "sample std / mean of the iteration times"
    assert pd.isna(vgg["throughput"]), "throughput is not in the source; dbt derives it"
    assert pd.isna(vgg["parallelism"]) and pd.isna(vgg["measured_at"])
    assert vgg["source_location"] == "row 1, column vgg16"
    resnet = rows.loc["resnet50"]
    assert (resnet["num_devices"], resnet["batch_size"], resnet["parallelism"]) == (2, 12, "data"), "12 images per GPU"
    assert (resnet["precision"], resnet["mode"], resnet["latency_ms"]) == ("fp16", "training", 42.0)
    assert resnet["measured_at"] == pd.Timestamp("2021-01-07 17:16:17")
    assert resnet["framework"] == "pytorch (torchvision models; CUDA 10.2, cuDNN 7605)"
    assert resnet["hardware_description"] == "host: 20 CPUs, 4 GPUs" and resnet["system_name"] == "TITANXP"
    loads = warehouse.query("select path from raw.loads order by path")["path"].tolist()
    assert [Path(path).name for path in loads] == ["1080TI", "TITANXP"], "each results folder is one load"


@pytest.mark.parametrize("part", ["", "results", "results/TITANXP", f"results/TITANXP/{NEW_RUN}"])
def test_auto_detects_the_source_and_its_parts(warehouse, tmp_path, part):
    root = write_results(tmp_path / "pytorch-gpu-benchmark")

    reports = ingest_path(root / part, warehouse)

    assert {report.format for report in reports} == {"pytorch-gpu-benchmark"}
    assert len(reports) == (2 if part in ("", "results") else 1)


def test_other_files_and_folders_are_not_claimed(tmp_path):
    label = tmp_path / "label" / "Tesla_T4" / "bert_large-inf-512-8.json"
    label.parent.mkdir(parents=True)
    label.write_text(json.dumps({"e2e_latency": 1.0}))

    assert not any(is_pytorch_gpu_benchmark(path) for path in (canonical_csv(tmp_path, GOOD_ROWS), label, tmp_path))


@pytest.mark.parametrize(
    ("old_run", "name", "expected"),
    [
        ("resnet18,vgg16\n10,100\nabc,110\n", OLD_RUN, "row 2, column resnet18: not a number: 'abc'"),
        ("resnet18,,vgg16\n10,1,100\n20,2,110\n", OLD_RUN, "row 0, column 2 (header): the header names no model"),
        ("resnet18,vgg16\n10,100\n20,110\n-5,120\n", OLD_RUN, "row 3, column resnet18: an iteration time must be a positive"),
        ("resnet18,vgg16\n10,100\n20,110\n", "GeForce GTX 1080 Ti_quad_model_inference_benchmark.csv",
         "row 1, column precision: unknown precision 'quad'"),
        ("resnet18,vgg16\n10,100\n20,110\n", "GeForce GTX 1080 Ti_single_model_sleeping_benchmark.csv",
         "row 1, column file name: does not read as"),
    ],
    ids=["not a number", "empty header", "negative time", "unknown precision", "unparsed name"],
)
def test_a_malformed_file_is_refused_naming_file_row_and_column(warehouse, tmp_path, old_run, name, expected):
    ingest_path(write_results(tmp_path / "good"), warehouse)
    before = warehouse.row_counts()
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / name).write_text(old_run)

    with pytest.raises(IngestError) as raised:
        ingest_path(folder, warehouse)

    assert f"{name} {expected}" in str(raised.value)
    assert warehouse.row_counts() == before


@pytest.mark.skipif(not SOURCE_DIR.is_dir(), reason="the shared pytorch-gpu-benchmark data sits outside the repository")
def test_the_published_results_read_whole():
    folders = result_folders(SOURCE_DIR)
    tables = [read_results(folder) for folder in folders]

    assert [folder.name for folder in folders] == ["1080TI", "2080TI", "2080ti(2)", "TITANXP", "TitanRTX", "TitanV", "dgx-a100"]
    assert all(table.rejects == [] for table in tables)
    rows = pd.concat([frame for table in tables for frame in table.results.values()], ignore_index=True)
    files = list(SOURCE_DIR.glob("results/*/*.csv"))
    assert sum(len(table.results) for table in tables) == len(files) == 124
    assert len(rows) == sum(pd.read_csv(file, nrows=0).shape[1] for file in files) == 3560
    assert rows.groupby("system_name")["hardware_name"].first().to_dict() == {
        "1080TI": "GeForce GTX 1080 Ti", "2080TI": "GeForce RTX 2080 Ti", "2080ti(2)": "GeForce RTX 2080 Ti",
        "TITANXP": "TITAN Xp", "TitanRTX": "TITAN RTX", "TitanV": "TITAN V", "dgx-a100": "A100-SXM4-40GB",
    }
    assert set(rows["precision"]) == {"fp16", "fp32", "fp64"} and set(rows["num_devices"]) == {1, 2, 3, 4}
    assert set(rows.loc[rows["num_devices"] > 1, "parallelism"]) == {"data"}
    assert set(rows["repeats"]) == {20, 50} and "throughput" not in rows, "throughput is not in the source"
    a100 = pd.read_csv(SOURCE_DIR / "results" / "dgx-a100" / "A100-SXM4-40GB_4_gpus__half_model_train_benchmark.csv")
    row = rows.loc[(rows["system_name"] == "dgx-a100") & (rows["num_devices"] == 4) & (rows["precision"] == "fp16")
                   & (rows["mode"] == "training") & (rows["model_name"] == "resnet50")].iloc[0]
    assert row["latency_ms"] == pytest.approx(a100["resnet50"].mean())
