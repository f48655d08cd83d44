"""Onboarding a new device: the few-shot adaptation estimator, the first tests chosen for a device
with no rows (on the small trained warehouse of ``test_active_learning``), and the two together on
simulated data with a device-specific efficiency."""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictive_performance.active_learning import ActiveLearningSystem, choose_device_tests, minmax, runnable
from predictive_performance.modeling import MetricEstimator, prepare_configurations
from predictive_performance.prediction.adaptation import DeviceAdaptation, DevicePrior, held_out_prior
from predictive_performance.warehouse import Warehouse
from tests.factories import CONFIG, seed_catalogs, simulate
from tests.test_active_learning import env, world  # noqa: F401  (the trained warehouse fixtures)


def rows(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "batch_size": rng.choice([1, 8, 64], n),
            "arithmetic_intensity": rng.uniform(5, 500, n),
            "precision_bytes": rng.choice([2.0, 4.0], n),
        }
    )


LOGGED = np.log(rows(500, seed=9).to_numpy(dtype=float))  # the training devices' rows, for the standardisation
PRIOR = DevicePrior(np.array([0.25, 0.01, 0.01, 0.01]), 0.04, LOGGED.mean(axis=0), LOGGED.std(axis=0))


def test_adaptation_recovers_an_offset_from_five_rows_and_shrinks_one_noisy_row():
    five = rows(5)
    residuals = 0.4 + np.random.default_rng(1).normal(0.0, 0.02, 5)
    adapted = DeviceAdaptation(PRIOR).fit(five, residuals)
    assert abs(adapted.coef_[0] - 0.4) < 0.06
    assert np.allclose(adapted.transform(five, np.ones(5)), np.exp(residuals), rtol=0.1)
    noisy = DevicePrior(PRIOR.variances, noise=0.5, center=PRIOR.center, scale=PRIOR.scale)
    one = DeviceAdaptation(noisy).fit(rows(1), np.array([0.4]))
    assert 0.0 < one.correction(rows(1))[0] < 0.2  # a third of the way at most: the prior holds it near 0
    assert DeviceAdaptation(PRIOR).correction(five).tolist() == [0.0] * 5


def test_prior_measures_how_far_device_offsets_spread():
    rng = np.random.default_rng(2)
    devices = np.repeat(np.arange(30), 20)
    offsets = rng.normal(0.0, 0.5, 30)
    frame = rows(len(devices), seed=3)
    prior = DevicePrior.from_residuals(frame, offsets[devices] + rng.normal(0.0, 0.1, len(devices)), devices)
    assert 0.12 < prior.variances[0] < 0.5 and 0.005 < prior.noise < 0.02
    assert (prior.variances[1:] < 0.05).all()  # no device trend was simulated


def test_first_tests_on_an_unmeasured_device_are_runnable_distinct_and_spread(env):  # noqa: F811
    configs = ActiveLearningSystem().recommend_configurations(budget=5, hardware="NVIDIA L4")
    assert len(configs) == 5 and {c["hardware_name"] for c in configs} == {"NVIDIA L4"}
    keys = {(c["model_name"], c["batch_size"], c["precision"], c["mode"]) for c in configs}
    assert len(keys) == 5
    assert len({c["batch_size"] for c in configs}) >= 2 and len({c["model_name"] for c in configs}) >= 3
    frame = prepare_configurations(pd.DataFrame(configs)[["model_name", "hardware_name", "batch_size",
                                                         "precision", "mode"]], Warehouse.from_env())
    assert runnable(frame).all()


def test_five_chosen_tests_fix_a_held_out_device():
    models, hardware = seed_catalogs()
    frame = simulate(models, hardware)
    device = "NVIDIA H100 80GB SXM5"
    train, device_rows = frame[frame["hardware_name"] != device], frame[frame["hardware_name"] == device]
    # what no spec sheet shows: this device reaches 1.6x the efficiency of the others
    device_rows = device_rows.assign(throughput=1.6 * device_rows["throughput"]).reset_index(drop=True)
    estimator = MetricEstimator(CONFIG).fit(train, "throughput")
    predicted = estimator.predict(device_rows, components=True)
    point = predicted["throughput_pred"].to_numpy()
    residuals = np.log(device_rows["throughput"].to_numpy()) - np.log(point)
    chosen = choose_device_tests(device_rows, 5, minmax(predicted["throughput_interval_width"]))[0].positions
    rest = np.setdiff1d(np.arange(len(device_rows)), chosen)
    adapted = DeviceAdaptation(held_out_prior(estimator, train)).fit(device_rows.iloc[chosen], residuals[chosen])
    measured = device_rows["throughput"].to_numpy()[rest]
    before = np.mean(np.abs(point[rest] / measured - 1.0))
    after = np.mean(np.abs(adapted.transform(device_rows.iloc[rest], point[rest]) / measured - 1.0))
    assert after < 0.5 * before
