"""The per-layer-kind step of ``modeling.layers``: hand-computed work and the physics it must obey."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from predictive_performance.modeling import layers, priors
from predictive_performance.modeling.features import GENERATIVE_TYPES, items_are_tokens
from predictive_performance.modeling.targets import physics_throughput, roofline_batch_time, totals_batch_time

DEVICE = {"hardware_name": "NVIDIA Tesla V100 PCIe 32GB", "architecture": "Volta", "peak_fp32_tflops": 15.7,
          "peak_fp16_tflops": 125.0, "peak_tflops_at_precision": 125.0, "memory_bandwidth_gbs": 900.0}
# two layers of hidden 8, MLP 32, two heads, a 10-token vocabulary: 1,536 weights in the layers
TINY_TRANSFORMER = {"model_type": "text_generation", "num_layers": 2, "hidden_size": 8, "intermediate_size": 32,
                    "num_heads": 2, "num_kv_heads": 2, "vocab_size": 10, "parameters_million": (1536 + 80) / 1e6,
                    "sequence_length": 4, "flops_per_item": 1e4}
# one million weights in 25 layers (fan-in 200), a GFLOP per image
CONV_NET = {"model_type": "vision", "num_layers": 25, "parameters_million": 1.0, "flops_per_item": 1e9}
WIDE_CONV_NET = {**CONV_NET, "parameters_million": 1000.0, "flops_per_item": 1e12}  # 12,600 FLOPs per activation


def frame(*rows: dict, **common) -> pd.DataFrame:
    """Rows of the device and precision fp16 (2 bytes), inference on one device, overridden per row."""
    base = {**DEVICE, "precision": "fp16", "precision_bytes": 2.0, "mode": "inference", "num_devices": 1,
            "batch_size": 1, **common}
    return pd.DataFrame([{**base, **row} for row in rows])


def test_a_tiny_transformer_s_work_per_kind_is_what_its_config_says():
    work = layers.step_work(frame(TINY_TRANSFORMER, batch_size=3))  # 12 tokens
    expected = {
        "linear": (2 * 1536 * 12, 2 * (1536 + 2 * 12 * (6 * 8 + 2 * 8 + 2 * 32))),
        "attention": (4 * 3 * 2 * 4**2 * 8, 2 * (4 * 3 * 2 * 2 * 4**2 + 4 * 2 * 12 * 8)),
        "elementwise": (0, 2 * 2 * 12 * (10 * 8 + 2 * 32)),
        "embedding": (2 * 80 * 12, 2 * (80 + 12 * (2 * 8 + 10))),
        "convolution": (0, 0),
    }
    for kind, (flops, moved) in expected.items():
        assert work[kind][0][0] == pytest.approx(flops), kind
        assert work[kind][1][0] == pytest.approx(moved), kind


def test_a_generated_token_is_one_decode_step_over_its_cached_context():
    """Serving a text generator times one new token per sequence: the linear layers see the batch's tokens,
    attention reads each sequence's cached keys and values (here a 4-token context, GQA halving them)."""
    decode = {**TINY_TRANSFORMER, "workload": "serving", "num_kv_heads": 1}
    work = layers.step_work(frame(decode, batch_size=3))  # 3 new tokens
    assert work["linear"][0][0] == pytest.approx(2 * 1536 * 3)
    cache = 2 * 3 * 2 * 4 * 8 * 0.5  # K and V x sequences x layers x context x hidden x kv share
    scores = 4 * 3 * 2 * 2 * 1 * 4
    assert work["attention"][0][0] == pytest.approx(4 * 3 * 2 * 1 * 4 * 8)
    assert work["attention"][1][0] == pytest.approx(2 * (scores + 4 * 2 * 3 * 8 + cache))
    static = layers.step_work(frame({**decode, "workload": "static_batch"}, batch_size=3))
    assert static["linear"][0][0] == pytest.approx(4 * work["linear"][0][0])  # every token of every sequence
    # a tensor-parallel decode step exchanges one token's activations per sequence, not its whole context
    split = frame({**decode, "sequence_length": 4096}, batch_size=3, num_devices=2, parallelism="tensor")
    activations = 3 * 1 * 8 * 2.0
    hops = 2 * 2 * 1 * layers.HOP_LATENCY_S
    expected = 2 * 2 * 1.0 * activations / (layers.DEFAULT_PCIE_GBS * 1e9) + hops
    assert layers.communication_seconds(split)[0] == pytest.approx(expected)


@pytest.mark.parametrize("model_type", [*GENERATIVE_TYPES, "multimodal", "text_embedding"])
def test_one_definition_decides_the_decode_step_the_cache_and_the_vocabulary_projection(model_type):
    """A served autoregressive decoder times a decode step, holds a KV cache and ends in a vocabulary
    projection; an encoder (CLIP is the catalog's ``multimodal`` type, BERT a text embedding) does none."""
    serving = frame({**TINY_TRANSFORMER, "model_type": model_type, "workload": "serving"})
    decodes = model_type in GENERATIVE_TYPES
    assert bool(items_are_tokens(serving)[0]) is decodes
    assert bool(priors.kv_cache_bytes(serving)[0] > 0) is decodes
    head = 2 * 10 * 8  # FLOPs of the 10-word projection for the one new token
    assert layers.step_work(serving)["embedding"][0][0] == pytest.approx(head if decodes else 0)


def test_fused_attention_keeps_the_scores_on_chip_and_training_triples_the_flops():
    eager, fused, training = (layers.step_work(frame(TINY_TRANSFORMER, **extra))["attention"]
                              for extra in ({}, {"compiled": True}, {"mode": "training"}))
    assert fused[1][0] == pytest.approx(2 * 4 * 2 * 4 * 8)
    assert fused[1][0] < eager[1][0]
    assert training[0][0] == pytest.approx(3 * eager[0][0])


def test_a_conv_net_works_from_its_catalog_flops_and_the_activations_they_imply():
    work = layers.step_work(frame(CONV_NET, batch_size=4, precision="fp32", precision_bytes=4.0))
    activations = 4e9 / (2 * 200)
    assert work["convolution"][0][0] == pytest.approx(4e9)
    assert work["convolution"][1][0] == pytest.approx(4 * (1e6 + 2 * activations))
    assert work["elementwise"][1][0] == pytest.approx(4 * 4 * activations)
    assert work["linear"][0][0] == work["attention"][1][0] == 0


def _faster(rate: float = 1.0, bandwidth: float = 1.0) -> dict:
    peaks = ("peak_fp32_tflops", "peak_fp16_tflops", "peak_tflops_at_precision")
    return {**{c: DEVICE[c] * rate for c in peaks}, "memory_bandwidth_gbs": DEVICE["memory_bandwidth_gbs"] * bandwidth}


def _seconds(*rows: dict, **common) -> np.ndarray:
    return layers.step_seconds(frame(*rows, **common))[0]


def test_a_device_with_twice_the_rate_takes_less_time():
    base, fast = _seconds(WIDE_CONV_NET, {**WIDE_CONV_NET, **_faster(rate=2.0)}, batch_size=64)
    assert fast < base


def test_a_compute_bound_step_follows_the_rate_and_a_memory_bound_one_the_bandwidth():
    # a large batch of a wide conv net is compute bound; one token through a wide transformer reads its weights.
    # Compute and memory time add, so each gains most of a doubling of what binds it, not all of it.
    wide = {**TINY_TRANSFORMER, "hidden_size": 4096, "intermediate_size": 16384, "num_heads": 32, "num_kv_heads": 32,
            "num_layers": 4, "parameters_million": 10000.0, "sequence_length": 1}
    for model, batch, follows, ignores in ((WIDE_CONV_NET, 64, "rate", "bandwidth"), (wide, 1, "bandwidth", "rate")):
        base, by_follows, by_ignores = _seconds(model, {**model, **_faster(**{follows: 2.0})},
                                                {**model, **_faster(**{ignores: 2.0})}, batch_size=batch)
        assert 1.75 < base / by_follows <= 2.0, follows
        assert base / by_ignores < 1.1, ignores


def test_batch_one_is_overhead_dominated():
    bert_base = {**TINY_TRANSFORMER, "model_type": "text_embedding", "num_layers": 12, "hidden_size": 768,
                 "intermediate_size": 3072, "num_heads": 12, "num_kv_heads": 12, "vocab_size": 30522,
                 "parameters_million": 109.5, "sequence_length": 128}
    rows = frame({**bert_base, "batch_size": 1}, {**bert_base, "batch_size": 256})
    seconds, _ = layers.step_seconds(rows)
    overhead = layers.STEP_OVERHEAD_S_PER_LAYER * 12
    assert overhead / seconds[0] > 0.5 > overhead / seconds[1]


def test_data_parallel_training_scales_below_linear_and_inference_does_not_communicate():
    devices = [{"num_devices": n} for n in (1, 8)]
    training = physics_throughput(frame(*devices, **CONV_NET, batch_size=32, mode="training"))
    inference = physics_throughput(frame(*devices, **CONV_NET, batch_size=32))
    assert training[1] < 8 * training[0]
    assert inference[1] == pytest.approx(8 * inference[0])
    linked = layers.communication_seconds(frame({"hardware_name": "NVIDIA Tesla V100 SXM2 16GB"}, {}, **CONV_NET,
                                                num_devices=8, mode="training"))
    assert 0 < linked[0] < linked[1]  # NVLink beats PCIe


def test_rows_without_a_config_or_a_batch_keep_a_reference():
    rows = frame({**CONV_NET, "batch_size": None}, {"flops_per_item": 1e9, "parameters_million": None})
    assert np.isfinite(physics_throughput(rows)).all()


def test_a_sequence_parallel_batch_is_split_and_each_layer_waits_on_its_collectives():
    split_8 = {"num_devices": 8, "parallelism": "sequence"}
    (small, wide), items = layers.step_seconds(frame(CONV_NET, WIDE_CONV_NET, batch_size=4))
    (small_split, wide_split), split_items = layers.step_seconds(frame(CONV_NET, WIDE_CONV_NET, batch_size=4, **split_8))
    assert split_items[0] == items[0] == 4  # every device sees the whole batch: 4 items per step, not 32
    hops = 1 * layers.COLLECTIVES_PER_LAYER["sequence"] * CONV_NET["num_layers"] * 7 * layers.HOP_LATENCY_S
    # no hidden size: the width a block of its weights implies, sqrt(1e6 / 25 / 12), one token per item,
    # each device's 1/8 of it all-to-all'ed four times per layer, 7/8 of that leaving over PCIe 3
    moved = 4 * CONV_NET["num_layers"] * (7 / 64) * 4 * np.sqrt(1e6 / 25 / 12) * 2
    communication = layers.communication_seconds(frame(CONV_NET, batch_size=4, num_devices=8, parallelism="sequence"))
    assert communication[0] == pytest.approx(hops + moved / (layers.DEFAULT_PCIE_GBS * 1e9))
    assert wide / 8 < wide_split < wide  # much work per device: faster, though below 8x
    assert small_split > small  # little work per device: the hops cost more than the split saves


def test_an_expert_parallel_decode_step_splits_the_experts_over_the_devices_like_tensor_parallelism():
    """vLLM's expert parallelism: every device sees the whole batch and holds 1/n of the experts, beside
    tensor-parallel attention, so a step is the tensor-parallel one, not n data-parallel replicas'."""
    decode = {**TINY_TRANSFORMER, "workload": "serving", "parameters_million": 10000.0, "num_layers": 24,
              "hidden_size": 2048, "batch_size": 64}
    split = {"num_devices": 8}
    rows = frame({**decode, **split, "parallelism": "expert"}, {**decode, **split, "parallelism": "tensor"},
                 {**decode, **split, "parallelism": "data"}, decode)
    (expert, tensor, _, alone), items = layers.step_seconds(rows)
    assert list(items) == [64, 64, 8 * 64, 64]  # data parallelism runs eight batches of 64, the others one
    assert expert == pytest.approx(tensor)
    communication = layers.communication_seconds(rows)
    assert communication[0] == pytest.approx(communication[1]) and communication[0] > 0
    assert expert < alone / 2  # an eighth of the 20 GB of weights read per device, though the exchanges cost


def test_a_split_batch_is_one_batch_in_every_reference_of_its_step_time():
    """Eight data-parallel devices each run a batch of 64; eight tensor-parallel ones share one. At the
    same roof of all eight devices, the shared batch's ideal step is an eighth of the replicas'."""
    rows = frame(*({**TINY_TRANSFORMER, "parallelism": kind} for kind in ("data", "tensor")), batch_size=64,
                 num_devices=8, roofline_throughput=6400.0, bytes_per_item=1e6)
    assert list(layers.items_per_step(rows)) == [512, 64]
    assert roofline_batch_time(rows) == pytest.approx([80.0, 10.0])  # ms: 512 and 64 items at 6,400 items/s
    data, tensor = totals_batch_time(rows) - 1000.0 * layers.STEP_OVERHEAD_S_PER_LAYER * 2
    assert tensor == pytest.approx(data / 8)


def test_a_model_without_a_hidden_size_has_the_width_its_weights_per_layer_imply():
    # FLUX.1's denoiser: 12 B weights in 57 blocks of about 12 h^2 each; a stated hidden size wins
    flux = {"parameters_million": 12000.0, "num_layers": 57}
    implied, stated = layers.hidden_width(frame(flux, {**flux, "hidden_size": 3072}))
    assert implied == pytest.approx(np.sqrt(12e9 / 57 / 12)) and 3000 < implied < 4500
    assert stated == 3072
    split = {"num_devices": 8, "parallelism": "sequence", "sequence_length": 4096}
    wide, stated_wide = layers.communication_seconds(frame(flux, {**flux, "hidden_size": 3072}, **split))
    assert wide / stated_wide == pytest.approx(implied / 3072, rel=0.05)  # the exchanged bytes follow the width


def test_each_denoising_step_pays_the_launch_overhead_of_every_layer():
    # the catalog's FLOPs per item already count the steps, so only the launches differ
    once, fifty = _seconds({**CONV_NET, "reference_denoising_steps": 50}, {**CONV_NET, "denoising_steps": 1})[::-1]
    assert fifty - once == pytest.approx(49 * layers.STEP_OVERHEAD_S_PER_LAYER * CONV_NET["num_layers"])


def test_a_recurrent_decoder_pays_the_launches_of_its_timestep_layers_once_per_timestep():
    # Tacotron 2's decoder loop: 7 layers per mel frame, 566 frames per utterance, in training (3 passes' work)
    recurrent = {**CONV_NET, "recurrent_step_layers": 7, "reference_sequence_length": 566, "mode": "training"}
    plain, looped, shorter = _seconds({**recurrent, "recurrent_step_layers": np.nan}, recurrent,
                                      {**recurrent, "sequence_length": 283})
    launch = layers.STEP_OVERHEAD_S_PER_LAYER * layers.TRAINING_FACTOR
    assert looped - plain == pytest.approx(launch * 7 * 566)
    assert shorter - plain == pytest.approx(launch * 7 * 283)  # the row's own length sets the timesteps
    # over a second of launches at batch 1, 100x the step without the loop: it hardly moves with the device
    assert looped > 100 * plain
    totals_plain, totals_looped = totals_batch_time(frame({**recurrent, "recurrent_step_layers": np.nan}, recurrent))
    assert totals_looped - totals_plain == pytest.approx(1000 * launch * 7 * 566)


# a denoiser of 1e9 weights in 25 layers, a TFLOP per image of which 200 GFLOPs (VAE decode, encoders)
# run once per image outside its 20 steps; compute-bound at fp16 on the V100's 125 TFLOPs
DIFFUSION = {**WIDE_CONV_NET, "model_type": "diffusion", "reference_denoising_steps": 20, "unsplit_gflops_per_item": 200.0,
             "input_scale": 1.0}


def test_the_unsplit_part_of_a_diffusion_item_runs_once_per_item_whatever_the_steps():
    # 40 steps double the catalog's FLOPs per item, but only the denoiser's share of them
    rows = frame(DIFFUSION, {**DIFFUSION, "denoising_steps": 40, "input_scale": 2.0, "flops_per_item": 2e12})
    assert layers.unsplit_flops_per_item(rows) == pytest.approx([2e11, 2e11])
    assert layers.step_work(rows)["convolution"][0] == pytest.approx([8e11, 1.6e12])
    assert layers.unsplit_work(rows)["convolution"][0] == pytest.approx([2e11, 2e11])
    assert layers.unsplit_flops_per_item(frame(WIDE_CONV_NET)) == pytest.approx([0.0])


def test_a_sequence_parallel_split_divides_the_denoiser_but_not_the_unsplit_part():
    split_8 = {"num_devices": 8, "parallelism": "sequence"}
    rows = frame(DIFFUSION, {**DIFFUSION, **split_8}, {**DIFFUSION, **split_8, "unsplit_gflops_per_item": None}, batch_size=4)
    seconds, _ = layers.step_seconds(rows)
    fixed = layers.communication_seconds(rows) + layers.STEP_OVERHEAD_S_PER_LAYER * 25 * 20

    def at_roofs(flops: float, fan_in: float, weights: float) -> float:
        """The convolutions' compute + their weights' and the activations' bytes, written and read by every layer
        and by the norms and activation functions after it."""
        passes = layers.CONV_ACTIVATION_PASSES + layers.CONV_ELEMENTWISE_PASSES
        return flops / 125e12 + (weights + flops / (2 * fan_in) * passes) * 2 / 900e9

    fan_in = np.sqrt(1e9 / 25)
    denoiser, whole = at_roofs(4 * 8e11, fan_in, 1e9), at_roofs(4e12, fan_in, 1e9)
    unsplit = at_roofs(4 * 2e11, layers.UNSPLIT_FAN_IN, 0.0)  # a VAE's weights are left out
    assert seconds - fixed == pytest.approx([denoiser + unsplit, denoiser / 8 + unsplit, whole / 8], rel=1e-3)
