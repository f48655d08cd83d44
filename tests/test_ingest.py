"""Importers against a real DuckDB warehouse: what they store, what they refuse and why."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from predictive_performance.default_data import PUBLIC_SOURCES, default_sources
from predictive_performance.ingest import IngestError, ingest_frame, ingest_path
from predictive_performance.ingest.lambda_csv import parse_system_name
from predictive_performance.ingest.validation import SchemaError, validate_rows
from predictive_performance.settings import SHARED_DATA_DIR
from tests.conftest import CPU, GOOD_ROWS, LAMBDA_DIR, canonical_csv
from tests.ipfs_fixture import make_ipfs_database


def test_canonical_csv_is_stored_with_a_load_id(warehouse, tmp_path):
    [report] = ingest_path(canonical_csv(tmp_path, GOOD_ROWS), warehouse)

    assert report.rows_accepted == 3 and report.rows_rejected == 0
    stored = warehouse.query("select * from raw.benchmark_results order by source_row")
    assert stored["load_id"].unique().tolist() == [report.load_id]
    assert stored["source_location"].tolist() == ["row 1", "row 2", "row 3"]
    assert stored["num_devices"].tolist() == [1, 1, 1]
    assert pd.isna(stored.loc[2, "latency_ms"])
    load = warehouse.query("select * from raw.loads")
    assert load.loc[0, "rows_accepted"] == 3 and load.loc[0, "format"] == "canonical"


@pytest.mark.parametrize("suffix", ["parquet", "json", "jsonl"])
def test_parquet_and_json_read_the_same_rows_as_csv(warehouse, tmp_path, suffix):
    frame = pd.read_csv(canonical_csv(tmp_path, GOOD_ROWS))
    path = tmp_path / f"results.{suffix}"
    if suffix == "parquet":
        frame.to_parquet(path)
    elif suffix == "json":
        path.write_text(frame.to_json(orient="records"))
    else:
        path.write_text(frame.to_json(orient="records", lines=True))

    [report] = ingest_path(path, warehouse)

    assert report.rows_accepted == 3
    stored = warehouse.query("select model_name, batch_size, throughput from raw.benchmark_results order by source_row")
    assert stored["throughput"].tolist() == [25.0, 60.0, 30.0]


def test_same_content_is_not_loaded_twice(warehouse, tmp_path):
    path = canonical_csv(tmp_path, GOOD_ROWS)
    first = ingest_path(path, warehouse)[0]
    second = ingest_path(path, warehouse)[0]

    assert second.already_loaded_as == first.load_id and not second.stored
    assert warehouse.row_counts()["benchmark_results"] == 3


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        (f"bert-base-uncased,cpu,{CPU},1,fp32,inference,128,-5,,", "throughput", "negative"),
        (f"bert-base-uncased,cpu,{CPU},1,fp12,inference,128,5,,", "precision", "unknown precision 'fp12'"),
        (f"bert-base-uncased,cpu,{CPU},abc,fp32,inference,128,5,,", "batch_size", "not a number: 'abc'"),
        (f"bert-base-uncased,cpu,{CPU},1,fp32,inference,128,fast,,", "throughput", "not a number: 'fast'"),
        (f"bert-base-uncased,cpu,{CPU},0,fp32,inference,128,5,,", "batch_size", "positive"),
        (f"bert-base-uncased,cpu,{CPU},1,fp32,inference,128,inf,,", "throughput", "not a finite number"),
        (f"bert-base-uncased,cpu,{CPU},1,fp32,inference,128,0,,", "throughput", "zero"),
        (f"bert-base-uncased,abacus,{CPU},1,fp32,inference,128,5,,", "hardware_platform", "unknown platform 'abacus'"),
        (f"bert-base-uncased,cpu,{CPU},1,fp32,inference,128,,,", "throughput", "needs throughput or latency_ms"),
        (f",cpu,{CPU},1,fp32,inference,128,5,,", "model_name", "missing value"),
        (f"bert-base-uncased,cpu,{CPU},99999999999,fp32,inference,128,5,,", "batch_size", "exceeds"),
    ],
)
def test_a_bad_row_rejects_the_file_naming_row_and_column(warehouse, tmp_path, row, column, reason):
    ingest_path(canonical_csv(tmp_path, GOOD_ROWS, "good.csv"), warehouse)
    before = warehouse.row_counts()
    bad = canonical_csv(tmp_path, [*GOOD_ROWS[:2], row], "bad.csv")

    with pytest.raises(IngestError) as raised:
        ingest_path(bad, warehouse)

    message = str(raised.value)
    assert f"bad.csv row 3, column {column}: " in message and reason in message
    assert warehouse.row_counts() == before


def test_missing_required_column_names_the_file_and_column(warehouse, tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("model_name,hardware_name,batch_size,precision,mode,throughput\nbert,x,1,fp32,inference,3\n")

    with pytest.raises(SchemaError, match=r"short\.csv: missing required column\(s\): hardware_platform"):
        ingest_path(path, warehouse)
    assert warehouse.row_counts()["benchmark_results"] == 0


def test_duplicated_rows_are_rejected(warehouse, tmp_path):
    with pytest.raises(IngestError, match="row 2, column \\*: duplicate"):
        ingest_path(canonical_csv(tmp_path, [GOOD_ROWS[0], GOOD_ROWS[0]]), warehouse)


def test_rows_of_many_files_checked_in_one_pass_count_duplicates_within_a_file(tmp_path):
    """A load of many files is validated in one pass; each reject still names its own file."""
    frame = pd.read_csv(canonical_csv(tmp_path, [GOOD_ROWS[0], GOOD_ROWS[0], GOOD_ROWS[1], GOOD_ROWS[0]]), dtype=str)
    frame["source_row"] = [1, 1, 2, 3]
    files = pd.Series(["a.json", "b.json", "b.json", "b.json"], index=frame.index)

    validated = validate_rows(frame, files)

    assert [str(reject) for reject in validated.rejects] == [
        "b.json row 3, column *: duplicate of an earlier row in the same file"
    ]
    assert validated.accepted["source_row"].tolist() == [1, 1, 2]


def test_allow_partial_stores_the_good_rows_and_reports_the_rest(warehouse, tmp_path):
    bad = f"bert-base-uncased,cpu,{CPU},1,fp32,inference,128,-5,,"
    [report] = ingest_path(canonical_csv(tmp_path, [*GOOD_ROWS, bad]), warehouse, allow_partial=True)

    assert (report.rows_accepted, report.rows_rejected) == (3, 1)
    assert warehouse.row_counts()["benchmark_results"] == 3
    assert warehouse.query("select rows_rejected from raw.loads")["rows_rejected"].tolist() == [1]


def test_empty_file_is_refused_clearly(warehouse, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(ValueError, match="empty.csv: the file is empty"):
        ingest_path(path, warehouse)


@pytest.mark.parametrize(
    ("system", "device", "count"),
    [
        ("LambdaCloud 4xV100 16GB", "V100 16GB", 4),
        ("Dell 2x H100 80GB SXM5", "H100 80GB SXM5", 2),
        ("RAIDZ1 H100 80GB SXM5", "H100 80GB SXM5", None),
        ("2x RTX A6000", "RTX A6000", 2),
        ("Quadro RTX 8000", "Quadro RTX 8000", None),
    ],
)
def test_lambda_system_names_split_into_device_and_count(system, device, count):
    assert parse_system_name(system) == (device, count)


def test_lambda_loads_every_measured_cell_and_no_zero(warehouse, lambda_dir):
    [report] = ingest_path(lambda_dir, warehouse, fmt="lambda")

    # 2 systems x 3 models x 2 precisions = 12 cells, 4 of them zero
    assert (report.rows_accepted, report.rows_skipped, report.rows_rejected) == (8, 4, 0)
    rows = warehouse.query("select * from raw.benchmark_results")
    assert (rows["throughput"] > 0).all()
    assert set(rows["mode"]) == {"training"} and set(rows["precision"]) == {"fp16", "fp32"}
    h100 = rows.loc[rows["system_name"] == "Dell 2x H100 80GB SXM5"].set_index("model_name")
    assert h100.loc["bert_base_squad", "batch_size"] == 32, "the bs file gives the batch across both GPUs"
    assert h100.loc["bert_base_squad", "num_devices"] == 2
    assert h100.loc["bert_base_squad", "hardware_name"] == "H100 80GB SXM5"
    assert h100.loc["bert_base_squad", "sequence_length"] == 384
    assert rows["power_w"].isna().all(), "rated system power is not a measurement"
    systems = warehouse.query("select * from raw.hardware_systems order by system_name")
    assert systems["rated_power_w"].tolist() == [1400.0, 300.0]
    assert systems["list_price_usd"].tolist() == [73437.5, 9937.5]


def test_lambda_bad_cell_names_file_row_and_model_column(warehouse, lambda_dir):
    path = lambda_dir / "pytorch-train-throughput-fp32.csv"
    path.write_text(path.read_text().replace("369.0", "-369.0"))

    with pytest.raises(IngestError, match=r"pytorch-train-throughput-fp32\.csv row 1, column resnet50 \(throughput\): negative"):
        ingest_path(lambda_dir, warehouse)
    assert warehouse.row_counts()["benchmark_results"] == 0


@pytest.mark.skipif(not LAMBDA_DIR.is_dir(), reason="the shared Lambda data set sits outside the repository")
def test_full_lambda_set_loads_every_nonzero_cell(warehouse):
    [report] = ingest_path(LAMBDA_DIR, warehouse, fmt="lambda")
    cells = zeros = 0
    for path in LAMBDA_DIR.glob("pytorch-train-throughput-*.csv"):
        values = pd.read_csv(path).drop(columns=["name_gpu", "num_gpu", "watt", "price"])
        cells += values.size
        zeros += int((values == 0).sum().sum())
    assert report.rows_accepted == cells - zeros and report.rows_skipped == zeros


def test_ipfs_database_maps_to_canonical_rows(warehouse, tmp_path):
    [report] = ingest_path(make_ipfs_database(tmp_path / "ipfs.duckdb"), warehouse)

    assert report.format == "ipfs" and report.rows_accepted == 3, "the failed run's result is not imported"
    rows = warehouse.query("select * from raw.benchmark_results order by source_row").set_index("model_name", drop=False)
    inference = rows.loc[(rows["model_name"] == "bert-base-uncased") & (rows["mode"] == "inference")].iloc[0]
    assert inference["hardware_platform"] == "cuda" and inference["precision"] == "fp16"
    assert inference["power_w"] == 310.5 and inference["sequence_length"] == 128
    training = rows.loc[rows["mode"] == "training"].iloc[0]
    assert training["power_w"] == 295.0, "power comes from the power_metrics table when metrics JSON has none"
    assert rows.loc["vit-base-patch16-224", "precision"] == "fp32"


def test_non_ipfs_database_is_refused(warehouse, tmp_path):
    import duckdb

    path = tmp_path / "other.duckdb"
    duckdb.connect(str(path)).execute("create table t (x int)").close()
    with pytest.raises(ValueError, match="missing table"):
        ingest_path(path, warehouse)


def test_frames_from_the_runner_store_failures_in_the_same_load(warehouse):
    results = pd.DataFrame(
        [dict(model_name="gpt2", hardware_platform="cpu", hardware_name=CPU, batch_size=2, precision="fp32",
              mode="inference", sequence_length=64, throughput=12.0, latency_ms=166.0, throughput_cv=0.03, repeats=3)]
    )
    failures = pd.DataFrame(
        [dict(model_name="gpt2", hardware_platform="openvino", hardware_name=CPU, batch_size=64, precision="int4",
              mode="inference", sequence_length=512, image_size=None, error="unsupported", source="local-runner",
              measured_at=pd.Timestamp("2026-01-01"))]
    )
    report = ingest_frame(results, warehouse, source="local-runner", fmt="runner", failures=failures)

    stored = warehouse.query("select source, load_id from raw.benchmark_results")
    assert stored["source"].tolist() == ["local-runner"]
    assert warehouse.query("select load_id from raw.failed_benchmarks")["load_id"].tolist() == [report.load_id]


def test_cli_ingest_exit_status_and_message(warehouse, tmp_path):
    from typer.testing import CliRunner

    from predictive_performance.cli import app

    good = canonical_csv(tmp_path, GOOD_ROWS, "good.csv")
    bad = canonical_csv(tmp_path, [f"bert-base-uncased,cpu,{CPU},1,fp32,inference,128,text,,"], "bad.csv")
    runner = CliRunner()

    ok = runner.invoke(app, ["ingest", str(good)])
    refused = runner.invoke(app, ["ingest", str(bad)])

    assert ok.exit_code == 0 and "3 accepted" in ok.output
    assert refused.exit_code == 1
    assert "bad.csv row 1, column throughput: not a number: 'text'" in refused.output
    assert warehouse.row_counts()["benchmark_results"] == 3
    missing = runner.invoke(app, ["ingest", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "no such file" in missing.output
    summary = json.dumps(warehouse.row_counts())
    assert '"loads": 1' in summary


SEMANTIC_HEADER = "model_name,hardware_platform,hardware_name,batch_size,precision,mode,workload,throughput,latency_ms,latency_kind,power_w,power_scope\n"


def test_canonical_rows_keep_their_workload_latency_kind_and_power_scope(warehouse, tmp_path):
    path = tmp_path / "semantics.csv"
    path.write_text(SEMANTIC_HEADER + "".join(row + "\n" for row in (
        f"bert-base-uncased,cpu,{CPU},1,fp32,inference,,25.0,40.0,,,",
        "llama-2-7b,cuda,NVIDIA H100 80GB SXM5,32,bf16,inference,serving,1500,12.5,token,610,accelerators",
        "resnet-50,cuda,NVIDIA H100 80GB SXM5,,int8,inference,offline,90000,,,2900,system",
    )))
    ingest_path(path, warehouse)

    stored = warehouse.query("select workload, latency_kind, power_scope, batch_size from raw.benchmark_results order by source_row")
    assert stored["workload"].tolist() == ["static_batch", "serving", "offline"]  # empty means a static batch
    assert stored["latency_kind"].tolist()[:2] == ["batch", "token"] and pd.isna(stored.loc[2, "latency_kind"])
    assert stored["power_scope"].tolist()[1:] == ["accelerators", "system"]
    assert pd.isna(stored.loc[2, "batch_size"])  # the offline scenario's system chose the batch


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        (f"bert-base-uncased,cpu,{CPU},1,fp32,inference,,25.0,,,30,", "power_scope", "power_w needs its scope"),
        (f"bert-base-uncased,cpu,{CPU},1,fp32,inference,streaming,25.0,,,,", "workload", "unknown workload 'streaming'"),
        (f"bert-base-uncased,cpu,{CPU},1,fp32,inference,,25.0,4.0,per_word,,", "latency_kind", "unknown latency kind 'per_word'"),
        (f"bert-base-uncased,cpu,{CPU},1,fp32,inference,,25.0,,,30,wall", "power_scope", "unknown power scope 'wall'"),
        (f"bert-base-uncased,cpu,{CPU},,fp32,inference,serving,25.0,,,,", "batch_size", "missing value"),
    ],
)
def test_a_measure_whose_meaning_is_unknown_is_refused(warehouse, tmp_path, row, column, reason):
    path = tmp_path / "semantics.csv"
    path.write_text(SEMANTIC_HEADER + row + "\n")
    before = warehouse.row_counts()

    with pytest.raises(IngestError) as raised:
        ingest_path(path, warehouse)

    assert f"semantics.csv row 1, column {column}: {reason}" in str(raised.value)
    assert warehouse.row_counts() == before


def test_every_format_on_the_command_line_has_an_importer():
    from predictive_performance.ingest import FORMATS
    from predictive_performance.ingest.registry import FORMAT_BY_NAME

    assert sorted(FORMATS) == sorted({"auto", *FORMAT_BY_NAME})


@pytest.mark.skipif(not SHARED_DATA_DIR.is_dir(), reason="../shared/data is not beside the repository")
def test_every_public_source_beside_the_repository_is_default_data():
    folders = {path.name for path in SHARED_DATA_DIR.iterdir() if path.is_dir()}

    assert folders == set(PUBLIC_SOURCES)
    assert {fmt for _, fmt in default_sources()} >= set(PUBLIC_SOURCES.values())
