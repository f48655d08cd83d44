"""What peak memory and average power should be from physics and specs alone: the physics references of both.

The physics formulation (``targets``) fits ``log(metric) - log(prior)``, so a learned correction
only has to say how far a runtime strays from these figures; a device or model never measured
still gets the prior's scaling (twice the batch, twice the KV cache; half the TDP, half the power).

Memory per device (MB): the weights at the row's precision; in training also their gradients and
AdamW's state; the activations of the batch; for generative serving the KV cache; plus a fixed
runtime workspace. Power (W): each device between its idle power and its TDP by how busy its
compute units are, summed over the devices, plus the host for power at the wall.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictive_performance.modeling.features import GENERATIVE_TYPES, coalesce, frame_matmul_peak_tflops, text_column
from predictive_performance.modeling.features import numeric_column as column_values
from predictive_performance.modeling.layers import (
    DEFAULT_LAYERS,
    MATMUL_KINDS,
    MIN_KV_BYTES,
    context_tokens,
    splits_batch,
    step_seconds,
    step_work,
    unsplit_work,
)

MB = 1048576.0

# Training keeps the weights' gradients at the weights' precision and AdamW's two moments in fp32
# (fp64 for fp64 weights); below fp32 (mixed precision) an fp32 master copy of the weights too. So
# 16 bytes per parameter for fp32 and for 16-bit mixed precision alike (ZeRO's accounting); the
# local runner trains fp32 with AdamW.
ADAM_MOMENTS = 2.0
MASTER_WEIGHT_BYTES = 4.0

# Activations per item and layer, in elements, of a transformer layer without recomputation
# (Korthikanti et al. 2022): 17 s h + 2.5 a s^2 (their 34 s h + 5 a s^2 bytes at 2 bytes each).
# Training keeps every layer's for the backward pass; inference holds about one layer's at a time.
TRANSFORMER_ELEMENTS_PER_TOKEN_AND_HIDDEN = 17.0
TRANSFORMER_ELEMENTS_PER_HEAD_AND_TOKEN_PAIR = 2.5
VIT_PATCH = 16  # a vision transformer without a sequence length: (image / 16)^2 patches + the class token

# Where the catalog lacks the shape (conv nets): stored activation elements from the forward FLOPs.
# The local runner's training rows (224 px, fp32) need 23 (MobileNet-V2, EfficientNet-B0) to 330
# (ResNet-18) forward FLOPs per stored element; 50 sits between them in log space.
FLOPS_PER_STORED_ACTIVATION = 50.0

# Memory no configuration term explains. The local runner counts from just before the model loads
# (the framework's import is not in ``memory_mb``), so on a CPU what remains is the runtime's own
# allocations: the median of peak minus weights and activations over its batch-1 PyTorch and ONNX
# Runtime rows is about 12 MB (OpenVINO's compiled copy of the model adds hundreds more, which the
# learned correction sees through the platform). On an accelerator the CUDA / ROCm context, the
# BLAS workspace and the caching allocator's slack take about 0.5 GB of device memory.
HOST_PLATFORMS: tuple[str, ...] = ("cpu", "onnxruntime", "openvino", "webnn", "webgpu")
HOST_WORKSPACE_MB = 12.0
DEVICE_CONTEXT_MB = 512.0

# A device without a stated idle power idles at this share of its TDP (data-centre GPUs sit at
# 10-20 %: an H100 SXM about 70-90 W of 700, an A100 SXM about 50-60 W of 400).
IDLE_SHARE_OF_TDP = 0.15
# Busy-ness bounds: even a memory-bound or launch-bound step keeps clocks and memory up.
MIN_UTILISATION = 0.1
# Power at the wall adds the host to the accelerators: CPUs, memory, fans, network and PSU losses,
# about a quarter of the accelerators' draw in an 8-GPU server under load (a DGX H100 is rated
# 10.2 kW for 5.6 kW of GPU TDP; its host rarely draws its rating).
HOST_SHARE_OF_ACCELERATORS = 0.25

SHARDING_PARALLELISMS: tuple[str, ...] = ("tensor", "pipeline", "expert")


def _shards(frame: pd.DataFrame) -> np.ndarray:
    """Over how many devices the weights and the cache are split (1 when replicated: data parallel or unstated)."""
    devices = np.nan_to_num(column_values(frame, "num_devices"), nan=1.0)
    return np.where(np.isin(text_column(frame, "parallelism"), SHARDING_PARALLELISMS), devices, 1.0)


def weight_state_bytes_per_parameter(frame: pd.DataFrame) -> np.ndarray:
    """Bytes each parameter holds: its weight, and in training its gradient, AdamW's moments and an fp32 master copy."""
    weight = column_values(frame, "precision_bytes")
    training = text_column(frame, "mode") == "training"
    optimizer = weight + ADAM_MOMENTS * np.fmax(weight, 4.0) + np.where(weight < 4.0, MASTER_WEIGHT_BYTES, 0.0)
    return np.where(training, weight + optimizer, weight)


def activation_bytes(frame: pd.DataFrame) -> np.ndarray:
    """Peak activation bytes of one device's batch (0 where neither the shape nor the FLOPs are known)."""
    hidden = column_values(frame, "hidden_size")
    heads = coalesce(column_values(frame, "num_heads"), 1.0)
    layers = column_values(frame, "num_layers")
    patches = (column_values(frame, "image_size") / VIT_PATCH) ** 2 + 1.0
    tokens = coalesce(coalesce(column_values(frame, "sequence_length"), patches), 1.0)
    per_layer = (TRANSFORMER_ELEMENTS_PER_TOKEN_AND_HIDDEN * tokens * hidden
                 + TRANSFORMER_ELEMENTS_PER_HEAD_AND_TOKEN_PAIR * heads * tokens**2)
    training = text_column(frame, "mode") == "training"
    forward_flops = column_values(frame, "flops_per_item") / np.where(training, 3.0, 1.0)
    stored = coalesce(per_layer * layers, forward_flops / FLOPS_PER_STORED_ACTIVATION)
    live = np.where(training, stored, stored / coalesce(layers, DEFAULT_LAYERS))
    batch = coalesce(column_values(frame, "batch_size"), 1.0)
    return np.nan_to_num(live * batch * column_values(frame, "precision_bytes"), nan=0.0)


def kv_cache_bytes(frame: pd.DataFrame) -> np.ndarray:
    """Bytes of the KV cache on one device: 2 x layers x kv heads x head dim x tokens x batch x bytes,
    for generative models under a serving workload or timed per token; 0 for every other row."""
    workload = text_column(frame, "workload")
    serving = (pd.notna(workload) & (workload != "static_batch")) | (text_column(frame, "latency_kind") == "token")
    generative = np.isin(text_column(frame, "model_type"), GENERATIVE_TYPES) & serving
    heads = column_values(frame, "num_heads")
    kv_heads = coalesce(column_values(frame, "num_kv_heads"), heads)
    head_dim = column_values(frame, "hidden_size") / heads
    tokens = context_tokens(frame)
    batch = coalesce(column_values(frame, "batch_size"), 1.0)
    kv_bytes = np.fmax(column_values(frame, "precision_bytes"), MIN_KV_BYTES)
    cache = 2.0 * column_values(frame, "num_layers") * kv_heads * head_dim * tokens * batch * kv_bytes / _shards(frame)
    return np.where(generative, np.nan_to_num(cache, nan=0.0), 0.0)


def workspace_mb(frame: pd.DataFrame) -> np.ndarray:
    """The runtime's fixed share: a CPU process's own allocations, or an accelerator's context."""
    return np.where(np.isin(text_column(frame, "hardware_platform"), HOST_PLATFORMS), HOST_WORKSPACE_MB, DEVICE_CONTEXT_MB)


def memory_prior_mb(frame: pd.DataFrame) -> np.ndarray:
    """Peak MB per device from the configuration alone; the weights' footprint (``model_memory_mb``)
    where the parameter count or the precision is missing, NaN where that is missing too."""
    parameters = column_values(frame, "parameters_million") * 1e6
    weights = parameters * weight_state_bytes_per_parameter(frame) / _shards(frame)
    prior = (weights + activation_bytes(frame) + kv_cache_bytes(frame)) / MB + workspace_mb(frame)
    return coalesce(prior, column_values(frame, "model_memory_mb"))


def utilisation(frame: pd.DataFrame) -> np.ndarray:
    """How busy the compute units are: the matrix units' time for the step's FLOPs (``layers.step_work`` and a
    diffusion pipeline's ``layers.unsplit_work``; a batch split over n devices gives each 1/n of both, on
    average) over the physics step (``layers.step_seconds``), in [``MIN_UTILISATION``, 1]; 1 (rated power)
    where the FLOPs or the peak are unknown."""
    seconds = step_seconds(frame)[0]
    work, unsplit = step_work(frame), unsplit_work(frame)
    devices = np.nan_to_num(column_values(frame, "num_devices"), nan=1.0)
    flops = np.sum([work[kind][0] + unsplit[kind][0] for kind in MATMUL_KINDS], axis=0)
    flops = flops / np.where(splits_batch(frame), devices, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = flops / (frame_matmul_peak_tflops(frame) * 1e12) / seconds
    return np.clip(np.where(np.isfinite(share), share, 1.0), MIN_UTILISATION, 1.0)


def power_prior_w(frame: pd.DataFrame) -> np.ndarray:
    """Average W: idle + (TDP - idle) x utilisation per device, times the devices, plus the host's
    share where ``power_scope`` is ``system``; NaN where the TDP is unknown."""
    tdp = column_values(frame, "tdp_w")
    idle = coalesce(column_values(frame, "idle_power_w"), IDLE_SHARE_OF_TDP * tdp)
    devices = np.nan_to_num(column_values(frame, "num_devices"), nan=1.0)
    accelerators = (idle + (tdp - idle) * utilisation(frame)) * devices
    at_wall = text_column(frame, "power_scope") == "system"
    return accelerators * np.where(at_wall, 1.0 + HOST_SHARE_OF_ACCELERATORS, 1.0)
