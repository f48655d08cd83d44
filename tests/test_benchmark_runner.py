"""The local benchmark runner on tiny architectures (2 layers, hidden size 32), for real.

Every runtime runs here: no mocks. The heavy runtimes are optional extras, so a test that needs
one is skipped (by ``importorskip``) only where that runtime is not installed.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from predictive_performance.benchmark import (
    HIGH_CV_THRESHOLD,
    SOURCE,
    BenchmarkConfig,
    BenchmarkRunner,
    coefficient_of_variation,
    detect_hardware,
    get_architecture,
    list_architectures,
    plan_configurations,
    run_benchmark_command,
    run_configurations,
)
from predictive_performance.benchmark.energy import rapl_available
from predictive_performance.benchmark.plan import config_key, coverage_plan, queue_plan
from predictive_performance.benchmark.results import FAILURE_COLUMNS
from predictive_performance.schema import RESULT_COLUMNS

# Tests check behaviour, not speed: no pauses to wait for a quieter machine.
FAST = {"repeats": 3, "warmup": 1, "min_repeat_s": 0.02, "progress": False, "contention_retries": 0}


@pytest.fixture(scope="module")
def hardware():
    return detect_hardware()


def _needs(platform: str, precision: str) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    if platform == "onnxruntime":
        pytest.importorskip("onnxruntime")
    if platform == "openvino":
        pytest.importorskip("onnxruntime")  # not used, but the export path is shared
        pytest.importorskip("openvino")
        if precision == "int8":
            pytest.importorskip("nncf")


RUNTIMES = [
    ("cpu", "fp32"),
    ("cpu", "bf16"),
    ("cpu", "int8"),
    ("onnxruntime", "fp32"),
    ("onnxruntime", "int8"),
    ("openvino", "fp32"),
    ("openvino", "bf16"),
    ("openvino", "int8"),
]


@pytest.mark.parametrize(("platform", "precision"), RUNTIMES)
def test_tiny_text_model_through_each_runtime(hardware, platform, precision):
    _needs(platform, precision)
    configs = [BenchmarkConfig("tiny-bert", platform, batch, precision, "inference", 16) for batch in (1, 4)]
    results, failures = run_configurations(
        configs, hardware=hardware, **{k: v for k, v in FAST.items() if k != "repeats"}, repeats=3
    )
    if not hardware.supports(platform, precision):  # e.g. bf16 on a CPU without AVX512_BF16
        assert results.empty and len(failures) == 2 and failures["error"].str.len().gt(0).all()
        return
    assert failures.empty, failures["error"].tolist()
    assert len(results) == 2
    assert list(results.columns) == [c.name for c in RESULT_COLUMNS]
    row = results.iloc[0]
    assert row["model_name"] == "tiny-bert" and row["model_family"] == "bert"
    assert row["hardware_platform"] == platform and row["precision"] == precision and row["mode"] == "inference"
    assert row["hardware_name"] == hardware.cpu.hardware_name
    assert row["hardware_description"] == hardware.description
    assert row["source"] == SOURCE
    assert (
        row["framework"].split()[0] == {"cpu": "torch", "onnxruntime": "onnxruntime", "openvino": "openvino"}[platform]
    )
    assert row["sequence_length"] == 16 and pd.isna(row["image_size"])
    assert row["repeats"] == 3 and row["num_devices"] == 1
    for name in ("throughput", "latency_ms", "latency_p50_ms", "latency_p90_ms"):
        assert row[name] > 0, name
    assert row["latency_p50_ms"] <= row["latency_p90_ms"]
    assert row["throughput_cv"] >= 0
    assert pd.isna(row["memory_mb"]) or row["memory_mb"] > 0
    if not rapl_available():
        assert results["power_w"].isna().all()  # never invented
    assert isinstance(row["measured_at"], pd.Timestamp)


@pytest.mark.parametrize("model", ["tiny-gpt2", "tiny-t5", "tiny-vit", "tiny-resnet", "tiny-whisper"])
def test_tiny_architectures_of_each_modality(hardware, model):
    _needs("onnxruntime", "fp32")
    configs = [BenchmarkConfig(model, "cpu", 2), BenchmarkConfig(model, "onnxruntime", 2)]
    results, failures = run_configurations(configs, hardware=hardware, **FAST)
    assert failures.empty, failures["error"].tolist()
    spec = get_architecture(model)
    assert len(results) == 2
    if spec.uses_image_size:
        assert (results["image_size"] == spec.default_image_size()).all() and results["sequence_length"].isna().all()
    else:
        assert (results["sequence_length"] == spec.default_sequence_length()).all()
    assert set(results["model_type"]) == {spec.model_type}


def test_training_mode(hardware):
    _needs("cpu", "fp32")
    results, failures = run_configurations(
        [BenchmarkConfig("tiny-bert", "cpu", 4, "fp32", "training", 16)], hardware=hardware, **FAST
    )
    assert failures.empty, failures["error"].tolist()
    assert results.loc[0, "mode"] == "training" and results.loc[0, "throughput"] > 0


def test_failures_are_recorded_and_the_batch_goes_on(hardware):
    _needs("cpu", "fp32")
    configs = [
        BenchmarkConfig("no-such-model", "cpu", 1),
        BenchmarkConfig("tiny-bert", "cpu", 10**7, "fp32", "inference", 16),  # absurd: would need terabytes
        BenchmarkConfig("tiny-bert", "cpu", 1, "fp32", "inference", 4096),  # longer than the model's positions
        BenchmarkConfig("tiny-bert", "cpu", 1, "int4"),  # a precision this runtime does not run
        BenchmarkConfig("tiny-resnet", "cpu", 1, "int8"),  # dynamic int8 quantizes Linear layers, not convolutions
        BenchmarkConfig("tiny-bert", "webgpu", 1),  # a platform the local runner cannot drive
        BenchmarkConfig("tiny-bert", "cpu", 2, "fp32", "inference", 16),  # and this one is measured
    ]
    results, failures = run_configurations(configs, hardware=hardware, **FAST)
    assert len(results) == 1 and results.loc[0, "batch_size"] == 2
    assert list(failures.columns) == list(FAILURE_COLUMNS)
    assert len(failures) == 6
    errors = dict(
        zip(
            zip(failures["model_name"], failures["batch_size"], failures["precision"], failures["hardware_platform"]),
            failures["error"],
        )
    )
    assert "unknown model" in errors[("no-such-model", 1, "fp32", "cpu")]
    assert "out of memory" in errors[("tiny-bert", 10**7, "fp32", "cpu")]
    assert "int4" in errors[("tiny-bert", 1, "int4", "cpu")]
    assert "nn.Linear" in errors[("tiny-resnet", 1, "int8", "cpu")]
    assert "webgpu" in errors[("tiny-bert", 1, "fp32", "webgpu")]
    assert any("at most 128 positions" in e for e in failures["error"])
    assert (failures["source"] == SOURCE).all() and failures["error"].str.len().gt(0).all()


def test_five_repeats_report_a_coefficient_of_variation(hardware):
    _needs("cpu", "fp32")
    runner = BenchmarkRunner(
        hardware=hardware, repeats=5, warmup=1, min_repeat_s=0.05, progress=False, contention_retries=0
    )
    outcome = runner.run([BenchmarkConfig("tiny-bert", "cpu", 2, "fp32", "inference", 16)])
    row = outcome.results.iloc[0]
    assert row["repeats"] == 5
    cv = row["throughput_cv"]
    assert cv is not None and not math.isnan(cv) and cv >= 0
    measurement = outcome.measurements[0]
    assert measurement.flagged == (cv > HIGH_CV_THRESHOLD)
    assert len(outcome.flagged) == int(cv > HIGH_CV_THRESHOLD)


def test_coefficient_of_variation_and_flag_threshold():
    assert coefficient_of_variation([10.0, 10.0, 10.0]) == 0.0
    assert coefficient_of_variation([5.0]) is None
    noisy = coefficient_of_variation([50.0, 100.0, 150.0])
    assert noisy == pytest.approx(0.5) and noisy > HIGH_CV_THRESHOLD


def test_time_cap_skips_instead_of_failing(hardware):
    _needs("cpu", "fp32")
    first = BenchmarkRunner(hardware=hardware, **FAST).run(
        [BenchmarkConfig("tiny-bert", "cpu", 1, "fp32", "inference", 32)]
    )
    single_s = first.results.loc[0, "latency_p90_ms"] / 1000
    configs = [BenchmarkConfig("tiny-bert", "cpu", batch, "fp32", "inference", 32) for batch in (1, 4096)]
    # batch 4096 is predicted at ~4096 x the first one's time: far over a cap of 50 x
    runner = BenchmarkRunner(hardware=hardware, max_iteration_s=50 * single_s, **FAST)
    outcome = runner.run(configs)
    assert len(outcome.results) == 1 and outcome.results.loc[0, "batch_size"] == 1
    assert outcome.failures.empty
    assert len(outcome.skipped) == 1 and "cap" in outcome.skipped.loc[0, "reason"]


def test_catalog_architectures_are_buildable_specs():
    names = list_architectures()
    assert len(names) >= 14 and "tiny-bert" not in names
    for name in names:
        spec = get_architecture(name)
        assert spec.family and spec.model_type and spec.approx_params_m > 0
    assert get_architecture("google/bert-base-uncased").name == "bert-base-uncased"
    assert get_architecture("resnet50").name == "resnet-50"


def test_benchmark_command_ingests_into_the_warehouse(hardware, warehouse, tmp_path):
    _needs("onnxruntime", "fp32")
    configs = tmp_path / "configs.csv"
    pd.DataFrame(
        [
            {
                "model_name": "tiny-bert",
                "hardware_platform": "cpu",
                "batch_size": 1,
                "precision": "fp32",
                "mode": "inference",
                "sequence_length": 16,
            },
            {
                "model_name": "tiny-vit",
                "hardware_platform": "onnxruntime",
                "batch_size": 2,
                "precision": "fp32",
                "mode": "inference",
                "image_size": 32,
            },
            {
                "model_name": "unknown-net",
                "hardware_platform": "cpu",
                "batch_size": 1,
                "precision": "fp32",
                "mode": "inference",
            },
        ]
    ).to_csv(configs, index=False)
    report = run_benchmark_command(
        None, configs, warehouse, repeats=2, hardware=hardware, min_repeat_s=0.02, warmup=1, contention_retries=0
    )
    assert (report.planned, report.measured, report.failed) == (3, 2, 1)
    assert report.load_id and report.rows_accepted == 2
    stored = warehouse.query("SELECT * FROM raw.benchmark_results")
    assert len(stored) == 2 and set(stored["source"]) == {SOURCE}
    assert set(stored["hardware_name"]) == {hardware.cpu.hardware_name}
    failed = warehouse.query("SELECT * FROM raw.failed_benchmarks")
    assert failed["model_name"].tolist() == ["unknown-net"]
    assert "unknown-net" in report.summary() and "Stored 2 row(s)" in report.summary()


def test_budget_three_measures_three_new_configurations(hardware, warehouse):
    """The issue's acceptance check: ``perfpredict benchmark --budget 3`` on a fresh warehouse."""
    _needs("cpu", "fp32")
    report = run_benchmark_command(
        3, None, warehouse, repeats=2, hardware=hardware, min_repeat_s=0.02, warmup=1, contention_retries=0
    )
    assert report.plan_source == "coverage"
    assert report.planned == 3 and report.measured + report.failed == 3
    assert report.measured >= 1
    stored = warehouse.query(
        "SELECT model_name, hardware_platform, precision, batch_size, source FROM raw.benchmark_results"
    )
    assert len(stored) == report.measured and set(stored["source"]) == {SOURCE}
    # a second run plans three other configurations
    again, _ = plan_configurations(warehouse, hardware, 3)
    keys = ["model_name", "hardware_platform", "precision", "mode", "batch_size", "sequence_length", "image_size"]
    stored = warehouse.query(f"SELECT {', '.join(keys)} FROM raw.benchmark_results")
    measured = {config_key(BenchmarkConfig.from_mapping(row)) for row in stored.to_dict("records")}
    assert len(again) == 3 and not measured & {config_key(c) for c in again}


def test_coverage_plan_spreads_over_groups_and_skips_measured(hardware):
    pytest.importorskip("torch")
    plan = coverage_plan(hardware, None, budget=12)
    assert len(plan) == 12
    groups = {(c.model_name, c.hardware_platform, c.precision, c.mode) for c in plan}
    assert len(groups) == 12  # round robin: one configuration per group first
    assert not any(get_architecture(c.model_name).test_only for c in plan)


def test_queue_plan_takes_runnable_rows_by_information_gain(hardware, warehouse):
    pytest.importorskip("torch")
    warehouse.ensure_schema()
    queue = pd.DataFrame(
        [
            {
                "model_name": "bert-base-uncased",
                "hardware_platform": "cuda",
                "hardware_name": "NVIDIA H100 80GB SXM5",
                "batch_size": 8,
                "precision": "fp16",
                "mode": "inference",
                "sequence_length": 128,
                "expected_information_gain": 9.0,
            },
            {
                "model_name": "mystery-model",
                "hardware_platform": "cpu",
                "hardware_name": hardware.cpu.hardware_name,
                "batch_size": 1,
                "precision": "fp32",
                "mode": "inference",
                "sequence_length": 128,
                "expected_information_gain": 8.0,
            },
            {
                "model_name": "electra-small",
                "hardware_platform": "cpu",
                "hardware_name": hardware.cpu.hardware_name,
                "batch_size": 2,
                "precision": "fp32",
                "mode": "inference",
                "sequence_length": 64,
                "expected_information_gain": 1.0,
            },
            {
                "model_name": "resnet-18",
                "hardware_platform": "cpu",
                "hardware_name": hardware.cpu.hardware_name,
                "batch_size": 1,
                "precision": "fp32",
                "mode": "inference",
                "sequence_length": None,
                "expected_information_gain": 5.0,
            },
        ]
    )
    with warehouse.connect() as connection:
        connection.execute("CREATE SCHEMA IF NOT EXISTS active_learning")
        connection.register("queue_frame", queue)
        connection.execute("CREATE TABLE active_learning.queue AS SELECT * FROM queue_frame")
    plan = queue_plan(warehouse, hardware, budget=5)
    assert [(c.model_name, c.batch_size) for c in plan] == [("resnet-18", 1), ("electra-small", 2)]
    assert plan[0].image_size == 224  # the architecture's default input
    configs, source = plan_configurations(warehouse, hardware, 1)
    assert source == "active_learning.queue" and configs[0].model_name == "resnet-18"
