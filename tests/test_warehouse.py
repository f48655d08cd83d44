"""The warehouse file itself: schema on first use, clear errors when the file cannot be used."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from predictive_performance.ingest import ingest_path
from predictive_performance.warehouse import Warehouse, WarehouseError
from tests.conftest import GOOD_ROWS, canonical_csv


def test_schema_is_created_when_missing(warehouse):
    assert not warehouse.path.exists()
    assert set(warehouse.row_counts().values()) == {0}
    assert {"loads", "benchmark_results", "catalog_hardware_specs"} <= set(warehouse.row_counts())
    assert warehouse.latest_load_id() is None


def test_reading_a_missing_warehouse_says_what_to_do(tmp_path):
    with pytest.raises(WarehouseError, match="does not exist yet: ingest benchmark results first"):
        Warehouse(tmp_path / "none.duckdb").query("select 1")


def test_a_corrupt_file_is_named_in_the_error(tmp_path):
    path = tmp_path / "corrupt.duckdb"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(WarehouseError, match="corrupt.duckdb"):
        Warehouse(path).ensure_schema()


def test_a_database_locked_by_another_process_fails_clearly_and_loses_nothing(warehouse, tmp_path):
    ingest_path(canonical_csv(tmp_path, GOOD_ROWS[:1], "first.csv"), warehouse)
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(warehouse.path)!r}); print('locked', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        impatient = Warehouse(warehouse.path, lock_wait_s=0.5)
        with pytest.raises(WarehouseError, match=r"cannot open warehouse .*benchmarks\.duckdb: another process holds it"):
            ingest_path(canonical_csv(tmp_path, GOOD_ROWS[1:], "second.csv"), impatient)
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)
    assert warehouse.row_counts()["benchmark_results"] == 1
