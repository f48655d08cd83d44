"""A device the catalog lacks is described from detection and micro-benchmarks, and then trains.

The micro-benchmarks run for real on this machine's CPU at tiny sizes; their figures must be
physically possible for a CPU of this many vCPUs. A description stored for a new device name lands
in the raw catalog tables once, and a real ``dbt build`` then shows the device in
marts.dim_hardware and a row measured on it in marts.training_features with its roofline.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from predictive_performance.benchmark import detect_hardware
from predictive_performance.benchmark.hardware import HardwareInfo
from predictive_performance.benchmark.microbench import (
    SOURCE,
    Description,
    Settings,
    describe_device,
    describe_missing_devices,
    store_description,
)
from predictive_performance.benchmark.timing import TimingProtocol
from predictive_performance.ingest import ingest_frame
from predictive_performance.warehouse import Warehouse
from tests.test_dbt_project import dbt_build
from tests.test_hardware_catalog import read_seed

NEW_DEVICE = "Test CPU (2 vCPU)"
TINY = Settings(
    min_matmul_size=128,
    max_matmul_size=256,
    target_call_s=0.001,
    copy_mb=16,
    timing=TimingProtocol(repeats=2, warmup=1, min_repeat_s=0.05, contention_retries=0),
)
# A CPU may boost above the base clock its catalog peak is derived from.
CLOCK_MARGIN = 1.5
RATES = ("peak_fp32_tflops", "peak_bf16_tflops", "peak_int8_tops")
# bert-base at 128 tokens takes about 24 GFLOPs; a row as slow as 100 GFLOPs per item at the measured
# rate is well under the device's compute roof, whatever the rate measured here
ROW = {"model_name": "bert-base-uncased", "hardware_platform": "cpu", "hardware_name": NEW_DEVICE, "precision": "fp32",
       "mode": "inference", "sequence_length": 128, "batch_size": 1, "memory_mb": 450.0}
ROW_FLOPS_PER_ITEM = 100e9


@pytest.fixture(scope="module")
def hardware() -> HardwareInfo:
    return detect_hardware()


@pytest.fixture(scope="module")
def description(hardware: HardwareInfo) -> Description:
    device = replace(hardware.platform("cpu"), hardware_name=NEW_DEVICE, catalog_entry=None)
    return describe_device(device, hardware.cpu.vcpus, TINY)


def _per_core_catalog_peak(spec: str) -> float:
    """The fastest published per-core rate of any catalog CPU: what no CPU core can beat."""
    devices = read_seed("hardware_devices")
    specs = read_seed("hardware_specs").pivot(index="hardware_name", columns="spec", values="value")
    cpus = specs.loc[specs.index.isin(devices.loc[devices["device_class"] == "cpu", "hardware_name"])]
    per_core = pd.to_numeric(cpus[spec], errors="coerce") / pd.to_numeric(cpus["compute_units"], errors="coerce")
    return float(per_core.max())


def test_the_micro_benchmarks_give_physically_possible_figures(description: Description, hardware: HardwareInfo) -> None:
    figures = {figure.spec: figure for figure in description.figures}
    measured = [spec for spec in RATES if spec in figures]
    assert "peak_fp32_tflops" in measured
    for spec in measured:
        bound = _per_core_catalog_peak(spec) * hardware.cpu.vcpus * CLOCK_MARGIN
        assert 0 < figures[spec].value < bound, spec
    assert 1 < figures["memory_bandwidth_gbs"].value < 1000
    assert figures["compute_units"].value == hardware.cpu.vcpus
    assert figures["memory_gb"].value == pytest.approx(hardware.cpu.memory_gb)
    for spec in (*measured, "memory_bandwidth_gbs"):
        assert figures[spec].source.startswith("measured: perfpredict micro-benchmark (torch ")
        assert "not the published peak" in figures[spec].source


def test_a_description_is_stored_once_with_its_sources(description: Description, tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "benchmarks.duckdb")
    load_id = store_description(description, warehouse)
    assert load_id is not None
    device = warehouse.query("select * from raw.catalog_hardware")
    assert device[["hardware_name", "hardware_platform", "device_class", "load_id"]].values.tolist() == [
        [NEW_DEVICE, "cpu", "cpu", load_id]
    ]
    assert device["vendor"].iloc[0] == description.device.vendor
    specs = warehouse.query("select spec, value, source from raw.catalog_hardware_specs")
    assert {(f.spec, f.value, f.source) for f in description.figures} == set(specs.itertuples(index=False, name=None))
    assert warehouse.query("select source from raw.loads")["source"].tolist() == [SOURCE]
    counts = warehouse.row_counts()
    assert store_description(description, warehouse) is None  # described already: nothing added
    assert warehouse.row_counts() == counts


def test_a_catalog_device_or_a_described_one_is_not_described_again(hardware: HardwareInfo, tmp_path: Path) -> None:
    cpu = hardware.platform("cpu")
    in_seed = "AMD EPYC Zen 5 (2 vCPU)"
    known = replace(hardware, platforms=(replace(cpu, hardware_name=in_seed, catalog_entry=in_seed),), in_catalog={in_seed: True})
    warehouse = Warehouse(tmp_path / "benchmarks.duckdb")
    assert describe_missing_devices(warehouse, known, TINY) == [f"{in_seed}: in the hardware catalog; not described again."]
    assert warehouse.row_counts()["loads"] == 0
    new = replace(hardware, platforms=(replace(cpu, hardware_name=NEW_DEVICE, catalog_entry=None),))
    first = describe_missing_devices(warehouse, new, TINY)
    assert len(first) == 1 and first[0].startswith(f"Described {NEW_DEVICE}: ")
    load_id = warehouse.latest_load_id()
    assert describe_missing_devices(warehouse, new, TINY) == [
        f"{NEW_DEVICE}: described already by load {load_id}; not described again."
    ]


@pytest.fixture(scope="module")
def built(description: Description, tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    tmp_path = tmp_path_factory.mktemp("onboarding")
    database = tmp_path / "benchmarks.duckdb"
    warehouse = Warehouse(database)
    store_description(description, warehouse)
    rate = next(figure.value for figure in description.figures if figure.spec == "peak_fp32_tflops")
    throughput = rate * 1e12 / ROW_FLOPS_PER_ITEM
    row = dict(ROW, throughput=throughput, latency_ms=1000.0 / throughput)
    assert ingest_frame(pd.DataFrame([row]), warehouse, source="import:onboarding.csv").rows_accepted == 1
    result = dbt_build(tmp_path, database)
    assert result.success, f"dbt build failed: {result.exception}"
    connection = duckdb.connect(str(database), read_only=True)
    yield connection
    connection.close()


def test_the_described_device_joins_the_catalog_and_its_rows_train(
    built: duckdb.DuckDBPyConnection, description: Description
) -> None:
    figures = {figure.spec: figure.value for figure in description.figures}
    device = built.execute(
        "select device_class, peak_fp32_tflops, memory_bandwidth_gbs, memory_gb from marts.dim_hardware where hardware_name = ?",
        [NEW_DEVICE],
    ).fetchall()
    assert device == [
        ("cpu", pytest.approx(figures["peak_fp32_tflops"]), pytest.approx(figures["memory_bandwidth_gbs"]),
         pytest.approx(figures["memory_gb"]))
    ]
    trained = built.execute(
        "select compute_roof_throughput, memory_roof_throughput from marts.training_features where hardware_name = ?",
        [NEW_DEVICE],
    ).fetchall()
    assert len(trained) == 1
    assert all(roof is not None and roof > 0 for roof in trained[0])
