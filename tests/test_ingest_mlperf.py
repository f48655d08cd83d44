"""The MLPerf Inference importer against a real warehouse: what one audited result becomes, what it refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from predictive_performance.ingest import IngestError, ingest_path
from predictive_performance.ingest.mlperf import SOURCE, is_mlperf, narrowest_precision, read_summary
from predictive_performance.ingest.validation import validate_rows
from predictive_performance.settings import SHARED_DATA_DIR

MLPERF_FILE = SHARED_DATA_DIR / "mlperf-inference-v4.1" / "summary_results.json"


def result(**fields: object) -> dict:
    """One closed-division record as the summary spells it; ``fields`` override or (as None) remove keys."""
    record = {
        "ID": "v4.1-0001", "Submitter": "Acme", "Availability": "available", "Category": "closed",
        "Suite": "datacenter", "System": "Acme 8x H100", "Platform": "acme_h100x8_trt",
        "Model": "llama2-70b-99", "UsedModel": "llama2-70b-99", "Scenario": "Offline", "Nodes": 1,
        "Processor": "AMD EPYC 9654", "host_processors_per_node": 2, "Accelerator": "NVIDIA H100-SXM-80GB",
        "a#": 8.0, "Software": "TensorRT 10.2.0, CUDA 12.4", "inferred": 0, "has_power": False,
        "weight_data_types": "fp8", "Performance_Result": 25000.5, "Performance_Units": "Tokens/s",
    }
    record.update(fields)
    return {key: value for key, value in record.items() if value is not None}


def write_summary(folder: Path, records: list[dict], name: str = "summary_results.json") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(records, indent=2))
    return path


GOOD = [
    result(),  # repeated as the -99.9 variant: one row
    result(Model="llama2-70b-99.9", UsedModel="llama2-70b-99.9"),
    result(Model="bert-99", UsedModel="bert-99", Scenario="Server", weight_data_types="int8,fp16",
           Performance_Result=41599.4, Performance_Units="Queries/s", Power_Result=5235.6, Power_Units="Watts", has_power=True),
    result(Model="bert-99.9", UsedModel="bert-99.9", Scenario="Server", weight_data_types="fp16",
           Performance_Result=39804.3, Performance_Units="Queries/s", Power_Result=5639.2, Power_Units="Watts", has_power=True),
    result(System="Edge box", Suite="edge", Model="resnet", UsedModel="resnet50", Scenario="SingleStream",
           Accelerator="UntetherAI speedAI240 Slim", **{"a#": 1.0}, weight_data_types="float8", Availability="preview",
           Performance_Result=0.120438, Performance_Units="Latency (ms)", Power_Result=29.24, Power_Units="millijoules", has_power=True),
    result(System="Xeon box", Model="retinanet", UsedModel="retinanet", Accelerator="", **{"a#": ""}, Nodes=2,
           Processor="INTEL(R) XEON(R) PLATINUM 8592+", weight_data_types="INT8", Performance_Result=850.3,
           Performance_Units="Samples/s"),
    result(System="TPU box", Model="stable-diffusion-xl", UsedModel="stable-diffusion-xl", Accelerator="TPU v6",
           **{"a#": 4.0}, weight_data_types="bf16", Performance_Result=5.48, Performance_Units="Samples/s"),
    result(Category="open", Model="resnet", UsedModel="resnet50-pruned", Performance_Units="Samples/s"),
    result(Model="resnet", UsedModel="resnet50", Scenario="MultiStream", Performance_Result=0.5, Performance_Units="Latency (ms)"),
]


def stored_rows(warehouse) -> pd.DataFrame:
    return warehouse.query("select * from raw.benchmark_results order by source_row").set_index("system_name", drop=False)


def test_each_result_maps_to_one_canonical_row_in_its_own_units(warehouse, tmp_path):
    [report] = ingest_path(write_summary(tmp_path / "mlperf", GOOD), warehouse, fmt="mlperf")

    # 9 records: 1 duplicate variant and 1 open-division result skipped
    assert (report.rows_accepted, report.rows_rejected, report.rows_skipped) == (7, 0, 2)
    rows = stored_rows(warehouse)
    assert set(rows["source"]) == {SOURCE} and set(rows["mode"]) == {"inference"}

    llama = rows.loc["Acme 8x H100"].set_index("task")
    offline = llama.loc["llama2-70b"]
    assert offline["model_name"] == "llama2-70b-99.9"  # the repeated measurement met the stricter target
    assert (offline["workload"], offline["throughput"], offline["precision"]) == ("offline", 25000.5, "fp8")
    assert pd.isna(offline["batch_size"]) and pd.isna(offline["latency_ms"]) and pd.isna(offline["power_w"])
    assert (offline["hardware_platform"], offline["hardware_name"], offline["num_devices"]) == ("cuda", "NVIDIA H100-SXM-80GB", 8)
    assert offline["framework"] == "TensorRT 10.2.0, CUDA 12.4"
    bert = llama.loc[["bert-99", "bert-99.9"]]  # differing figures: both kept, named by accuracy target
    assert bert["throughput"].tolist() == [41599.4, 39804.3] and bert["precision"].tolist() == ["int8", "fp16"]
    assert set(bert["workload"]) == {"server"} and set(bert["sequence_length"]) == {384}
    assert bert["power_w"].tolist() == [5235.6, 5639.2] and set(bert["power_scope"]) == {"system"}

    edge = rows.loc["Edge box"]
    assert (edge["task"], edge["model_name"], edge["workload"], edge["batch_size"]) == ("resnet50", "resnet", "single_stream", 1)
    assert (edge["latency_ms"], edge["latency_kind"], edge["image_size"]) == (0.120438, "query_p90", 224)
    assert pd.isna(edge["throughput"]) and pd.isna(edge["power_w"])  # millijoules per query are energy, not power
    assert edge["energy_per_item_j"] == pytest.approx(0.02924) and edge["power_scope"] == "system"
    assert (edge["hardware_platform"], edge["precision"]) == ("npu", "fp8")
    assert "availability preview" in edge["hardware_description"]

    cpu = rows.loc["Xeon box"]
    assert (cpu["hardware_platform"], cpu["hardware_name"], cpu["num_devices"]) == ("cpu", "INTEL(R) XEON(R) PLATINUM 8592+", 4)
    assert (cpu["precision"], cpu["image_size"]) == ("int8", 800)
    tpu = rows.loc["TPU box"]
    assert (tpu["hardware_platform"], tpu["num_devices"], tpu["precision"]) == ("tpu", 4, "bf16")


def test_auto_detects_the_summary_and_nothing_else(warehouse, tmp_path):
    folder = tmp_path / "mlperf-inference-v4.1"
    path = write_summary(folder, GOOD)
    canonical = tmp_path / "canonical.json"
    canonical.write_text(json.dumps([{"model_name": "bert", "hardware_platform": "cpu", "throughput": 3.0}]))

    assert is_mlperf(folder) and is_mlperf(path)
    assert not is_mlperf(canonical) and not is_mlperf(tmp_path / "missing.json")
    [report] = ingest_path(folder, warehouse)
    assert (report.format, report.source, report.rows_accepted) == ("mlperf", SOURCE, 7)


@pytest.mark.parametrize(
    ("bad", "column", "reason"),
    [
        (result(Performance_Result="fast"), "throughput", "not a number: 'fast'"),
        (result(Scenario=None), "Scenario", "missing field"),
        (result(Performance_Units="furlongs/s"), "Performance_Units", "unknown unit 'furlongs/s'"),
        (result(Power_Result=-5.0, Power_Units="Watts", has_power=True), "Power_Result", "not a positive number: -5.0"),
        (result(Power_Result=12.0, Power_Units="kWh", has_power=True), "Power_Units", "unknown power unit 'kWh'"),
        (result(Accelerator="NVIDIA L4", **{"a#": ""}), "a#", "not a positive whole number"),
        (result(weight_data_types="fp12"), "precision", "unknown precision 'fp12'"),
    ],
)
def test_a_malformed_result_is_refused_naming_file_record_and_column(warehouse, tmp_path, bad, column, reason):
    ingest_path(write_summary(tmp_path / "good", GOOD), warehouse)
    before = warehouse.row_counts()
    path = write_summary(tmp_path / "bad", [result(Model="gptj-99", UsedModel="gptj-99"), bad])

    with pytest.raises(IngestError) as raised:
        ingest_path(path, warehouse)

    message = str(raised.value)
    assert f"summary_results.json row 2, column {column}: " in message and reason in message
    assert warehouse.row_counts() == before


def test_the_narrowest_weight_type_is_the_precision():
    assert narrowest_precision("int8,fp16") == "int8"
    assert narrowest_precision("FP16, int4") == "int4"
    assert narrowest_precision("float8") == "fp8"
    assert narrowest_precision("int8,fp12") == "int8,fp12"  # left whole for validation to refuse


@pytest.mark.skipif(not MLPERF_FILE.is_file(), reason="../shared/data/mlperf-inference-v4.1 is not beside the repository")
def test_the_public_summary_reads_whole_with_every_skip_explained():
    summary = read_summary(MLPERF_FILE)
    [rows] = summary.tables.results.values()

    assert summary.tables.rejects == [] and len(rows) == 722
    assert summary.skipped == {"duplicate accuracy variant": 151, "open division": 64}
    assert summary.tables.skipped == 215
    assert len(validate_rows(rows, MLPERF_FILE.name).accepted) == 722
    assert rows["workload"].value_counts().to_dict() == {"offline": 376, "server": 318, "single_stream": 18, "multi_stream": 10}
    latency = rows[rows["latency_ms"].notna()]
    kinds = latency.groupby("workload")["latency_kind"].unique().map(list).to_dict()
    assert kinds == {"single_stream": ["query_p90"], "multi_stream": ["query_p99"]}  # never one percentile for the other
    assert rows.loc[rows["workload"].isin(["offline", "server"]), "batch_size"].isna().all()
    assert set(rows.loc[rows["power_scope"].notna(), "power_scope"]) == {"system"} and rows["power_w"].notna().sum() == 24
    cpu = rows[rows["hardware_platform"] == "cpu"]
    assert len(cpu) == 73 and cpu["hardware_name"].str.contains("XEON", case=False).all()
    assert set(rows["hardware_platform"]) == {"cuda", "rocm", "tpu", "npu", "cpu"}
    assert "NVIDIA GeForce RTX 4090" not in set(rows["hardware_name"])  # open division only
