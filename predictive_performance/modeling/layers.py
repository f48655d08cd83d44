"""The work of one step per layer kind, and the time an ideal device takes for it.

A model's total FLOPs and bytes at one roof miss what makes real steps slow: a transformer's
attention scores are memory-bound while its linear layers are compute-bound, normalisation and
elementwise layers only move bytes, and a batch of one pays a launch overhead per layer that no
roof shows. So each kind takes its own ``FLOPs / rate + bytes / bandwidth``, the matmul-like kinds
at ``features.matmul_peak_tflops`` (tensor cores where the precision uses them, TF32 where PyTorch
uses it), and the step is their sum plus the launch overhead plus, on several devices, the time
spent communicating (``communication_seconds``) rather than an assumed linear speed-up.

Compute and memory time add rather than overlap (``max``), as in Paleo (Qi et al., ICLR 2017): a
layer's kernels load their operands before the matrix units can use them, and a device whose
rate grew faster than its bandwidth gains only on the compute part. Against ``max`` it predicts
every source's unseen devices and unseen models better on the default data (static-batch
throughput, GPUs, leave-one-hardware-out 34.2 -> 32.8 %; leave-one-model-out 37.7 -> 37.0 %).

Transformers (layers, hidden size, heads and a sequence length known) are built from their
config; every other model (conv nets, diffusion pipelines, recurrent nets) from the catalog's
FLOPs per item as convolution work plus the activation bytes those FLOPs imply. A diffusion
pipeline's work outside its denoising steps (``unsplit_gflops_per_item``: VAE decode, text and image
encoders) is its own convolution work (``unsplit_work``) that no split over devices divides. All
figures are per device; ``batch_size`` is per device, so one step handles ``batch_size x
num_devices`` items.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictive_performance.modeling.features import (
    GENERATIVE_TYPES,
    coalesce,
    frame_matmul_peak_tflops,
    items_are_tokens,
    numeric_column,
    positions,
    text_column,
)

KINDS: tuple[str, ...] = ("linear", "attention", "elementwise", "embedding", "convolution")
# kinds whose FLOPs run on the matrix units; the others only move bytes
MATMUL_KINDS: frozenset[str] = frozenset({"linear", "attention", "embedding", "convolution"})
# kinds PyTorch runs as TF32 for fp32 by default (cuDNN's ``allow_tf32``); its matmuls stay at the
# FP32 rate since 1.12 (``matmul.allow_tf32`` is off): NeuSight's fp32 A100 transformers run at
# 0.14x a TF32 roof and 0.7x the FP32 one
TF32_KINDS: frozenset[str] = frozenset({"convolution"})

# Launch and framework overhead of one step, per layer (about ten kernels of about 10 us each): a
# fixed cost per batch, so it dominates batch 1 of a small model and vanishes at large batches.
STEP_OVERHEAD_S_PER_LAYER = 1e-4
DEFAULT_LAYERS = 24.0  # where the catalog lacks the depth (conv nets): a ResNet-50's ~50 layers in ~16 blocks
TRAINING_FACTOR = 3.0  # forward + backward: the backward pass does twice the forward's work and re-reads its activations

# Eager attention writes the heads x seq^2 scores, softmax reads and writes them, the value matmul
# reads them again; a fused (compiled / flash) kernel keeps them on chip.
SCORE_PASSES = 4.0
# Bytes moved per token and layer by normalisation and elementwise kernels, in units of the hidden
# size (two layer norms read + write, two residual adds read two and write one) and of the MLP
# width (the activation function reads and writes it). Compiled graphs fuse about half of them.
ELEMENTWISE_HIDDEN_PASSES = 10.0
ELEMENTWISE_INTERMEDIATE_PASSES = 2.0
FUSED_ELEMENTWISE_SHARE = 0.5
# Without a transformer config: the activation elements the catalog's FLOPs imply. A layer with
# fan-in k does 2k FLOPs per output element, and k is about the square root of the weights per layer
# (a ResNet-50: ~1400 against ~750 counted; a VGG ~5900 against ~2000; a depthwise MobileNet's ~90
# is the exception). Each element is written and read by its layer and read and written by the
# batch norm and activation after it.
CONV_ACTIVATION_PASSES = 2.0
CONV_ELEMENTWISE_PASSES = 4.0
# A diffusion pipeline's unsplit part (VAE decode, encoders) implies its activations with the fan-in of
# a VAE decoder's 3x3 convolutions over 128-512 channels: a KL-f8 decoder at 1024x1024 does ~4.9 T
# multiply-adds into ~1.9 G output elements, a third of them 128 channels at full resolution.
UNSPLIT_FAN_IN = 2500.0
# A generated token's context without a sequence length (a chat prompt and its answer), at most the model's
# own limit; its cache stays in 16-bit under weight-only quantisation (vLLM's ``kv_cache_dtype=auto``).
DEFAULT_CONTEXT_TOKENS = 2048.0
MIN_KV_BYTES = 2.0

# Interconnect bandwidth per device (GB/s, one direction), as no catalog column states it: NVLink
# (SXM / NVL / superchip parts), AMD Infinity Fabric (OAM parts), TPU ICI by architecture; every
# other device talks over PCIe of its generation (3: 16, 4: 32, 5: 64 GB/s).
LINKED_PARTS = r"SXM|NVL|GH200|MI250|MI300|MI325|TPU"
LINK_GBS: dict[str, float] = {
    "Volta": 150.0, "Ampere": 300.0, "Hopper": 450.0, "Blackwell": 900.0, "CDNA 2": 300.0, "CDNA 3": 448.0,
    "TPU v5e": 200.0, "TPU v6e (Trillium)": 400.0,
}
PCIE_GBS: dict[str, float] = {
    "Ampere": 32.0, "Ada Lovelace": 32.0, "CDNA": 32.0, "CDNA 2": 32.0, "Hopper": 64.0, "Blackwell": 64.0, "CDNA 3": 64.0,
}
DEFAULT_PCIE_GBS = 16.0
# Parallelisms that split one batch over the devices: each device sees the whole batch (``batch_size``)
# and does 1/n of its work (tensor: of every layer's weights; expert: of the experts' weights, beside
# tensor-parallel attention as vLLM runs it; sequence: of every item's tokens), so a step handles
# ``batch_size`` items, pays the whole launch overhead and waits on collectives per layer.
SPLIT_PARALLELISMS: tuple[str, ...] = ("tensor", "expert", "sequence")
# Collectives per layer and pass: tensor parallelism all-reduces twice (attention and MLP outputs);
# expert parallelism exchanges the activations twice as well (the attention output's all-reduce, then
# the tokens sent to their experts' devices and back); Ulysses sequence parallelism exchanges queries,
# keys, values and the output (four all-to-alls).
COLLECTIVES_PER_LAYER: dict[str, float] = {"tensor": 2.0, "expert": 2.0, "sequence": 4.0}
# A collective over n devices takes n - 1 hops, each with a fixed latency whatever its size (NCCL's
# small-message latency is a few microseconds per hop), so small per-device shards stop scaling.
HOP_LATENCY_S = 5e-6
# A transformer block holds about 12 h^2 weights (4 h^2 in attention, 8 h^2 in a 4h-wide MLP), so a
# model whose catalog lacks the hidden size has one of about sqrt(weights per layer / 12): FLUX.1
# 4200 (3072 in its config), PixArt-Sigma 1340 (1152), Wan 2.1 14B 5400 (5120).
BLOCK_WEIGHTS_PER_WIDTH_SQUARED = 12.0

Work = dict[str, tuple[np.ndarray, np.ndarray]]  # kind -> (FLOPs, bytes) of one step on one device


def _training(frame: pd.DataFrame) -> np.ndarray:
    return text_column(frame, "mode") == "training"


def forward_passes(frame: pd.DataFrame) -> np.ndarray:
    """Passes through every layer one item takes: a diffusion item's denoising steps (the row's, else the
    catalog's reference), 1 for everything else. Each pass pays its own launches and collectives."""
    steps = coalesce(numeric_column(frame, "denoising_steps"), numeric_column(frame, "reference_denoising_steps"))
    return np.where(steps > 0, steps, 1.0)


def _step_ratio(frame: pd.DataFrame) -> np.ndarray:
    """The row's denoising steps over the catalog's reference (1 where either is unknown), by which
    ``flops_per_item`` scales the whole item."""
    reference = numeric_column(frame, "reference_denoising_steps")
    passes = forward_passes(frame)
    return passes / np.where(reference > 0, reference, passes)


def unsplit_flops_per_item(frame: pd.DataFrame) -> np.ndarray:
    """FLOPs of one item outside the denoising steps (``unsplit_gflops_per_item``) at the row's input size
    and mode, 0 where the catalog states none: it runs once per item whatever the steps."""
    gflops = np.nan_to_num(numeric_column(frame, "unsplit_gflops_per_item"), nan=0.0)
    return gflops * 1e9 * coalesce(numeric_column(frame, "input_scale"), 1.0) / _step_ratio(frame) * _factor(frame)


def splits_batch(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose batch is split over several devices (``SPLIT_PARALLELISMS``)."""
    devices = np.nan_to_num(numeric_column(frame, "num_devices"), nan=1.0)
    return np.isin(text_column(frame, "parallelism"), SPLIT_PARALLELISMS) & (devices > 1)


def items_per_step(frame: pd.DataFrame, batch: np.ndarray | None = None) -> np.ndarray:
    """Items one step of all the devices handles: ``batch`` (default ``batch_size``) per device, or the one
    batch a split parallelism shares (``splits_batch``); NaN where the batch is unknown."""
    devices = np.nan_to_num(numeric_column(frame, "num_devices"), nan=1.0)
    batch = numeric_column(frame, "batch_size") if batch is None else batch
    return batch * np.where(splits_batch(frame), 1.0, devices)


def context_tokens(frame: pd.DataFrame) -> np.ndarray:
    """Tokens a generated token attends to and its KV cache holds: the row's sequence length, else
    ``DEFAULT_CONTEXT_TOKENS`` up to the model's maximum."""
    limit = coalesce(numeric_column(frame, "max_sequence_length"), np.inf)
    return coalesce(numeric_column(frame, "sequence_length"), np.fmin(DEFAULT_CONTEXT_TOKENS, limit))


def step_tokens(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(new tokens per sequence in one step, tokens each attends over). A static batch runs every
    sequence whole, its sequence length (else the catalog's reference) both; a generated token
    (``features.items_are_tokens``) is one decode step, one new token over ``context_tokens``."""
    seq = coalesce(numeric_column(frame, "sequence_length"), numeric_column(frame, "reference_sequence_length"))
    decoding = items_are_tokens(frame)
    return np.where(decoding, 1.0, seq), np.where(decoding, context_tokens(frame), seq)


def transformer_work(frame: pd.DataFrame, batch: np.ndarray, weight_reads: np.ndarray) -> Work:
    """Per-kind work of one step of a transformer from its config, ``batch`` sequences per device,
    its weights read ``weight_reads`` times (training: forward, backward and the gradients).

    Linear layers do 2 FLOPs per weight and token and read every weight once per step; the weights
    are the larger of the active non-embedding parameters and what the config implies (ALBERT
    shares one layer's weights across all of them; gated MLPs and experts add weights the config's
    two MLP matrices miss). A decode step (``step_tokens``) runs one new token per sequence whose
    attention reads the keys and values of its whole context from the KV cache.
    """
    layers, hidden = numeric_column(frame, "num_layers"), numeric_column(frame, "hidden_size")
    heads = numeric_column(frame, "num_heads")
    intermediate = coalesce(numeric_column(frame, "intermediate_size"), 4.0 * hidden)
    kv_share = coalesce(numeric_column(frame, "num_kv_heads"), heads) / heads
    vocab = np.nan_to_num(numeric_column(frame, "vocab_size"), nan=0.0)
    queries, context = step_tokens(frame)
    pb = numeric_column(frame, "precision_bytes")
    params = coalesce(numeric_column(frame, "active_parameters_million"), numeric_column(frame, "parameters_million")) * 1e6
    from_config = layers * (2.0 * hidden**2 * (1.0 + kv_share) + 2.0 * hidden * intermediate)
    weights = np.fmax(params - vocab * hidden, from_config)
    tokens = batch * queries
    factor = _factor(frame)
    fused = numeric_column(frame, "compiled") > 0

    linear_activations = layers * tokens * (6.0 * hidden + 2.0 * hidden * kv_share + 2.0 * intermediate)
    scores = np.where(fused, 0.0, SCORE_PASSES * batch * layers * heads * queries * context)
    cached = np.where(items_are_tokens(frame), 2.0 * batch * layers * context * hidden * kv_share, 0.0)
    elementwise = layers * tokens * (ELEMENTWISE_HIDDEN_PASSES * hidden + ELEMENTWISE_INTERMEDIATE_PASSES * intermediate)
    head = np.isin(text_column(frame, "model_type"), GENERATIVE_TYPES) * vocab * hidden
    zero = np.zeros(len(frame))
    return {
        "linear": (factor * 2.0 * weights * tokens, pb * (weight_reads * weights + factor * linear_activations)),
        "attention": (factor * 4.0 * batch * layers * queries * context * hidden,
                      factor * pb * (scores + 4.0 * layers * tokens * hidden)
                      + cached * np.fmax(pb, MIN_KV_BYTES)),
        "elementwise": (zero, factor * pb * elementwise * np.where(fused, FUSED_ELEMENTWISE_SHARE, 1.0)),
        "embedding": (factor * 2.0 * head * tokens,
                      pb * (weight_reads * head + factor * tokens * (2.0 * hidden + vocab * (head > 0)))),
        "convolution": (zero, zero),
    }


def _convolution_work(frame: pd.DataFrame, flops: np.ndarray, fan_in: np.ndarray, weight_bytes: np.ndarray) -> Work:
    """Convolution work on the matrix units, the activations its FLOPs imply at ``fan_in`` written and
    read by each layer and by the normalisation and activation after it, plus ``weight_bytes``."""
    factor = _factor(frame)
    pb = numeric_column(frame, "precision_bytes")
    with np.errstate(divide="ignore", invalid="ignore"):
        activations = np.where(fan_in > 0, flops / factor / (2.0 * fan_in), 0.0)
    zero = np.zeros(len(frame))
    return {
        "linear": (zero, zero),
        "attention": (zero, zero),
        "elementwise": (zero, factor * pb * CONV_ELEMENTWISE_PASSES * activations),
        "embedding": (zero, zero),
        "convolution": (flops, pb * weight_bytes + factor * pb * CONV_ACTIVATION_PASSES * activations),
    }


def catalog_work(frame: pd.DataFrame, batch: np.ndarray, weight_reads: np.ndarray) -> Work:
    """Per-kind work of one step from the catalog's FLOPs per item (already scaled by input size and
    mode) less the unsplit part (``unsplit_work``): convolution work plus the weights and the
    activation bytes it implies at the fan-in of its weights per layer."""
    flops = (numeric_column(frame, "flops_per_item") - unsplit_flops_per_item(frame) * _step_ratio(frame)) * batch
    weights = np.nan_to_num(numeric_column(frame, "parameters_million") * 1e6, nan=0.0)
    fan_in = np.sqrt(weights / np.nan_to_num(numeric_column(frame, "num_layers"), nan=DEFAULT_LAYERS))
    return _convolution_work(frame, flops, fan_in, weight_reads * weights)


def unsplit_work(frame: pd.DataFrame) -> Work:
    """Per-kind work of a step's unsplit part (``unsplit_flops_per_item`` of every item in the batch) on
    the one device that runs it: convolution work whose activations follow ``UNSPLIT_FAN_IN``; its
    weights (a VAE's ~80 M) are read once per batch and left out."""
    batch = np.nan_to_num(numeric_column(frame, "batch_size"), nan=1.0)
    return _convolution_work(frame, unsplit_flops_per_item(frame) * batch, np.full(len(frame), UNSPLIT_FAN_IN),
                             np.zeros(len(frame)))


def has_transformer_config(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose catalog gives what ``transformer_work`` needs: layers, hidden size, heads, a sequence length."""
    seq = coalesce(numeric_column(frame, "sequence_length"), numeric_column(frame, "reference_sequence_length"))
    needed = (numeric_column(frame, "num_layers"), numeric_column(frame, "hidden_size"), numeric_column(frame, "num_heads"), seq,
              numeric_column(frame, "precision_bytes"))
    return np.logical_and.reduce([values > 0 for values in needed])


def step_work(frame: pd.DataFrame) -> Work:
    """FLOPs and bytes of one step on one device per layer kind (``KINDS``).

    A row without a batch size (the system chose it) counts one item per device, its weights
    amortised over a batch too large to matter.
    """
    batch = numeric_column(frame, "batch_size")
    weight_reads = np.where(np.isnan(batch), 0.0, _factor(frame))
    batch = np.nan_to_num(batch, nan=1.0)
    config = has_transformer_config(frame)
    transformer, catalog = transformer_work(frame, batch, weight_reads), catalog_work(frame, batch, weight_reads)
    return {kind: (np.where(config, transformer[kind][0], catalog[kind][0]),
                   np.where(config, transformer[kind][1], catalog[kind][1])) for kind in KINDS}


def _factor(frame: pd.DataFrame) -> np.ndarray:
    """``TRAINING_FACTOR`` on training rows, 1 on inference rows."""
    return np.where(_training(frame), TRAINING_FACTOR, 1.0)


def kind_seconds(frame: pd.DataFrame, work: Work) -> dict[str, np.ndarray]:
    """Each kind's time on one device: compute at its rate plus memory traffic at the bandwidth (either
    alone where the other's rate is unknown; see the module's note on overlap). ``TF32_KINDS`` run at
    ``features.matmul_peak_tflops``, the other matmul kinds at the catalog's rate at the precision."""
    tf32_rate = frame_matmul_peak_tflops(frame) * 1e12
    rate = numeric_column(frame, "peak_tflops_at_precision") * 1e12
    bandwidth = numeric_column(frame, "memory_bandwidth_gbs") * 1e9
    seconds = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for kind, (flops, moved) in work.items():
            kind_rate = tf32_rate if kind in TF32_KINDS else rate
            compute = np.where(flops > 0, flops / kind_rate, 0.0) if kind in MATMUL_KINDS else np.zeros(len(frame))
            seconds[kind] = compute + np.where(moved > 0, moved / bandwidth, 0.0)
    return seconds


def interconnect_gbs(frame: pd.DataFrame) -> np.ndarray:
    """GB/s one device sends to the others: its link (``LINK_GBS``) on linked parts, PCIe otherwise."""
    architecture = pd.Series(text_column(frame, "architecture"))
    linked = pd.Series(text_column(frame, "hardware_name")).fillna("").astype(str).str.contains(LINKED_PARTS, regex=True).to_numpy()
    link = np.append(list(LINK_GBS.values()), np.nan)[positions(architecture, list(LINK_GBS))]
    pcie = np.append(list(PCIE_GBS.values()), DEFAULT_PCIE_GBS)[positions(architecture, list(PCIE_GBS))]
    return np.where(linked & np.isfinite(link), link, pcie)


def hidden_width(frame: pd.DataFrame) -> np.ndarray:
    """The hidden size: the catalog's, else what the weights per layer imply for a transformer block
    (``BLOCK_WEIGHTS_PER_WIDTH_SQUARED``), so that a diffusion denoiser the catalog describes only by
    its parameters and depth still exchanges activations across devices; NaN where neither is known."""
    layers = np.nan_to_num(numeric_column(frame, "num_layers"), nan=DEFAULT_LAYERS)
    implied = np.sqrt(numeric_column(frame, "parameters_million") * 1e6 / (BLOCK_WEIGHTS_PER_WIDTH_SQUARED * layers))
    return coalesce(numeric_column(frame, "hidden_size"), implied)


def communication_seconds(frame: pd.DataFrame) -> np.ndarray:
    """Seconds one step spends communicating across ``num_devices`` (0 on one device).

    Data-parallel training (the default on several devices) all-reduces the gradients, a ring's
    2 (n-1)/n x parameters x bytes; tensor and expert parallelism exchange each layer's activations
    twice per pass, a ring's volume each; Ulysses sequence parallelism all-to-alls each device's 1/n
    of them four times per layer and pass, (n-1)/n of it leaving the device; pipeline parallelism sends the activations
    across each stage boundary. Data-parallel inference exchanges nothing. Split parallelisms'
    batch is the whole batch (``SPLIT_PARALLELISMS``), and each of their collectives adds n - 1
    hops of ``HOP_LATENCY_S``. Activations are batch x new tokens (``step_tokens``) x ``hidden_width``.
    """
    devices = np.nan_to_num(numeric_column(frame, "num_devices"), nan=1.0)
    parallelism = pd.Series(text_column(frame, "parallelism")).fillna("data").to_numpy()
    training = _training(frame)
    pb = numeric_column(frame, "precision_bytes")
    ring = 2.0 * (devices - 1.0) / np.fmax(devices, 1.0)
    gradients = ring * np.nan_to_num(numeric_column(frame, "parameters_million") * 1e6, nan=0.0) * pb
    split = splits_batch(frame)
    batch = items_per_step(frame, np.nan_to_num(numeric_column(frame, "batch_size"), nan=1.0))
    queries = np.nan_to_num(step_tokens(frame)[0], nan=1.0)
    layers = np.nan_to_num(numeric_column(frame, "num_layers"), nan=DEFAULT_LAYERS)
    activations = batch * queries * np.nan_to_num(hidden_width(frame), nan=0.0) * pb
    passes = np.where(training, 2.0, 1.0) * forward_passes(frame)
    all_to_all = COLLECTIVES_PER_LAYER["sequence"] * layers * (devices - 1.0) / np.fmax(devices, 1.0) ** 2 * activations
    per_layer = np.select([parallelism == kind for kind in COLLECTIVES_PER_LAYER], list(COLLECTIVES_PER_LAYER.values()), 0.0)
    moved = np.select(
        [np.isin(parallelism, ("tensor", "expert")), parallelism == "sequence", parallelism == "pipeline", training],
        [passes * per_layer * layers * ring * activations, passes * all_to_all,
         passes * (devices - 1.0) * activations, gradients],
        default=0.0,
    )
    collectives = np.where(split, passes * layers * per_layer, 0.0)
    seconds = np.nan_to_num(moved, nan=0.0) / (interconnect_gbs(frame) * 1e9) + collectives * (devices - 1.0) * HOP_LATENCY_S
    return np.where(devices > 1, seconds, 0.0)


def launched_layers(frame: pd.DataFrame) -> np.ndarray:
    """Layers whose kernels one pass launches one after another: the model's depth (``DEFAULT_LAYERS`` where the
    catalog lacks it), plus, for a decoder a framework loop runs one timestep at a time (Tacotron 2's mel frames),
    the layers of one timestep (``recurrent_step_layers``) once per timestep of the item: its sequence length,
    else the catalog's reference. Such a step is launch-bound whatever the device."""
    depth = np.nan_to_num(numeric_column(frame, "num_layers"), nan=DEFAULT_LAYERS)
    timesteps = coalesce(numeric_column(frame, "sequence_length"), numeric_column(frame, "reference_sequence_length"))
    recurrent = np.nan_to_num(numeric_column(frame, "recurrent_step_layers") * timesteps, nan=0.0)
    return depth + recurrent


# Where ``with_step_seconds`` keeps a frame's ``step_seconds`` (seconds, items), which it then reads back.
STEP_COLUMNS: tuple[str, str] = ("_step_seconds", "_step_items")


def keeps_step_seconds(frame: pd.DataFrame) -> bool:
    """Whether ``with_step_seconds`` has annotated the frame."""
    return all(column in frame.columns for column in STEP_COLUMNS)


def step_seconds(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(seconds one step takes on all devices, items in it): per-kind times + launch overhead + communication.

    Pipeline stages of one micro-batch run in turn, so the step takes the stages' sum, the whole
    model's time on one device; a split batch (``SPLIT_PARALLELISMS``) takes 1/n of its time on each
    device but its unsplit part (``unsplit_work``) whole. The launch overhead is paid per layer and
    forward pass (``forward_passes``); a row without a batch size pays none.
    """
    if keeps_step_seconds(frame):
        return tuple(frame[column].to_numpy(dtype=np.float64) for column in STEP_COLUMNS)
    batch = numeric_column(frame, "batch_size")
    devices = np.nan_to_num(numeric_column(frame, "num_devices"), nan=1.0)
    kinds = np.stack(list(kind_seconds(frame, step_work(frame)).values()))
    compute = np.where(np.isfinite(kinds).any(axis=0), np.nansum(kinds, axis=0), np.nan)
    unsplit = np.nansum(np.stack(list(kind_seconds(frame, unsplit_work(frame)).values())), axis=0)
    split = splits_batch(frame)
    compute = np.where(split, compute / devices, compute) + unsplit
    compute = np.where(text_column(frame, "parallelism") == "pipeline", compute * devices, compute)
    launches = STEP_OVERHEAD_S_PER_LAYER * launched_layers(frame) * _factor(frame) * forward_passes(frame)
    overhead = np.where(np.isnan(batch), 0.0, launches)
    items = items_per_step(frame, np.where(np.isnan(batch), 1.0, batch))
    seconds = compute + overhead + communication_seconds(frame)
    return np.where(seconds > 0, seconds, np.nan), items


def with_step_seconds(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its rows' ``step_seconds`` kept in ``STEP_COLUMNS``: training computes them once for the rows
    it fits, not again in every fold of the screen, the calibration and the evaluation (a tenth of a throughput
    model's fitting time before)."""
    if keeps_step_seconds(frame):
        return frame
    seconds, items = step_seconds(frame)
    return frame.assign(**dict(zip(STEP_COLUMNS, (seconds, items), strict=True)))
