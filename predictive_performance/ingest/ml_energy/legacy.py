"""The 2023 ML.ENERGY leaderboard (``v2/data/legacy/<GPU>_<task>_benchmark.csv``).

Each row is one model answering the task's prompts one request at a time on one GPU, FP16, batch
size 1 (FastChat on PyTorch 2.0.1, as the leaderboard's own description states): average tokens
per second, response length, latency and GPU energy per response. That is a server under a
concurrency cap of one over a request set, not one fixed batch repeated, so the rows are
``serving`` with ``batch_size`` 1 and the latency kind ``request``. ``energy_per_item_j`` is per
generated token (energy per response / average response length) like the other releases; power
is not measured and is derived as energy per response / latency (``power_derived``). The device
is the file name's GPU (``A100``, ``A40``, ``V100``). ``score.csv`` (accuracy scores),
``models.json`` (parameters rounded to billions), ``schema.yaml`` and the README are not
measurements and are not read.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from predictive_performance.ingest.canonical import UnreadableFileError
from predictive_performance.ingest.ml_energy.records import POWER_SCOPE, collect, tables
from predictive_performance.ingest.sources import SourceTables

SOURCE = "ml-energy-legacy"
FILE = re.compile(r"^(?P<gpu>[A-Za-z0-9]+)_(?P<task>[a-z-]+)_benchmark\.csv$")
COLUMNS = ("model", "throughput", "response_length", "latency", "energy")


def is_legacy_file(path: Path) -> bool:
    """A CSV named ``<GPU>_<task>_benchmark.csv`` whose first column is ``model`` (the rest is checked on reading)."""
    if not (path.is_file() and FILE.match(path.name)):
        return False
    with path.open(encoding="utf-8", errors="replace") as handle:
        header = handle.readline()
    return header.split(",")[0].strip() == COLUMNS[0]


def is_legacy(path: Path) -> bool:
    return any(is_legacy_file(p) for p in path.iterdir()) if path.is_dir() else is_legacy_file(path)


def read_legacy(path: Path) -> SourceTables:
    """Canonical rows of every benchmark CSV at ``path``; ``source_row`` counts data rows from 1."""
    files = sorted(p for p in path.iterdir() if is_legacy_file(p)) if path.is_dir() else [path]
    entries = []
    for file in files:
        frame = _read(file)
        entries += [(str(file), number, record) for number, record in enumerate(frame.to_dict("records"), start=1)]
    records = collect(entries, COLUMNS, numeric=("response_length", "latency", "energy"))
    frame = records.frame
    names = frame["file"].map(lambda file: FILE.match(Path(file).name))
    rows = pd.DataFrame(
        {
            "source_row": frame["source_row"],
            "model_name": frame["model"],
            "model_type": "text_generation",
            "hardware_platform": "cuda",
            "hardware_name": names.map(lambda name: name["gpu"]),
            "num_devices": 1,
            "batch_size": 1,
            "precision": "fp16",
            "mode": "inference",
            "workload": "serving",
            "task": names.map(lambda name: name["task"]),
            "throughput": frame["throughput"],
            "latency_ms": frame["latency"] * 1000,
            "latency_kind": "request",
            "energy_per_item_j": frame["energy"] / frame["response_length"],
            "power_w": frame["energy"] / frame["latency"],
            "power_scope": POWER_SCOPE,
            "power_derived": True,
            "framework": "fastchat (torch 2.0.1)",
            "source": SOURCE,
        }
    )
    return tables(SOURCE, rows, frame["file"], records.rejects)


def _read(file: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(file, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (ValueError, OSError) as error:
        raise UnreadableFileError(f"{file}: cannot be read as CSV: {error}") from error
    missing = [name for name in COLUMNS if name not in frame.columns]
    if missing:
        raise UnreadableFileError(f"{file}: missing required column(s): {', '.join(missing)}")
    return frame
