"""Devices outside the measured range: predictions move with the specs physics says they should.

On ``factories.simulate``'s six GPUs, a throughput model (the default formulation screen, real
XGBoost / LightGBM) is asked about catalog copies of the fastest one with its compute peaks, its
memory bandwidth or both doubled. Trees over spec features alone would cap such a device at the
largest figure seen; a physics reference times a learned efficiency carries it beyond.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from predictive_performance.modeling import MetricEstimator, workload_features
from predictive_performance.modeling.targets import physics_throughput
from tests.factories import CONFIG, MEASURED, seed_catalogs, simulate

FASTEST = "NVIDIA H100 80GB SXM5"
PEAKS = ("peak_fp32_tflops", "peak_tf32_tflops", "peak_fp16_tflops", "peak_bf16_tflops", "peak_fp8_tflops",
         "peak_int8_tops", "peak_fp64_tflops", "peak_fp4_tflops")


def _scaled(hardware: pd.DataFrame, name: str, peak: float, bandwidth: float) -> pd.DataFrame:
    device = hardware[hardware["hardware_name"] == FASTEST].copy()
    device["hardware_name"] = name
    device[[c for c in PEAKS if c in device.columns]] *= peak
    device["memory_bandwidth_gbs"] *= bandwidth
    return device


@pytest.fixture(scope="module")
def world():
    models, hardware = seed_catalogs()
    measured = simulate(models, hardware)
    future = pd.concat(
        [hardware]
        + [_scaled(hardware, name, p, b) for name, p, b in (("2x", 2.0, 2.0), ("2x peak", 2.0, 1.0), ("2x bandwidth", 1.0, 2.0))],
        ignore_index=True,
    )
    estimator = MetricEstimator(CONFIG).fit(measured, "throughput")
    return models, future, measured, estimator


def _predict(world, configs: pd.DataFrame, device: str) -> np.ndarray:
    models, hardware, _, estimator = world
    frame = workload_features(configs.assign(hardware_name=device), models, hardware)
    return estimator.predict(frame)["throughput_pred"].to_numpy()


def _configs(measured: pd.DataFrame, compute_bound: bool) -> pd.DataFrame:
    """Configurations measured on every device whose physics reference is (not) compute bound on the fastest."""
    rows = measured[measured["hardware_name"] == FASTEST]
    bound = rows["compute_roof_throughput"] <= rows["memory_roof_throughput"]
    return rows.loc[bound == compute_bound, ["model_name", "precision", "batch_size", "mode"]].reset_index(drop=True)


def test_a_device_twice_as_fast_as_every_measured_one_is_predicted_faster_than_all_of_them(world):
    _, _, measured, _ = world
    configs = _configs(measured, compute_bound=True)
    assert len(configs) >= 20
    keys = ["model_name", "precision", "batch_size", "mode"]
    fastest_measured = measured.groupby(keys)["throughput"].max()
    best_seen = configs.join(fastest_measured, on=keys)["throughput"].to_numpy()
    ratio = _predict(world, configs, "2x") / best_seen
    assert set(measured["hardware_name"]) == set(MEASURED)
    assert np.median(ratio) >= 1.6, np.quantile(ratio, [0.1, 0.5, 0.9])


def test_a_memory_bound_configuration_follows_bandwidth_not_peak(world):
    _, _, measured, _ = world
    configs = _configs(measured, compute_bound=False)
    assert len(configs) >= 5
    base = _predict(world, configs, FASTEST)
    assert np.median(_predict(world, configs, "2x bandwidth") / base) >= 1.6
    assert np.median(_predict(world, configs, "2x peak") / base) <= 1.25


def test_the_physics_reference_adds_a_step_overhead_that_small_batches_feel():
    models, hardware = seed_catalogs()
    configs = pd.DataFrame({"model_name": "bert-base-uncased", "hardware_name": FASTEST, "precision": "fp16",
                            "mode": "inference", "batch_size": [1, 256]})
    frame = workload_features(configs, models, hardware)
    share = physics_throughput(frame) / frame["roofline_throughput"].to_numpy()
    # batch 1 is mostly launch overhead; at batch 256 the per-layer work (eager attention and elementwise
    # passes at bandwidth, not only the matmuls) sets the pace
    assert share[0] < 0.2 * share[1] and share[1] > 0.3
