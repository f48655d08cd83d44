"""The dbt project builds on a small warehouse, and its marts keep the promises docs/architecture.md makes.

One module-scoped `dbt build` on fixture rows (Lambda-like GPU training rows, CPU inference rows,
a negative throughput, an unknown device, an outlier) serves every assertion; a second build on
empty raw tables checks that a fresh warehouse builds and tests cleanly.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from predictive_performance.schema import RAW_DDL
from predictive_performance.settings import DB_PATH_VARIABLE, DBT_PROJECT_DIR

CPU = "AMD EPYC Zen 5 (2 vCPU)"
LAMBDA_LOAD = "20250101T000000000000Z-lambda00"
RUNNER_LOAD = "20250102T000000000000Z-runner00"

LOADS = [
    (LAMBDA_LOAD, "lambda-pytorch-train", "lambda", 10, 0, 0),
    (RUNNER_LOAD, "local-runner", "canonical", 10, 0, 0),
]

# Lambda-like training rows: the same configuration (bert_base_squad, H100, fp16, batch 32 per
# device) on several systems, per-device throughput ~400 items/s, except row 5 at a tenth of that.
LAMBDA_ROWS = [
    dict(source_row=1, system_name="H100 80GB SXM5", num_devices=1, throughput=402.0),
    dict(source_row=2, system_name="Dell H100 80GB SXM5", num_devices=1, throughput=398.0),
    dict(source_row=3, system_name="2x H100 80GB SXM5", num_devices=2, throughput=790.0),
    dict(source_row=4, system_name="4x H100 80GB SXM5", num_devices=4, throughput=1590.0),
    dict(source_row=5, system_name="SMC H100 80GB SXM5", num_devices=1, throughput=41.0),  # outlier
    dict(source_row=6, system_name="8x H100 80GB SXM5", num_devices=8, throughput=3150.0),
]
# Catalog facts a load states: a device no seed knows, a gap in a seed device's figures (the CPU has no
# idle power in the seeds) and a figure that contradicts the seed (the seed's wins). The load spells
# the CPU by an alias, which resolves to the seed's name.
NEW_DEVICE = "Example NPU 9000"
CATALOG_FACTS = {
    "raw.catalog_hardware": [(NEW_DEVICE, "Example", "npu", "npu", "X1", 2030, "example spec sheet")],
    "raw.catalog_hardware_specs": [
        (NEW_DEVICE, "memory_gb", 64.0, "example spec sheet"),
        (NEW_DEVICE, "memory_bandwidth_gbs", 1000.0, "example spec sheet"),
        (NEW_DEVICE, "peak_fp32_tflops", 50.0, "example spec sheet"),
        ("amd epyc zen 5 (2 vcpu)", "idle_power_w", 3.0, "example measurement"),
        ("amd epyc zen 5 (2 vcpu)", "memory_gb", 999.0, "example measurement"),
    ],
}
OUTLIER = (LAMBDA_LOAD, 5)
NEGATIVE = (RUNNER_LOAD, 6)
UNKNOWN_DEVICE = (RUNNER_LOAD, 7)
LATENCY_ONLY = (RUNNER_LOAD, 3)


def _results() -> list[dict]:
    rows = [
        dict(
            load_id=LAMBDA_LOAD, model_name="bert_base_squad", hardware_platform="cuda",
            hardware_name="H100 80GB SXM5", batch_size=32, precision="fp16", mode="training",
            source="lambda-pytorch-train", **row,
        )
        for row in LAMBDA_ROWS
    ]
    rows += [
        dict(load_id=LAMBDA_LOAD, source_row=7, model_name="resnet50", hardware_platform="cuda",
             hardware_name="V100 16GB", system_name="LambdaCloud V100 16GB", num_devices=1, batch_size=256,
             precision="float32", mode="training", throughput=369.0, source="lambda-pytorch-train"),
        dict(load_id=LAMBDA_LOAD, source_row=8, model_name="bert_base_squad", hardware_platform="cuda",
             hardware_name="V100 16GB", system_name="LambdaCloud V100 16GB", num_devices=1, batch_size=16,
             precision="fp16", mode="training", throughput=189.0, source="lambda-pytorch-train"),
        dict(load_id=LAMBDA_LOAD, source_row=9, model_name="resnet50", hardware_platform="cuda",
             hardware_name="H100 80GB SXM5", system_name="H100 80GB SXM5", num_devices=1, batch_size=256,
             precision="fp16", mode="training", throughput=3042.0, source="lambda-pytorch-train"),
        # a serving row: its item is a generated token (one decode step), not one input
        dict(load_id=LAMBDA_LOAD, source_row=10, model_name="llama-3.1-8b-instruct", hardware_platform="cuda",
             hardware_name="H100 80GB SXM5", num_devices=1, batch_size=128, precision="bf16", mode="inference",
             workload="serving", task="llm_text_generation/chat", throughput=2500.0, latency_ms=50.0,
             latency_kind="token", source="ml-energy-v2"),
    ]
    cpu = dict(load_id=RUNNER_LOAD, hardware_name=CPU, mode="inference", source="local-runner",
               measured_at="2025-01-02 10:00:00")
    rows += [
        dict(cpu, source_row=1, model_name="bert-base-uncased", hardware_platform="cpu", batch_size=1,
             precision="fp32", sequence_length=128, throughput=10.0, latency_ms=100.0, memory_mb=450.0, power_w=12.0,
             power_scope="accelerators"),
        dict(cpu, source_row=2, model_name="bert-base-uncased", hardware_platform="onnxruntime", batch_size=8,
             precision="float32", sequence_length=128, throughput=12.0, latency_ms=666.7, memory_mb=700.0),
        dict(cpu, source_row=3, model_name=" BERT-Base-Uncased ", hardware_platform="OpenVINO", batch_size=4,
             precision="fp32", mode="Inference", sequence_length=256, latency_ms=1200.0),
        dict(cpu, source_row=4, model_name="resnet-50", hardware_platform="openvino", batch_size=4,
             precision="int8", image_size=224, throughput=80.0),
        dict(cpu, source_row=5, model_name="ssd300", hardware_platform="cpu", batch_size=2,
             precision="half", image_size=300, throughput=3.5, memory_mb=900.0),
        dict(cpu, source_row=6, model_name="bert-base-uncased", hardware_platform="cpu", batch_size=2,
             precision="fp32", sequence_length=128, throughput=-5.0),
        dict(cpu, source_row=7, model_name="bert-base-uncased", hardware_platform="cpu",
             hardware_name="Mystery TPU v9", batch_size=1, precision="fp32", throughput=500.0),
        dict(cpu, source_row=8, model_name="bert-base-uncased", hardware_platform="cpu", batch_size=16,
             precision="bf16", sequence_length=128, throughput=20.0, num_devices=None),
        dict(cpu, source_row=9, model_name="bert-base-uncased", hardware_platform="cpu", batch_size=0,
             precision="fp32", throughput=10.0),
        dict(cpu, source_row=10, model_name="bert-base-uncased", hardware_platform="cpu", batch_size=1,
             precision="fp32", throughput=float("nan")),
    ]
    return rows


def load_fixture(path: Path, with_rows: bool = True) -> None:
    """Create the raw schema in a new DuckDB file and, unless told not to, fill it with the fixture."""
    with duckdb.connect(str(path)) as connection:
        for statement in RAW_DDL:
            connection.execute(statement)
        if not with_rows:
            return
        for load_id, source, fmt, accepted, rejected, skipped in LOADS:
            connection.execute(
                "insert into raw.loads (load_id, source, format, rows_accepted, rows_rejected, rows_skipped, loaded_at)"
                " values (?, ?, ?, ?, ?, ?, timestamp '2025-01-03 00:00:00')",
                [load_id, source, fmt, accepted, rejected, skipped],
            )
        for row in _results():
            columns = ", ".join(row)
            placeholders = ", ".join("?" for _ in row)
            connection.execute(
                f"insert into raw.benchmark_results ({columns}) values ({placeholders})", list(row.values())
            )
        connection.execute(
            "insert into raw.hardware_systems"
            " (load_id, system_name, hardware_name, num_devices, rated_power_w, list_price_usd, source) values "
            "(?, 'LambdaCloud V100 16GB', 'V100 16GB', 1, 300, 9937.5, 'lambda-pytorch-train'),"
            "(?, '8x H100 80GB SXM5', 'H100 80GB SXM5', 8, 5600, 300000, 'lambda-pytorch-train')",
            [LAMBDA_LOAD, LAMBDA_LOAD],
        )
        for table, rows in CATALOG_FACTS.items():
            for row in rows:
                placeholders = ", ".join("?" for _ in range(len(row) + 1))
                connection.execute(f"insert into {table} values ({placeholders})", [RUNNER_LOAD, *row])
        connection.execute(
            "insert into raw.failed_benchmarks (load_id, model_name, hardware_platform, hardware_name, batch_size,"
            " precision, mode, error, source) values (?, 'bert-base-uncased', 'cpu', ?, 64, 'fp32', 'inference',"
            " 'out of memory', 'local-runner')",
            [RUNNER_LOAD, CPU],
        )


def dbt_build(tmp_path: Path, database: Path) -> object:
    """Run `dbt build` in-process against `database`, with target and logs under tmp_path."""
    from dbt.cli.main import dbtRunner

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DB_PATH_VARIABLE, str(database))
        try:
            return dbtRunner().invoke(
                [
                    "build",
                    "--project-dir", str(DBT_PROJECT_DIR),
                    "--profiles-dir", str(DBT_PROJECT_DIR),
                    "--target-path", str(tmp_path / "target"),
                    "--log-path", str(tmp_path / "logs"),
                    "--no-partial-parse",
                    "--quiet",
                ]
            )
        finally:
            _release_dbt_duckdb()


def _release_dbt_duckdb() -> None:
    """Close the DuckDB instance dbt-duckdb keeps open in-process after a run.

    Without this, opening the same file read-only in this process fails ("different configuration
    than existing connections"). Dagster runs dbt as a subprocess and is not affected.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    if DuckDBConnectionManager._ENV is not None:
        DuckDBConnectionManager._ENV.close()
    DuckDBConnectionManager.close_all_connections()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    tmp_path = tmp_path_factory.mktemp("dbt_build")
    database = tmp_path / "benchmarks.duckdb"
    load_fixture(database)
    result = dbt_build(tmp_path, database)
    assert result.success, f"dbt build failed: {result.exception or _failures(result)}"
    connection = duckdb.connect(str(database), read_only=True)
    yield connection
    connection.close()


def _failures(result) -> list[str]:
    return [f"{r.node.name}: {r.status} {r.message}" for r in (result.result or []) if r.status in ("error", "fail")]


def _keys(connection: duckdb.DuckDBPyConnection, table: str, where: str = "true") -> set[tuple[str, int]]:
    rows = connection.execute(f"select load_id, source_row from {table} where {where}").fetchall()
    return {tuple(row) for row in rows}


def test_lambda_and_runner_names_resolve_to_the_catalog(built: duckdb.DuckDBPyConnection) -> None:
    unresolved = built.execute(
        "select model_name_raw, hardware_name_raw, invalid_reason"
        " from intermediate.int_benchmark_results_validated"
        " where not (is_known_model and is_known_hardware) and hardware_name_raw <> 'Mystery TPU v9'"
    ).fetchall()
    assert unresolved == []


def test_invalid_rows_are_kept_for_audit_with_a_reason(built: duckdb.DuckDBPyConnection) -> None:
    reasons = dict(
        ((load_id, row), reason)
        for load_id, row, reason in built.execute(
            "select load_id, source_row, invalid_reason from intermediate.int_benchmark_results_validated"
            " where invalid_reason is not null"
        ).fetchall()
    )
    assert set(reasons) == {NEGATIVE, UNKNOWN_DEVICE, (RUNNER_LOAD, 9), (RUNNER_LOAD, 10)}
    assert "non-positive throughput" in reasons[NEGATIVE]
    assert "unknown hardware" in reasons[UNKNOWN_DEVICE]
    assert "non-positive batch_size" in reasons[(RUNNER_LOAD, 9)]
    assert "non-finite throughput" in reasons[(RUNNER_LOAD, 10)]


def test_invalid_rows_never_reach_the_marts(built: duckdb.DuckDBPyConnection) -> None:
    for table in ("marts.fct_benchmark_results", "marts.training_features"):
        keys = _keys(built, table)
        assert NEGATIVE not in keys and UNKNOWN_DEVICE not in keys
    assert built.execute("select count(*) from marts.training_features where throughput <= 0").fetchone()[0] == 0


def test_outlier_is_flagged_in_the_fact_and_left_out_of_training(built: duckdb.DuckDBPyConnection) -> None:
    assert _keys(built, "marts.fct_benchmark_results", "is_outlier") == {OUTLIER}
    assert OUTLIER not in _keys(built, "marts.training_features")
    assert (LAMBDA_LOAD, 6) in _keys(built, "marts.training_features")  # the 8-GPU system is not an outlier


def test_categories_are_canonical_and_latency_is_imputed(built: duckdb.DuckDBPyConnection) -> None:
    precisions = {p for (p,) in built.execute("select distinct precision from marts.fct_benchmark_results").fetchall()}
    assert precisions <= {"fp32", "fp16", "bf16", "int8"}
    row = built.execute(
        "select throughput, throughput_imputed, hardware_platform, mode from marts.fct_benchmark_results"
        " where load_id = ? and source_row = ?",
        list(LATENCY_ONLY),
    ).fetchone()
    assert row[0] == pytest.approx(4 / 1.2) and row[1] and row[2] == "openvino" and row[3] == "inference"
    latency = built.execute(
        "select latency_ms from marts.fct_benchmark_results where load_id = ? and source_row = 4", [LAMBDA_LOAD]
    ).fetchone()[0]
    assert latency == pytest.approx(32 * 4 / 1590.0 * 1000)  # batch per device x devices / system throughput


def test_required_features_are_never_null(built: duckdb.DuckDBPyConnection) -> None:
    required = [
        "flops_per_item", "bytes_per_item", "arithmetic_intensity", "peak_tflops_at_precision",
        "roofline_throughput", "memory_gb", "memory_bandwidth_gbs", "parameters_million", "batch_size",
    ]
    rows = built.execute("select count(*) from marts.training_features").fetchone()[0]
    assert rows == 15  # 20 fixture rows - 4 invalid - 1 outlier
    nulls = built.execute(
        "select " + ", ".join(f"count(*) filter (where {c} is null) as {c}" for c in required)
        + " from marts.training_features"
    ).fetchone()
    assert dict(zip(required, nulls)) == dict.fromkeys(required, 0)


def test_the_python_roofline_of_a_configuration_is_dbts(built: duckdb.DuckDBPyConnection) -> None:
    """Predictions rebuild the roofline in pandas (``features.workload_features``) for configurations never
    measured: on every training row it must give what ``training_features.sql`` gave."""
    import pandas as pd

    from predictive_performance.modeling import workload_features

    features = built.execute("select * from marts.training_features order by load_id, source_row").df()
    asked = ["model_name", "hardware_name", "batch_size", "precision", "mode", "num_devices", "sequence_length",
             "image_size", "workload"]
    rebuilt = workload_features(
        features[asked],
        built.execute("select * from marts.dim_models").df(),
        built.execute("select * from marts.dim_hardware").df(),
    )
    for column in ("input_scale", "flops_per_item", "bytes_per_item", "peak_tflops_at_precision", "roofline_throughput"):
        pd.testing.assert_series_equal(rebuilt[column].astype(float), features[column].astype(float), rtol=1e-9,
                                       check_names=False)


def test_catalog_facts_of_loads_fill_gaps_and_the_seeds_win(built: duckdb.DuckDBPyConnection) -> None:
    device = built.execute(
        "select vendor, hardware_platform, memory_gb, peak_fp32_tflops, tdp_w, source, catalog_load_id"
        " from marts.dim_hardware where hardware_name = ?", [NEW_DEVICE]
    ).fetchone()
    assert device == ("Example", "npu", 64.0, 50.0, None, "example spec sheet", RUNNER_LOAD)
    cpu = built.execute("select memory_gb, idle_power_w, catalog_load_id from marts.dim_hardware where hardware_name = ?",
                        [CPU]).fetchone()
    assert cpu[0] != 999.0 and cpu[1:] == (3.0, None)  # the seed's memory, the load's idle power
    sources = dict(built.execute(
        "select spec, source from staging.stg_catalog__hardware_specs where hardware_name = ?", [CPU]
    ).fetchall())
    assert sources["idle_power_w"] == "example measurement" and sources["memory_gb"] != "example measurement"


def test_coverage_gaps_count_measurements_and_failures(built: duckdb.DuckDBPyConnection) -> None:
    tested, failed = built.execute(
        "select count(*) filter (where is_tested), sum(failed_attempts) from marts.coverage_gaps"
    ).fetchone()
    assert tested >= 1 and failed == 1
    duplicates = built.execute(
        "select count(*) from (select model_name, hardware_name, precision, batch_size, mode"
        " from marts.coverage_gaps group by all having count(*) > 1)"
    ).fetchone()[0]
    assert duplicates == 0


def test_empty_warehouse_builds(tmp_path: Path) -> None:
    database = tmp_path / "empty.duckdb"
    load_fixture(database, with_rows=False)
    result = dbt_build(tmp_path, database)
    assert result.success, f"dbt build failed on empty raw tables: {result.exception or _failures(result)}"
    with duckdb.connect(str(database), read_only=True) as connection:
        assert connection.execute("select count(*) from marts.training_features").fetchone()[0] == 0
        assert connection.execute("select count(*) from marts.dim_hardware").fetchone()[0] > 0


def test_a_manifest_older_than_the_dbt_project_is_parsed_again():
    """A pull or an edit that changes a dbt test's arguments gives it a new id; Dagster must not read the old one."""
    from dagster_project.defs.transform.project import dbt_project, manifest_is_stale, prepare_dbt_manifest

    prepare_dbt_manifest()
    manifest = dbt_project.manifest_path
    assert not manifest_is_stale()
    stat = manifest.stat()
    model = next((DBT_PROJECT_DIR / "models").rglob("*.sql"))
    try:
        os.utime(manifest, (stat.st_atime, model.stat().st_mtime - 60))
        assert manifest_is_stale()
    finally:
        os.utime(manifest, (stat.st_atime, stat.st_mtime))
    assert not manifest_is_stale()
