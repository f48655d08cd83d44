"""The physical-plausibility gate: rows that claim more than their device can do are flagged with the
bound they break, kept in marts.fct_benchmark_results and left out of marts.training_features.

One module-scoped `dbt build` on a warehouse that ingested, through the real importer path, normal
rows next to impossible ones: a throughput far above the compute roof, a peak memory above the
device's memory, a per-token latency shorter than reading the weights once allows, and eight devices
claiming three times the linear scaling of one.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from predictive_performance.ingest import ingest_frame
from predictive_performance.quality import validate_frame
from predictive_performance.settings import EXPECTATIONS_DIR
from predictive_performance.warehouse import Warehouse
from tests.test_dbt_project import CPU, dbt_build

H100 = "NVIDIA H100 80GB SXM5"
BERT_CPU = dict(model_name="bert-base-uncased", hardware_platform="cpu", hardware_name=CPU, precision="fp32",
                mode="inference", sequence_length=128)
LLAMA_SERVING = dict(model_name="llama-2-7b", hardware_platform="cuda", hardware_name=H100, precision="bf16",
                     mode="inference", workload="serving", task="lm-arena-chat", batch_size=64, latency_kind="token")
RESNET_TRAINING = dict(model_name="resnet-50", hardware_platform="cuda", hardware_name=H100, precision="fp16",
                       mode="training", batch_size=256, image_size=224, parallelism="data")

# source_row -> row; the compute roof of bert-base at 128 tokens on the 2-vCPU slice is ~14 items/s
ROWS = {
    1: dict(BERT_CPU, batch_size=1, throughput=8.0, latency_ms=125.0, memory_mb=450.0),
    2: dict(BERT_CPU, batch_size=4, latency_ms=500.0),
    3: dict(LLAMA_SERVING, throughput=1500.0, latency_ms=20.0),  # reading 13.5 GB at 3.35 TB/s takes ~4 ms
    4: dict(model_name="resnet-50", hardware_platform="cuda", hardware_name=H100, precision="int8", mode="inference",
            workload="offline", task="mlperf-resnet50", throughput=50000.0),  # the system chose the batch
    5: dict(BERT_CPU, batch_size=1, throughput=1e12),
    6: dict(BERT_CPU, batch_size=8, throughput=6.0, memory_mb=10 * 24 * 1024.0),
    7: dict(LLAMA_SERVING, latency_ms=0.1),
    # data-parallel training: 4 devices at 0.9x linear scaling, 8 claiming 3x (far below the compute roof)
    8: dict(RESNET_TRAINING, num_devices=1, throughput=3000.0),
    9: dict(RESNET_TRAINING, num_devices=4, throughput=4 * 3000.0 * 0.9),
    10: dict(RESNET_TRAINING, num_devices=8, throughput=8 * 3000.0 * 3),
}
NORMAL = {1, 2, 3, 4, 8, 9}
REASONS = {5: "compute roof", 6: "device memory", 7: "per-token latency", 10: "linear scaling of one device"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    tmp_path = tmp_path_factory.mktemp("plausibility")
    database = tmp_path / "benchmarks.duckdb"
    frame = pd.DataFrame([dict(row, source_row=key) for key, row in ROWS.items()])
    report = ingest_frame(frame, Warehouse(database), source="import:plausibility.csv")
    assert report.rows_accepted == len(ROWS)
    result = dbt_build(tmp_path, database)
    assert result.success, f"dbt build failed: {result.exception}"
    connection = duckdb.connect(str(database), read_only=True)
    yield connection
    connection.close()


def _rows(connection: duckdb.DuckDBPyConnection, table: str, columns: str) -> dict[int, tuple]:
    return {row[0]: row[1:] for row in connection.execute(f"select source_row, {columns} from {table}").fetchall()}


def test_impossible_rows_are_flagged_with_the_bound_they_break(built: duckdb.DuckDBPyConnection) -> None:
    flags = _rows(built, "marts.fct_benchmark_results", "is_implausible, implausible_reason")
    assert set(flags) == set(ROWS)  # flagged rows stay in the fact table
    assert {row for row, (flagged, _) in flags.items() if flagged} == set(REASONS)
    for row, bound in REASONS.items():
        assert bound in flags[row][1]
    assert "1e+12 items/s" in flags[5][1]  # the reason names the figures
    assert "on 8 devices" in flags[10][1] and "3000 items/s" in flags[10][1]


def test_training_features_keep_the_normal_rows_only(built: duckdb.DuckDBPyConnection) -> None:
    features = _rows(built, "marts.training_features", "batch_size, throughput, latency_ms, latency_kind")
    assert set(features) == NORMAL
    assert features[2][1] == pytest.approx(4 / 0.5)  # a static batch's latency gives its throughput
    assert features[3][1:] == (1500.0, 20.0, "token")  # a per-token latency is never converted
    assert features[4] == (None, 50000.0, None, None)  # an Offline throughput gets no batch and no latency


def test_the_gx_bound_holds_on_training_features_and_catches_the_impossible_row(built: duckdb.DuckDBPyConnection,
                                                                                 tmp_path: Path) -> None:
    definition = json.loads((EXPECTATIONS_DIR / "training_features.json").read_text())
    [bound] = [e for e in definition["expectations"] if e["kwargs"].get("column_A") == "throughput_upper_bound"]
    (tmp_path / "bound.json").write_text(json.dumps({"name": "bound", "expectations": [bound]}))
    columns = "source_row, throughput, throughput_upper_bound"
    assert validate_frame(built.execute(f"select {columns} from marts.training_features").df(), "bound", tmp_path).success
    facts = built.execute(f"select {columns} from marts.fct_benchmark_results").df()
    assert not validate_frame(facts, "bound", tmp_path).success
