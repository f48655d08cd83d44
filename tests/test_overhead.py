"""A harness's own cost per step (``overhead.StepOverhead``): fitted by hand-checked least squares, carried by the
*physics_overhead* formulation through a fit, a held-out device and a saved manifest entry."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from predictive_performance.modeling.overhead import StepOverhead
from predictive_performance.modeling.registry import _load_partition, _partition_manifest, _save_partition
from predictive_performance.modeling.targets import (
    OVERHEAD_FORMULATION,
    fit_overhead,
    formulations_for,
    metric_rows,
    offset,
    physics_step_time,
    refit_shift,
)
from predictive_performance.modeling.training import fit_metric_model
from predictive_performance.modeling.tuning import MetricSettings
from tests.factories import CONFIG, seed_catalogs, simulate_workloads

H100 = "NVIDIA H100 80GB SXM5"
HARNESS_S = {"chat": 0.03, "code": 0.01}  # a fixed cost per step of each task's request set
PER_SEQUENCE_S = 2e-4


def synthetic(n: int = 60, scale: float = 1.3) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(measured, physics, tasks, items) of steps that follow the overhead's form exactly."""
    rng = np.random.default_rng(3)
    physics = rng.uniform(1e-3, 0.1, n)
    tasks = np.array(["chat", "code"] * (n // 2), dtype=object)
    items = rng.integers(1, 64, n).astype(float)
    measured = scale * physics + np.array([HARNESS_S[t] for t in tasks]) + PER_SEQUENCE_S * items
    return measured, physics, tasks, items


def test_the_fit_recovers_the_physics_share_each_tasks_step_cost_and_the_per_sequence_cost():
    fitted = StepOverhead.fit(*synthetic())
    assert fitted.scale == pytest.approx(1.3, rel=1e-6)
    assert fitted.per_task_s == pytest.approx(HARNESS_S, rel=1e-6)
    assert fitted.per_item_s == pytest.approx(PER_SEQUENCE_S, rel=1e-6)


def test_a_faster_device_moves_only_the_physics_share_and_an_unknown_task_costs_the_typical_one():
    fitted = StepOverhead.fit(*synthetic())
    physics, items = np.array([0.02, 0.01]), np.array([8.0, 8.0])
    seen = fitted.seconds(physics, np.array(["chat", "chat"], dtype=object), items)
    # half the physics time takes 1.3 x 10 ms off; the 30 ms of the harness and 1.6 ms of sequences stay
    assert seen == pytest.approx([1.3 * 0.02 + 0.03 + 0.0016, 1.3 * 0.01 + 0.03 + 0.0016])
    # a task nobody ran, and a row that names none where no training row did, pay the median of 30 and 10 ms
    unknown = fitted.seconds(physics, np.array(["translate", None], dtype=object), items)
    assert unknown == pytest.approx([1.3 * 0.02 + 0.02 + 0.0016, 1.3 * 0.01 + 0.02 + 0.0016])


def test_without_a_positive_physics_share_the_median_ratio_stands_in():
    # every step takes 50 ms whatever the device: least squares gives physics no share at all
    _, physics, tasks, items = synthetic()
    fitted = StepOverhead.fit(np.full(len(physics), 0.05), physics, tasks, items)
    assert fitted.per_task_s == {} and fitted.per_item_s == 0.0
    assert fitted.scale == pytest.approx(np.median(0.05 / physics))
    assert fitted.seconds(np.array([0.01]), np.array(["chat"], dtype=object), np.array([1.0]))[0] > 0


def test_the_overhead_round_trips_through_its_dict():
    fitted = StepOverhead.fit(*synthetic())
    assert StepOverhead.from_dict(fitted.to_dict()) == fitted


def test_the_formulation_applies_to_step_times_only_and_needs_a_fitted_overhead():
    formulations = ("physics", OVERHEAD_FORMULATION, "direct")
    assert formulations_for("latency_ms", formulations) == formulations
    assert formulations_for("throughput", formulations) == formulations
    assert formulations_for("memory_mb", formulations) == ("physics", "direct")
    with pytest.raises(ValueError, match="fitted overhead"):
        offset(pd.DataFrame({"latency_ms": [1.0]}), "latency_ms", OVERHEAD_FORMULATION)


@pytest.fixture(scope="module")
def harnessed():
    """Per-token serving rows of six GPUs whose steps take physics plus 30 ms of harness (noise-free)."""
    models, hardware = seed_catalogs()
    rows = simulate_workloads(models, hardware)
    rows = rows[rows["latency_kind"] == "token"].reset_index(drop=True)
    physics, _ = physics_step_time(rows)
    return rows.assign(latency_ms=1000.0 * (0.8 * physics + 0.03))


SETTINGS = MetricSettings(
    "latency_ms", OVERHEAD_FORMULATION, "lightgbm", ["lightgbm"], {"lightgbm": None}, {"lightgbm": 50}
)


def test_a_held_out_device_is_predicted_through_the_overhead_its_fit_learnt(harnessed):
    train, test = harnessed[harnessed["hardware_name"] != H100], harnessed[harnessed["hardware_name"] == H100]
    assert len(test) and test["hardware_name"].nunique() == 1
    model = fit_metric_model(train, SETTINGS, CONFIG, with_confidence=False)
    assert model.fitted_reference.scale == pytest.approx(0.8, rel=1e-3)
    assert model.fitted_reference.per_task_s == pytest.approx({"lm-arena-chat": 0.03}, rel=1e-3)
    error = np.abs(model.predict(test)["latency_ms_pred"].to_numpy() / test["latency_ms"].to_numpy() - 1)
    # physics alone would have to learn a lower efficiency on the faster device; the overhead carries it
    plain = fit_metric_model(train, dataclasses.replace(SETTINGS, formulation="physics"), CONFIG, with_confidence=False)
    plain_error = np.abs(plain.predict(test)["latency_ms_pred"].to_numpy() / test["latency_ms"].to_numpy() - 1)
    assert error.mean() < 0.02 < plain_error.mean()


def test_the_overhead_offset_is_the_fitted_step_time_in_the_metrics_unit(harnessed):
    rows = metric_rows(harnessed, "throughput", ("physics",))
    fitted = fit_overhead(rows, "throughput")
    physics, items = physics_step_time(rows)
    seconds = fitted.seconds(physics, rows["task"].to_numpy(dtype=object), items)
    assert np.exp(offset(rows, "throughput", OVERHEAD_FORMULATION, fitted)) == pytest.approx(items / seconds)
    latency = fit_overhead(rows, "latency_ms")
    assert np.exp(offset(rows, "latency_ms", OVERHEAD_FORMULATION, latency)) == pytest.approx(
        1000.0 * latency.seconds(physics, rows["task"].to_numpy(dtype=object), items)
    )


def test_a_saved_partition_keeps_its_overhead_and_predicts_as_the_fitted_one(harnessed, tmp_path):
    fitted = fit_metric_model(harnessed, SETTINGS, CONFIG, with_confidence=False)
    _save_partition(fitted, tmp_path)
    loaded = _load_partition("latency_ms", json.loads(json.dumps(_partition_manifest(fitted))), tmp_path, n_jobs=1)
    assert loaded.fitted_reference == fitted.fitted_reference
    pd.testing.assert_frame_equal(loaded.predict(harnessed), fitted.predict(harnessed))


def test_a_fold_refits_the_overhead_on_its_training_rows_alone(harnessed):
    # a second request set with 10 ms of harness: a fold that never ran it predicts it at the known set's 30 ms
    code = harnessed["model_name"] == harnessed["model_name"].iloc[0]
    physics, _ = physics_step_time(harnessed)
    rows = harnessed.assign(task=np.where(code, "code", "lm-arena-chat"),
                            latency_ms=1000.0 * (0.8 * physics + np.where(code, 0.01, 0.03)))
    shift = refit_shift(rows, "latency_ms", OVERHEAD_FORMULATION, fit_overhead(rows, "latency_ms"))
    assert np.allclose(shift(np.arange(len(rows))), 0.0)
    without_code = shift(np.flatnonzero(~code))
    assert np.allclose(without_code[~code], 0.0, atol=1e-6)
    expected = np.log((0.8 * physics[code] + 0.03) / (0.8 * physics[code] + 0.01))
    assert without_code[code] == pytest.approx(expected, rel=1e-4)
    assert refit_shift(rows, "latency_ms", "physics", None) is None
