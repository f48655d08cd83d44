"""The analytical priors of memory and power, on hand-made configurations whose figures are computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from predictive_performance.modeling import priors
from predictive_performance.modeling.targets import reference

MB = 1048576.0

# a tiny transformer: 1 M parameters, 2 layers, hidden 8, 2 heads (1 KV head), fp32, on the CPU
TINY = {
    "model_name": "tiny", "model_type": "text_embedding", "parameters_million": 1.0, "num_layers": 2, "hidden_size": 8,
    "num_heads": 2, "num_kv_heads": 1, "max_sequence_length": 512, "sequence_length": 4, "image_size": np.nan,
    "batch_size": 2, "num_devices": 1, "precision": "fp32", "precision_bytes": 4.0, "mode": "inference",
    "workload": "static_batch", "latency_kind": "batch", "hardware_platform": "cpu", "flops_per_item": 1e6,
    "model_memory_mb": 4e6 / MB,
}


def rows(*changes: dict) -> pd.DataFrame:
    return pd.DataFrame([dict(TINY, **change) for change in changes])


def test_inference_memory_is_weights_one_layers_activations_and_the_workspace():
    # one layer per item: 17 s h + 2.5 a s^2 = 17*4*8 + 2.5*2*16 = 624 elements; batch 2 at 4 bytes
    expected = (1e6 * 4 + 624 * 2 * 4) / MB + priors.HOST_WORKSPACE_MB
    assert priors.memory_prior_mb(rows({}))[0] == pytest.approx(expected)


@pytest.mark.parametrize("precision, weight_bytes", [("fp32", 4.0), ("bf16", 2.0)])
def test_training_memory_adds_gradients_adam_moments_and_a_master_copy_below_fp32(precision, weight_bytes):
    # weights + gradients at the precision, two fp32 moments, an fp32 master copy below fp32: 16 bytes either way
    state = 2 * weight_bytes + 8 + (4 if weight_bytes < 4 else 0)
    assert state == 16
    # training keeps both layers' activations: 2 x 624 elements per item
    expected = (1e6 * state + 2 * 624 * 2 * weight_bytes) / MB + priors.HOST_WORKSPACE_MB
    frame = rows({"mode": "training", "precision": precision, "precision_bytes": weight_bytes})
    assert priors.memory_prior_mb(frame)[0] == pytest.approx(expected)


def test_kv_cache_grows_with_tokens_and_batch_for_generative_serving_rows_only():
    generative = {"model_type": "text_generation", "workload": "serving", "precision": "bf16", "precision_bytes": 2.0}
    frame = rows(
        dict(generative, sequence_length=16, batch_size=3),
        dict(generative, sequence_length=32, batch_size=3),
        dict(generative, sequence_length=16, batch_size=6),
        dict(generative, workload="static_batch", latency_kind="token", sequence_length=16, batch_size=3),
        dict(generative, workload="static_batch", sequence_length=16, batch_size=3),
        dict(generative, model_type="text_embedding", sequence_length=16, batch_size=3),
        dict(generative, precision="int8", precision_bytes=1.0, sequence_length=16, batch_size=3),
    )
    cache = priors.kv_cache_bytes(frame)
    # 2 x 2 layers x 1 KV head x head dim 4 x 16 tokens x 3 sequences x 2 bytes
    assert cache[0] == 2 * 2 * 1 * 4 * 16 * 3 * 2
    assert cache[1] == 2 * cache[0] and cache[2] == 2 * cache[0]
    assert cache[3] == cache[0]  # timed per token: generating, so a cache
    assert cache[4] == 0 and cache[5] == 0  # a static forward pass; an encoder
    assert cache[6] == cache[0]  # int8 weights keep a 16-bit cache
    assert (priors.memory_prior_mb(frame)[:3] > priors.memory_prior_mb(frame)[4]).all()


def test_tensor_parallel_splits_weights_and_cache_but_data_parallel_replicates():
    frame = rows({"num_devices": 4, "parallelism": "tensor", "batch_size": 1}, {"num_devices": 4, "parallelism": "data",
                                                                               "batch_size": 1})
    sharded, replicated = priors.memory_prior_mb(frame) - priors.HOST_WORKSPACE_MB
    assert sharded < replicated / 3


def test_an_accelerator_row_carries_a_device_context_and_memory_falls_back_to_the_weights():
    frame = rows({"hardware_platform": "cuda"}, {"parameters_million": np.nan, "model_memory_mb": 50.0},
                 {"parameters_million": np.nan, "model_memory_mb": np.nan})
    prior = priors.memory_prior_mb(frame)
    assert prior[0] - priors.memory_prior_mb(rows({}))[0] == pytest.approx(priors.DEVICE_CONTEXT_MB - priors.HOST_WORKSPACE_MB)
    assert prior[1] == 50.0 and np.isnan(prior[2])


# a catalog-only model (no hidden size: its work comes from the FLOPs per item) of 1 B parameters on an H100
H100 = dict(
    TINY, model_type="vision", parameters_million=1000.0, hidden_size=np.nan, hardware_platform="cuda", architecture="Hopper", precision="bf16",
    precision_bytes=2.0, peak_tflops_at_precision=989.0, peak_fp32_tflops=67.0, peak_fp16_tflops=989.0,
    peak_tf32_tflops=495.0, memory_bandwidth_gbs=3350.0, tdp_w=700.0, idle_power_w=np.nan, batch_size=4096,
    num_layers=2, power_scope="accelerators",
)


def power_rows(*changes: dict) -> pd.DataFrame:
    return pd.DataFrame([dict(H100, **change) for change in changes])


MEMORY_BOUND = {"flops_per_item": 1.0}  # reading the weights is the whole step
COMPUTE_BOUND = {"flops_per_item": 1e13}


def test_power_lies_between_idle_and_tdp_and_rises_with_the_compute_share():
    frame = power_rows(MEMORY_BOUND, {"flops_per_item": 1e8}, COMPUTE_BOUND)  # 1e8: about half the step
    power = priors.power_prior_w(frame)
    idle = priors.IDLE_SHARE_OF_TDP * 700.0
    assert ((power >= idle) & (power <= 700.0)).all()
    assert power[0] < power[1] < power[2]
    # a memory-bound step sits at the lowest utilisation: idle + 0.1 of the way to TDP
    assert power[0] == pytest.approx(idle + priors.MIN_UTILISATION * (700.0 - idle))
    assert power[2] > 0.9 * 700.0  # compute-bound: near TDP (its elementwise layers only move bytes)


def test_a_stated_idle_power_replaces_the_share_of_tdp_and_missing_facts_fall_back():
    frame = power_rows(dict(MEMORY_BOUND, idle_power_w=100.0), {"flops_per_item": np.nan}, {"tdp_w": np.nan})
    power = priors.power_prior_w(frame)
    assert power[0] == pytest.approx(100.0 + 0.1 * 600.0)
    assert power[1] == 700.0  # no FLOPs: rated power
    assert np.isnan(power[2])


def test_power_scales_with_devices_and_the_wall_adds_the_host():
    frame = power_rows(COMPUTE_BOUND, dict(COMPUTE_BOUND, num_devices=2), dict(COMPUTE_BOUND, power_scope="system"))
    one, two, wall = priors.power_prior_w(frame)
    assert two == pytest.approx(2 * one, rel=0.01)
    assert wall == pytest.approx(one * (1 + priors.HOST_SHARE_OF_ACCELERATORS))


def test_the_priors_are_the_physics_references_and_the_efficiency_references_stay():
    frame = power_rows(MEMORY_BOUND)
    assert reference(frame, "memory", "physics") == pytest.approx(priors.memory_prior_mb(frame))
    assert reference(frame, "power", "physics") == pytest.approx(priors.power_prior_w(frame))
    assert reference(frame, "memory", "efficiency") == pytest.approx(frame["model_memory_mb"].to_numpy())
    assert reference(frame, "power", "efficiency") == pytest.approx([700.0])
