"""The efficiency's elasticity in the matmul rate (``elasticity.RateElasticity``): fitted within configurations,
bounded, refitted in every fold, carried by the *physics* formulation through a fit, a held-out faster device and a
saved manifest entry."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from predictive_performance.modeling.elasticity import RateElasticity, log_relative_rate
from predictive_performance.modeling.features import frame_matmul_peak_tflops
from predictive_performance.modeling.registry import _load_partition, _partition_manifest, _save_partition
from predictive_performance.modeling.targets import (
    fit_reference,
    metric_rows,
    offset,
    physics_batch_time,
    physics_throughput,
    refit_shift,
)
from predictive_performance.modeling.training import fit_metric_model
from predictive_performance.modeling.tuning import MetricSettings
from tests.factories import CONFIG, seed_catalogs, simulate

FASTEST = "NVIDIA H100 80GB SXM5"
EXPONENT = -0.2


def _following(rows: pd.DataFrame, exponent: float) -> pd.DataFrame:
    """Rows measured at physics x rate ** exponent x a level set by their configuration's batch and mode (no noise)."""
    rows = metric_rows(rows, "throughput", ("physics",))
    batch = rows["batch_size"].to_numpy(dtype=float)
    level = batch / (batch + 4.0) * np.where(rows["mode"] == "training", 0.2, 0.4)
    throughput = physics_throughput(rows) * frame_matmul_peak_tflops(rows) ** exponent * level
    return rows.assign(throughput=throughput, latency_ms=1000.0 * rows["batch_size"] / throughput)


@pytest.fixture(scope="module")
def measured() -> pd.DataFrame:
    models, hardware = seed_catalogs()
    return _following(simulate(models, hardware), EXPONENT)


def _log_efficiency(rows: pd.DataFrame) -> np.ndarray:
    return np.log(rows["throughput"].to_numpy() / physics_throughput(rows))


def test_the_slope_is_recovered_within_configurations_whatever_each_device_ran(measured):
    # the faster devices ran only the configurations with the highest levels: across rows efficiency rises
    # with the rate, within each configuration it falls as it was made to
    level = _log_efficiency(measured) - EXPONENT * np.log(frame_matmul_peak_tflops(measured))
    fast = frame_matmul_peak_tflops(measured) > 100
    rows = measured[~fast | (level > np.quantile(level, 0.75))].reset_index(drop=True)
    across = np.polyfit(np.log(frame_matmul_peak_tflops(rows)), _log_efficiency(rows), 1)[0]
    assert across > 0
    assert RateElasticity.fit(rows, _log_efficiency(rows)).exponent == pytest.approx(EXPONENT, abs=1e-9)


@pytest.mark.parametrize(("made", "fitted"), [(0.3, 0.0), (-1.6, -1.0)])
def test_the_exponent_stays_between_minus_one_and_zero(made, fitted):
    models, hardware = seed_catalogs()
    rows = _following(simulate(models, hardware), made)
    assert RateElasticity.fit(rows, _log_efficiency(rows)).exponent == pytest.approx(fitted)


def test_configurations_measured_on_one_device_each_tell_no_slope(measured):
    rows = measured.assign(model_name=measured["model_name"] + " on " + measured["hardware_name"])
    assert RateElasticity.fit(rows, _log_efficiency(rows)) == RateElasticity()


def test_the_offset_scales_a_throughput_up_and_a_batch_time_down_by_the_same_factor(measured):
    fitted = fit_reference(measured, "throughput", "physics")
    factor = fitted.exponent * log_relative_rate(measured)
    assert offset(measured, "throughput", "physics", fitted) == pytest.approx(np.log(physics_throughput(measured)) + factor)
    latency = fit_reference(measured, "latency_ms", "physics")
    assert latency.exponent == pytest.approx(fitted.exponent)
    assert offset(measured, "latency_ms", "physics", latency) == pytest.approx(np.log(physics_batch_time(measured)) - factor)
    # memory and power fit nothing: their references do not time a step
    assert fit_reference(measured, "memory_mb", "physics") is None


def test_a_fold_refits_the_exponent_on_its_training_rows_alone(measured):
    # rows of the fastest device at a steeper slope: a fold without them fits the others' slope
    steeper = measured["hardware_name"] == FASTEST
    rows = measured.assign(throughput=np.where(steeper, measured["throughput"] * 0.5, measured["throughput"]))
    fitted = fit_reference(rows, "throughput", "physics")
    shift = refit_shift(rows, "throughput", "physics", fitted)
    assert np.allclose(shift(np.arange(len(rows))), 0.0)
    without = shift(np.flatnonzero(~steeper))
    assert without == pytest.approx((EXPONENT - fitted.exponent) * log_relative_rate(rows))
    assert refit_shift(rows, "throughput", "efficiency", None) is None


SETTINGS = MetricSettings("throughput", "physics", "lightgbm", ["lightgbm"], {"lightgbm": None}, {"lightgbm": 100})


def test_a_device_faster_than_every_training_one_is_predicted_through_the_elasticity(measured):
    train, test = measured[measured["hardware_name"] != FASTEST], measured[measured["hardware_name"] == FASTEST]
    model = fit_metric_model(train, SETTINGS, CONFIG, with_confidence=False)
    assert model.fitted_reference.exponent == pytest.approx(EXPONENT, abs=1e-9)
    ratio = model.predict(test)["throughput_pred"].to_numpy() / test["throughput"].to_numpy()
    # trees alone give the H100 the efficiency of the fastest device they saw, the A100's on each configuration
    keys = ["model_name", "precision", "batch_size", "mode"]
    a100 = train[train["hardware_name"] == "NVIDIA A100 80GB SXM4"]
    as_a100 = test[keys].merge(a100[keys].assign(efficiency=np.exp(_log_efficiency(a100))), on=keys, how="left")
    capped = physics_throughput(test) * as_a100["efficiency"].to_numpy() / test["throughput"].to_numpy()
    assert np.median(np.abs(ratio - 1)) < 0.05 < 0.15 < np.median(capped - 1)


def test_a_saved_partition_keeps_its_elasticity_and_predicts_as_the_fitted_one(measured, tmp_path):
    fitted = fit_metric_model(measured, dataclasses.replace(SETTINGS, rounds={"lightgbm": 20}), CONFIG,
                              with_confidence=False)
    _save_partition(fitted, tmp_path)
    loaded = _load_partition("throughput", json.loads(json.dumps(_partition_manifest(fitted))), tmp_path, n_jobs=1)
    assert loaded.fitted_reference == fitted.fitted_reference
    pd.testing.assert_frame_equal(loaded.predict(measured), fitted.predict(measured))
