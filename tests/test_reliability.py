"""Reliability: bad input, corrupt model files, a locked warehouse, readers during publishing, killed runs.

Every failure must name what is wrong (row, column, file, version) and leave what is stored as it was.
tests/test_ingest.py already covers a bad row per rule (negative / zero / text / inf throughput, zero and
text batch size, unknown precision and platform, 99999999999), a header-less empty CSV, a duplicate row,
the same file twice; tests/test_predict.py an unknown device and model; tests/test_warehouse.py a lock
during ingest. This file covers the rest.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from predictive_performance.ingest import IngestError, ingest_path
from predictive_performance.ingest.canonical import UnreadableFileError
from predictive_performance.ingest.validation import INTEGER_LIMIT
from predictive_performance.modeling import latest_version
from predictive_performance.modeling.learners import LEARNERS
from predictive_performance.modeling.registry import ModelArtifactError
from predictive_performance.predict import PerformancePredictor
from predictive_performance.prediction.resolution import UnknownNameError
from predictive_performance.prediction_matrix import build_prediction_matrix
from predictive_performance.publish import publish_tables
from predictive_performance.warehouse import Warehouse, WarehouseError
from tests.conftest import CPU, GOOD_ROWS, canonical_csv

MATRIX = "predictions.prediction_matrix"
PUBLISHED = (MATRIX, "predictions.hardware_recommendations", "ml.model_registry", "ml.evaluation")
GOOD = {
    "model_name": "bert-base-uncased",
    "hardware_platform": "cpu",
    "hardware_name": CPU,
    "num_devices": "1",
    "batch_size": "4",
    "precision": "fp32",
    "mode": "inference",
    "sequence_length": "128",
    "throughput": "50.0",
    "latency_ms": "80.0",
    "memory_mb": "600",
    "power_w": "35",
    "power_scope": "accelerators",  # a power figure says what it covers
    "measured_at": "2026-01-02 03:04:05",
}


def results_csv(folder: Path, *changes: dict, name: str = "bad.csv") -> Path:
    """Two good rows and then one row per ``changes`` (every canonical column present)."""
    rows = [{**GOOD, "batch_size": "1"}, {**GOOD, "batch_size": "2"}, *({**GOOD, **change} for change in changes)]
    path = folder / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture
def loaded(warehouse, tmp_path) -> dict[str, int]:
    """A warehouse holding one good load; its row counts are what a refused ingest must leave."""
    ingest_path(canonical_csv(tmp_path, GOOD_ROWS, "good.csv"), warehouse)
    return warehouse.row_counts()


# --- ingest ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("header.csv", ",".join(GOOD) + "\n"),
        ("blank.csv", "\n\n"),
        ("empty.json", "[]"),
        ("blank.jsonl", "\n\n"),
        ("empty.parquet", pd.DataFrame(columns=list(GOOD))),
    ],
)
def test_files_without_rows_are_refused_naming_the_file(warehouse, loaded, tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, pd.DataFrame):
        content.to_parquet(path)
    else:
        path.write_text(content)

    with pytest.raises(UnreadableFileError, match=rf"{name}: (the file has no data rows|cannot be read)"):
        ingest_path(path, warehouse)
    assert warehouse.row_counts() == loaded


@pytest.mark.parametrize(
    ("change", "column", "reason"),
    [
        ({"latency_ms": "12ms"}, "latency_ms", "not a number: '12ms'"),
        ({"memory_mb": "lots"}, "memory_mb", "not a number: 'lots'"),
        ({"power_w": "n/a"}, "power_w", "not a number: 'n/a'"),
        ({"num_devices": "two"}, "num_devices", "not a number: 'two'"),
        ({"sequence_length": "1.5"}, "sequence_length", "not a whole number: '1.5'"),
        ({"measured_at": "yesterday"}, "measured_at", "not a timestamp: 'yesterday'"),
        ({"throughput": "nan"}, "throughput", "not a number: 'nan'"),
        ({"latency_ms": "NaN"}, "latency_ms", "not a number: 'NaN'"),
        ({"throughput": "-inf"}, "throughput", "not a finite number: '-inf'"),
        ({"memory_mb": "Infinity"}, "memory_mb", "not a finite number: 'Infinity'"),
        ({"latency_ms": "-3"}, "latency_ms", "negative value '-3'"),
        ({"power_w": "-1"}, "power_w", "negative value '-1'"),
        ({"memory_mb": "0"}, "memory_mb", "zero is not a measurement"),
        ({"latency_ms": "0.0"}, "latency_ms", "zero is not a measurement"),
        ({"batch_size": "-4"}, "batch_size", "must be a positive whole number, got '-4'"),
        ({"num_devices": "0"}, "num_devices", "must be a positive whole number, got '0'"),
        ({"sequence_length": "0"}, "sequence_length", "must be a positive whole number, got '0'"),
        ({"sequence_length": "-128"}, "sequence_length", "must be a positive whole number, got '-128'"),
        ({"batch_size": str(INTEGER_LIMIT + 1)}, "batch_size", f"'{INTEGER_LIMIT + 1}' exceeds the largest storable"),
    ],
)
def test_a_bad_cell_is_named_and_nothing_is_stored(warehouse, loaded, tmp_path, change, column, reason):
    with pytest.raises(IngestError) as raised:
        ingest_path(results_csv(tmp_path, change), warehouse)

    assert f"bad.csv row 3, column {column}: {reason}" in str(raised.value)
    assert raised.value.report.rows_rejected == 1 and not raised.value.report.stored
    assert warehouse.row_counts() == loaded


@pytest.mark.parametrize("suffix", ["json", "parquet"])
def test_typed_sources_refuse_nan_and_infinities(warehouse, loaded, tmp_path, suffix):
    typed = {**GOOD, "batch_size": 1.0, "throughput": 50.0, "latency_ms": 80.0}
    rows = [
        {**typed, "throughput": float("inf")},
        {**typed, "batch_size": 2.0, "latency_ms": float("-inf")},
        {**typed, "batch_size": float("nan")},
        {**typed, "batch_size": 4.0},
    ]
    path = tmp_path / f"typed.{suffix}"
    if suffix == "json":
        path.write_text(json.dumps(rows))  # Infinity and NaN, as JavaScript writes them
    else:
        pd.DataFrame(rows).to_parquet(path)

    with pytest.raises(IngestError) as raised:
        ingest_path(path, warehouse)

    message = str(raised.value)
    assert f"typed.{suffix} row 1, column throughput: not a finite number: inf" in message
    assert f"typed.{suffix} row 2, column latency_ms: not a finite number: -inf" in message
    assert f"typed.{suffix} row 3, column batch_size: missing value" in message
    assert "np.float64" not in message
    assert warehouse.row_counts() == loaded


def test_json_booleans_are_not_numbers(warehouse, loaded, tmp_path):
    path = tmp_path / "flags.json"
    path.write_text(json.dumps([{**GOOD, "batch_size": True}, {**GOOD, "throughput": False}]))

    with pytest.raises(IngestError) as raised:
        ingest_path(path, warehouse)

    assert "flags.json row 1, column batch_size: not a number: True" in str(raised.value)
    assert "flags.json row 2, column throughput: not a number: False" in str(raised.value)
    assert warehouse.row_counts() == loaded


def test_duplicates_within_a_file_are_found_after_spelling_is_normalised(warehouse, loaded, tmp_path):
    """Stated behaviour: a repeated row is refused (the file stores nothing), or with --allow-partial skipped."""
    path = results_csv(tmp_path, {"batch_size": "1", "precision": " FP32 ", "mode": "Inference"})

    with pytest.raises(IngestError, match=r"bad\.csv row 3, column \*: duplicate of an earlier row"):
        ingest_path(path, warehouse)
    assert warehouse.row_counts() == loaded

    [report] = ingest_path(path, warehouse, allow_partial=True)
    assert (report.rows_accepted, report.rows_rejected) == (2, 1)
    assert warehouse.row_counts()["benchmark_results"] == loaded["benchmark_results"] + 2


def test_a_refused_file_can_be_fixed_and_loaded_once(warehouse, loaded, tmp_path):
    path = results_csv(tmp_path, {"throughput": "fast"})
    with pytest.raises(IngestError):
        ingest_path(path, warehouse)

    path = results_csv(tmp_path, {"batch_size": "3"})  # fixed in place: new content, same name
    [first] = ingest_path(path, warehouse)
    [again] = ingest_path(path, warehouse)

    assert first.rows_accepted == 3 and again.already_loaded_as == first.load_id
    assert warehouse.row_counts()["benchmark_results"] == loaded["benchmark_results"] + 3
    assert warehouse.row_counts()["loads"] == loaded["loads"] + 1


def test_unknown_model_and_device_are_stored_with_a_warning_naming_them(warehouse, tmp_path):
    """Stated behaviour: real measurements are kept; training ignores them until the catalog knows the names."""
    path = results_csv(tmp_path, {"model_name": "my-new-net"}, {"hardware_name": "Quantum Box 9000", "batch_size": "8"})

    [report] = ingest_path(path, warehouse)

    assert report.rows_accepted == 4
    assert report.warnings == [
        "bad.csv row 3, column model_name: unknown model 'my-new-net'; stored, but not used for training "
        "until dbt/seeds/model_architectures.csv (or model_aliases.csv) has it",
        "bad.csv row 4, column hardware_name: unknown device 'Quantum Box 9000'; stored, but not used for "
        "training until dbt/seeds/hardware_devices.csv (or hardware_aliases.csv) has it",
    ]
    assert "warning: bad.csv row 4, column hardware_name" in report.summary()


def test_huge_batch_sizes_are_stored_exactly_up_to_the_column_limit(warehouse, tmp_path):
    path = results_csv(tmp_path, {"batch_size": str(10**9)}, {"batch_size": str(INTEGER_LIMIT)})

    ingest_path(path, warehouse)

    stored = warehouse.query("select batch_size from raw.benchmark_results order by source_row")
    assert stored["batch_size"].tolist() == [1, 2, 10**9, INTEGER_LIMIT]


# --- prediction -----------------------------------------------------------------------------------


@pytest.fixture
def predictor(trained_copy) -> PerformancePredictor:
    return PerformancePredictor.load()


@pytest.mark.parametrize("configs", [[], pd.DataFrame()])
def test_predicting_no_configurations_is_refused(predictor, configs):
    with pytest.raises(ValueError, match="no configurations to predict"):
        predictor.batch_predict(configs)


@pytest.mark.parametrize(
    ("batch_size", "message"),
    [
        ("abc", "configuration 1, column batch_size: not a positive integer 'abc'"),
        (2.5, "configuration 1, column batch_size: not a positive integer 2.5"),
        (True, "configuration 1, column batch_size: not a positive integer True"),
        (float("inf"), "configuration 1, column batch_size: not a positive integer inf"),
        (0, "configuration 1, column batch_size: not a positive integer 0"),
        (-8, "configuration 1, column batch_size: not a positive integer -8"),
        (10**30, f"configuration 1, column batch_size: {10**30!r} exceeds {INTEGER_LIMIT}"),
        (float("nan"), "batch_size must be a positive integer, got nan"),
    ],
)
def test_bad_batch_sizes_are_refused_naming_the_value(predictor, batch_size, message):
    with pytest.raises(ValueError) as raised:
        predictor.predict("bert-base-uncased", hardware_name=CPU, batch_size=batch_size)
    assert message in str(raised.value)


def test_batch_predict_names_every_bad_cell_by_configuration_and_column(predictor):
    configs = [
        {"model_name": "bert-base-uncased", "hardware_name": CPU, "batch_size": 4},
        {"model_name": "bert-base-uncased", "hardware_name": CPU, "sequence_length": "long"},
        {"model_name": None, "hardware_name": CPU, "num_devices": 0},
        {"model_name": "gpt2", "hardware_name": CPU, "precision": "fp12"},
    ]
    with pytest.raises(ValueError) as raised:
        predictor.batch_predict(configs)
    message = str(raised.value)
    assert "configuration 2, column sequence_length: not a positive integer 'long'" in message
    assert "configuration 3, column num_devices: not a positive integer 0" in message
    assert "configuration 3, column model_name: empty" in message

    with pytest.raises(ValueError, match="unknown precision: fp12"):
        predictor.batch_predict([configs[0], configs[3]])


def test_one_unknown_name_in_a_batch_is_named_and_the_predictor_still_works(predictor):
    configs = [
        {"model_name": "bert-base-uncased", "hardware_name": CPU},
        {"model_name": "bert-base-uncased", "hardware_name": "NVIDIA Z9000 Ultra"},
        {"model_name": "no-such-net", "hardware_name": CPU},
    ]
    with pytest.raises(UnknownNameError) as raised:
        predictor.batch_predict(configs)
    assert "'NVIDIA Z9000 Ultra'" in str(raised.value) and "'no-such-net'" in str(raised.value)

    assert predictor.batch_predict(configs[:1])["throughput_pred"].iloc[0] > 0


def test_a_huge_batch_is_predicted_with_finite_figures(predictor):
    """Stated behaviour: far outside the measured batch sizes the figures stay finite and say so by low confidence."""
    huge = predictor.predict("bert-base-uncased", hardware_name=CPU, batch_size=10**9)
    usual = predictor.predict("bert-base-uncased", hardware_name=CPU, batch_size=4)

    assert huge["batch_size"] == 10**9
    for key in ("throughput", "throughput_lower", "throughput_upper", "latency"):
        assert huge[key] is not None and 0 < huge[key] < float("inf")
    assert huge["confidence"] <= usual["confidence"]


# --- corrupt model files --------------------------------------------------------------------------


# rows, and an order-free sum of row hashes (a sum, as XOR would cancel out rows that occur twice)
CHECKSUM = "select count(*) n, coalesce(sum(hash(t) % 1000000007), 0) h from {table} t"


def checksum(warehouse: Warehouse, table: str) -> tuple[int, int]:
    return tuple(int(v) for v in warehouse.query(CHECKSUM.format(table=table)).iloc[0])


def published_checksums(warehouse: Warehouse) -> dict[str, tuple[int, int]]:
    return {table: checksum(warehouse, table) for table in PUBLISHED}


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garble(path: Path) -> None:
    path.write_bytes(b"\x00garbage\xff" * 64)


@pytest.mark.parametrize(
    ("pick", "damage"),
    [
        # the files of the largest partition (static batch), which the predictions below use
        (lambda path: next(path / "partition-0" / c.file_name for c in LEARNERS.values()
                           if (path / "partition-0" / c.file_name).exists()), _truncate),
        (lambda path: path / "partition-0" / "quantile_lower.txt", _garble),
        (lambda path: path / "partition-0" / "neighbours.npy", _truncate),
    ],
    ids=["learner-truncated", "quantile-garbage", "neighbours-truncated"],
)
def test_a_corrupt_model_file_is_named_with_its_version_and_nothing_published_changes(trained_copy, pick, damage):
    before = published_checksums(trained_copy)
    version = latest_version("throughput")
    broken = pick(version.path)
    damage(broken)

    predictor = PerformancePredictor.load()  # reads manifests only; the files open on first use
    with pytest.raises(ModelArtifactError, match=rf"model version {version.version}: .*{broken.name} is corrupt"):
        predictor.predict("bert-base-uncased", hardware_name=CPU)
    with pytest.raises(ModelArtifactError, match=broken.name):
        build_prediction_matrix(trained_copy)  # what a run would publish next
    assert published_checksums(trained_copy) == before


def test_a_garbled_manifest_is_named_with_its_version(trained_copy):
    before = published_checksums(trained_copy)
    version = latest_version("throughput")
    _truncate(version.path / "manifest.json")

    with pytest.raises(ModelArtifactError, match=rf"model version {version.version}: .*manifest\.json cannot be read"):
        PerformancePredictor.load()
    assert published_checksums(trained_copy) == before


# --- another process holds the file --------------------------------------------------------------


def hold_file(path: Path, read_only: bool = False, seconds: float = 60) -> subprocess.Popen:
    """A process that opens the warehouse and keeps it open; returns once the file is held."""
    code = (
        f"import duckdb, time; c = duckdb.connect({str(path)!r}, read_only={read_only}); "
        f"print('held', flush=True); time.sleep({seconds})"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_locked_warehouse_fails_clearly_and_loses_nothing(trained_copy, tmp_path):
    before = published_checksums(trained_copy)
    counts = trained_copy.row_counts()
    ready = PerformancePredictor.load()  # loaded before the lock: predicts from memory
    impatient = Warehouse(trained_copy.path, lock_wait_s=0.5)
    holder = hold_file(trained_copy.path)
    try:
        path = re.escape(str(trained_copy.path))
        expected = rf"cannot open warehouse {path}: another process holds it \(waited 0.5 s\)"
        with pytest.raises(WarehouseError, match=expected):
            ingest_path(results_csv(tmp_path, {"batch_size": "16"}), impatient)
        with pytest.raises(WarehouseError, match=expected):
            PerformancePredictor.load(warehouse=impatient)
        assert ready.predict("bert-base-uncased", hardware_name=CPU)["throughput"] > 0
    finally:
        holder.kill()
        holder.wait()

    assert published_checksums(trained_copy) == before and trained_copy.row_counts() == counts
    [report] = ingest_path(results_csv(tmp_path, {"batch_size": "16"}), trained_copy)
    assert report.stored


def test_a_writer_waits_for_a_reader_to_let_go(warehouse, loaded, tmp_path):
    holder = hold_file(warehouse.path, read_only=True, seconds=1.0)
    try:
        [report] = ingest_path(results_csv(tmp_path, {"batch_size": "16"}), warehouse)
    finally:
        holder.wait()
    assert report.stored and warehouse.row_counts()["benchmark_results"] == loaded["benchmark_results"] + 3


# --- readers while a run republishes --------------------------------------------------------------

READER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from predictive_performance.warehouse import Warehouse

    warehouse, stop = Warehouse(sys.argv[1]), Path(sys.argv[2])
    print("reading", flush=True)
    while not stop.exists():
        row = warehouse.query(sys.argv[3]).iloc[0]
        print(json.dumps([int(row["n"]), int(row["h"])]), flush=True)
        time.sleep(0.01)
    """
)


def test_readers_see_a_whole_prediction_matrix_while_it_is_republished(trained_copy, tmp_path):
    matrix = trained_copy.query(f"select * from {MATRIX}")
    versions = {checksum(trained_copy, MATRIX)}
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(trained_copy.path), str(stop), CHECKSUM.format(table=MATRIX)],
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = []
    try:
        assert reader.stdout.readline().strip() == "reading"
        for run in range(5):
            republished = matrix.assign(predicted_at=matrix["predicted_at"] + pd.Timedelta(minutes=run + 1))
            publish_tables(trained_copy, {MATRIX: republished})
            versions.add(checksum(trained_copy, MATRIX))
            # the reader waits while the writer holds the file; let it read between every two publishes
            lines.append(reader.stdout.readline())
    finally:
        stop.touch()
        out, _ = reader.communicate(timeout=60)

    seen = [tuple(json.loads(line)) for line in [*lines, *out.splitlines()]]
    assert reader.returncode == 0 and len(seen) >= 5
    assert {rows for rows, _ in seen} == {len(matrix)}, "a reader saw a partial or empty matrix"
    assert set(seen) <= versions, "a reader saw a mix of two versions"
    assert len(set(seen)) >= 2, "the reader should have read while the matrix was being replaced"


# --- a run killed mid-way -------------------------------------------------------------------------

KILLED_PUBLISH = textwrap.dedent(
    """
    import os, signal, sys
    from predictive_performance.publish import transaction
    from predictive_performance.warehouse import Warehouse

    with transaction(Warehouse(sys.argv[1])) as connection:
        for table in sys.argv[2:]:
            connection.execute(f"create or replace table {table} as select * from {table} limit 0")
        connection.execute("create table predictions.half_written as select range as i from range(3000000)")
        os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_a_run_killed_while_publishing_leaves_the_last_tables_and_the_next_run_publishes(trained_copy):
    import dagster as dg

    from dagster_project.defs.predictions.assets import published_predictions, staged_prediction_matrix
    from dagster_project.defs.predictions.checks import predictions_suite
    from dagster_project.defs.resources import build_resources

    before = published_checksums(trained_copy)
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_PUBLISH, str(trained_copy.path), *PUBLISHED], capture_output=True, text=True
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    assert published_checksums(trained_copy) == before
    assert not trained_copy.table_exists("predictions.half_written")

    last = trained_copy.query(f"select max(predicted_at) t from {MATRIX}")["t"].iloc[0]
    rerun = dg.materialize(
        [staged_prediction_matrix, published_predictions, predictions_suite],
        resources={"warehouse": build_resources()["warehouse"]},
        raise_on_error=False,
    )
    assert rerun.success
    after = published_checksums(trained_copy)
    assert after[MATRIX][0] == before[MATRIX][0] and after[MATRIX] != before[MATRIX]
    assert trained_copy.query(f"select min(predicted_at) t from {MATRIX}")["t"].iloc[0] > last

