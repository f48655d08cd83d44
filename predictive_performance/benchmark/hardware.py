"""What this machine can benchmark on, and which catalog entry each device is.

``detect_hardware()`` looks at the CPU (``/proc/cpuinfo``, ``lscpu``), memory, and the runtimes
that are installed (PyTorch, ONNX Runtime, OpenVINO; CUDA, ROCm and Apple MPS through PyTorch
where present). A device is mapped to a hardware-catalog name by explicit rules (vendor, CPU
family and model numbers, vCPU count); a device no rule recognises is reported as unknown, with
its raw name, and never guessed.
"""

from __future__ import annotations

import csv
import functools
import os
import platform as _platform
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

# Platforms of schema.PLATFORMS that the local runner can drive.
RUNNER_PLATFORMS = ("cpu", "onnxruntime", "openvino", "cuda", "rocm", "mps")


@dataclass(frozen=True)
class CpuInfo:
    vendor: str  # vendor_id: AuthenticAMD, GenuineIntel, ...
    model_name: str  # the raw "model name" string
    family: int | None
    model: int | None
    stepping: int | None
    vcpus: int  # logical CPUs this process may run on
    memory_gb: float
    flags: frozenset[str]
    hypervisor: str | None  # "KVM", ... ; None on bare metal
    microarchitecture: str | None  # "Zen 5", "Sapphire Rapids", ... ; None when not recognised
    catalog_name: str | None  # the hardware-catalog name, None when not recognised

    @property
    def known(self) -> bool:
        return self.catalog_name is not None

    @property
    def hardware_name(self) -> str:
        """What results are recorded under: the catalog name, else the raw model string."""
        return self.catalog_name or self.model_name

    @property
    def has_bf16(self) -> bool:
        return bool({"avx512_bf16", "amx_bf16"} & self.flags)

    @property
    def has_vnni(self) -> bool:
        return bool({"avx512_vnni", "avx_vnni", "amx_int8"} & self.flags)


@dataclass(frozen=True)
class PlatformInfo:
    """One platform the runner knows: whether it can run here, on what, and with what."""

    platform: str
    available: bool
    device_name: str | None = None
    hardware_name: str | None = None  # catalog name when known, else the raw device name
    catalog_entry: str | None = None  # None: the device is not recognised (unknown)
    vendor: str | None = None  # "AMD", "Intel", "NVIDIA", "Apple"; what a catalog entry for it would say
    architecture: str | None = None  # "Zen 5", "Hopper", "gfx90a", ... ; None when detection cannot tell
    cores: int | None = None  # vCPUs for CPU runtimes, SMs / compute units for GPUs
    memory_gb: float | None = None
    runtime: str | None = None  # e.g. "torch 2.13.0"
    precisions: tuple[str, ...] = ()
    reason: str | None = None  # why it is not available

    @property
    def known(self) -> bool:
        return self.catalog_entry is not None


@dataclass(frozen=True)
class HardwareInfo:
    cpu: CpuInfo
    platforms: tuple[PlatformInfo, ...]
    os: str
    description: str  # one line about the machine, stored with every measured row
    in_catalog: dict[str, bool | None] = field(
        default_factory=dict
    )  # name -> found in the catalog seed (None: no seed)

    @property
    def available_platforms(self) -> list[str]:
        return [p.platform for p in self.platforms if p.available]

    @property
    def unknown_devices(self) -> list[str]:
        return sorted({p.device_name for p in self.platforms if p.available and not p.known and p.device_name})

    def missing_from_catalog(self, info: PlatformInfo) -> bool:
        """True for a device no rule names, or one a rule names that the catalog seed lacks."""
        return not info.known or self.in_catalog.get(info.catalog_entry) is False

    def platform(self, name: str) -> PlatformInfo:
        for info in self.platforms:
            if info.platform == name:
                return info
        raise KeyError(f"unknown platform {name!r}; the runner knows {', '.join(RUNNER_PLATFORMS)}")

    def supports(self, platform: str, precision: str) -> bool:
        try:
            info = self.platform(platform)
        except KeyError:
            return False
        return info.available and precision in info.precisions

    def unsupported_reason(self, platform: str, precision: str) -> str | None:
        """Why this machine cannot run ``platform`` at ``precision``, or None where it can."""
        if self.supports(platform, precision):
            return None
        try:
            info = self.platform(platform)
        except KeyError:
            return f"platform {platform!r} is not available on this machine (the local runner does not drive it)"
        if not info.available:
            return f"platform {platform!r} is not available on this machine ({info.reason})"
        return f"{platform} on this machine runs {', '.join(info.precisions)}, not {precision}"

    def hardware_name_for(self, platform: str) -> str:
        """The catalog name a row measured on ``platform`` carries: its device's, else the CPU's."""
        try:
            name = self.platform(platform).hardware_name
        except KeyError:
            name = None
        return name or self.cpu.hardware_name

    def summary(self) -> str:
        cpu = self.cpu
        lines = [
            f"Machine: {self.description}",
            f"CPU: {cpu.model_name!r} ({cpu.vendor}, family {cpu.family}, model {cpu.model}) -> "
            + (f"catalog {cpu.catalog_name!r}" if cpu.known else "UNKNOWN to the hardware catalog rules"),
            "Platforms:",
        ]
        for info in self.platforms:
            if info.available:
                entry = info.catalog_entry or "unknown device (no catalog entry)"
                lines.append(
                    f"  {info.platform:<12} yes  {info.device_name} | {info.cores} cores | "
                    f"{info.memory_gb:.1f} GB | {info.runtime} | precisions {', '.join(info.precisions)} | catalog: {entry}"
                )
            else:
                lines.append(f"  {info.platform:<12} no   ({info.reason})")
        if self.unknown_devices:
            lines.append("Unknown devices (reported, not guessed): " + ", ".join(self.unknown_devices))
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# CPU -> catalog rules
# --------------------------------------------------------------------------------------------


def amd_microarchitecture(family: int | None, model: int | None) -> str | None:
    """Zen generation from the CPUID family/model numbers (AMD's published ranges)."""
    if family == 0x17:
        if model is None:
            return None
        return "Zen 2" if model >= 0x30 else ("Zen+" if model >= 0x08 else "Zen")
    if family == 0x19:
        if model is None:
            return None
        if model <= 0x0F or 0x20 <= model <= 0x5F:
            return "Zen 3"
        if 0x10 <= model <= 0x1F or 0x60 <= model <= 0x7F or 0xA0 <= model <= 0xAF:
            return "Zen 4"
        return None
    if family == 0x1A:
        return "Zen 5"
    return None


# Intel family 6 server models (Intel's published model numbers).
_INTEL_XEON_MODELS: dict[int, str] = {
    0x4F: "Broadwell",
    0x55: "Skylake",  # stepping >= 5 is Cascade Lake, >= 10 Cooper Lake (see below)
    0x6A: "Ice Lake",
    0x6C: "Ice Lake",
    0x8F: "Sapphire Rapids",
    0xCF: "Emerald Rapids",
    0xAD: "Granite Rapids",
    0xAE: "Granite Rapids",
    0xAF: "Sierra Forest",
}


def intel_microarchitecture(family: int | None, model: int | None, stepping: int | None) -> str | None:
    if family != 6 or model is None:
        return None
    name = _INTEL_XEON_MODELS.get(model)
    if name == "Skylake" and stepping is not None:
        if stepping >= 10:
            return "Cooper Lake"
        if stepping >= 5:
            return "Cascade Lake"
    return name


def cpu_catalog_name(
    vendor: str, model_name: str, family: int | None, model: int | None, stepping: int | None, vcpus: int
) -> tuple[str | None, str | None]:
    """(catalog name, microarchitecture) for server CPUs the rules know, else (None, arch-or-None).

    The catalog names cloud CPUs by vendor line, microarchitecture and vCPU count, e.g.
    ``AMD EPYC Zen 5 (2 vCPU)``: what a VM sees is a slice of a server part, and a VM often does not
    show the SKU (this one reports only "AMD EPYC").
    """
    text = model_name.lower()
    if vendor == "AuthenticAMD":
        arch = amd_microarchitecture(family, model)
        if arch and "epyc" in text:
            return f"AMD EPYC {arch} ({vcpus} vCPU)", arch
        return None, arch
    if vendor == "GenuineIntel":
        arch = intel_microarchitecture(family, model, stepping)
        if arch and "xeon" in text:
            return f"Intel Xeon {arch} ({vcpus} vCPU)", arch
        return None, arch
    return None, None


# --------------------------------------------------------------------------------------------
# Reading the machine
# --------------------------------------------------------------------------------------------


def _read_cpuinfo(path: Path = Path("/proc/cpuinfo")) -> dict[str, str]:
    fields: dict[str, str] = {}
    try:
        text = path.read_text()
    except OSError:
        return fields
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break  # the first processor is enough
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def _lscpu() -> dict[str, str]:
    if not shutil.which("lscpu"):
        return {}
    try:
        output = subprocess.run(
            ["lscpu"], capture_output=True, text=True, timeout=10, env={**os.environ, "LC_ALL": "C"}
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    fields = {}
    for line in output.splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def _int(value: str | None) -> int | None:
    try:
        return int(value, 0) if value is not None and value.startswith("0x") else int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _vcpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _memory_gb() -> float:
    try:
        import psutil

        return psutil.virtual_memory().total / 2**30
    except ImportError:
        pass
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return float("nan")


def _os_name() -> str:
    pretty = None
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                pretty = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    kernel = f"{_platform.system()} {_platform.release()}"
    return f"{pretty}, {kernel}" if pretty else kernel


def detect_cpu() -> CpuInfo:
    info = _read_cpuinfo()
    lscpu = _lscpu()
    vendor = info.get("vendor_id") or lscpu.get("Vendor ID") or _platform.processor() or "unknown"
    model_name = info.get("model name") or lscpu.get("Model name") or _platform.processor() or "unknown CPU"
    family = _int(info.get("cpu family") or lscpu.get("CPU family"))
    model = _int(info.get("model") or lscpu.get("Model"))
    stepping = _int(info.get("stepping") or lscpu.get("Stepping"))
    flags = frozenset((info.get("flags") or lscpu.get("Flags") or "").split())
    vcpus = _vcpus()
    hypervisor = lscpu.get("Hypervisor vendor") or ("unknown hypervisor" if "hypervisor" in flags else None)
    catalog, arch = cpu_catalog_name(vendor, model_name, family, model, stepping, vcpus)
    return CpuInfo(
        vendor=vendor,
        model_name=model_name,
        family=family,
        model=model,
        stepping=stepping,
        vcpus=vcpus,
        memory_gb=_memory_gb(),
        flags=flags,
        hypervisor=hypervisor,
        microarchitecture=arch,
        catalog_name=catalog,
    )


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def runtime_version(package: str) -> str | None:
    """``"torch 2.13.0"`` (local build tags such as ``+cpu`` dropped), or None when not installed."""
    version = _version(package)
    return f"{package} {version.split('+')[0]}" if version else None


# CPUID vendor ids -> the vendor names the catalog uses.
_CPU_VENDORS = {"AuthenticAMD": "AMD", "GenuineIntel": "Intel"}


def _cpu_platforms(cpu: CpuInfo) -> list[PlatformInfo]:
    common = dict(
        device_name=cpu.model_name,
        hardware_name=cpu.hardware_name,
        catalog_entry=cpu.catalog_name,
        vendor=_CPU_VENDORS.get(cpu.vendor, cpu.vendor),
        architecture=cpu.microarchitecture,
        cores=cpu.vcpus,
        memory_gb=cpu.memory_gb,
    )
    platforms = []
    torch_version = runtime_version("torch")
    if torch_version:
        precisions = ["fp32", "bf16"]
        if _torch_quantized_engine():
            precisions.append("int8")
        platforms.append(PlatformInfo("cpu", True, runtime=torch_version, precisions=tuple(precisions), **common))
    else:
        platforms.append(
            PlatformInfo("cpu", False, reason="PyTorch is not installed (pip install 'perfpredict[bench]')")
        )
    ort_version = runtime_version("onnxruntime")
    if ort_version and torch_version:
        platforms.append(PlatformInfo("onnxruntime", True, runtime=ort_version, precisions=("fp32", "int8"), **common))
    else:
        missing = "onnxruntime" if not ort_version else "PyTorch (to export the ONNX graph)"
        platforms.append(PlatformInfo("onnxruntime", False, reason=f"{missing} is not installed"))
    ov_version = runtime_version("openvino")
    if ov_version and torch_version:
        capabilities = openvino_capabilities(cpu.flags)
        precisions = ["fp32"]
        if "BF16" in capabilities:
            precisions.append("bf16")
        if "FP16" in capabilities:
            precisions.append("fp16")
        if "INT8" in capabilities and _version("nncf"):
            precisions.append("int8")
        platforms.append(PlatformInfo("openvino", True, runtime=ov_version, precisions=tuple(precisions), **common))
    else:
        missing = "openvino" if not ov_version else "PyTorch (to export the ONNX graph)"
        platforms.append(PlatformInfo("openvino", False, reason=f"{missing} is not installed"))
    return platforms


@functools.lru_cache(maxsize=1)
def _torch_quantized_engine() -> str | None:
    try:
        import torch
    except ImportError:
        return None
    engines = [e for e in torch.backends.quantized.supported_engines if e != "none"]
    for preferred in ("x86", "fbgemm", "onednn", "qnnpack"):
        if preferred in engines:
            return preferred
    return engines[0] if engines else None


def openvino_capabilities(flags: frozenset[str]) -> frozenset[str]:
    """What OpenVINO's CPU plugin can use on a CPU with these flags (its OPTIMIZATION_CAPABILITIES).

    Worked out from the CPU flags instead of asking the plugin: loading OpenVINO's CPU plugin
    into the process only to ask would cost time and memory before any measurement.
    """
    capabilities = {"FP32"}
    if "avx512_bf16" in flags or "amx_bf16" in flags:
        capabilities.add("BF16")
    if "avx512_fp16" in flags or "amx_fp16" in flags:
        capabilities.add("FP16")
    if "sse4_2" in flags or "avx2" in flags:
        capabilities.add("INT8")
    return frozenset(capabilities)


# Accelerator names -> catalog names. Only exact, known spellings: anything else is unknown.
_GPU_CATALOG_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"^(NVIDIA )?H200( NVL)?$", "NVIDIA H200"),
    (r"^(NVIDIA )?H100 80GB HBM3$", "NVIDIA H100 80GB SXM5"),
    (r"^(NVIDIA )?H100 PCIe$", "NVIDIA H100 80GB PCIe"),
    (r"^(NVIDIA )?A100-SXM4-80GB$", "NVIDIA A100 80GB SXM4"),
    (r"^(NVIDIA )?A100-SXM4-40GB$", "NVIDIA A100 40GB SXM4"),
    (r"^(NVIDIA )?A100 80GB PCIe$", "NVIDIA A100 80GB PCIe"),
    (r"^(NVIDIA )?L4$", "NVIDIA L4"),
    (r"^(NVIDIA )?L40S$", "NVIDIA L40S"),
    (r"^Tesla T4$", "NVIDIA T4"),
    (r"^Tesla V100-SXM2-(16|32)GB$", "NVIDIA V100 SXM2"),
    (r"^(NVIDIA )?A10G?$", "NVIDIA A10"),
)


# CUDA compute capability -> NVIDIA architecture (NVIDIA's CUDA programming guide table).
_CUDA_ARCHITECTURES: dict[tuple[int, int], str] = {
    (7, 0): "Volta",
    (7, 2): "Volta",
    (7, 5): "Turing",
    (8, 0): "Ampere",
    (8, 6): "Ampere",
    (8, 7): "Ampere",
    (8, 9): "Ada Lovelace",
    (9, 0): "Hopper",
    (10, 0): "Blackwell",
    (12, 0): "Blackwell",
}


def gpu_architecture(properties, is_rocm: bool) -> str | None:
    """NVIDIA's architecture name from the compute capability; on ROCm the gfx target as the driver names it."""
    if is_rocm:
        target = getattr(properties, "gcnArchName", None)
        return target.split(":")[0] if target else None
    return _CUDA_ARCHITECTURES.get((properties.major, properties.minor))


def gpu_catalog_name(device_name: str) -> str | None:
    for pattern, name in _GPU_CATALOG_PATTERNS:
        if re.match(pattern, device_name.strip()):
            return name
    return None


def _accelerator_platforms() -> list[PlatformInfo]:
    platforms: list[PlatformInfo] = []
    torch_version = runtime_version("torch")
    if not torch_version:
        reason = "PyTorch is not installed"
        return [PlatformInfo(name, False, reason=reason) for name in ("cuda", "rocm", "mps")]
    import torch

    is_rocm = getattr(torch.version, "hip", None) is not None
    gpu_platform = "rocm" if is_rocm else "cuda"
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            properties = torch.cuda.get_device_properties(index)
            name = properties.name
            catalog = gpu_catalog_name(name)
            precisions = ["fp32", "fp16", "amp"]
            if torch.cuda.is_bf16_supported():
                precisions.insert(2, "bf16")
            platforms.append(
                PlatformInfo(
                    gpu_platform,
                    True,
                    device_name=name,
                    hardware_name=catalog or name,
                    catalog_entry=catalog,
                    vendor="AMD" if is_rocm else "NVIDIA",
                    architecture=gpu_architecture(properties, is_rocm),
                    cores=properties.multi_processor_count,
                    memory_gb=properties.total_memory / 2**30,
                    runtime=torch_version,
                    precisions=tuple(precisions),
                )
            )
            break  # the runner measures on device 0; more devices are listed by the driver
    else:
        platforms.append(
            PlatformInfo(gpu_platform, False, reason=f"no {gpu_platform.upper()} device visible to PyTorch")
        )
    other = "cuda" if is_rocm else "rocm"
    platforms.append(PlatformInfo(other, False, reason=f"this PyTorch build has no {other.upper()} support"))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        platforms.append(
            PlatformInfo(
                "mps",
                True,
                device_name=_platform.processor() or "Apple GPU",
                hardware_name=_platform.processor() or "Apple GPU",
                catalog_entry=None,
                vendor="Apple",
                runtime=torch_version,
                precisions=("fp32", "fp16"),
            )
        )
    else:
        platforms.append(PlatformInfo("mps", False, reason="no Apple MPS device"))
    return platforms


def machine_description(cpu: CpuInfo, os_name: str) -> str:
    arch = f", {cpu.microarchitecture}" if cpu.microarchitecture else ""
    hypervisor = f"{cpu.hypervisor} virtual machine" if cpu.hypervisor else "bare metal"
    features = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8") if f in cpu.flags]
    return (
        f"{cpu.model_name} ({cpu.vendor} family {cpu.family} model {cpu.model}{arch}), {cpu.vcpus} vCPU, "
        f"{cpu.memory_gb:.1f} GiB RAM, {os_name}, {hypervisor}; ISA {' '.join(features) or 'baseline'}"
    )


def catalog_hardware_names(project_root: Path | None = None) -> set[str] | None:
    """Hardware names in the dbt hardware catalog seed, or None when there is no seed file."""
    root = project_root or Path(__file__).resolve().parents[2]
    names: set[str] = set()
    found = False
    for seed in sorted((root / "dbt" / "seeds").glob("*hardware*.csv")) if (root / "dbt" / "seeds").is_dir() else []:
        with seed.open(newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames and "hardware_name" in reader.fieldnames:
                found = True
                names.update(row["hardware_name"] for row in reader if row.get("hardware_name"))
    return names if found else None


def detect_hardware(verbose: bool = False) -> HardwareInfo:
    """Detect what this machine can run; print a summary when ``verbose``."""
    cpu = detect_cpu()
    os_name = _os_name()
    platforms = tuple(_cpu_platforms(cpu) + _accelerator_platforms())
    catalog = catalog_hardware_names()
    in_catalog: dict[str, bool | None] = {}
    for info in platforms:
        if info.available and info.catalog_entry:
            in_catalog[info.catalog_entry] = None if catalog is None else info.catalog_entry in catalog
    hardware = HardwareInfo(
        cpu=cpu, platforms=platforms, os=os_name, description=machine_description(cpu, os_name), in_catalog=in_catalog
    )
    if verbose:
        print(hardware.summary())
    return hardware


if __name__ == "__main__":
    detect_hardware(verbose=True)
