"""Hardware detection: this machine's CPU, the runtimes it can run, catalog mapping rules."""

from __future__ import annotations

import pytest

from predictive_performance.benchmark.energy import EnergyMeter, rapl_domains
from predictive_performance.benchmark.hardware import (
    amd_microarchitecture,
    cpu_catalog_name,
    detect_hardware,
    gpu_catalog_name,
    openvino_capabilities,
)


@pytest.fixture(scope="module")
def hardware():
    return detect_hardware()


def test_detects_this_cpu(hardware):
    cpu = hardware.cpu
    assert cpu.vcpus >= 1
    assert cpu.memory_gb > 0
    assert cpu.model_name
    assert str(cpu.vcpus) in hardware.description and cpu.model_name in hardware.description
    # the catalog name is exactly what the rules give for what was read
    expected, _ = cpu_catalog_name(cpu.vendor, cpu.model_name, cpu.family, cpu.model, cpu.stepping, cpu.vcpus)
    assert cpu.catalog_name == expected
    assert cpu.hardware_name == (expected or cpu.model_name)


def test_the_reference_machine_maps_to_its_catalog_entry():
    """What this project's VM reports (lscpu: AuthenticAMD "AMD EPYC", family 26 model 2, 2 vCPUs)."""
    assert cpu_catalog_name("AuthenticAMD", "AMD EPYC", 26, 2, 1, 2) == ("AMD EPYC Zen 5 (2 vCPU)", "Zen 5")


def test_a_cpu_the_rules_do_not_know_is_reported_not_guessed():
    assert cpu_catalog_name("AuthenticAMD", "AMD Ryzen 7 7840U", 25, 116, 1, 16)[0] is None
    assert cpu_catalog_name("SomeVendor", "Mystery CPU", None, None, None, 4) == (None, None)


def test_cpu_platforms_with_installed_runtimes(hardware):
    pytest.importorskip("torch")
    cpu = hardware.platform("cpu")
    assert cpu.available and {"fp32", "bf16"} <= set(cpu.precisions)
    assert cpu.cores == hardware.cpu.vcpus
    assert cpu.hardware_name == hardware.cpu.hardware_name
    assert cpu.runtime.startswith("torch ")
    assert hardware.supports("cpu", "fp32")
    assert not hardware.supports("cpu", "int4")
    assert hardware.unsupported_reason("cpu", "fp32") is None
    assert hardware.unsupported_reason("cpu", "int4").endswith("not int4")
    assert hardware.hardware_name_for("cpu") == hardware.cpu.hardware_name


def test_platforms_the_runner_cannot_drive_say_why(hardware):
    assert "the local runner does not drive it" in hardware.unsupported_reason("webgpu", "fp32")
    assert hardware.hardware_name_for("webgpu") == hardware.cpu.hardware_name  # rows fall back to the CPU's name


def test_onnxruntime_platform(hardware):
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    info = hardware.platform("onnxruntime")
    assert info.available and info.precisions == ("fp32", "int8")
    assert info.catalog_entry == hardware.cpu.catalog_name


def test_openvino_platform(hardware):
    pytest.importorskip("torch")
    pytest.importorskip("openvino")
    info = hardware.platform("openvino")
    assert info.available and "fp32" in info.precisions
    if hardware.cpu.has_bf16:
        assert "bf16" in info.precisions


def test_accelerators_reported_not_guessed(hardware):
    for name in ("cuda", "rocm", "mps"):
        info = hardware.platform(name)
        if info.available:
            assert info.device_name
            assert info.catalog_entry is None or info.catalog_entry == gpu_catalog_name(info.device_name)
        else:
            assert info.reason
    summary = hardware.summary()
    assert "Platforms:" in summary and hardware.cpu.model_name in summary
    assert set(hardware.available_platforms) <= {"cpu", "onnxruntime", "openvino", "cuda", "rocm", "mps"}


def test_detect_hardware_verbose_prints(capsys):
    detect_hardware(verbose=True)
    assert "Platforms:" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("vendor", "name", "family", "model", "stepping", "vcpus", "expected"),
    [
        ("AuthenticAMD", "AMD EPYC", 26, 2, 1, 2, "AMD EPYC Zen 5 (2 vCPU)"),
        ("AuthenticAMD", "AMD EPYC 9654 96-Core Processor", 25, 0x11, 1, 8, "AMD EPYC Zen 4 (8 vCPU)"),
        ("AuthenticAMD", "AMD EPYC 7763 64-Core Processor", 25, 0x01, 1, 4, "AMD EPYC Zen 3 (4 vCPU)"),
        ("AuthenticAMD", "AMD EPYC 7B12", 23, 0x31, 0, 2, "AMD EPYC Zen 2 (2 vCPU)"),
        (
            "GenuineIntel",
            "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz",
            6,
            0x8F,
            8,
            4,
            "Intel Xeon Sapphire Rapids (4 vCPU)",
        ),
        ("GenuineIntel", "Intel(R) Xeon(R) CPU @ 2.20GHz", 6, 0x55, 7, 2, "Intel Xeon Cascade Lake (2 vCPU)"),
        # not recognised: reported as unknown, never guessed
        ("AuthenticAMD", "AMD Ryzen 9 7950X 16-Core Processor", 25, 0x61, 2, 32, None),
        ("GenuineIntel", "Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz", 6, 0x9E, 10, 12, None),
        ("GenuineIntel", "Intel(R) Xeon(R) Future", 6, 0xFF, 0, 2, None),
        ("HygonGenuine", "Hygon C86 7185 32-core Processor", 24, 1, 1, 2, None),
        ("ARM", "Neoverse-V2", None, None, None, 4, None),
    ],
)
def test_cpu_catalog_rules(vendor, name, family, model, stepping, vcpus, expected):
    assert cpu_catalog_name(vendor, name, family, model, stepping, vcpus)[0] == expected


def test_zen_ranges():
    assert amd_microarchitecture(0x19, 0xA0) == "Zen 4"
    assert amd_microarchitecture(0x19, 0x90) is None  # a range no rule covers stays unknown
    assert amd_microarchitecture(0x1A, 0x44) == "Zen 5"


def test_gpu_names():
    assert gpu_catalog_name("NVIDIA H200") == "NVIDIA H200"
    assert gpu_catalog_name("NVIDIA A100-SXM4-80GB") == "NVIDIA A100 80GB SXM4"
    assert gpu_catalog_name("Imaginary GPU 9000") is None


def test_openvino_capabilities_from_flags():
    assert openvino_capabilities(frozenset({"avx2", "avx512_bf16"})) >= {"FP32", "BF16", "INT8"}
    assert "BF16" not in openvino_capabilities(frozenset({"avx2"}))


def test_no_rapl_means_no_power(tmp_path):
    meter = EnergyMeter(root=tmp_path / "missing")
    meter.start()
    meter.stop()
    assert not meter.available and meter.power_w is None


def test_rapl_counter_is_read_with_wraparound(tmp_path):
    zone = tmp_path / "intel-rapl:0"
    zone.mkdir()
    (zone / "name").write_text("package-0\n")
    (zone / "energy_uj").write_text("999000000\n")
    (zone / "max_energy_range_uj").write_text("1000000000\n")
    sub = tmp_path / "intel-rapl:0:0"  # a sub-zone (core) is part of the package: not added twice
    sub.mkdir()
    (sub / "energy_uj").write_text("5\n")
    assert [d.name for d in rapl_domains(tmp_path)] == ["package-0"]
    meter = EnergyMeter(root=tmp_path)
    meter.start()
    (zone / "energy_uj").write_text("4000000\n")  # wrapped: 1,000,000 + 4,000,000 uJ = 5 J
    meter.stop()
    assert meter.joules == pytest.approx(5.0)
    assert meter.power_w is not None and meter.power_w > 0
