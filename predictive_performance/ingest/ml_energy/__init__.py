"""Importer for the ML.ENERGY leaderboard: releases v3, v2 and the 2023 (legacy) one.

Each release is its own source (``ml-energy-v3``, ``ml-energy-v2``, ``ml-energy-legacy``) and its
own load, so evaluation can hold out or compare one release: they differ in serving engine, request
sets, devices and what they measured. Pointing at ``ml-energy/`` ingests all three; each release
module says what one of its measurements is. The semantics common to all: throughput is items per
second of the whole system (generated tokens for text), power covers the GPUs only (NVML, summed),
and text rows are ``serving`` under a concurrency cap while diffusion rows are ``static_batch``.
"""

from __future__ import annotations

from pathlib import Path

from predictive_performance.ingest.ml_energy import legacy, v2, v3
from predictive_performance.ingest.sources import SourceFormat, SourceTables

SOURCES = (v3.SOURCE, v2.SOURCE, legacy.SOURCE)
RELEASES = (v3.is_v3, v2.is_v2, legacy.is_legacy)


def is_ml_energy(path: Path) -> bool:
    """A release or a part of one, or a folder that holds releases (``ml-energy/``, ``ml-energy/v2``)."""
    return any(is_release(path) for is_release in RELEASES) or (
        path.is_dir() and any(_holds_releases(child) for child in path.iterdir())
    )


def release_loads(path: Path) -> list[Path]:
    """One load per release folder; ``v2/data`` holds v2 and, in ``legacy/``, the 2023 release."""
    if v3.is_v3(path) or legacy.is_legacy(path):
        return [path]
    if v2.is_v2(path):
        data = path / "data" if v2.is_data(path / "data") else path
        return (
            [path, *(child for child in sorted(data.iterdir()) if legacy.is_legacy(child))]
            if v2.is_data(data)
            else [path]
        )
    return [
        load
        for child in sorted(path.iterdir())
        if child.is_dir() and _holds_releases(child)
        for load in release_loads(child)
    ]


def read_ml_energy(path: Path) -> SourceTables:
    """One release's rows, read by the module of that release."""
    if v3.is_v3(path):
        return v3.read_v3(path)
    if legacy.is_legacy(path):
        return legacy.read_legacy(path)
    return v2.read_v2(path)


def _holds_releases(path: Path) -> bool:
    return path.is_dir() and (v3.is_release(path) or v2.is_v2(path))


FORMAT = SourceFormat("ml-energy", detect=is_ml_energy, read=read_ml_energy, loads=release_loads)
