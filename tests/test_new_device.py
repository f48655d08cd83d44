"""Onboarding a new device: the few-shot adaptation estimator, the first tests chosen for a device
with no rows (on the small trained warehouse of ``test_active_learning``), the two together on
simulated data with a device-specific efficiency, and the correction a trained model carries into
every prediction of a device with a few rows (saved with its version)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from predictive_performance.active_learning import ActiveLearningSystem, choose_device_tests, runnable
from predictive_performance.modeling import (
    MetricEstimator,
    MetricModel,
    load_version,
    prepare_configurations,
    save_version,
)
from predictive_performance.modeling.registry import MANIFEST, RESIDUALS_FILE
from predictive_performance.prediction.adaptation import DeviceAdaptation, DevicePrior
from predictive_performance.prediction.explanation import ShapExplainer
from predictive_performance.prediction.transfer import DeviceTransfer, ReferenceResiduals, pair_prior
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
            "num_devices": rng.choice([1, 2, 8], n),
        }
    )


LOGGED = np.log(rows(500, seed=9).to_numpy(dtype=float))  # the training devices' rows, for the standardisation
PRIOR = DevicePrior(np.array([0.25, 0.01, 0.01, 0.01, 0.01]), 0.04, LOGGED.mean(axis=0), LOGGED.std(axis=0))


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
    # spread over the workload (batch sizes, models of different sizes), not over model names for their own sake
    assert len({c["batch_size"] for c in configs}) >= 2 and len({c["model_name"] for c in configs}) >= 2
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
    point = estimator.predict(device_rows)["throughput_pred"].to_numpy()
    residuals = np.log(device_rows["throughput"].to_numpy()) - np.log(point)
    chosen = choose_device_tests(device_rows, 5)[0].positions
    rest = np.setdiff1d(np.arange(len(device_rows)), chosen)
    adapted = DeviceAdaptation(estimator.model_.primary.corrections.prior).fit(device_rows.iloc[chosen], residuals[chosen])
    measured = device_rows["throughput"].to_numpy()[rest]
    before = np.mean(np.abs(point[rest] / measured - 1.0))
    after = np.mean(np.abs(adapted.transform(device_rows.iloc[rest], point[rest]) / measured - 1.0))
    assert after < 0.5 * before


def configurations(n: int, devices: list[str], seed: int = 4) -> pd.DataFrame:
    """``n`` configurations of one harness, each run on every one of ``devices``."""
    one = rows(n, seed).assign(source="harness", model_name=[f"m{i}" for i in range(n)], mode="inference",
                               precision="fp16")
    return pd.concat([one.assign(hardware_name=d) for d in devices], ignore_index=True)


def test_transfer_reads_a_configuration_error_off_known_devices():
    # the model errs per configuration the same way on every device (a harness effect): an offset cannot fix it
    rng = np.random.default_rng(5)
    known = [f"gpu{i}" for i in range(6)]
    shared = rng.normal(0.0, 0.5, 60)
    frame = configurations(60, known)
    references = ReferenceResiduals.build(frame, np.tile(shared, 6) + rng.normal(0.0, 0.05, 360))
    held_out = np.tile(shared, 6) + np.repeat(rng.normal(0.0, 0.3, 6), 60) + rng.normal(0.0, 0.05, 360)
    pair = pair_prior(frame, held_out, references)
    assert pair.noise < 0.02 < PRIOR.noise  # reading another device leaves little but its offset
    device = configurations(60, ["new"])
    residuals = shared + 0.4 + rng.normal(0.0, 0.05, 60)
    chosen, rest = np.arange(5), np.arange(5, 60)
    transfer = DeviceTransfer(PRIOR, pair, references, "new").fit(device.iloc[chosen], residuals[chosen])
    offset = DeviceAdaptation(PRIOR).fit(device.iloc[chosen], residuals[chosen])
    transfer_error = np.abs(transfer.correction(device.iloc[rest]) - residuals[rest]).mean()
    offset_error = np.abs(offset.correction(device.iloc[rest]) - residuals[rest]).mean()
    assert transfer_error < 0.1 < 0.3 < offset_error
    unrun = device.iloc[rest].assign(model_name="never-run")  # no known device ran it: the device's own correction
    assert np.allclose(transfer.correction(unrun), offset.correction(unrun), atol=0.05)
    assert DeviceTransfer(PRIOR, pair, references, "new").correction(device).tolist() == [0.0] * 60


DEVICE, WELL_MEASURED = "NVIDIA H100 80GB SXM5", "NVIDIA A100 80GB SXM4"


def uncorrected(model: MetricModel) -> MetricModel:
    parts = {label: dataclasses.replace(part, corrections=None) for label, part in model.partitions.items()}
    return dataclasses.replace(model, partitions=parts)


@pytest.fixture(scope="module")
def few_shot():
    """A model trained with 5 rows of a device 1.6x as efficient as its spec sheet says, and its other rows."""
    models, hardware = seed_catalogs()
    frame = simulate(models, hardware)
    rows = frame[frame["hardware_name"] == DEVICE].reset_index(drop=True)
    rows = rows.assign(throughput=1.6 * rows["throughput"])
    five = np.random.default_rng(3).choice(len(rows), 5, replace=False)
    train = pd.concat([frame[frame["hardware_name"] != DEVICE], rows.iloc[five]], ignore_index=True)
    model = MetricEstimator(CONFIG).fit(train, "throughput").model_
    return model, rows.drop(index=five).reset_index(drop=True), frame[frame["hardware_name"] == WELL_MEASURED]


def test_five_measured_rows_correct_the_trained_models_other_predictions_of_the_device(few_shot):
    model, rest, _ = few_shot
    measured = rest["throughput"].to_numpy()
    error = {
        name: np.mean(np.abs(m.predict(rest)["throughput_pred"].to_numpy() / measured - 1.0))
        for name, m in (("corrected", model), ("plain", uncorrected(model)))
    }
    assert error["corrected"] < 0.6 * error["plain"]  # the trees alone barely move for 5 of ~500 rows
    assert model.primary.corrections.measured_rows(rest).tolist() == [5] * len(rest)


def test_a_well_measured_devices_predictions_are_unchanged(few_shot):
    model, _, known = few_shot
    assert model.primary.corrections.measured_rows(known).tolist() == [0] * len(known)
    pd.testing.assert_frame_equal(model.predict(known), uncorrected(model).predict(known))


def test_a_saved_version_predicts_the_corrected_figures_and_an_older_one_predicts_without(few_shot, tmp_path):
    model, rest, _ = few_shot
    saved = save_version(model, CONFIG, artifacts=tmp_path)
    pd.testing.assert_frame_equal(load_version(saved.version, tmp_path).model.predict(rest), model.predict(rest))
    manifest = json.loads((saved.path / MANIFEST).read_text())  # as a version saved before corrections
    for entry in manifest["partitions"]:
        entry.pop("device_corrections")
        (saved.path / entry["directory"] / RESIDUALS_FILE).unlink()
        manifest["files"].pop(f"{entry['directory']}/{RESIDUALS_FILE}")
    (saved.path / MANIFEST).write_text(json.dumps(manifest))
    older = load_version(saved.version, tmp_path).model
    assert older.primary.corrections is None
    pd.testing.assert_frame_equal(older.predict(rest), uncorrected(model).predict(rest))


def test_the_explanation_of_a_corrected_figure_still_adds_up_to_it(few_shot, tmp_path):
    model, rest, _ = few_shot
    saved = save_version(model, CONFIG, artifacts=tmp_path)
    explained = ShapExplainer().explain(rest.iloc[[0]], {"throughput": saved}, ["throughput"])["throughput"]
    assert explained["device_correction"] > 0.1  # the device is 1.6x as efficient as the trees say
    assert np.exp(explained["log_prediction"]) == pytest.approx(model.predict(rest.iloc[[0]])["throughput_pred"].iat[0])
