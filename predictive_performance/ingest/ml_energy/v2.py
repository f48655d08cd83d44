"""ML.ENERGY leaderboard v2 (``v2/data/<category>/<task>/<GPU>/<org>/<model>/<config>.json``).

One JSON file is one configuration. LLM / MLLM files (``bs<N>+tp<T>+pp<P>.json``) are vLLM 0.5.4
serving the task's request set under a maximum batch size: ``Max BS (reqs)`` is that cap for the
whole replica (with pipeline parallelism it is the file's ``bs`` times ``PP``), ``Avg TPOT`` the
mean time per output token, ``Token tput`` output tokens per second, ``Energy/req`` the GPUs'
energy per request. Diffusion files (``bs<N>+steps<S>[+frames<F>].json``) are one batch on one GPU
(Diffusers 0.29.2): batch latency and energy per image or video; the resolution is in the task's
``models.json``. The files measure no power: it is derived as energy per second (energy per item
x items per second) and marked ``power_derived``. ``energy_per_item_j`` is per generated token
for text (energy per request / average output tokens, as v3 and legacy state it) and per
image or video for diffusion, so one column never mixes items. The files state no precision:
the leaderboard ran each checkpoint in its published 16-bit type (vLLM ``dtype=auto``; the
Diffusers pipelines' fp16 variants), taken here as bf16 for text and fp16 for diffusion, which
run at the same tensor-core rate on A100 and H100. Hardware names are the files' ``GPU`` field
(NVML's name of the device).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from predictive_performance.ingest.ml_energy.records import (
    POWER_SCOPE,
    collect,
    diffusion_setting,
    parallelism,
    read_json,
    tables,
)
from predictive_performance.ingest.sources import SourceTables
from predictive_performance.ingest.validation import Reject

SOURCE = "ml-energy-v2"
SERVING_CATEGORIES = {"llm_text_generation": "text_generation", "mllm_text_generation": "multimodal"}
CATEGORIES = (*SERVING_CATEGORIES, "diffusion")
SERVING_FILE = re.compile(r"^bs\d+\+tp\d+\+pp\d+\.json$")
DIFFUSION_FILE = re.compile(r"^bs\d+\+steps\d+(?:\+frames\d+)?\.json$")
RESOLUTION = re.compile(r"^(?P<width>\d+)x(?P<height>\d+)$")
MODEL_DEPTH = 4  # <category>/<task>/<GPU>/<org>/<model>/<config>.json: the category sits four folders above

SERVING_FIELDS = (
    "Model",
    "GPU",
    "TP",
    "PP",
    "Max BS (reqs)",
    "Avg TPOT (s)",
    "Token tput (tok/s)",
    "Energy/req (J)",
    "Avg Output Tokens",
)
DIFFUSION_FIELDS = ("Model", "GPU", "Batch size", "Batch latency (s)", "Denoising steps")
# per kind of file: required fields, the ones the reader computes with, the whole-number ones
FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "serving": (
        SERVING_FIELDS,
        ("Avg TPOT (s)", "Token tput (tok/s)", "Energy/req (J)", "Avg Output Tokens"),
        ("TP", "PP"),
    ),
    "image": ((*DIFFUSION_FIELDS, "Energy/image (J)"), ("Batch latency (s)", "Energy/image (J)"), ("Batch size",)),
    "video": (
        (*DIFFUSION_FIELDS, "Energy/video (J)", "Frames"),
        ("Batch latency (s)", "Energy/video (J)"),
        ("Batch size",),
    ),
}


def is_config_file(path: Path) -> bool:
    return bool(SERVING_FILE.match(path.name) or DIFFUSION_FILE.match(path.name))


def is_data(path: Path) -> bool:
    """A release's ``data`` folder: it holds the category folders."""
    return path.is_dir() and any((path / category).is_dir() for category in CATEGORIES)


def is_v2(path: Path) -> bool:
    """The release (``v2/``), its ``data`` folder, or a category, task, device or model folder or file below it."""
    if path.is_file():
        return is_config_file(path)
    if is_data(path) or is_data(path / "data"):
        return True
    inside = any(folder.name in CATEGORIES for folder in (path, *path.parents))
    return path.is_dir() and inside and bool(config_files(path))


def config_files(path: Path) -> list[Path]:
    """The configuration files at or below ``path``, in path order."""
    if path.is_file():
        return [path]
    root = path / "data" if is_data(path / "data") else path
    return sorted(p for p in root.rglob("bs*.json") if is_config_file(p))


def read_v2(path: Path) -> SourceTables:
    """Canonical rows of every configuration file at or below ``path``."""
    by_kind: dict[str, list[Path]] = {kind: [] for kind in FIELDS}
    rejects = []
    for file in config_files(path):
        if len(file.parents) <= MODEL_DEPTH or file.parents[MODEL_DEPTH].name not in CATEGORIES:
            rejects.append(
                Reject(str(file), 1, "*", "not in a <category>/<task>/<GPU>/<org>/<model>/ folder of the release")
            )
        else:
            by_kind[_kind(file)].append(file)
    frames = []
    for kind, files in by_kind.items():
        records = collect(((str(file), 1, read_json(file)) for file in files), *FIELDS[kind])
        rejects += records.rejects
        frames.append(_serving_rows(records.frame) if kind == "serving" else _diffusion_rows(records.frame, kind))
    frame = pd.concat(frames, ignore_index=True)
    return tables(SOURCE, frame.drop(columns="file"), frame["file"], rejects)


def _kind(file: Path) -> str:
    return "serving" if SERVING_FILE.match(file.name) else "video" if "+frames" in file.name else "image"


def _folders(file: str) -> tuple[str, str]:
    """The category and task folder names of a configuration file."""
    task = Path(file).parents[MODEL_DEPTH - 1]
    return task.parent.name, task.name


def _base(frame: pd.DataFrame) -> dict[str, object]:
    return {
        "source_row": frame["source_row"],
        "file": frame["file"],
        "model_name": frame["Model"],
        "hardware_platform": "cuda",
        "hardware_name": frame["GPU"],
        "mode": "inference",
        "power_scope": POWER_SCOPE,
        "power_derived": True,
        "source": SOURCE,
    }


def _serving_rows(frame: pd.DataFrame) -> pd.DataFrame:
    folders = frame["file"].map(_folders)
    tokens_per_request = frame["Avg Output Tokens"]
    return pd.DataFrame(
        {
            **_base(frame),
            "model_type": folders.str[0].map(SERVING_CATEGORIES),
            "num_devices": frame["TP"] * frame["PP"],
            "batch_size": frame["Max BS (reqs)"],
            "precision": "bf16",
            "workload": "serving",
            "task": folders.str[0] + "/" + folders.str[1],
            "throughput": frame["Token tput (tok/s)"],
            "latency_ms": frame["Avg TPOT (s)"] * 1000,
            "latency_kind": "token",
            "energy_per_item_j": frame["Energy/req (J)"] / tokens_per_request,
            "power_w": frame["Energy/req (J)"] * frame["Token tput (tok/s)"] / tokens_per_request,
            "parallelism": parallelism({"tensor": frame["TP"], "pipeline": frame["PP"]}),
            "framework": "vllm 0.5.4",
        }
    )


def _diffusion_rows(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    folders = frame["file"].map(_folders)
    listings: dict[Path, dict] = {}
    width, height = (
        pd.Series(
            [_resolution(file, model, listings)[axis] for file, model in zip(frame["file"], frame["Model"])],
            index=frame.index,
            dtype=object,
        )
        for axis in (0, 1)
    )
    per_second = frame["Batch size"] / frame["Batch latency (s)"]
    energy = frame[f"Energy/{kind} (J)"]
    return pd.DataFrame(
        {
            **_base(frame),
            "model_type": "diffusion",
            "num_devices": 1,
            "batch_size": frame["Batch size"],
            "precision": "fp16",
            "workload": "static_batch",
            **diffusion_setting(
                folders.str[1], width, height, frame["Denoising steps"], frame["Frames"] if kind == "video" else None
            ),
            "throughput": per_second,
            "latency_ms": frame["Batch latency (s)"] * 1000,
            "latency_kind": "batch",
            "energy_per_item_j": energy,
            "power_w": energy * per_second,
            "framework": "diffusers 0.29.2",
        }
    )


def _resolution(file: str, model: str, listings: dict[Path, dict]) -> tuple[int | None, int | None]:
    """Width and height of the model's output, from the task folder's ``models.json`` (read once per folder)."""
    listing = Path(file).parents[MODEL_DEPTH - 1] / "models.json"
    if listing not in listings:
        content = read_json(listing) if listing.is_file() else {}
        listings[listing] = content if isinstance(content, dict) else {}
    facts = listings[listing].get(model)
    match = RESOLUTION.match(str(facts.get("resolution", ""))) if isinstance(facts, dict) else None
    return (int(match["width"]), int(match["height"])) if match else (None, None)
