"""Which configurations to measure next on this machine.

Two sources, in this order:

1. ``active_learning.queue`` when the warehouse has it: untested configurations ranked by
   ``expected_information_gain``; the rows this machine can run (its platforms and precisions,
   its hardware name where the queue names one, a model the runner can build) are taken in rank
   order;
2. otherwise a coverage-driven plan: every configuration of the candidate grid not yet in the
   warehouse for this machine, taking first from the (model, platform, precision, mode) groups with
   the fewest rows so far, cheapest first within a group, round robin over groups.

Configurations predicted to take longer than a cap per iteration are left out of both plans (on a
2-vCPU machine bert-large at batch 64 x 512 tokens would take minutes per iteration).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from predictive_performance.benchmark.architectures import (
    ARCHITECTURES,
    ArchitectureSpec,
    UnknownArchitectureError,
    get_architecture,
)
from predictive_performance.benchmark.configuration import BenchmarkConfig
from predictive_performance.benchmark.hardware import HardwareInfo

DEFAULT_BUDGET = 10
PLAN_MAX_ITERATION_S = 3.0
BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64)
EXTRA_BATCH_SIZES = (3, 6, 12, 24, 48)  # between the sample grid's, for coverage runs
EXTRA_SEQUENCE_LENGTHS = (48, 96, 192, 384, 512)
EXTRA_IMAGE_SIZES = (128, 192, 256)
TRAINING_MODELS = (
    "electra-small",
    "distilbert-base-uncased",
    "t5-small",
    "bert-base-uncased",
    "deit-small-patch16-224",
    "resnet-18",
    "mobilenet-v2",
    "efficientnet-b0",
)
# Families whose weights sit mostly in convolutions: PyTorch dynamic int8 leaves them fp32.
CONV_FAMILIES = frozenset({"resnet", "mobilenet", "efficientnet"})

# Rough sustained GFLOP/s per (platform, precision) on one x86 vCPU, only to order and cap plans
# before anything was measured; measured rows replace them.
ASSUMED_GFLOPS_PER_VCPU = {
    ("cpu", "fp32"): 60.0,
    ("cpu", "bf16"): 120.0,
    ("cpu", "int8"): 100.0,
    ("onnxruntime", "fp32"): 120.0,
    ("onnxruntime", "int8"): 200.0,  # transformers; ConvInteger kernels are far slower (see below)
    ("openvino", "fp32"): 120.0,
    ("openvino", "bf16"): 180.0,
    ("openvino", "fp16"): 150.0,
    ("openvino", "int8"): 300.0,
}
TRAINING_COST_FACTOR = 3.5  # forward + backward + optimizer step versus a forward pass
# One-off seconds before a group's first measurement (export, quantization, compilation), so that
# among equally covered groups the quick ones come first.
PREPARATION_S = {"cpu": 1.0, "onnxruntime": 3.0, "openvino": 4.0}
PREPARATION_INT8_EXTRA_S = {"onnxruntime": 3.0, "openvino": 12.0}

KEY_COLUMNS = ("model_name", "hardware_platform", "batch_size", "precision", "mode", "sequence_length", "image_size")


def runtime_modes(hardware: HardwareInfo) -> list[tuple[str, str, str]]:
    """(platform, precision, mode) triples this machine's runner can measure."""
    triples = []
    for info in hardware.platforms:
        if not info.available or info.platform not in ("cpu", "onnxruntime", "openvino"):
            continue
        for precision in info.precisions:
            triples.append((info.platform, precision, "inference"))
        if info.platform == "cpu" and "fp32" in info.precisions:
            triples.append(("cpu", "fp32", "training"))
    return triples


def supports(spec: ArchitectureSpec, platform: str, precision: str, mode: str) -> bool:
    if platform == "cpu" and precision == "int8" and spec.family in CONV_FAMILIES:
        return False
    if mode == "training":
        return spec.name in TRAINING_MODELS and platform == "cpu" and precision == "fp32"
    return True


def shapes(spec: ArchitectureSpec, extended: bool = False) -> list[tuple[int | None, int | None]]:
    """(sequence_length, image_size) pairs to sweep for ``spec``."""
    sequences: list[int | None] = [None]
    images: list[int | None] = [None]
    if spec.uses_sequence_length:
        sequences = list(spec.sequence_lengths)
        if extended and spec.modality == "text":
            limit = spec.max_sequence_length or 512
            sequences += [s for s in EXTRA_SEQUENCE_LENGTHS if s <= limit and s not in sequences]
    if spec.uses_image_size:
        images = list(spec.image_sizes)
        if extended and spec.modality == "vision" and "fixed_image_size" not in spec.extra:
            patch = spec.extra.get("patch_size")
            images += [i for i in EXTRA_IMAGE_SIZES if i not in images and (not patch or i % patch == 0)]
    return [(s, i) for s in sequences for i in images]


def candidate_grid(
    hardware: HardwareInfo, extended: bool = True, models: Iterable[str] | None = None
) -> list[BenchmarkConfig]:
    """Every configuration the coverage plan may pick on this machine."""
    names = list(models) if models is not None else [n for n, s in ARCHITECTURES.items() if not s.test_only]
    batches = sorted(set(BATCH_SIZES) | (set(EXTRA_BATCH_SIZES) if extended else set()))
    grid = []
    for name in names:
        spec = get_architecture(name)
        for platform, precision, mode in runtime_modes(hardware):
            if not supports(spec, platform, precision, mode):
                continue
            for sequence, image in shapes(spec, extended):
                for batch in batches:
                    grid.append(BenchmarkConfig(spec.name, platform, batch, precision, mode, sequence, image))
    return grid


def estimated_iteration_s(config: BenchmarkConfig, hardware: HardwareInfo, observed: dict | None = None) -> float:
    """Seconds per iteration: scaled from this group's measured rows where there are any."""
    spec = get_architecture(config.model_name)
    cost = spec.approx_gflops(config.batch_size, config.sequence_length, config.image_size)
    if config.mode == "training":
        cost *= TRAINING_COST_FACTOR
    group = (spec.name, config.hardware_platform, config.precision, config.mode)
    if observed and group in observed:
        return cost / observed[group]
    rate = ASSUMED_GFLOPS_PER_VCPU.get((config.hardware_platform, config.precision), 60.0) * hardware.cpu.vcpus
    if (
        config.hardware_platform == "onnxruntime"
        and config.precision == "int8"
        and spec.family in CONV_FAMILIES | {"convnext"}
    ):
        rate /= 8.0  # ONNX Runtime's dynamic int8 convolutions (ConvInteger) are slow on CPUs
    return cost / rate


def measured_rows(warehouse, hardware_name: str) -> pd.DataFrame:
    """Rows already measured (or tried and failed) on this machine: the key columns + throughput."""
    frames = []
    if warehouse is None:
        return pd.DataFrame(columns=[*KEY_COLUMNS, "throughput", "failed"])
    if warehouse.table_exists("raw.benchmark_results"):
        frames.append(
            warehouse.query(
                f"SELECT {', '.join(KEY_COLUMNS)}, throughput, false AS failed FROM raw.benchmark_results WHERE hardware_name = ?",
                [hardware_name],
            )
        )
    if warehouse.table_exists("raw.failed_benchmarks"):
        frames.append(
            warehouse.query(
                f"SELECT {', '.join(KEY_COLUMNS)}, NULL::DOUBLE AS throughput, true AS failed "
                "FROM raw.failed_benchmarks WHERE hardware_name = ?",
                [hardware_name],
            )
        )
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=[*KEY_COLUMNS, "throughput", "failed"])
    return pd.concat(frames, ignore_index=True)


def config_key(config: BenchmarkConfig) -> tuple:
    try:
        resolved = config.resolved()
    except UnknownArchitectureError:
        resolved = config
    return (
        resolved.model_name,
        resolved.hardware_platform,
        int(resolved.batch_size),
        resolved.precision,
        resolved.mode,
        _int_or_none(resolved.sequence_length),
        _int_or_none(resolved.image_size),
    )


def _int_or_none(value) -> int | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value)


def _observed_rates(rows: pd.DataFrame) -> dict[tuple, float]:
    """GFLOP/s per (model, platform, precision, mode) from measured rows."""
    rates: dict[tuple, list[float]] = {}
    for row in rows[~rows["failed"].astype(bool)].itertuples(index=False):
        try:
            spec = get_architecture(row.model_name)
        except UnknownArchitectureError:
            continue
        if not row.throughput or pd.isna(row.throughput):
            continue
        per_item = spec.approx_gflops(1, _int_or_none(row.sequence_length), _int_or_none(row.image_size))
        if row.mode == "training":
            per_item *= TRAINING_COST_FACTOR
        rates.setdefault((spec.name, row.hardware_platform, row.precision, row.mode), []).append(
            per_item * row.throughput
        )
    return {group: float(pd.Series(values).median()) for group, values in rates.items()}


def _existing_keys(rows: pd.DataFrame) -> set[tuple]:
    keys = set()
    for row in rows.itertuples(index=False):
        keys.add(
            config_key(
                BenchmarkConfig(
                    row.model_name,
                    row.hardware_platform,
                    int(row.batch_size),
                    row.precision,
                    row.mode,
                    _int_or_none(row.sequence_length),
                    _int_or_none(row.image_size),
                )
            )
        )
    return keys


def coverage_plan(
    hardware: HardwareInfo,
    warehouse=None,
    budget: int = DEFAULT_BUDGET,
    max_iteration_s: float = PLAN_MAX_ITERATION_S,
) -> list[BenchmarkConfig]:
    """Configurations not yet measured here, spread over the least-covered groups, cheap first."""
    rows = measured_rows(warehouse, hardware.cpu.hardware_name)
    existing = _existing_keys(rows)
    observed = _observed_rates(rows)
    counts: dict[tuple, int] = {}
    for row in rows.itertuples(index=False):
        group = (row.model_name, row.hardware_platform, row.precision, row.mode)
        counts[group] = counts.get(group, 0) + 1
    by_group: dict[tuple, list[tuple[float, BenchmarkConfig]]] = {}
    for config in candidate_grid(hardware):
        if config_key(config) in existing:
            continue
        seconds = estimated_iteration_s(config, hardware, observed)
        if seconds > max_iteration_s:
            continue
        group = (config.model_name, config.hardware_platform, config.precision, config.mode)
        by_group.setdefault(group, []).append((seconds, config))

    def preparation(group: tuple) -> float:
        _, platform, precision, _ = group
        extra = PREPARATION_INT8_EXTRA_S.get(platform, 0.0) if precision == "int8" else 0.0
        return PREPARATION_S.get(platform, 1.0) + extra

    ordered_groups = sorted(
        by_group, key=lambda g: (counts.get(g, 0), preparation(g) + min(s for s, _ in by_group[g]), g)
    )
    queues = [sorted(by_group[g], key=lambda item: (item[0], item[1].batch_size)) for g in ordered_groups]
    plan: list[BenchmarkConfig] = []
    for round_items in itertools.zip_longest(*queues):
        for item in round_items:
            if item is None:
                continue
            plan.append(item[1])
            if len(plan) >= budget:
                return plan
    return plan


def queue_plan(
    warehouse, hardware: HardwareInfo, budget: int = DEFAULT_BUDGET, max_iteration_s: float = PLAN_MAX_ITERATION_S
) -> list[BenchmarkConfig]:
    """The top of ``active_learning.queue`` that this machine can run and has not measured."""
    if warehouse is None or not warehouse.table_exists("active_learning.queue"):
        return []
    queue = warehouse.query("SELECT * FROM active_learning.queue")
    if queue.empty or "model_name" not in queue:
        return []
    if "expected_information_gain" in queue:
        queue = queue.sort_values("expected_information_gain", ascending=False, kind="stable")
    rows = measured_rows(warehouse, hardware.cpu.hardware_name)
    existing = _existing_keys(rows)
    observed = _observed_rates(rows)
    plan: list[BenchmarkConfig] = []
    seen: set[tuple] = set()
    for record in queue.to_dict("records"):
        hardware_name = record.get("hardware_name")
        if isinstance(hardware_name, str) and hardware_name and hardware_name != hardware.cpu.hardware_name:
            continue
        try:
            config = BenchmarkConfig.from_mapping(record).resolved()
            spec = get_architecture(config.model_name)
            spec.check_shape(config.sequence_length, config.image_size)
        except (UnknownArchitectureError, ValueError, KeyError, TypeError):
            continue
        if spec.test_only or not hardware.supports(config.hardware_platform, config.precision):
            continue
        if not supports(spec, config.hardware_platform, config.precision, config.mode):
            continue
        key = config_key(config)
        if key in existing or key in seen:
            continue
        if estimated_iteration_s(config, hardware, observed) > max_iteration_s:
            continue
        seen.add(key)
        plan.append(config)
        if len(plan) >= budget:
            break
    return plan


def plan_configurations(
    warehouse, hardware: HardwareInfo, budget: int | None = None
) -> tuple[list[BenchmarkConfig], str]:
    """(configurations, where they came from: "active_learning.queue" or "coverage")."""
    budget = DEFAULT_BUDGET if budget is None else budget
    if budget <= 0:
        return [], "coverage"
    from_queue = queue_plan(warehouse, hardware, budget)
    if from_queue:
        return from_queue, "active_learning.queue"
    return coverage_plan(hardware, warehouse, budget), "coverage"


def load_configs(path: str | Path) -> list[BenchmarkConfig]:
    """Configurations from a CSV, Parquet or JSON file with at least a ``model_name`` column."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame = pd.read_parquet(path)
    elif suffix in (".json", ".jsonl"):
        frame = pd.read_json(path, lines=suffix == ".jsonl")
    else:
        frame = pd.read_csv(path)
    if "model_name" not in frame:
        raise ValueError(f"{path}: needs a model_name column (and optionally {', '.join(KEY_COLUMNS[1:])})")
    frame = frame.astype(object).where(frame.notna(), None)
    return [BenchmarkConfig.from_mapping(record) for record in frame.to_dict("records")]
