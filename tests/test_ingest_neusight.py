"""The NeuSight importer against a real DuckDB warehouse: label files, device and model configs, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from predictive_performance.ingest import IngestError, ingest_path
from predictive_performance.ingest.neusight import is_neusight, read_neusight
from predictive_performance.settings import SHARED_DATA_DIR
from tests.conftest import GOOD_ROWS, canonical_csv

NEUSIGHT_DIR = SHARED_DATA_DIR / "neusight"

LABELS = {  # device folder / file name -> label record
    "Tesla_T4/bert_large-inf-512-8.json": {"num_layer": 24, "e2e_latency": 750.5, "fw_latency": 750.5, "bwall_latency": 0},
    "Tesla_T4/bert_large-inf-512-8-fusion.json": {"num_layer": 24, "e2e_latency": 600.0, "fw_latency": 600.0, "bwall_latency": 0},
    "AMD_Instinct_MI100/gpt2_tiny-train-1024-2.json": {"num_layer": 2, "e2e_latency": 90.0, "fw_latency": 30.0, "bwall_latency": 60.0},
    "NVIDIA_A100-SXM4-40GB/gpt2_tiny-train-1024-8-tp4.json": {"num_layer": 0, "e2e_latency": 480.0, "fw_latency": 0, "bwall_latency": 0},
    "NVIDIA_A100-SXM4-40GB/gpt2_tiny-train-1024-4-pp4_1.json": {"num_layer": 0, "e2e_latency": 1600.0, "fw_latency": 0, "bwall_latency": 0},
    "Tesla_K80/bert_large-inf-128-1.json": {"num_layer": 24, "e2e_latency": 55.0, "fw_latency": 55.0, "bwall_latency": 0},
}
DEVICE_CONFIGS = {
    "Tesla_T4": {"Device": "Tesla T4", "Dev_Mem": 15, "Mem_Bw": 320, "Num_Sm": 40, "Core_Per_SM": 64, "Freq": 1590,
                 "SingleFLOPs": 8141, "L2Cache": 4},
    "AMD_Instinct_MI100": {"Device": "AMD Instinct MI100", "Dev_Mem": 32, "Mem_Bw": 1230, "Num_Sm": 120, "Core_Per_SM": 4,
                           "Freq": 1502, "SingleFLOPsMM": 46100, "SingleFLOPsVEC": 23100, "L2Cache": 8},
    "NVIDIA_A100-SXM4-40GB": {"Device": "NVIDIA A100-SXM4-40GB", "Dev_Mem": 40, "Mem_Bw": 1555, "Num_Sm": 108,
                              "Core_Per_SM": 64, "Freq": 1410, "SingleFLOPs": 19492, "L2Cache": 40},
    "Tesla_T4_TP": {"Device": "Tesla T4", "Dev_Mem": 30, "Mem_Bw": 640, "SingleFLOPs": 16282},  # a pair, not a device
}
MODEL_CONFIGS = {
    "bert_large": {"model_type": "bert", "hidden_size": 1024, "intermediate_size": 4096, "max_position_embeddings": 512,
                   "num_attention_heads": 16, "num_hidden_layers": 24, "type_vocab_size": 2, "vocab_size": 30522},
    "gpt2_tiny": {"model_type": "gpt2", "n_embd": 64, "n_head": 4, "n_layer": 2, "n_positions": 1024, "vocab_size": 1000},
}


def write_neusight(root: Path, labels: dict = LABELS, devices: dict = DEVICE_CONFIGS) -> Path:
    """A small copy of the NeuSight layout: label/<device>/<run>.json, device_configs/, model_configs/."""
    for relative, record in labels.items():
        path = root / "label" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record) if isinstance(record, dict) else record)
    for folder, configs in (("device_configs", devices), ("model_configs", MODEL_CONFIGS)):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for stem, config in configs.items():
            (root / folder / f"{stem}.json").write_text(json.dumps(config))
    return root


def test_labels_become_batch_latency_rows_and_configs_catalog_facts(warehouse, tmp_path):
    [report] = ingest_path(write_neusight(tmp_path / "neusight"), warehouse)

    assert (report.format, report.source, report.rows_accepted, report.rows_rejected) == ("neusight", "neusight", 6, 0)
    rows = warehouse.query("select * from raw.benchmark_results").set_index("source_file")
    assert rows.index.str.startswith("label/").all(), "files are named by their path in the source folder"
    rows.index = rows.index.str.rsplit("/", n=1).str[-1]
    t4 = rows.loc["bert_large-inf-512-8.json"]
    assert (t4["model_name"], t4["hardware_name"], t4["hardware_platform"]) == ("bert_large", "Tesla T4", "cuda")
    assert (t4["batch_size"], t4["num_devices"], t4["sequence_length"], t4["latency_ms"]) == (8, 1, 512, 750.5)
    assert (t4["precision"], t4["mode"], t4["workload"], t4["latency_kind"]) == ("fp32", "inference", "static_batch", "batch")
    assert not t4["compiled"] and pd.isna(t4["parallelism"]) and pd.isna(t4["throughput"])
    assert rows.loc["bert_large-inf-512-8-fusion.json", "compiled"], "-fusion is the compiled variant of the same run"
    training = rows.loc["gpt2_tiny-train-1024-2.json"]
    assert (training["mode"], training["hardware_platform"], training["latency_ms"]) == ("training", "rocm", 90.0)
    tensor = rows.loc["gpt2_tiny-train-1024-8-tp4.json"]
    assert (tensor["num_devices"], tensor["batch_size"], tensor["parallelism"]) == (4, 8, "tensor"), "every device sees all 8"
    pipeline = rows.loc["gpt2_tiny-train-1024-4-pp4_1.json"]
    assert (pipeline["num_devices"], pipeline["batch_size"], pipeline["parallelism"]) == (4, 1, "pipeline")
    assert rows.loc["bert_large-inf-128-1.json", "hardware_name"] == "Tesla K80", "no config: the folder name, spaced"

    devices = warehouse.query("select * from raw.catalog_hardware order by hardware_name")
    assert devices["hardware_name"].tolist() == ["AMD Instinct MI100", "NVIDIA A100-SXM4-40GB", "Tesla T4"]
    assert devices["vendor"].tolist() == ["AMD", "NVIDIA", "NVIDIA"]
    specs = warehouse.query("select hardware_name, spec, value from raw.catalog_hardware_specs").set_index(["hardware_name", "spec"])
    assert specs.loc[("Tesla T4", "peak_fp32_tflops"), "value"] == pytest.approx(8.141)
    assert specs.loc[("Tesla T4", "memory_bandwidth_gbs"), "value"] == 320, "the pair's _TP config is left out"
    assert specs.loc[("AMD Instinct MI100", "peak_fp32_tflops"), "value"] == pytest.approx(23.1), "vector FP32, not matrix"
    assert specs.loc[("AMD Instinct MI100", "cores_per_compute_unit"), "value"] == 4
    models = warehouse.query("select * from raw.catalog_models order by model_name")
    assert models[["model_name", "model_family", "model_type"]].values.tolist() == [
        ["bert_large", "bert", "text_embedding"], ["gpt2_tiny", "gpt2", "text_generation"]]
    model_specs = warehouse.query("select model_name, spec, value, source from raw.catalog_model_specs").set_index(["model_name", "spec"])
    # (1000 + 1024) x 64 embeddings + 2 layers x (4(64^2 + 64) + (64 x 256 + 256) + (256 x 64 + 64) + 4 x 64) + 2 x 64 final norm
    assert model_specs.loc[("gpt2_tiny", "parameters_million"), "value"] * 1e6 == pytest.approx(229_632)
    assert model_specs.loc[("gpt2_tiny", "parameters_million"), "source"].startswith("derived: ")
    assert model_specs.loc[("gpt2_tiny", "intermediate_size"), "value"] == 256, "n_inner unset: 4 x n_embd"
    assert model_specs.loc[("bert_large", "parameters_million"), "value"] == pytest.approx(335.141888)
    assert warehouse.query("select count(*) as n from raw.loads")["n"].tolist() == [1], "labels and configs are one load"


@pytest.mark.parametrize("part", ["", "label", "label/Tesla_T4", "label/Tesla_T4/bert_large-inf-512-8.json"])
def test_auto_detects_the_source_folder_and_its_parts(warehouse, tmp_path, part):
    root = write_neusight(tmp_path / "neusight")

    [report] = ingest_path(root / part, warehouse)

    assert report.format == "neusight"
    facts = warehouse.row_counts()["catalog_hardware"]
    assert facts == (3 if part == "" else 0), "only the source folder brings its configs along"


def test_other_files_are_not_claimed(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps([{"model_name": "bert"}]))
    benchmark = tmp_path / "TITAN V_half_model_inference_benchmark.csv"
    benchmark.write_text("resnet18\n3.0\n")

    assert not any(is_neusight(path) for path in (canonical_csv(tmp_path, GOOD_ROWS), tmp_path / "results.json", benchmark, tmp_path))


@pytest.mark.parametrize(
    ("labels", "devices", "expected"),
    [
        ({"Tesla_T4/bert_large-inf-512-8.json": {"e2e_latency": "fast"}}, DEVICE_CONFIGS,
         "label/Tesla_T4/bert_large-inf-512-8.json row 1, column latency_ms: not a number: 'fast'"),
        ({"Tesla_T4/bert_large-inf-512-8.json": {"fw_latency": 1.0}}, DEVICE_CONFIGS,
         "label/Tesla_T4/bert_large-inf-512-8.json row 1, column e2e_latency: missing field"),
        ({"Tesla_T4/bert_large-inf-512-8.json": "{not json"}, DEVICE_CONFIGS,
         "label/Tesla_T4/bert_large-inf-512-8.json row 1, column file: not valid JSON"),
        ({"Tesla_T4/bert_large-inf-512-8.json": LABELS["Tesla_T4/bert_large-inf-512-8.json"],
          "Tesla_T4/bert_large-inf-long-8.json": {"e2e_latency": 1.0}}, DEVICE_CONFIGS,
         "label/Tesla_T4/bert_large-inf-long-8.json row 1, column file name: does not read as"),
        ({"NVIDIA_A100-SXM4-40GB/gpt2_tiny-train-1024-6-dp4.json": {"e2e_latency": 1.0}}, DEVICE_CONFIGS,
         "label/NVIDIA_A100-SXM4-40GB/gpt2_tiny-train-1024-6-dp4.json row 1, column batch_size: global batch 6 does not divide over 4 devices"),
        (LABELS, {**DEVICE_CONFIGS, "Tesla_T4": {**DEVICE_CONFIGS["Tesla_T4"], "Mem_Bw": "fast"}},
         "device_configs/Tesla_T4.json row 1, column Mem_Bw: not a number: 'fast'"),
    ],
    ids=["wrong type", "missing field", "not json", "unparsed name", "indivisible batch", "bad device config"],
)
def test_a_malformed_file_is_refused_naming_file_row_and_column(warehouse, tmp_path, labels, devices, expected):
    ingest_path(write_neusight(tmp_path / "good"), warehouse)
    before = warehouse.row_counts()

    with pytest.raises(IngestError) as raised:
        ingest_path(write_neusight(tmp_path / "bad", labels, devices), warehouse)

    assert expected in str(raised.value)
    assert warehouse.row_counts() == before


@pytest.mark.skipif(not NEUSIGHT_DIR.is_dir(), reason="the shared NeuSight data sits outside the repository")
def test_the_published_labels_and_configs_read_whole():
    tables = read_neusight(NEUSIGHT_DIR)

    assert tables.rejects == [] and tables.skipped == 0
    rows = pd.concat(tables.results.values(), ignore_index=True)
    assert len(rows) == len(list(NEUSIGHT_DIR.glob("label/*/*.json"))) == 74
    assert rows.groupby("hardware_name").size().to_dict() == {
        "AMD Instinct MI100": 11, "AMD Instinct MI210": 16, "NVIDIA A100-PCIE-40GB": 18, "NVIDIA A100-SXM4-40GB": 3,
        "Tesla P100-PCIE-16GB": 5, "Tesla P4": 3, "Tesla T4": 5, "Tesla V100-PCIE-32GB": 13,
    }
    assert set(rows.loc[rows["hardware_name"].str.startswith("AMD"), "hardware_platform"]) == {"rocm"}
    parallel = rows.loc[rows["num_devices"] > 1]
    assert sorted(parallel["parallelism"]) == ["data", "pipeline", "tensor"]
    assert parallel.set_index("parallelism")["batch_size"].to_dict() == {"data": 1, "pipeline": 1, "tensor": 4}
    assert rows["compiled"].sum() == 4 and set(rows.loc[rows["compiled"], "hardware_name"]) == {"NVIDIA A100-PCIE-40GB"}
    catalog = tables.catalog
    assert len(catalog.hardware) == 12, "13 configs, one of them a tensor-parallel pair"
    parameters = catalog.model_specs.loc[catalog.model_specs["spec"] == "parameters_million"].set_index("model_name")["value"]
    # the counts Hugging Face transformers reports for the models built from these configs
    assert (parameters[["bert_large", "gpt2_large", "opt_13", "gpt3_xl", "switchxl4"]] * 1e6).round().tolist() == [
        335_141_888, 774_030_080, 1_315_758_080, 2_879_554_560, 5_267_615_744]
