"""Importer for Lambda's wide PyTorch training benchmark CSVs.

Each throughput file is a matrix: rows are GPU systems, columns are models, cells are
training throughput (zero means not measured). A sibling ``bs`` file of the same precision
gives each cell's batch size. ``watt`` and ``price`` are the system's rated power and list
price, so they go to ``raw.hardware_systems`` and never become measured power.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from predictive_performance.ingest.canonical import UnreadableFileError
from predictive_performance.ingest.sources import SourceFormat, SourceTables

SOURCE = "lambda-pytorch-train"
SYSTEM_COLUMNS = ("name_gpu", "num_gpu", "watt", "price")
NON_MODEL_COLUMNS = frozenset(SYSTEM_COLUMNS)
THROUGHPUT_PATTERN = re.compile(r"throughput-(?P<precision>fp\d+|bf16)\.csv$", re.IGNORECASE)

# Hosting providers that prefix the device in the system name ("Dell 2x H100 80GB SXM5").
HOST_PREFIXES = ("LambdaCloud", "DellTexas", "Dell", "SMC", "1CC", "RAIDZ1")
SYSTEM_NAME = re.compile(
    rf"^(?:(?:{'|'.join(HOST_PREFIXES)})\s+)?(?:(?P<count>\d+)\s*x\s*)?(?P<device>.+?)\s*$", re.IGNORECASE
)

# Input sizes of Lambda's training workloads, as their benchmark suite runs them, and the unit
# each workload counts throughput in per item of the model catalog (one sentence, one clip):
# GNMT counts source + target tokens, Transformer-XL target tokens per segment, Tacotron2 mel
# frames, WaveGlow audio samples. Dividing by it makes every row items per second.
WORKLOAD_INPUTS: dict[str, dict[str, int]] = {
    "bert_base_squad": {"sequence_length": 384},
    "bert_large_squad": {"sequence_length": 384},
    "ssd": {"image_size": 300},
    "resnet50": {"image_size": 224},
    "gnmt": {"sequence_length": 50, "units_per_item": 100},
    "transformerxlbase": {"sequence_length": 192, "units_per_item": 192},
    "transformerxllarge": {"sequence_length": 256, "units_per_item": 256},
    "tacotron2": {"units_per_item": 566},
    "waveglow": {"units_per_item": 8000},
}


def is_lambda_file(path: Path) -> bool:
    return bool(THROUGHPUT_PATTERN.search(path.name))


def is_lambda(path: Path) -> bool:
    """A throughput file, or a directory that holds one."""
    if path.is_dir():
        return any(is_lambda_file(p) for p in path.iterdir())
    return is_lambda_file(path)


def throughput_files(path: Path) -> list[Path]:
    """The throughput files at ``path`` (a directory or one throughput file)."""
    files = sorted(p for p in path.iterdir() if is_lambda_file(p)) if path.is_dir() else [path]
    if not files or not all(is_lambda_file(p) for p in files):
        raise UnreadableFileError(f"{path}: no Lambda throughput file (pytorch-train-throughput-<precision>.csv) found")
    return files


def parse_system_name(system_name: str) -> tuple[str, int | None]:
    """Split a Lambda system name into the device name and the device count it states."""
    match = SYSTEM_NAME.match(system_name.strip())
    count = match["count"] if match else None
    return (match["device"] if match else system_name.strip()), (int(count) if count else None)


def read_lambda(path: Path) -> SourceTables:
    """Turn every throughput file under ``path`` into canonical rows, one per measured cell."""
    frames, systems, skipped = {}, [], 0
    for throughput_path in throughput_files(path):
        precision = THROUGHPUT_PATTERN.search(throughput_path.name)["precision"].lower()
        batch_path = throughput_path.with_name(throughput_path.name.replace("throughput", "bs"))
        throughput = _read_matrix(throughput_path)
        batch_sizes = _read_matrix(batch_path) if batch_path.exists() else None
        rows, cells_skipped = _melt(throughput, batch_sizes, precision, throughput_path.name)
        frames[str(throughput_path)] = rows
        skipped += cells_skipped
        systems.append(_systems(throughput))
    hardware_systems = pd.concat(systems, ignore_index=True).drop_duplicates("system_name")
    return SourceTables(SOURCE, frames, skipped=skipped, hardware_systems=hardware_systems)


def _read_matrix(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (ValueError, OSError) as error:
        raise UnreadableFileError(f"{path}: cannot be read as CSV: {error}") from error
    missing = [c for c in ("name_gpu", "num_gpu") if c not in frame.columns]
    if missing:
        raise UnreadableFileError(f"{path}: missing required column(s): {', '.join(missing)}")
    return frame


def _melt(throughput: pd.DataFrame, batch_sizes: pd.DataFrame | None, precision: str, file_name: str) -> tuple[pd.DataFrame, int]:
    """One row per non-zero cell; ``source_row`` is the cell's row in the throughput file."""
    models = [c for c in throughput.columns if c not in NON_MODEL_COLUMNS and c != "ssd_size"]
    long = throughput.assign(source_row=range(1, len(throughput) + 1)).melt(
        id_vars=["source_row", "name_gpu", "num_gpu"], value_vars=models, var_name="model_name", value_name="throughput"
    )
    if batch_sizes is not None:
        batches = batch_sizes.melt(id_vars=["name_gpu"], value_vars=models, var_name="model_name", value_name="batch_size")
        long = long.merge(batches, on=["name_gpu", "model_name"], how="left")
    else:
        long["batch_size"] = None
    not_measured = pd.to_numeric(long["throughput"], errors="coerce") == 0
    long = long.loc[~not_measured]
    parsed = long["name_gpu"].map(parse_system_name)
    stated_count = parsed.str[1]
    inputs = long["model_name"].map(lambda model: WORKLOAD_INPUTS.get(model, {}))
    rows = pd.DataFrame(
        {
            "source_row": long["source_row"],
            "model_name": long["model_name"],
            "hardware_platform": "cuda",
            "hardware_name": parsed.str[0],
            # The num_gpu column is authoritative; the name's "Nx" prefix fills it when empty.
            "num_devices": long["num_gpu"].where(long["num_gpu"].str.strip() != "", stated_count.astype("string")),
            # The bs files give the batch across all GPUs of the system; canonical rows are per device.
            "batch_size": _divide_cells(long["batch_size"], pd.to_numeric(long["num_gpu"], errors="coerce").fillna(1)),
            "precision": precision,
            "mode": "training",
            "workload": "static_batch",
            "sequence_length": inputs.map(lambda i: i.get("sequence_length")),
            "image_size": inputs.map(lambda i: i.get("image_size")),
            "throughput": _divide_cells(long["throughput"], inputs.map(lambda i: i.get("units_per_item", 1))),
            "source": SOURCE,
            "system_name": long["name_gpu"].str.strip(),
            "framework": "pytorch",
            "source_file": file_name,
            "source_column": long["model_name"],
        }
    )
    return rows.reset_index(drop=True), int(not_measured.sum())


def _divide_cells(cells: pd.Series, divisor: pd.Series) -> pd.Series:
    """Numeric cells divided by ``divisor``; cells that are not numbers stay as they are for validation to report."""
    numbers = pd.to_numeric(cells, errors="coerce")
    return (numbers / divisor).astype(object).where(numbers.notna(), cells)


def _systems(throughput: pd.DataFrame) -> pd.DataFrame:
    parsed = throughput["name_gpu"].map(parse_system_name)
    return pd.DataFrame(
        {
            "system_name": throughput["name_gpu"].str.strip(),
            "hardware_name": parsed.str[0],
            "num_devices": pd.to_numeric(throughput["num_gpu"], errors="coerce").fillna(parsed.str[1]).fillna(1).astype("int64"),
            "rated_power_w": pd.to_numeric(throughput.get("watt"), errors="coerce"),
            "list_price_usd": pd.to_numeric(throughput.get("price"), errors="coerce"),
            "source": SOURCE,
        }
    )


# The throughput and batch-size files of a directory belong together: the whole directory is one load.
FORMAT = SourceFormat("lambda", detect=is_lambda, read=read_lambda)
