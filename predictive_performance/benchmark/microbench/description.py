"""A device the catalog lacks, described from detection and micro-benchmarks and stored as a catalog load.

Without a catalog entry a device's rows have no roofline and wait out of training, and nothing can
be predicted for it. Detection gives its vendor, platform, architecture, memory and compute units;
the micro-benchmarks (``kernels``) give achieved matmul rates and bandwidth in place of the
published peaks. They go to ``raw.catalog_hardware`` / ``raw.catalog_hardware_specs``, each figure
with the source that says how it was found; dbt lets a seed figure win, so a device the seeds
describe later keeps the published figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from predictive_performance.benchmark.hardware import HardwareInfo, PlatformInfo
from predictive_performance.benchmark.microbench.kernels import TORCH_DEVICES, Figure, Settings, Skipped, measure_rates
from predictive_performance.warehouse import CatalogFacts, Warehouse

SOURCE = "perfpredict-microbench"
# Detection cannot tell a data-centre GPU from a consumer one, so a GPU's class stays empty.
DEVICE_CLASSES = {"cpu": "cpu", "mps": "apple_soc"}
# How detection found each platform's memory and compute units.
DETECTED_BY = {
    "cpu": ("total memory of this machine (psutil / /proc/meminfo)", "the vCPUs this process may use"),
    "cuda": ("torch.cuda device total_memory", "multiprocessors (torch.cuda device properties)"),
    "rocm": ("torch.cuda device total_memory (ROCm)", "compute units (torch.cuda device properties, ROCm)"),
    "mps": ("total memory of this machine (unified memory)", "not reported"),
}


@dataclass(frozen=True)
class Description:
    """What was found about one device, and the catalog facts it becomes."""

    device: PlatformInfo
    figures: list[Figure]
    skipped: list[Skipped]

    @property
    def hardware_name(self) -> str:
        return self.device.hardware_name or self.device.device_name or self.device.platform

    def facts(self) -> CatalogFacts:
        device = self.device
        hardware = pd.DataFrame(
            [
                {
                    "hardware_name": self.hardware_name,
                    "vendor": device.vendor,
                    "hardware_platform": device.platform,
                    "device_class": DEVICE_CLASSES.get(device.platform),
                    "architecture": device.architecture,
                    "release_year": None,
                    "source": f"detected: perfpredict hardware detection of {device.device_name!r} on {_today()}",
                }
            ]
        )
        specs = pd.DataFrame(
            [(self.hardware_name, f.spec, f.value, f.source) for f in self.figures],
            columns=["hardware_name", "spec", "value", "source"],
        )
        return CatalogFacts(hardware=hardware, hardware_specs=specs)

    def summary(self) -> str:
        shown = ", ".join(f"{f.spec} {f.value:.4g}" for f in self.figures)
        lines = [f"{self.hardware_name}: {shown} (achieved rates, not published peaks)"]
        lines += [f"  not measured: {s.spec}: {s.reason}" for s in self.skipped]
        return "\n".join(lines)


def _today() -> str:
    return f"{datetime.now(UTC):%Y-%m-%d}"


def detected_figures(device: PlatformInfo) -> list[Figure]:
    """Memory and compute units as detection found them, where it did."""
    memory_how, units_how = DETECTED_BY[device.platform]
    found = []
    if device.memory_gb and device.memory_gb == device.memory_gb:  # NaN where the memory could not be read
        found.append(Figure("memory_gb", device.memory_gb, f"detected: {memory_how} on {_today()}"))
    if device.cores:
        found.append(Figure("compute_units", float(device.cores), f"detected: {units_how} on {_today()}"))
    return found


def describe_device(device: PlatformInfo, threads: int, settings: Settings | None = None) -> Description:
    """Detection's figures plus the micro-benchmarks' on ``device``, a cpu, cuda, rocm or mps platform.

    About 15 s on a 2-vCPU CPU with the default settings.
    """
    rates, skipped = measure_rates(device.platform, device.precisions, threads, settings or Settings())
    return Description(device, detected_figures(device) + rates, skipped)


def described_by(warehouse: Warehouse, hardware_name: str) -> str | None:
    """The load that already describes ``hardware_name``, if any: a device is described once."""
    if not warehouse.table_exists("raw.catalog_hardware"):
        return None
    found = warehouse.query(
        "SELECT min(load_id) AS load_id FROM raw.catalog_hardware WHERE hardware_name = ?", [hardware_name]
    )
    return found["load_id"].iloc[0]


def store_description(description: Description, warehouse: Warehouse) -> str | None:
    """Store the description as one catalog load and return its id; None when a load describes the device already."""
    from predictive_performance.ingest.loading import ingest_catalog  # pandas-heavy ingest loads only to store

    if described_by(warehouse, description.hardware_name) is not None:
        return None
    report = ingest_catalog(description.facts(), warehouse, SOURCE, f"<describe {description.hardware_name}>")
    return report.load_id


def describe_missing_devices(warehouse: Warehouse, hardware: HardwareInfo, settings: Settings | None = None) -> list[str]:
    """Describe and store each device here that the catalog lacks; one line per device on what was done."""
    lines = []
    for device in (p for p in hardware.platforms if p.available and p.platform in TORCH_DEVICES):
        name = device.hardware_name or device.device_name
        if not hardware.missing_from_catalog(device):
            lines.append(f"{name}: in the hardware catalog; not described again.")
            continue
        earlier = described_by(warehouse, name)
        if earlier is not None:
            lines.append(f"{name}: described already by load {earlier}; not described again.")
            continue
        description = describe_device(device, hardware.cpu.vcpus, settings)
        load_id = store_description(description, warehouse)
        lines.append(f"Described {description.summary()}\n  stored as load {load_id} (source {SOURCE}).")
    return lines
