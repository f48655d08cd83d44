"""From a ``marts.training_features``-shaped frame to the numeric matrix the models read.

Two rules shape the features:

- No identifiers. ``model_name`` and ``hardware_name`` never enter the matrix, so a model that
  scores well on leave-one-hardware-out / leave-one-model-out has learnt from catalog facts
  (peak TFLOPS, bandwidth, parameters, FLOPs per item) that an unseen device or model also has.
- Physics first. The roofline throughput and its parts enter in log space, so that a tree model
  that predicts *efficiency* (log measured / log roofline) only has to learn a bounded correction.

Descriptive categoricals (precision, mode, platform, device class, ...) are one-hot encoded over
the vocabulary seen in training; a category never seen in training encodes as all zeros, i.e.
"none of the known ones", which every model handles without special cases.

``workload_features`` rebuilds the catalog joins and the roofline of ``training_features.sql`` in
vectorised pandas, so configurations that were never measured (catalog devices, catalog models)
get exactly the features the models were trained on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from predictive_performance.vocabulary import DEFAULT_WORKLOAD

# Bytes per parameter / activation; keep in step with dbt var ``precision_bytes``.
PRECISION_BYTES: dict[str, float] = {
    "fp64": 8.0, "fp32": 4.0, "fp16": 2.0, "bf16": 2.0, "amp": 2.0, "fp8": 1.0, "fp4": 0.5, "int8": 1.0, "int4": 0.5,
}

CATEGORICAL_COLUMNS: tuple[str, ...] = (
    "precision",
    "mode",
    "hardware_platform",
    "device_class",
    "vendor",
    "architecture",
    "model_type",
    "model_family",
    "modality",
    # how the inputs arrive and what fixes them: a serving workload under a task's request set runs
    # differently from a static batch (metrics not partitioned by workload learn it as a feature)
    "workload",
    "task",
    "parallelism",
)

# (feature name, source column, transform); "log" is the natural log of a positive value, NaN otherwise.
_NUMERIC: tuple[tuple[str, str, str], ...] = (
    ("log_parameters_million", "parameters_million", "log"),
    ("num_layers", "num_layers", "raw"),
    ("log_hidden_size", "hidden_size", "log"),
    ("num_heads", "num_heads", "raw"),
    ("log_sequence_length", "sequence_length", "log"),
    ("log_image_size", "image_size", "log"),
    ("log_input_scale", "input_scale", "log"),
    ("log_flops_per_item", "flops_per_item", "log"),
    ("log_bytes_per_item", "bytes_per_item", "log"),
    ("log_arithmetic_intensity", "arithmetic_intensity", "log"),
    ("log_batch_size", "batch_size", "log"),
    ("num_devices", "num_devices", "raw"),
    ("log_num_devices", "num_devices", "log"),
    ("precision_bytes", "precision_bytes", "raw"),
    ("log_memory_gb", "memory_gb", "log"),
    ("log_memory_bandwidth_gbs", "memory_bandwidth_gbs", "log"),
    ("log_peak_fp32_tflops", "peak_fp32_tflops", "log"),
    ("log_peak_tflops_at_precision", "peak_tflops_at_precision", "log"),
    ("log_peak_fp16_tflops", "peak_fp16_tflops", "log"),
    ("log_tdp_w", "tdp_w", "log"),
    ("release_year", "release_year", "raw"),
    ("log_compute_units", "compute_units", "log"),
    ("log_compute_roof_throughput", "compute_roof_throughput", "log"),
    ("log_memory_roof_throughput", "memory_roof_throughput", "log"),
    ("log_roofline_throughput", "roofline_throughput", "log"),
    ("compute_bound", "compute_bound", "raw"),
    ("log_model_memory_mb", "model_memory_mb", "log"),
    ("log_active_parameters_million", "active_parameters_million", "log"),  # mixture-of-experts: per token
    ("log_max_sequence_length", "max_sequence_length", "log"),
    ("log_peak_fp64_tflops", "peak_fp64_tflops", "log"),
    ("log_peak_tf32_tflops", "peak_tf32_tflops", "log"),
    ("log_peak_fp8_tflops", "peak_fp8_tflops", "log"),
    ("log_peak_fp4_tflops", "peak_fp4_tflops", "log"),
    ("log_idle_power_w", "idle_power_w", "log"),
    ("compiled", "compiled", "raw"),
)

# NVIDIA architectures whose tensor cores run FP32 matmuls as TF32 (PyTorch does so for
# convolutions by default): their "fp32" rows can run at half the FP16 tensor rate, far above the
# FP32 peak the catalog lists. Volta and Turing lack TF32, which is why their fp32 efficiency is
# low next to an A100's.
TF32_ARCHITECTURES: frozenset[str] = frozenset({"Ampere", "Ada Lovelace", "Hopper", "Blackwell"})

# Autoregressive decoders (vision-language models among them: the catalog types them text_generation;
# its ``multimodal`` type is CLIP, an encoder). They end in a vocabulary projection, hold a KV cache
# while they generate, and under a serving or MLPerf workload their item is one generated token (one
# decode step: 2 FLOPs per active parameter, the weights read once per step for the whole batch); dbt's
# var ``token_item_model_types`` holds the same list.
GENERATIVE_TYPES: tuple[str, ...] = ("text_generation", "text2text_generation")

# Ratios that a tree cannot form from single columns: machine balance (FLOP per byte the device
# can sustain), how far the workload sits from the ridge point, the tensor-core speed-up at the
# row's precision, and how much of device memory the weights (and one batch of them) take.
_DERIVED: tuple[str, ...] = (
    "log_machine_balance",
    "log_ridge_distance",
    "log_precision_speedup",
    "log_tensor_speedup",
    "tf32_capable",
    "log_matmul_peak",
    "log_matmul_roofline_throughput",
    "log_weights_share_of_memory",
    "log_flops_per_batch",
    "log_roofline_batch_time_s",
    # the system chose the batch (MLPerf offline / server: batch_size empty): its own case, not batch 1
    "batch_chosen_by_system",
)

# Features along which physics fixes the sign of a step time's efficiency (measured / reference):
# each added device adds collectives, load imbalance and work it cannot split (a diffusion
# pipeline's VAE decode and text encoders), more than the references count, so efficiency never
# rises with the device count. Trees free to fit it learn data-parallel training's scaling and carry
# it to a sequence-parallel denoiser on an unseen device (ML.ENERGY v3's H100 rows: 1.3x too fast).
EFFICIENCY_FALLS_WITH: frozenset[str] = frozenset({"num_devices", "log_num_devices"})
# the references of step times (``targets.REFERENCES``): throughput rises with efficiency, batch time falls
TIME_REFERENCES: dict[str, int] = {"roofline_throughput": -1, "roofline_batch_time": 1}
EFFICIENCY_FORMULATIONS: frozenset[str] = frozenset({"physics", "physics_overhead", "physics_totals", "efficiency"})

# The columns a frame needs before ``build_matrix`` can run on it.
REQUIRED_COLUMNS: tuple[str, ...] = tuple(sorted({source for _, source, _ in _NUMERIC} | set(CATEGORICAL_COLUMNS)))


def numeric_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as float64 with NaN for missing values (also for nullable and boolean columns; all NaN when
    the frame lacks it)."""
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    values = frame[column]
    if values.dtype == bool or str(values.dtype) == "boolean":
        return values.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _log(values: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(values)
    out[~(values > 0)] = np.nan
    return out


@dataclass
class FeatureSpec:
    """The feature layout of one trained model: fixed at fit time, saved in the manifest."""

    categories: dict[str, list[str]] = field(default_factory=dict)
    # the numeric features, in matrix order: every one this code builds, or those a saved version was fitted with
    numeric: list[str] = field(default_factory=lambda: [name for name, _, _ in _NUMERIC] + list(_DERIVED))

    @classmethod
    def fit(cls, frame: pd.DataFrame) -> FeatureSpec:
        categories = {}
        for column in CATEGORICAL_COLUMNS:
            if column in frame.columns:
                seen = frame[column].dropna().astype(str).unique().tolist()
                categories[column] = sorted(seen)
            else:
                categories[column] = []
        return cls(categories=categories)

    @property
    def numeric_names(self) -> list[str]:
        return list(self.numeric)

    @property
    def names(self) -> list[str]:
        one_hot = [f"{column}={value}" for column, values in self.categories.items() for value in values]
        return self.numeric_names + one_hot

    def monotone(self, reference: str, formulation: str) -> list[int]:
        """Per ``names`` entry, the sign a learner must keep along it (-1, 0 or 1), for a target of a
        metric with this physics reference (``Metric.reference``) under a formulation: the device count
        (``EFFICIENCY_FALLS_WITH``) for step-time efficiencies, nothing elsewhere (memory and power,
        a direct log target)."""
        sign = TIME_REFERENCES.get(reference, 0) if formulation in EFFICIENCY_FORMULATIONS else 0
        return [sign if name in EFFICIENCY_FALLS_WITH else 0 for name in self.names]

    def to_dict(self) -> dict:
        return {"categories": self.categories, "names": self.names}

    @classmethod
    def from_dict(cls, data: dict) -> FeatureSpec:
        one_hot = {f"{column}={value}" for column, values in data["categories"].items() for value in values}
        return cls(
            categories={k: list(v) for k, v in data["categories"].items()},
            numeric=[name for name in data["names"] if name not in one_hot],
        )

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The float32 model matrix (rows x ``names``), built column by column, no per-row Python."""
        n = len(frame)
        out = np.empty((n, len(self.names)), dtype=np.float32)
        raw: dict[str, np.ndarray] = {}
        numeric: dict[str, np.ndarray] = {}
        for name, source, transform in _NUMERIC:
            values = raw.setdefault(source, numeric_column(frame, source))
            numeric[name] = _log(values) if transform == "log" else values
        raw.update(precision_flags(frame))
        numeric.update(zip(_DERIVED, _derived(raw), strict=True))
        for position, name in enumerate(self.numeric):
            out[:, position] = numeric[name]
        position = len(self.numeric)
        for column, vocabulary in self.categories.items():
            if not vocabulary:
                continue
            if column in frame.columns:
                codes = positions(frame[column], vocabulary)
            else:
                codes = np.full(n, -1, dtype=np.int8)
            block = out[:, position : position + len(vocabulary)]
            block[:] = 0.0
            known = codes >= 0
            block[np.flatnonzero(known), codes[known]] = 1.0
            position += len(vocabulary)
        return out


def positions(values: pd.Series, vocabulary: list) -> np.ndarray:
    """Each value's position in ``vocabulary`` (-1 when absent or missing), hashing each distinct value once:
    a million rows hold a few dozen distinct precisions, devices and models."""
    codes, distinct = pd.factorize(values)
    lookup = pd.Index(vocabulary, dtype=object).get_indexer(np.asarray(distinct, dtype=object))
    return np.append(lookup, -1)[codes]


MATMUL_RATE_COLUMNS: tuple[str, ...] = (
    "peak_tflops_at_precision", "peak_fp32_tflops", "peak_fp16_tflops", "peak_tf32_tflops",
)


def matmul_peak_tflops(raw: dict[str, np.ndarray]) -> np.ndarray:
    """The rate matmuls can reach at the row's precision: TF32 (the catalog's, else half the FP16
    tensor rate) for fp32 on ``TF32_ARCHITECTURES``, the catalog's rate at the precision otherwise.

    ``raw`` holds the source columns plus ``tf32_capable`` and ``is_fp32`` (0/1). Against the FP32
    CUDA-core peak, an A100's or H100's "fp32" rows run at 1.2-1.9x the roof, a Volta's at 0.5x.
    """
    tf32 = np.fmax(raw["peak_fp32_tflops"], coalesce(raw.get("peak_tf32_tflops", np.nan), raw["peak_fp16_tflops"] / 2.0))
    use_tf32 = (raw["is_fp32"] > 0) & (raw["tf32_capable"] > 0) & np.isfinite(tf32)
    return np.where(use_tf32, tf32, raw["peak_tflops_at_precision"])


def frame_matmul_peak_tflops(frame: pd.DataFrame) -> np.ndarray:
    """``matmul_peak_tflops`` of every row of a frame: its spec columns and precision flags read here."""
    raw = {c: numeric_column(frame, c) for c in MATMUL_RATE_COLUMNS}
    raw.update(precision_flags(frame))
    return matmul_peak_tflops(raw)


def precision_flags(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """``tf32_capable`` and ``is_fp32`` (0/1) of every row, what ``matmul_peak_tflops`` reads beside the specs."""
    n = len(frame)
    return {
        "tf32_capable": (positions(frame["architecture"], sorted(TF32_ARCHITECTURES)) >= 0).astype(np.float64)
        if "architecture" in frame.columns
        else np.zeros(n),
        "is_fp32": (positions(frame["precision"], ["fp32"]) >= 0).astype(np.float64)
        if "precision" in frame.columns
        else np.zeros(n),
    }


def _derived(raw: dict[str, np.ndarray]) -> Iterable[np.ndarray]:
    peak = raw["peak_tflops_at_precision"] * 1e12
    bandwidth = raw["memory_bandwidth_gbs"] * 1e9
    balance = _log(peak / bandwidth)
    yield balance
    yield _log(raw["arithmetic_intensity"]) - balance
    yield _log(raw["peak_tflops_at_precision"] / raw["peak_fp32_tflops"])
    # what the device's matrix units add over plain FP32, whatever the row's precision: devices
    # with large ratios also run "fp32" training through TF32 tensor cores
    yield _log(raw["peak_fp16_tflops"] / raw["peak_fp32_tflops"])
    # the rate matmuls can actually reach at the row's precision: TF32 (half the FP16 tensor
    # rate) for fp32 on TF32 architectures, the catalog's rate at the precision otherwise
    yield raw["tf32_capable"]
    matmul_peak = matmul_peak_tflops(raw)
    yield _log(matmul_peak)
    devices = np.where(np.isnan(raw["num_devices"]), 1.0, raw["num_devices"])
    with np.errstate(divide="ignore", invalid="ignore"):
        matmul_roof = np.fmin(matmul_peak * 1e12 * devices / raw["flops_per_item"], raw["memory_roof_throughput"])
    yield _log(matmul_roof)
    yield _log(raw["model_memory_mb"] / (raw["memory_gb"] * 1024.0))
    yield _log(raw["flops_per_item"] * raw["batch_size"])
    items_per_batch = raw["batch_size"] * np.where(np.isnan(raw["num_devices"]), 1.0, raw["num_devices"])
    yield _log(items_per_batch / raw["roofline_throughput"])
    yield np.isnan(raw["batch_size"]).astype(np.float64)


# --- catalog joins and roofline for configurations that were never measured -------------------

MODEL_CATALOG_COLUMNS = (
    "model_family", "model_type", "modality", "parameters_million", "num_layers", "hidden_size", "num_heads",
    "gflops_per_item", "reference_sequence_length", "reference_image_size", "reference_num_frames",
    "reference_denoising_steps", "unsplit_gflops_per_item", "active_parameters_million",
    "max_sequence_length", "intermediate_size", "num_kv_heads", "vocab_size", "recurrent_step_layers",
)
HARDWARE_CATALOG_COLUMNS = (
    "vendor", "device_class", "architecture", "release_year", "memory_gb", "memory_bandwidth_gbs",
    "peak_fp64_tflops", "peak_fp32_tflops", "peak_tf32_tflops", "peak_fp16_tflops", "peak_bf16_tflops",
    "peak_fp8_tflops", "peak_fp4_tflops", "peak_int8_tops", "tdp_w", "idle_power_w", "compute_units",
)


class UnknownEntityError(ValueError):
    """A configuration names a model or device that neither the catalogs nor the measurements know."""

    def __init__(self, kind: str, names: Iterable[str]) -> None:
        self.kind = kind
        self.names = sorted(set(names))
        super().__init__(f"unknown {kind}: {', '.join(self.names)} (add it to the {kind} catalog first)")


def workload_features(configs: pd.DataFrame, models: pd.DataFrame, hardware: pd.DataFrame) -> pd.DataFrame:
    """Join catalog facts onto configurations and derive the roofline, as ``training_features.sql`` does.

    ``configs`` needs model_name, batch_size, precision, mode and hardware_name (or only
    hardware_platform, which picks the first catalog device of that platform); num_devices,
    sequence_length and image_size are optional. ``models`` / ``hardware`` are
    ``marts.dim_models`` / ``marts.dim_hardware``. Raises ``UnknownEntityError`` naming any model
    or device missing from the catalogs.
    """
    frame = configs.copy()
    if "hardware_name" not in frame.columns:
        frame["hardware_name"] = None
    if frame["hardware_name"].isna().any():
        if "hardware_platform" not in frame.columns:
            raise ValueError("each configuration needs hardware_name or hardware_platform")
        first = hardware.drop_duplicates("hardware_platform").set_index("hardware_platform")["hardware_name"]
        frame["hardware_name"] = frame["hardware_name"].fillna(frame["hardware_platform"].map(first))
    missing_models = set(frame["model_name"].dropna().unique()) - set(models["model_name"])
    if missing_models:
        raise UnknownEntityError("model", missing_models)
    missing_hardware = set(frame["hardware_name"].dropna().unique()) - set(hardware["hardware_name"])
    if missing_hardware or frame["hardware_name"].isna().any():
        raise UnknownEntityError("hardware", missing_hardware or {"<no device for platform>"})

    model_part = models.set_index("model_name")[[c for c in MODEL_CATALOG_COLUMNS if c in models.columns]]
    hardware_cols = [c for c in HARDWARE_CATALOG_COLUMNS if c in hardware.columns] + ["hardware_platform"]
    hardware_part = hardware.set_index("hardware_name")[hardware_cols].rename(
        columns={"hardware_platform": "catalog_platform"}
    )
    drop = [c for c in (*MODEL_CATALOG_COLUMNS, *HARDWARE_CATALOG_COLUMNS) if c in frame.columns]
    frame = frame.drop(columns=drop).join(model_part, on="model_name").join(hardware_part, on="hardware_name")
    if "hardware_platform" not in frame.columns:
        frame["hardware_platform"] = frame["catalog_platform"]
    frame["hardware_platform"] = frame["hardware_platform"].fillna(frame["catalog_platform"])
    frame = frame.drop(columns="catalog_platform")
    for column in ("num_devices", "sequence_length", "image_size"):
        if column not in frame.columns:
            frame[column] = np.nan
    frame["num_devices"] = pd.to_numeric(frame["num_devices"]).fillna(1).astype("int64")
    return add_roofline(frame)


def items_are_tokens(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose throughput counts generated tokens: inference of a ``GENERATIVE_TYPES`` model under any
    workload but a static batch (``int_benchmark_results_roofline.sql``'s ``item_is_token``)."""
    workload = text_column(frame, "workload")
    return (
        (text_column(frame, "mode") == "inference")
        & pd.notna(workload) & (workload != DEFAULT_WORKLOAD)
        & np.isin(text_column(frame, "model_type"), GENERATIVE_TYPES)
    )


def add_roofline(frame: pd.DataFrame) -> pd.DataFrame:
    """Workload and roofline columns from catalog columns (the SQL of ``training_features``)."""
    seq = numeric_column(frame, "sequence_length")
    img = numeric_column(frame, "image_size")
    ref_seq = numeric_column(frame, "reference_sequence_length")
    ref_img = numeric_column(frame, "reference_image_size")
    with np.errstate(divide="ignore", invalid="ignore"):
        input_scale = np.where(
            ~np.isnan(seq) & (ref_seq > 0), seq / ref_seq, np.where(~np.isnan(img) & (ref_img > 0), (img / ref_img) ** 2, 1.0)
        ) * _ratio_or_one(frame, "num_frames", "reference_num_frames") * _ratio_or_one(
            frame, "denoising_steps", "reference_denoising_steps"
        )
    mode_factor = np.where(frame["mode"].astype("object").to_numpy() == "training", 3.0, 1.0)
    precision = frame["precision"].astype("object")
    precision_bytes = np.append(list(PRECISION_BYTES.values()), np.nan)[positions(precision, list(PRECISION_BYTES))]
    fp32 = numeric_column(frame, "peak_fp32_tflops")
    fp16 = coalesce(numeric_column(frame, "peak_fp16_tflops"), fp32)
    bf16 = coalesce(numeric_column(frame, "peak_bf16_tflops"), fp16)
    int8 = coalesce(numeric_column(frame, "peak_int8_tops"), fp16)
    fp8 = coalesce(numeric_column(frame, "peak_fp8_tflops"), fp16)
    fp4 = coalesce(numeric_column(frame, "peak_fp4_tflops"), fp8)
    p = precision.to_numpy()
    peak = np.select(
        [p == "fp64", p == "fp32", np.isin(p, ["fp16", "amp"]), p == "bf16", np.isin(p, ["int8", "int4"]), p == "fp8",
         p == "fp4"],
        [numeric_column(frame, "peak_fp64_tflops"), fp32, fp16, bf16, int8, fp8, fp4],
        default=np.nan,
    )
    params = numeric_column(frame, "parameters_million")
    batch = numeric_column(frame, "batch_size")
    devices = numeric_column(frame, "num_devices")
    hidden = numeric_column(frame, "hidden_size")
    layers = numeric_column(frame, "num_layers")
    tokens = coalesce(seq, ref_seq)
    activations = np.nan_to_num(2.0 * hidden * tokens * layers * precision_bytes, nan=0.0)
    tokens_out = items_are_tokens(frame)
    active = coalesce(numeric_column(frame, "active_parameters_million"), params) * 1e6
    flops = np.where(tokens_out, 2.0 * active, numeric_column(frame, "gflops_per_item") * 1e9 * input_scale * mode_factor)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_input = mode_factor * (params * 1e6 * precision_bytes / batch + activations)
        bytes_per_item = np.where(tokens_out, active * precision_bytes / batch, per_input)
        compute_roof = peak * 1e12 * devices / flops
        memory_roof = numeric_column(frame, "memory_bandwidth_gbs") * 1e9 * devices / bytes_per_item
        out = frame.assign(
            input_scale=input_scale,
            precision_bytes=precision_bytes,
            peak_tflops_at_precision=peak,
            flops_per_item=flops,
            bytes_per_item=bytes_per_item,
            arithmetic_intensity=flops / bytes_per_item,
            compute_roof_throughput=compute_roof,
            memory_roof_throughput=memory_roof,
            roofline_throughput=np.fmin(compute_roof, memory_roof),
            compute_bound=(compute_roof <= memory_roof).astype(np.float64),
            model_memory_mb=params * 1e6 * precision_bytes / 1048576.0,
            log_batch_size=np.log(batch),
        )
    return out


def _ratio_or_one(frame: pd.DataFrame, column: str, reference: str) -> np.ndarray:
    """A diffusion item's frames or steps over the catalog's reference; 1 where either is unknown."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = numeric_column(frame, column) / np.where(numeric_column(frame, reference) > 0, numeric_column(frame, reference), np.nan)
    return np.nan_to_num(ratio, nan=1.0)


def coalesce(first: np.ndarray, second: np.ndarray | float) -> np.ndarray:
    """``first`` where it is a number, ``second`` elsewhere."""
    return np.where(np.isnan(first), second, first)


def text_column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A text column as objects (None throughout when the frame lacks it)."""
    if name not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    return frame[name].astype("object").to_numpy()
