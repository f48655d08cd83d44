"""The hardware catalog seeds hold what the roofline features and the importers rely on.

Read straight from the seed CSVs (no dbt): every device carries the specs the marts require, every
figure cites a source, the peak rates are ordered as the hardware orders them, the aliases are
unambiguous, and each public source's own device spellings resolve through ``NameResolver``.
"""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from predictive_performance.names import SEEDS_DIR, NameResolver, name_key
from predictive_performance.settings import DBT_PROJECT_DIR

REQUIRED_SPECS = ("memory_gb", "memory_bandwidth_gbs", "peak_fp32_tflops", "tdp_w")
# Required specs with no public figure, as dbt/seeds/_seeds.yml (hardware_specs) documents.
UNPUBLISHED = {
    "UntetherAI speedAI240 Slim": {"memory_bandwidth_gbs", "peak_fp32_tflops"},
    "UntetherAI speedAI240 Preview": {"memory_bandwidth_gbs", "peak_fp32_tflops"},
}
# Architectures with tensor / matrix cores, where the FP16 rate is at least the FP32 one.
TENSOR_CORE_ARCHITECTURES = {"Volta", "Turing", "Ampere", "Ada Lovelace", "Hopper", "Blackwell", "CDNA", "CDNA 2", "CDNA 3"}
GPU_CLASSES = {"datacenter_gpu", "workstation_gpu", "consumer_gpu", "embedded_soc"}
# (lower rate, higher rate): a device that has both never has the first above the second, beyond
# the rounding of figures derived from one another (GeForce TF32 equals its FP32 rate).
ROUNDING = 1.001
ORDERED_RATES = (
    ("peak_fp16_tflops", "peak_fp8_tflops"),
    ("peak_fp8_tflops", "peak_fp4_tflops"),
    ("peak_fp32_tflops", "peak_tf32_tflops"),
    ("peak_tf32_tflops", "peak_fp16_tflops"),
)


def read_seed(name: str) -> pd.DataFrame:
    return pd.read_csv(SEEDS_DIR / f"{name}.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def devices() -> pd.DataFrame:
    return read_seed("hardware_devices")


@pytest.fixture(scope="module")
def specs() -> pd.DataFrame:
    frame = read_seed("hardware_specs")
    return frame.assign(value=frame["value"].astype(float))


@pytest.fixture(scope="module")
def wide(specs: pd.DataFrame, devices: pd.DataFrame) -> pd.DataFrame:
    """One row per device, one column per spec (what stg_catalog__hardware pivots)."""
    pivot = specs.pivot(index="hardware_name", columns="spec", values="value")
    return devices.set_index("hardware_name").join(pivot)


def test_every_device_has_the_specs_the_marts_require(devices, wide):
    assert devices["hardware_name"].is_unique
    missing = {
        name: {spec for spec in REQUIRED_SPECS if pd.isna(row[spec])}
        for name, row in wide.iterrows()
        if any(pd.isna(row[spec]) for spec in REQUIRED_SPECS)
    }
    assert missing == UNPUBLISHED
    years = pd.to_numeric(devices["release_year"], errors="coerce")
    assert years.between(2010, 2030).all(), devices.loc[~years.between(2010, 2030), "hardware_name"].tolist()


def test_every_figure_is_a_known_spec_of_a_known_device_with_a_source(devices, specs):
    spec_names = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]["hardware_spec_names"]
    assert set(specs["spec"]) <= set(spec_names)
    assert set(specs["hardware_name"]) <= set(devices["hardware_name"])
    assert not specs.duplicated(["hardware_name", "spec"]).any()
    assert (specs["value"] > 0).all()
    for frame in (specs, devices):
        unsourced = frame.loc[frame["source"].str.strip() == "", "hardware_name"]
        assert unsourced.empty, unsourced.tolist()


def test_peak_rates_are_ordered_as_the_hardware_orders_them(wide):
    tensor_gpus = wide[wide["device_class"].isin(GPU_CLASSES) & wide["architecture"].isin(TENSOR_CORE_ARCHITECTURES)]
    slower_fp16 = tensor_gpus[tensor_gpus["peak_fp16_tflops"] < tensor_gpus["peak_fp32_tflops"]]
    assert slower_fp16.index.tolist() == []
    for lower, higher in ORDERED_RATES:
        both = wide.dropna(subset=[lower, higher])
        assert not both.empty, (lower, higher)
        assert both.index[both[lower] > both[higher] * ROUNDING].tolist() == [], (lower, higher)


def test_new_precisions_are_filled_where_the_hardware_has_them(wide):
    gpus = wide[wide["device_class"].isin(GPU_CLASSES - {"embedded_soc"})]
    assert gpus.index[gpus["peak_fp64_tflops"].isna()].tolist() == []
    for architectures, spec in (
        ({"Ampere", "Ada Lovelace", "Hopper", "Blackwell", "CDNA 2", "CDNA 3"}, "peak_tf32_tflops"),
        ({"Ada Lovelace", "Hopper", "Blackwell", "CDNA 3"}, "peak_fp8_tflops"),
        ({"Blackwell"}, "peak_fp4_tflops"),
    ):
        having = gpus[gpus["architecture"].isin(architectures)]
        assert having.index[having[spec].isna()].tolist() == [], spec


def test_aliases_are_normalised_unambiguous_and_point_at_catalog_devices(devices):
    aliases = read_seed("hardware_aliases")
    assert (aliases["alias"] == aliases["alias"].map(name_key)).all()
    assert set(aliases["hardware_name"]) <= set(devices["hardware_name"])
    targets = aliases.assign(key=aliases["alias"].map(name_key)).groupby("key")["hardware_name"].nunique()
    assert targets[targets > 1].index.tolist() == []
    # an alias never names another catalog device than the one whose own name it spells
    own = {name_key(name): name for name in devices["hardware_name"]}
    clashes = aliases[aliases["alias"].map(own).fillna(aliases["hardware_name"]) != aliases["hardware_name"]]
    assert clashes.empty, clashes.values.tolist()


@pytest.mark.parametrize(
    ("raw", "device"),
    [
        # NeuSight: label folders and device_configs "Device"
        ("Tesla_P4", "NVIDIA Tesla P4"),
        ("Tesla P100-PCIE-16GB", "NVIDIA Tesla P100 PCIe 16GB"),
        ("Tesla_T4", "NVIDIA T4"),
        ("Tesla V100-PCIE-32GB", "NVIDIA Tesla V100 PCIe 32GB"),
        ("NVIDIA_A100-SXM4-40GB", "NVIDIA A100 40GB SXM4"),
        ("NVIDIA A100-PCIE-40GB", "NVIDIA A100 40GB PCIe"),
        ("NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB SXM5"),
        ("AMD_Instinct_MI210", "AMD Instinct MI210"),
        ("AMD Instinct MI250", "AMD Instinct MI250"),
        # pytorch-gpu-benchmark file names
        ("GeForce GTX 1080 Ti", "NVIDIA GeForce GTX 1080 Ti"),
        ("TITAN V", "NVIDIA TITAN V"),
        ("TITAN Xp", "NVIDIA TITAN Xp"),
        ("TITAN RTX", "NVIDIA TITAN RTX"),
        ("GeForce RTX 2080 Ti", "NVIDIA GeForce RTX 2080 Ti"),
        ("A100-SXM4-40GB", "NVIDIA A100 40GB SXM4"),
        # ML.ENERGY
        ("H100", "NVIDIA H100 80GB SXM5"),
        ("A40", "NVIDIA A40"),
        # MLPerf Inference v4.1 Accelerator strings
        ("AMD Instinct MI300X-NPS1-SPX-192GB-750W", "AMD Instinct MI300X"),
        ("AMD MI300X-NPS1-SPX-192GB-750W", "AMD Instinct MI300X"),
        ("NVIDIA B200-SXM-180GB", "NVIDIA B200 180GB SXM"),
        ("NVIDIA GH200 Grace Hopper Superchip 144GB", "NVIDIA GH200 144GB"),
        ("NVIDIA GH200 Grace Hopper Superchip 96GB", "NVIDIA GH200 96GB"),
        ("NVIDIA H100-SXM-80GB", "NVIDIA H100 80GB SXM5"),
        ("NVIDIA H100-PCIe-80GB", "NVIDIA H100 80GB PCIe"),
        ("NVIDIA H100-NVL-94GB", "NVIDIA H100 NVL 94GB"),
        ("NVIDIA H200-SXM-141GB-CTS", "NVIDIA H200 141GB SXM"),
        ("NVIDIA Jetson AGX Orin 64G", "NVIDIA Jetson AGX Orin 64GB"),
        ("NVIDIA RTX A5000 GPU", "NVIDIA RTX A5000"),
        ("NVIDIA GeForce RTX 4090", "NVIDIA GeForce RTX 4090"),
        ("Tesla T4", "NVIDIA T4"),
        ("TPU v5e", "Google TPU v5e"),
        ("TPU v6", "Google TPU v6e"),
        ("UntetherAI speedAI240 Slim", "UntetherAI speedAI240 Slim"),
        ("UntetherAI speedAI240 Preview", "UntetherAI speedAI240 Preview"),
        # MLPerf CPU-only Processor strings
        ("INTEL(R) XEON(R) PLATINUM 8592+", "Intel Xeon Platinum 8592+"),
        ("INTEL(R) XEON(R) 6980P", "Intel Xeon 6980P"),
        ("Intel(R) Xeon(R) Gold 6240R CPU @ 2.40GHz", "Intel Xeon Gold 6240R"),
        ("Intel(R) Xeon(R) w7-2495X", "Intel Xeon w7-2495X"),
        ("AMD Ryzen 9 7950X 16-Core Processor", "AMD Ryzen 9 7950X"),
        ("AMD Ryzen 5 5500U with Radeon Graphics", "AMD Ryzen 5 5500U"),
    ],
)
def test_each_sources_own_device_names_resolve(raw, device):
    assert NameResolver().device(raw) == device


def test_unknown_and_multi_device_spellings_do_not_resolve():
    resolver = NameResolver()
    assert resolver.device("NVIDIA_H100_80GB_HBM3_TP") is None  # NeuSight's 2-GPU pseudo-device
