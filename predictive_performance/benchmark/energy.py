"""Energy counters: RAPL through the Linux powercap interface, where the machine exposes it.

``/sys/class/powercap/intel-rapl:N/energy_uj`` counts micro-joules per package (AMD CPUs use the
same interface since Zen). Virtual machines usually do not expose it, and reading it can need
root. Where there is no readable counter every function here returns ``None``: a power figure is
only ever reported when it was measured.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

POWERCAP_ROOT = Path("/sys/class/powercap")


@dataclass(frozen=True)
class RaplDomain:
    """One package-level counter."""

    name: str
    energy_path: Path
    max_energy_uj: int | None

    def read_uj(self) -> int:
        return int(self.energy_path.read_text().strip())


def rapl_domains(root: Path = POWERCAP_ROOT) -> list[RaplDomain]:
    """Readable package domains (top-level ``intel-rapl:N`` zones, not their sub-zones)."""
    if not root.is_dir():
        return []
    domains = []
    for zone in sorted(root.glob("intel-rapl:*")):
        if zone.name.count(":") != 1:  # intel-rapl:0:0 etc. are parts of package 0
            continue
        energy = zone / "energy_uj"
        try:
            int(energy.read_text().strip())
        except (OSError, ValueError):
            continue
        name_file = zone / "name"
        name = name_file.read_text().strip() if name_file.exists() else zone.name
        try:
            max_energy = int((zone / "max_energy_range_uj").read_text().strip())
        except (OSError, ValueError):
            max_energy = None
        domains.append(RaplDomain(name, energy, max_energy))
    return domains


def rapl_available(root: Path = POWERCAP_ROOT) -> bool:
    return bool(rapl_domains(root))


class EnergyMeter:
    """Measures average package power over a stretch of code; ``power_w`` is None without RAPL.

    >>> meter = EnergyMeter()
    >>> meter.start(); ...; meter.stop()
    >>> meter.power_w  # watts, or None when the machine has no readable counter
    """

    def __init__(self, root: Path = POWERCAP_ROOT) -> None:
        self.domains = rapl_domains(root)
        self._start: list[int] = []
        self._t0 = 0.0
        self.joules: float | None = None
        self.seconds: float | None = None

    @property
    def available(self) -> bool:
        return bool(self.domains)

    def start(self) -> None:
        self._t0 = time.perf_counter()
        self._start = [domain.read_uj() for domain in self.domains] if self.domains else []

    def stop(self) -> None:
        self.seconds = time.perf_counter() - self._t0
        if not self.domains:
            self.joules = None
            return
        total_uj = 0
        for domain, before in zip(self.domains, self._start):
            after = domain.read_uj()
            delta = after - before
            if delta < 0 and domain.max_energy_uj:  # the counter wrapped around
                delta += domain.max_energy_uj
            total_uj += max(delta, 0)
        self.joules = total_uj / 1e6

    @property
    def power_w(self) -> float | None:
        if self.joules is None or not self.seconds or self.joules <= 0:
            return None
        return self.joules / self.seconds
