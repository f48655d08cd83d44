"""Importer for ryujaehun/pytorch-gpu-benchmark's per-iteration timings (``results/`` @ 3f47a9e2).

One CSV per GPU x GPU count x precision x mode, named ``<GPU>_<precision>_model_<mode>_benchmark.csv``
(older runs, one GPU) or ``<GPU>_<N>_gpus__<precision>_model_<mode>_benchmark.csv``, sometimes with a
``(1)``/``(2)`` repeat suffix. The header names torchvision models; each row is one timed iteration in
ms per batch, after 5 warm-up iterations. One canonical row summarises one file's model column: its
mean (latency_ms), median, 90th percentile (linear interpolation), the iteration count (repeats) and
the coefficient of variation of the iteration times (sample std / mean, kept in throughput_cv: the
spread of time and of rate alike). Throughput is not in the source and stays empty.

The batch is 12 images of 224x224 per GPU (``config.json``'s BATCH_SIZE where the folder has one),
``nn.DataParallel`` beyond one GPU; the whole model is cast with ``.half()/.float()/.double()``.
Inference timing includes the host-to-device copy of the batch; training is forward + loss +
backward, without an optimizer step. ``config.json``'s NUM_GPU is the script's default, not the run's:
the file name gives the GPU count. ``system_info.txt`` gives the run's start (measured_at), its CUDA
and cuDNN versions (framework) and the host (hardware_description); the torch version is not stated.

Each results folder is one load (``2080TI/`` and ``2080ti(2)/`` are repeat runs of one card), so the
source folder or ``results/`` yields one load per sub-folder; system_name keeps the folder's name.

Rejects count rows as a person counts the timed iterations (1 = the first below the header, 0 = the
header itself); a stored row, which summarises a whole column, is located at row 1 of its column.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from predictive_performance.ingest.canonical import UnreadableFileError
from predictive_performance.ingest.sources import SourceFormat, SourceTables
from predictive_performance.ingest.validation import Reject
from predictive_performance.vocabulary import PRECISION_ALIASES

SOURCE = "pytorch-gpu-benchmark"
RESULTS = "results"
DEFAULT_BATCH_SIZE = 12  # per GPU, as the source's README states
IMAGE_SIZE = 224
BENCHMARK_FILE = re.compile(r"_model_.*_benchmark(?:\(\d+\))?\.csv$")
FILE_NAME = re.compile(
    r"^(?P<gpu>.+?)_(?:(?P<devices>\d+)_gpus__)?(?P<precision>[A-Za-z0-9]+)_model_"
    r"(?P<mode>inference|train|training)_benchmark(?:\(\d+\))?\.csv$"
)
MODES = {"inference": "inference", "train": "training", "training": "training"}
SYSTEM_INFO = re.compile(r"^\s*(?P<key>[A-Za-z_ ]+?)\s*:\s*(?P<value>.+?)\s*$")


@dataclass(frozen=True)
class RunContext:
    """What a results folder says about all of its files."""

    system_name: str
    batch_size: int = DEFAULT_BATCH_SIZE
    measured_at: str | None = None
    framework: str = "pytorch (torchvision models)"
    hardware_description: str | None = None


def is_benchmark_file(path: Path) -> bool:
    return path.is_file() and bool(BENCHMARK_FILE.search(path.name))


def holds_benchmarks(path: Path) -> bool:
    return path.is_dir() and any(is_benchmark_file(p) for p in path.iterdir())


def result_folders(path: Path) -> list[Path]:
    """The loads at ``path``: one benchmark file, one results folder, or each results folder below it."""
    if path.is_file():
        return [path] if is_benchmark_file(path) else []
    if holds_benchmarks(path):
        return [path]
    if (path / RESULTS).is_dir():
        path = path / RESULTS
    return [child for child in sorted(path.iterdir()) if holds_benchmarks(child)]


def is_pytorch_gpu_benchmark(path: Path) -> bool:
    return bool(result_folders(path))


def read_results(path: Path) -> SourceTables:
    """One canonical row per file x model column of one results folder (or of one file)."""
    folder = path if path.is_dir() else path.parent
    files = sorted(p for p in folder.iterdir() if is_benchmark_file(p)) if path.is_dir() else [path]
    if not files:
        raise UnreadableFileError(f"{path}: no pytorch-gpu-benchmark file (<GPU>_..._model_<mode>_benchmark.csv) found")
    context = run_context(folder)
    frames, rejects = {}, []
    for file in files:
        rows, problems = _file_rows(file, context)
        rejects += problems
        if rows is not None:
            frames[str(file)] = rows
    return SourceTables(SOURCE, frames, rejects=rejects)


def run_context(folder: Path) -> RunContext:
    """The batch size of ``config.json`` and the start, software and host of ``system_info.txt``."""
    batch_size = _batch_size(folder / "config.json")
    info_path = folder / "system_info.txt"
    if not info_path.is_file():
        return RunContext(folder.name, batch_size)
    info = _system_info(info_path.read_text(encoding="utf-8", errors="replace"))
    start = info.get("benchmark start")
    software = [f"{label} {info[key]}" for key, label in (("CUDA Version", "CUDA"), ("Cudnn Version", "cuDNN")) if key in info]
    host = [f"{info[key]} {label}" for key, label in (("cpu_count", "CPUs"), ("Number of GPUs on current device", "GPUs")) if key in info]
    return RunContext(
        system_name=folder.name,
        batch_size=batch_size,
        measured_at=start.replace("/", "-") if start else None,
        framework=f"pytorch (torchvision models; {', '.join(software)})" if software else RunContext.framework,
        hardware_description=f"host: {', '.join(host)}" if host else None,
    )


def _batch_size(config: Path) -> int:
    if not config.is_file():
        return DEFAULT_BATCH_SIZE
    try:
        return int(json.loads(config.read_text(encoding="utf-8")).get("BATCH_SIZE", DEFAULT_BATCH_SIZE))
    except (ValueError, TypeError, AttributeError, OSError) as error:
        raise UnreadableFileError(f"{config}: no usable BATCH_SIZE: {error}") from error


def _system_info(text: str) -> dict[str, str]:
    """``key : value`` and ``key: value`` lines; the first of a key wins."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = SYSTEM_INFO.match(line)
        if match:
            found.setdefault(match["key"].strip(), match["value"])
    return found


def _file_rows(file: Path, context: RunContext) -> tuple[pd.DataFrame | None, list[Reject]]:
    """The canonical rows of one file's good model columns, and a reject for each bad cell or name."""
    name = FILE_NAME.match(file.name)
    if name is None:
        return None, [Reject(file.name, 1, "file name", "does not read as <GPU>[_<N>_gpus_]_<precision>_model_"
                             "<inference|train|training>_benchmark.csv")]
    table = _read_table(file)
    header = table.iloc[0].str.strip()
    cells = np.char.strip(table.iloc[1:].fillna("").to_numpy(dtype=str))  # a short row leaves its last cells empty
    times = pd.to_numeric(pd.Series(cells.ravel()), errors="coerce").to_numpy(dtype=float).reshape(cells.shape)
    rejects = _header_rejects(header, file.name) + _cell_rejects(cells, times, header, file.name)
    with np.errstate(invalid="ignore"):
        usable = ((times > 0) & np.isfinite(times)).all(axis=0)
    good = ((header != "") & ~header.duplicated(keep=False)).to_numpy() & usable
    if not good.any():
        return None, rejects
    return _summaries(header[good].to_numpy(), times[:, good], name, context), rejects


def _summaries(models: np.ndarray, times: np.ndarray, name: re.Match[str], context: RunContext) -> pd.DataFrame:
    """One canonical row per model column: the mean, median and p90 of its iteration times, and their spread."""
    mean = times.mean(axis=0)
    devices = int(name["devices"] or 1)
    precision = name["precision"].lower()
    return pd.DataFrame(
        {
            "source_row": 1,  # the row summarises the whole column, from its first timed iteration on
            "source_column": models,
            "model_name": models,
            "hardware_platform": "cuda",
            "hardware_name": name["gpu"].strip(),
            "num_devices": devices,
            "batch_size": context.batch_size,
            "precision": PRECISION_ALIASES.get(precision, precision),
            "mode": MODES[name["mode"]],
            "workload": "static_batch",
            "image_size": IMAGE_SIZE,
            "latency_ms": mean,
            "latency_kind": "batch",
            "latency_p50_ms": np.median(times, axis=0),
            "latency_p90_ms": np.quantile(times, 0.9, axis=0),  # linear interpolation
            "repeats": len(times),
            "throughput_cv": times.std(axis=0, ddof=1) / mean if len(times) > 1 else None,  # sample std
            "parallelism": "data" if devices > 1 else None,
            "system_name": context.system_name,
            "framework": context.framework,
            "hardware_description": context.hardware_description,
            "measured_at": context.measured_at,
            "source": SOURCE,
        }
    )


def _read_table(file: Path) -> pd.DataFrame:
    """The file as text cells, header included (so an empty or repeated model name can be reported)."""
    try:
        table = pd.read_csv(file, header=None, dtype=str, keep_default_na=False)
    except (ValueError, OSError, pd.errors.ParserError) as error:
        raise UnreadableFileError(f"{file}: cannot be read as CSV: {error}") from error
    if len(table) < 2:
        raise UnreadableFileError(f"{file}: no timed iterations below the header")
    return table


def _header_rejects(header: pd.Series, file_name: str) -> list[Reject]:
    """Row 0 is the header: a column without a model name, or a model named twice, is refused."""
    empty = [Reject(file_name, 0, f"{position + 1} (header)", "the header names no model")
             for position in (header == "").to_numpy().nonzero()[0]]
    repeated = [Reject(file_name, 0, model, "the header names this model more than once")
                for model in header[(header != "") & header.duplicated()].unique()]
    return empty + repeated


def _cell_rejects(cells: np.ndarray, times: np.ndarray, header: pd.Series, file_name: str) -> list[Reject]:
    """A reject per cell that is not a positive, finite time; rows count the timed iterations from 1."""
    not_numbers = np.isnan(times)
    with np.errstate(invalid="ignore"):
        not_times = ~not_numbers & ~((times > 0) & np.isfinite(times))
    rejects = []
    for mask, reason in ((not_numbers, "not a number: {cell!r}"), (not_times, "an iteration time must be a positive number of ms, got {cell!r}")):
        for row, column in zip(*mask.nonzero(), strict=True):
            cell = str(cells[row, column])
            text = reason.format(cell=cell) if cell else "missing value"
            rejects.append(Reject(file_name, int(row) + 1, header.iat[column] or f"{column + 1}", text))
    return sorted(rejects, key=lambda reject: (reject.row, reject.column))


FORMAT = SourceFormat("pytorch-gpu-benchmark", detect=is_pytorch_gpu_benchmark, read=read_results, loads=result_folders)
