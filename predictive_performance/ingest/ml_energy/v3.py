"""ML.ENERGY leaderboard v3 (``v3/index.json`` and ``v3/tasks/<task>.json``).

LLM and MLLM configurations are a vLLM server under the concurrency cap ``max_num_seqs`` working
through the task's request set: output tokens per second of the whole system, the median (p90,
p99) inter-token latency, the average power summed over the GPUs and the energy per output token.
The achieved ``avg_batch_size`` has no canonical column and is not kept. No configuration of this
copy has ``data_parallel`` above one, so ``max_num_seqs`` is the cap of the one replica.
Diffusion configurations are one batch at a fixed resolution, frame count and step count: batch
latency, images (videos) per second, power and energy per image (video); the resolution, frames and
steps are kept as numbers (``records.diffusion_setting``) so that the roofline scales the work with
them. xDiT splits every item over the GPUs by its Ulysses and ring degrees (their product is the
GPU count): sequence parallelism, and each GPU sees the whole batch. ``index.json`` gives every
model's total and activated parameters, kept as catalog facts.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pandas as pd

from predictive_performance.ingest.canonical import UnreadableFileError
from predictive_performance.ingest.ml_energy.records import (
    POWER_SCOPE,
    Records,
    collect,
    diffusion_setting,
    parallelism,
    read_json,
    tables,
)
from predictive_performance.ingest.sources import SourceTables
from predictive_performance.warehouse import CatalogFacts

SOURCE = "ml-energy-v3"
CATALOG_SOURCE = "ML.ENERGY leaderboard v3 index.json (ml-energy/leaderboard @ 0cd52dab)"
INDEX = "index.json"
TASKS = "tasks"
# index.json groups the tasks by architecture; the group says what kind of model ran them
MODEL_TYPES = {"llm": "text_generation", "mllm": "multimodal", "diffusion": "diffusion"}
MODALITIES = {"llm": "text", "mllm": "multimodal", "diffusion": "vision"}
FRAMEWORKS = {"serving": "vllm", "image": "xdit", "video": "xdit"}

COMMON_FIELDS = ("model_id", "gpu_model", "num_gpus", "weight_precision", "avg_power_watts")
SERVING_FIELDS = (
    *COMMON_FIELDS,
    "max_num_seqs",
    "tensor_parallel",
    "expert_parallel",
    "data_parallel",
    "output_throughput_tokens_per_sec",
    "median_itl_ms",
    "p90_itl_ms",
    "p99_itl_ms",
    "energy_per_token_joules",
)
DIFFUSION_FIELDS = (
    *COMMON_FIELDS, "batch_size", "batch_latency_s", "inference_steps", "ulysses_degree", "ring_degree"
)
IMAGE_FIELDS = (
    *DIFFUSION_FIELDS,
    "image_width",
    "image_height",
    "throughput_images_per_sec",
    "energy_per_image_joules",
)
VIDEO_FIELDS = (
    *DIFFUSION_FIELDS,
    "video_width",
    "video_height",
    "num_frames",
    "throughput_videos_per_sec",
    "energy_per_video_joules",
)


def is_release(path: Path) -> bool:
    return path.is_dir() and (path / INDEX).is_file() and (path / TASKS).is_dir()


def is_v3(path: Path) -> bool:
    """The release folder, its ``tasks`` folder, or one task file in it."""
    if path.is_dir():
        return is_release(path) or (path.name == TASKS and is_release(path.parent))
    return path.suffix == ".json" and path.parent.name == TASKS and is_release(path.parent.parent)


def read_v3(path: Path) -> SourceTables:
    """Canonical rows of every task file at ``path``; catalog facts when the release's index is there."""
    root = path if is_release(path) else path.parent if path.is_dir() else path.parent.parent
    index = read_json(root / INDEX) if (root / INDEX).is_file() else {}
    if not isinstance(index, dict):
        raise UnreadableFileError(f"{root / INDEX}: not an ML.ENERGY v3 index (a JSON object)")
    groups = {task: group for group, tasks in index.get("architectures", {}).items() for task in tasks}
    files = sorted((path / TASKS if is_release(path) else path).glob("*.json")) if path.is_dir() else [path]
    rows, rejects, ran = [], [], {}
    for file in files:
        task, configurations = _task(file)
        kind = _kind(configurations)
        records = collect(
            ((str(file), number, entry) for number, entry in enumerate(configurations, start=1)),
            *_fields(kind),
        )
        rejects += records.rejects
        rows.append(_ROWS[kind](records, task))
        for model in records.frame["model_id"]:
            # a model that also answers image or video chat is multimodal, whatever else it ran
            ran[model] = ran.get(model) if ran.get(model) == "mllm" else groups.get(task)
    frame = pd.concat(rows, ignore_index=True)
    frame["model_type"] = frame["model_name"].map(lambda model: MODEL_TYPES.get(ran.get(model)))
    return tables(SOURCE, frame.drop(columns="file"), frame["file"], rejects, _catalog(index.get("models", {}), ran))


def _task(file: Path) -> tuple[str, list]:
    content = read_json(file)
    if not isinstance(content, dict) or not isinstance(content.get("configurations"), list):
        raise UnreadableFileError(f"{file}: not an ML.ENERGY v3 task file (no 'configurations' list)")
    return str(content.get("task") or file.stem), content["configurations"]


def _kind(configurations: list) -> str:
    """Serving, image or video, from the fields the file's configurations carry."""
    fields = {name for entry in configurations if isinstance(entry, dict) for name in entry}
    return "serving" if "max_num_seqs" in fields else "video" if "num_frames" in fields else "image"


def _fields(kind: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Required fields, the ones the reader computes with, and the whole-number ones."""
    if kind == "serving":
        return SERVING_FIELDS, (), ("tensor_parallel", "expert_parallel", "data_parallel")
    return (IMAGE_FIELDS if kind == "image" else VIDEO_FIELDS), ("batch_latency_s",), ("ulysses_degree", "ring_degree")


def _base(records: Records, kind: str) -> dict[str, object]:
    frame = records.frame
    return {
        "source_row": frame["source_row"],
        "file": frame["file"],
        "model_name": frame["model_id"],
        "hardware_platform": "cuda",
        "hardware_name": frame["gpu_model"],
        "num_devices": frame["num_gpus"],
        "precision": frame["weight_precision"],
        "mode": "inference",
        "power_w": frame["avg_power_watts"],
        "power_scope": POWER_SCOPE,
        "power_derived": False,
        "framework": FRAMEWORKS[kind],
        "source": SOURCE,
    }


def _serving_rows(records: Records, task: str) -> pd.DataFrame:
    frame = records.frame
    return pd.DataFrame(
        {
            **_base(records, "serving"),
            "batch_size": frame["max_num_seqs"],
            "workload": "serving",
            "task": task,
            "throughput": frame["output_throughput_tokens_per_sec"],
            "latency_ms": frame["median_itl_ms"],
            "latency_kind": "token",
            "latency_p50_ms": frame["median_itl_ms"],
            "latency_p90_ms": frame["p90_itl_ms"],
            "latency_p99_ms": frame["p99_itl_ms"],
            "energy_per_item_j": frame["energy_per_token_joules"],
            "parallelism": parallelism(
                {
                    "tensor": frame["tensor_parallel"],
                    "expert": frame["expert_parallel"],
                    "data": frame["data_parallel"],
                }
            ),
        }
    )


def _diffusion_rows(records: Records, task: str, kind: str) -> pd.DataFrame:
    frame, prefix = records.frame, "image" if kind == "image" else "video"
    return pd.DataFrame(
        {
            **_base(records, kind),
            "batch_size": frame["batch_size"],
            "workload": "static_batch",
            **diffusion_setting(
                task,
                frame[f"{prefix}_width"],
                frame[f"{prefix}_height"],
                frame["inference_steps"],
                None if kind == "image" else frame["num_frames"],
            ),
            "throughput": frame[f"throughput_{prefix}s_per_sec"],
            "latency_ms": frame["batch_latency_s"] * 1000,
            "latency_kind": "batch",
            "energy_per_item_j": frame[f"energy_per_{prefix}_joules"],
            # xDiT splits each item's tokens over the GPUs (Ulysses x ring degrees): sequence parallelism
            "parallelism": parallelism({"sequence": frame["ulysses_degree"] * frame["ring_degree"]}),
        }
    )


_ROWS = {
    "serving": _serving_rows,
    "image": partial(_diffusion_rows, kind="image"),
    "video": partial(_diffusion_rows, kind="video"),
}


def _catalog(models: dict, ran: dict[str, str | None]) -> CatalogFacts | None:
    """Each index model's kind (from the tasks it ran) and its total and activated parameters."""
    if not models:
        return None
    names = list(models)
    described = pd.DataFrame(
        {
            "model_name": names,
            "model_family": None,
            "model_type": [MODEL_TYPES.get(ran.get(name)) for name in names],
            "modality": [MODALITIES.get(ran.get(name)) for name in names],
            "source": CATALOG_SOURCE,
        }
    )
    specs = pd.DataFrame(
        [
            {"model_name": name, "spec": spec, "value": float(facts[field]) * 1000, "source": CATALOG_SOURCE}
            for name, facts in models.items()
            for spec, field in (
                ("parameters_million", "total_params_billions"),
                ("active_parameters_million", "activated_params_billions"),
            )
            if isinstance(facts, dict) and isinstance(facts.get(field), int | float)
        ]
    )
    return CatalogFacts(models=described, model_specs=specs)
