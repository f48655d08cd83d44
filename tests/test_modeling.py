"""The modelling core on a small, known world: real catalog specs, simulated measurements.

Measurements follow a roofline times an efficiency that depends smoothly on device and model
facts, with a per-device offset (devices differ in ways no spec sheet shows) and per-row noise.
A model that learns from catalog features must then predict a held-out device to within the
per-device offset, and its 80 % intervals must cover held-out devices about 80 % of the time.
Real XGBoost / LightGBM / CatBoost / DuckDB throughout, with a tiny tuning budget.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import optuna
import pandas as pd
import pytest

from predictive_performance.modeling import (
    LEARNERS,
    SPLITS,
    FeatureSpec,
    MetricEstimator,
    MetricModel,
    TrainingConfig,
    UnknownEntityError,
    evaluate_metric,
    evaluation_table,
    fit_metric_model,
    latest_version,
    learner,
    load_version,
    predict,
    publish,
    publish_saved_versions,
    save_version,
    score,
    split_folds,
    tune_metric,
    workload_features,
)
from predictive_performance.modeling.calibration import ConformalBands, calibrate, conformal_margin
from predictive_performance.modeling.folds import search_sample
from predictive_performance.modeling.learners import search_distributions
from predictive_performance.modeling.targets import FORMULATIONS
from predictive_performance.modeling.tuning import (
    ENSEMBLE,
    ENSEMBLE_TOLERANCE,
    beats_in_folds,
    choose_formulation,
    choose_learners,
)
from predictive_performance.modeling.workers import side_by_side
from predictive_performance.warehouse import Warehouse
from tests.factories import seed_catalogs

MEASURED = [
    "NVIDIA Tesla V100 SXM2 16GB", "NVIDIA T4", "NVIDIA A10", "NVIDIA A100 80GB SXM4", "NVIDIA L40S",
    "NVIDIA H100 80GB SXM5", "NVIDIA GeForce RTX 3090", "NVIDIA GeForce RTX 4090", "NVIDIA RTX A6000",
]
HELD_OUT = "NVIDIA A100 80GB SXM4"  # inside the measured range: an interpolation question
CATALOG_ONLY = "NVIDIA L4"  # in the catalog, never measured
MODELS = ["bert-base-uncased", "gpt2", "resnet-50", "vit-base-patch16-224", "t5-small"]
CONFIG = TrainingConfig.fast(n_jobs=1)
SMALL_CALIBRATION = TrainingConfig(n_folds=3, calibration_group_folds=3, n_jobs=1, fold_workers=1)
STATIC = "workload=static_batch"  # the simulated rows' partition: no workload given means a static batch


def simulate(seed: int = 0) -> pd.DataFrame:
    """Throughput / latency / memory / power for every model x device x precision x batch x mode."""
    rng = np.random.default_rng(seed)
    models, hardware = seed_catalogs()
    grid = pd.MultiIndex.from_product(
        [MODELS, MEASURED, ["fp32", "fp16"], [1, 4, 16, 64], ["inference", "training"]],
        names=["model_name", "hardware_name", "precision", "batch_size", "mode"],
    ).to_frame(index=False)
    grid["sequence_length"] = np.where(grid["model_name"].isin(["resnet-50", "vit-base-patch16-224"]), np.nan, 128)
    frame = workload_features(grid, models, hardware)
    device_effect = dict(zip(MEASURED, rng.normal(0.0, 0.08, len(MEASURED)), strict=True))
    balance = np.log(frame["memory_bandwidth_gbs"] * 1e9 / (frame["peak_tflops_at_precision"] * 1e12))
    batch = frame["batch_size"].to_numpy(dtype=float)
    log_eff = (
        np.log(0.35)
        + 0.25 * (balance - balance.mean())
        + np.log(batch / (batch + 6.0))
        - 0.15 * (frame["model_type"] == "vision")
        + frame["hardware_name"].map(device_effect)
        + rng.normal(0.0, 0.06, len(frame))
    )
    frame["throughput"] = frame["roofline_throughput"] * np.exp(log_eff)
    frame["latency_ms"] = 1000.0 * batch / frame["throughput"]
    frame["memory_mb"] = (300.0 + 1.3 * frame["model_memory_mb"] + 2.0 * batch * frame["precision_bytes"]) * np.exp(
        rng.normal(0.0, 0.05, len(frame))
    )
    frame["power_w"] = frame["tdp_w"] * (0.35 + 0.5 * batch / (batch + 6.0)) * np.exp(rng.normal(0.0, 0.05, len(frame)))
    frame["load_id"] = "20260101T000000000000Z-simulate"
    frame["source_row"] = np.arange(len(frame))
    # two measurement campaigns, so the time-based split has something to split
    frame["measured_at"] = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 60, len(frame)), unit="D")
    return frame


@pytest.fixture(scope="module")
def world() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    models, hardware = seed_catalogs()
    return simulate(), models, hardware


@pytest.fixture(scope="module")
def tuned(world):
    frame, _, _ = world
    settings, member_oof = tune_metric(frame, "throughput", CONFIG)
    return settings, member_oof


@pytest.fixture(scope="module")
def fitted(world, tuned):
    frame, _, _ = world
    settings, member_oof = tuned
    return fit_metric_model(frame, settings, CONFIG, member_oof=member_oof)


@pytest.fixture(scope="module")
def metric_model(fitted) -> MetricModel:
    """The fitted throughput model as a version holds it: one partition, the static batch."""
    return MetricModel("throughput", ("workload",), {STATIC: fitted})


def test_tuning_records_every_candidate_and_the_winner(tuned):
    settings, member_oof = tuned
    assert set(settings.candidates) == {"xgboost", "lightgbm", "catboost", "ensemble"}
    assert set(settings.formulation_scores) == set(FORMULATIONS)
    # a physics offset is what lets trees reach devices outside the training range
    assert settings.formulation in {"physics", "physics_overhead", "efficiency"}
    assert choose_formulation({f: v["relative"] for f, v in settings.formulation_scores.items()}) == settings.formulation
    assert all(settings.tuning[a]["trials"] >= 1 for a in ("xgboost", "lightgbm", "catboost"))
    assert settings.members == (list(settings.params) if settings.algorithm == ENSEMBLE else [settings.algorithm])
    # the confidence calibrator reuses each learner's out-of-fold predictions of both grouped schemes
    assert settings.tuning["schemes"] == ["new_hardware", "new_model"]
    assert set(member_oof) == set(settings.params)
    assert all(set(oof) == set(settings.tuning["schemes"]) for oof in member_oof.values())


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ({"physics": 1.002, "physics_totals": 1.0, "direct": 2.4}, "physics"),  # a near tie: the general reference
        ({"physics": 1.03, "physics_totals": 1.0, "direct": 2.4}, "physics_totals"),  # a clear win stands
        ({"efficiency": 1.0, "physics": 1.01}, "efficiency"),  # the order is the configured one, not a fixed list
    ],
)
def test_the_screen_settles_near_ties_for_the_earliest_formulation(relative, expected):
    assert choose_formulation(relative) == expected


def _oof(errors: dict[str, float], n: int = 400) -> dict[str, dict[str, np.ndarray]]:
    """Out-of-fold predictions of a zero target with independent errors of the given sizes."""
    rng = np.random.default_rng(0)
    return {a: {s: rng.normal(0.0, sd, n) for s in ("new_hardware", "new_model")} for a, sd in errors.items()}


def _folds(n: int = 400, per_scheme: int = 3) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """Three held-out folds per scheme over ``n`` rows."""
    parts = np.array_split(np.arange(n), per_scheme)
    return {s: [(np.setdiff1d(np.arange(n), test), test) for test in parts] for s in ("new_hardware", "new_model")}


@pytest.mark.parametrize(
    ("errors", "expected"),
    [
        ({"xgboost": 0.1, "lightgbm": 0.1, "catboost": 0.1}, ENSEMBLE),  # averaging independent errors helps
        ({"xgboost": 0.02, "lightgbm": 0.5, "catboost": 0.5}, "xgboost"),  # one learner far ahead wins alone
        ({"lightgbm": 0.1}, "lightgbm"),  # a single learner has no average to compete with
    ],
)
def test_the_choice_keeps_the_average_unless_one_learner_is_clearly_better(errors, expected):
    oof = _oof(errors)
    choice, members, candidates = choose_learners(oof, np.zeros(400), _folds())
    assert choice == expected
    assert members == (list(errors) if expected == ENSEMBLE else [expected])
    assert set(candidates) == set(errors) | ({ENSEMBLE} if len(errors) > 1 else set())
    assert min(c["relative"] for c in candidates.values()) >= 1.0


def test_a_learner_ahead_on_the_total_but_in_one_fold_only_does_not_displace_the_average():
    # the average is better in five of six folds; in the sixth its members fail and CatBoost does not
    oof = _oof({"xgboost": 0.1, "lightgbm": 0.1, "catboost": 0.1})
    accident = _folds()["new_hardware"][0][1]
    for learner_name in ("xgboost", "lightgbm"):
        oof[learner_name]["new_hardware"][accident] += 1.0
    choice, _, candidates = choose_learners(oof, np.zeros(400), _folds())
    assert candidates["catboost"]["relative"] < candidates[ENSEMBLE]["relative"] / (1 + ENSEMBLE_TOLERANCE)
    assert choice == ENSEMBLE and candidates["catboost"]["fold_log_ratio"]["folds"] == 6


@pytest.mark.parametrize(
    ("log_ratios", "beats"),
    [
        ([-0.5, -0.6, -0.4, -0.5, -0.7, 0.05], True),  # far ahead in five folds, a little behind in one
        ([-0.03, -0.02, -0.04, -0.01, -0.03, 0.02], True),  # a small lead, but in every fold alike
        ([-0.02, -0.01, -0.03, -0.02, -0.01, 0.2], False),  # small leads, undone by one fold
        ([-0.5], False),  # one fold says nothing
    ],
)
def test_a_learner_beats_the_average_only_beyond_chance_over_the_folds(log_ratios, beats):
    assert beats_in_folds(np.array(log_ratios)) is beats


def test_held_out_device_is_predicted_within_threshold(world, tuned):
    """Trained without one device, predict it from its spec sheet alone.

    The simulated device offset has sd 8 % and row noise sd 6 %, so even a perfect learner
    sees ~10 % MAPE on one unseen device (this test measures 10.4 %). 20 % leaves room
    for the tiny tuning budget while failing any model that ignores the device specs (the
    devices' rooflines span 30x).
    """
    frame, _, _ = world
    settings, _ = tuned
    train = frame[frame["hardware_name"] != HELD_OUT]
    test = frame[frame["hardware_name"] == HELD_OUT]
    model = fit_metric_model(train, settings, CONFIG, with_confidence=False)
    predicted = model.predict(test)
    figures = score(test["throughput"], predicted["throughput_pred"])
    assert figures["mape"] < 0.20, figures
    assert figures["spearman"] > 0.95


@pytest.fixture(scope="module")
def evaluation(world, tuned):
    frame, _, _ = world
    settings, _ = tuned
    return evaluate_metric(frame, "throughput", {STATIC: settings}, CONFIG)


@pytest.mark.parametrize("split", ["leave_one_hardware_out", "leave_one_model_out"])
def test_intervals_cover_held_out_groups_near_nominal(evaluation, split):
    """Pooled over held-out groups, 80 % intervals cover 65-95 % (9 devices / 5 models: a wide band)."""
    overall = evaluation.table.query(
        "metric == 'throughput' and stratum == 'all' and method == 'model' and split == @split"
    ).iloc[0]
    assert 0.65 <= overall["coverage"] <= 0.95, overall.to_dict()


def test_evaluation_table_has_every_split_with_baseline_rows(evaluation):
    # a static batch's latency is judged on the same held-out predictions (``derived``): its own rows
    assert set(evaluation.table["metric"]) == {"throughput", "latency_ms"}
    table = evaluation.table[evaluation.table["metric"] == "throughput"]
    overall = table[table["stratum"] == "all"]
    assert set(overall["split"]) == set(SPLITS)
    for split in SPLITS:
        rows = overall[overall["split"] == split].set_index("method")
        assert {"model", "baseline"} <= set(rows.index)
        assert rows.loc["model", "n_rows"] > 0 and rows.loc["baseline", "n_rows"] > 0
        assert rows.loc["model", "coverage"] == rows.loc["model", "coverage"]  # not NaN
    assert {"all", "hardware_platform", "model_type", "source"} <= set(table["stratum"])
    assert set(table["partition"]) == {STATIC}
    assert set(table.loc[table["stratum"] == "model_type", "stratum_value"]) >= {"vision", "text_embedding"}
    # on unseen devices the learned model beats the roofline-scaled nearest neighbour
    loho = overall[overall["split"] == "leave_one_hardware_out"].set_index("method")
    assert loho.loc["model", "mape"] < loho.loc["baseline", "mape"]


@pytest.mark.parametrize(("split", "column"), [("leave_one_hardware_out", "hardware_name"), ("leave_one_model_out", "model_name")])
@pytest.mark.parametrize("group_folds", [2, 4, 30])
def test_grouped_splits_hold_every_group_out_exactly_once(world, split, column, group_folds):
    """At most ``group_folds`` folds; every group in exactly one test part and never in its training part."""
    frame, _, _ = world
    groups = frame[column].to_numpy()
    folds = split_folds(frame, split, seed=1, group_folds=group_folds)
    assert len(folds) == min(group_folds, frame[column].nunique())
    held_out = [set(groups[test]) for _, test in folds]
    assert sorted(g for part in held_out for g in part) == sorted(set(groups))  # each group once
    for (train, test), part in zip(folds, held_out, strict=True):
        assert not part & set(groups[train])
        assert len(train) + len(test) == len(frame)
    again = split_folds(frame, split, seed=1, group_folds=group_folds)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))


def test_folds_holding_several_groups_say_so_in_the_table(world, tuned):
    frame, _, _ = world
    settings, _ = tuned
    config = TrainingConfig.fast(n_jobs=1, evaluation_group_folds=3)
    result = evaluate_metric(frame, "throughput", {STATIC: settings}, config, splits=("leave_one_hardware_out",))
    overall = result.table.query("stratum == 'all' and method == 'model'").iloc[0]
    assert overall["n_folds"] == 3 and overall["n_rows"] == len(frame)
    assert overall["note"].startswith(f"{len(MEASURED)} groups held out in 3 folds")


def test_the_screen_and_the_margins_fit_on_their_own_samples(world):
    """The formulation screen sees at most ``screen_rows`` rows, the margins ``calibration_rows``; the
    other learners' defaults still run on the whole search sample."""
    frame, _, _ = world
    config = TrainingConfig.fast(n_jobs=1, n_trials=1, screen_rows=150, calibration_rows=200,
                                 algorithms=("lightgbm", "xgboost"), screen_algorithms=("lightgbm",))
    settings, member_oof = tune_metric(frame, "throughput", config)
    assert set(settings.formulation_scores["efficiency"]) == {"relative", "lightgbm"}
    assert all(len(oof) == len(frame) for scheme_oof in member_oof.values() for oof in scheme_oof.values())
    model = fit_metric_model(frame, settings, config, member_oof=member_oof)
    assert 0 < max(model.bands.calibration_rows.values()) <= 200
    assert model.confidence is not None


def test_search_sample_keeps_every_pair_and_is_repeatable(world):
    frame, _, _ = world
    sample = search_sample(frame, 100, seed=3)
    assert len(sample) == 100 and np.all(np.diff(sample) > 0)
    pairs = frame[["hardware_name", "model_name"]].drop_duplicates()
    assert len(frame.iloc[sample][["hardware_name", "model_name"]].drop_duplicates()) == len(pairs)
    assert np.array_equal(sample, search_sample(frame, 100, seed=3))
    assert np.array_equal(search_sample(frame, len(frame), seed=3), np.arange(len(frame)))


def test_searches_run_on_the_sample_and_the_final_fit_on_every_row(world):
    """Above ``max_search_rows`` tuning, margins and evaluation use the sample; the learners see all rows."""
    frame, _, _ = world
    config = TrainingConfig.fast(n_jobs=1, max_search_rows=240, algorithms=("lightgbm",), formulations=("efficiency",))
    settings, member_oof = tune_metric(frame, "throughput", config)
    assert all(len(oof) == 240 for scheme_oof in member_oof.values() for oof in scheme_oof.values())
    model = fit_metric_model(frame, settings, config, member_oof=member_oof)
    assert model.n_rows == len(frame)
    assert sum(model.bands.calibration_rows.values()) <= 240 * len(model.bands.calibration_rows)
    result = evaluate_metric(frame, "throughput", {STATIC: settings}, config, splits=("leave_one_hardware_out",))
    overall = result.table.query("stratum == 'all' and method == 'model'").iloc[0]
    assert overall["n_rows"] == 240
    assert overall["mape"] < 0.25, overall.to_dict()


def test_catalog_only_device_gets_lower_confidence(world, fitted):
    _, models, hardware = world
    configs = pd.MultiIndex.from_product(
        [MODELS, [MEASURED[2], CATALOG_ONLY], ["fp16"], [1, 16], ["inference"]],
        names=["model_name", "hardware_name", "precision", "batch_size", "mode"],
    ).to_frame(index=False)
    configs["sequence_length"] = 128
    frame = workload_features(configs, models, hardware)
    predicted = fitted.predict(frame, components=True).join(frame[["hardware_name"]])
    by_device = predicted.groupby("hardware_name")
    confidence = by_device["throughput_confidence"].mean()
    assert confidence[CATALOG_ONLY] < confidence[MEASURED[2]]
    assert (predicted.loc[frame["hardware_name"] == CATALOG_ONLY, "throughput_regime"] == "new_hardware").all()
    assert by_device["throughput_distance"].mean()[CATALOG_ONLY] > by_device["throughput_distance"].mean()[MEASURED[2]]
    width = np.log(predicted["throughput_upper"] / predicted["throughput_lower"]).groupby(frame["hardware_name"]).mean()
    assert width[CATALOG_ONLY] > width[MEASURED[2]]
    assert predicted["throughput_confidence"].between(0, 1).all()
    assert (predicted["throughput_lower"] <= predicted["throughput_pred"]).all()
    assert (predicted["throughput_pred"] <= predicted["throughput_upper"]).all()


def test_registry_round_trip_is_lazy_and_identical(world, fitted, metric_model, tmp_path):
    frame, _, _ = world
    saved = save_version(metric_model, CONFIG, artifacts=tmp_path)
    manifest = json.loads((saved.path / "manifest.json").read_text())
    assert manifest["version"] == saved.version and manifest["metric"] == "throughput"
    assert manifest["data_snapshot"]["load_ids"] == {"20260101T000000000000Z-simulate": len(frame)}
    [partition] = manifest["partitions"]
    assert partition["partition"] == STATIC and partition["values"] == {"workload": "static_batch"}
    assert set(partition["candidates"]) >= {"xgboost", "lightgbm", "catboost"}
    files = {"xgboost.ubj", "lightgbm.txt", "catboost.cbm", "quantile_lower.txt", "neighbours.npy"}
    assert {f"partition-0/{name}" for name in files} <= set(manifest["files"])

    loaded = load_version(saved.version, tmp_path)
    assert not loaded.is_loaded
    assert latest_version("throughput", tmp_path).version == saved.version
    again = loaded.predict(frame)
    assert loaded.is_loaded
    expected = fitted.predict(frame)
    pd.testing.assert_frame_equal(again.drop(columns="model_version"), expected, check_exact=True)
    assert (again["model_version"] == saved.version).all()

    combined = predict(frame.head(5), artifacts=tmp_path)
    assert combined["model_version"].iloc[0] == saved.version
    assert {"throughput_pred", "throughput_lower", "throughput_upper", "throughput_confidence"} <= set(combined)


def test_publish_swaps_ml_tables_and_keeps_older_versions(world, metric_model, evaluation, tmp_path):
    frame, _, _ = world
    warehouse = Warehouse(tmp_path / "benchmarks.duckdb")
    first = save_version(metric_model, CONFIG, evaluation, artifacts=tmp_path)
    publish(warehouse, [first], {first.version: evaluation})
    second = save_version(metric_model, CONFIG, evaluation, artifacts=tmp_path)
    # as the Dagster asset does it: a version loaded from disk brings its saved evaluation
    publish_saved_versions(warehouse, [load_version(second.version, tmp_path)])

    registry = warehouse.query("select * from ml.model_registry order by trained_at")
    assert list(registry["model_version"]) == [first.version, second.version]
    assert list(registry["load_ids"].iloc[0]) == ["20260101T000000000000Z-simulate"]
    assert json.loads(registry["evaluation_summary"].iloc[0])[f"{STATIC}/random_kfold/model"]["n_rows"] == len(frame)
    assert list(registry["partitions"].iloc[0]) == [STATIC]
    counts = warehouse.query("select model_version, count(*) as n from ml.evaluation group by all")
    assert set(counts["model_version"]) == {first.version, second.version}
    assert counts["n"].nunique() == 1
    newest = evaluation_table(warehouse)
    assert set(newest["model_version"]) == {second.version}


def test_unknown_model_is_named_and_unseen_categories_encode_as_zeros(world):
    frame, models, hardware = world
    configs = pd.DataFrame(
        {"model_name": ["no-such-model"], "hardware_name": [MEASURED[0]], "batch_size": [1], "precision": ["fp16"],
         "mode": ["inference"]}
    )
    with pytest.raises(UnknownEntityError, match="no-such-model"):
        workload_features(configs, models, hardware)

    spec = FeatureSpec.fit(frame)
    unseen = frame.head(3).assign(architecture="Some Future Architecture", hardware_platform="webgpu")
    matrix = spec.matrix(unseen)
    names = spec.names
    assert matrix.shape == (3, len(names))
    assert not any(n.startswith("architecture=Some") for n in names)
    assert matrix[:, [i for i, n in enumerate(names) if n.startswith("architecture=")]].sum() == 0


@pytest.mark.parametrize(
    ("n", "coverage", "expected"),
    [(9, 0.8, 8.0), (99, 0.8, 80.0), (4, 0.8, 4.0), (1, 0.5, 1.0)],
)
def test_conformal_margin_uses_the_finite_sample_quantile(n, coverage, expected):
    scores = np.arange(1, n + 1, dtype=float)
    assert conformal_margin(scores, coverage) == expected


def test_margins_grow_with_novelty_and_older_versions_keep_constant_margins():
    bands = ConformalBands(coverage=0.8, margins={"seen": 0.1, "new_hardware": 0.3}, estimated={"seen": True, "new_hardware": True})
    regimes = np.array(["seen", "seen", "new_hardware", "new_both"])
    distance = np.array([0.0, 3.0, 8.0, 0.0])
    # margin x sqrt(1 + distance); a regime that was not estimated borrows the widest margin
    assert np.allclose(bands.row_margins(regimes, distance), [0.1, 0.2, 0.9, 0.3])
    assert ConformalBands.from_dict(json.loads(json.dumps(bands.to_dict()))).novelty_scaled
    saved_before = {k: v for k, v in bands.to_dict().items() if k != "novelty_scaled"}
    assert np.allclose(ConformalBands.from_dict(saved_before).row_margins(regimes, distance), [0.1, 0.1, 0.3, 0.3])


def test_no_margin_grows_past_the_spread_of_the_target_itself():
    bands = ConformalBands(coverage=0.8, margins={"new_hardware": 0.3}, estimated={"new_hardware": True}, ceiling=0.5)
    # 0.3 x sqrt(1 + 8) = 0.9 would be wider than the efficiencies the training rows showed
    assert np.allclose(bands.row_margins(np.array(["new_hardware"] * 2), np.array([0.0, 8.0])), [0.3, 0.5])
    assert ConformalBands.from_dict(json.loads(json.dumps(bands.to_dict()))).ceiling == 0.5
    # calibrate sets it: the coverage quantile of the target's distance to its median
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"hardware_name": [f"d{i % 4}" for i in range(80)], "model_name": [f"m{i % 5}" for i in range(80)]})
    target = rng.normal(0.0, 1.0, 80)
    fitted, _ = calibrate(frame, rng.normal(size=(80, 2)), ["a", "b"], target, SMALL_CALIBRATION, ("seen",))
    assert fitted.ceiling == conformal_margin(np.abs(target - np.median(target)), 0.8)


def test_a_regime_the_rows_cannot_estimate_borrows_from_the_others_even_when_asked_for_alone():
    # one device: no device can be held out, so a held-out fold asking for new_hardware's margin alone
    # must still get the widest of the others, as the published model (every regime fitted) would
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"hardware_name": "one device", "model_name": [f"m{i % 8}" for i in range(160)]})
    X = rng.normal(size=(160, 2))
    target = X[:, 0] + rng.normal(0.0, 0.3, 160)
    bands, _ = calibrate(frame, X, ["a", "b"], target, SMALL_CALIBRATION, ("new_hardware",))
    assert not bands.estimated["new_hardware"] and bands.estimated["new_model"] and bands.estimated["seen"]
    widest = max(m for m in bands.margins.values() if np.isfinite(m))
    assert bands.resolved()["new_hardware"] == widest > 0


def test_calibration_folds_side_by_side_give_the_margins_of_one_process():
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"hardware_name": [f"d{i % 4}" for i in range(120)],
                          "model_name": [f"m{i % 6}" for i in range(120)]})
    X = rng.normal(size=(120, 3))
    target = X[:, 0] + rng.normal(0.0, 0.3, 120)
    alone, alone_oof = calibrate(frame, X, ["a", "b", "c"], target, SMALL_CALIBRATION)
    two_workers = dataclasses.replace(SMALL_CALIBRATION, fold_workers=2)
    pooled, pooled_oof = calibrate(frame, X, ["a", "b", "c"], target, two_workers)
    assert pooled.margins == alone.margins and set(alone.margins) == {"seen", "new_hardware", "new_model", "new_both"}
    assert all(np.array_equal(pooled_oof[s].lower, alone_oof[s].lower) for s in alone_oof)


def test_what_runs_side_by_side_runs_nothing_side_by_side_itself():
    config = TrainingConfig(n_jobs=2, fold_workers=2)
    assert [(c.fold_workers, c.n_jobs) for c in side_by_side(_worker_config, [(), ()], config)] == [(1, 1), (1, 1)]
    # a single call runs here, so what it runs side by side still can
    assert list(side_by_side(_worker_config, [()], config)) == [config]


def _worker_config(config: TrainingConfig) -> TrainingConfig:
    return config


def test_every_simulated_device_has_the_specs_its_roofline_needs(world):
    _, _, hardware = world
    specs = hardware.set_index("hardware_name").loc[[*MEASURED, CATALOG_ONLY]]
    assert specs[["peak_fp32_tflops", "memory_bandwidth_gbs", "memory_gb", "tdp_w"]].notna().all().all()


# --- the learners ----------------------------------------------------------------------------------


def _regression(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, X[:, 0] - 0.5 * X[:, 1] ** 2 + rng.normal(0.0, 0.1, n)


@pytest.mark.parametrize("name", list(LEARNERS))
def test_each_learner_fits_predicts_and_round_trips_through_its_file(name, tmp_path):
    X, y = _regression()
    cls = learner(name)
    fitted = cls(rounds=60, seed=1, n_jobs=1)
    assert not hasattr(fitted, "booster_")  # __init__ only stores
    assert fitted.fit(X, y) is fitted
    assert fitted.rounds_ == 60
    predicted = fitted.predict(X)
    assert predicted.dtype == np.float64 and predicted.shape == (len(y),)
    assert np.corrcoef(predicted, y)[0, 1] > 0.9
    assert not np.array_equal(fitted.predict(X, rounds=10), predicted)  # fewer trees, another answer

    fitted.save(tmp_path / cls.file_name)
    loaded = cls.from_path(tmp_path / cls.file_name, n_jobs=1)
    assert loaded.rounds_ == 60
    np.testing.assert_array_equal(loaded.predict(X), predicted)
    np.testing.assert_array_equal(loaded.predict(X, rounds=10), fitted.predict(X, rounds=10))


@pytest.mark.parametrize("name", list(LEARNERS))
def test_early_stopping_keeps_the_best_rounds_and_predicts_with_them(name):
    X, y = _regression(400)
    fitted = learner(name)(rounds=2000, seed=0, n_jobs=1, early_stopping_rounds=10).fit(X[:300], y[:300], X[300:], y[300:])
    assert 1 <= fitted.rounds_ < 2000
    np.testing.assert_array_equal(fitted.predict(X), fitted.predict(X, rounds=fitted.rounds_))


@pytest.mark.parametrize("name", [name for name, cls in LEARNERS.items() if cls.keeps_monotone])
def test_a_monotone_learner_never_rises_along_a_column_it_must_fall_along(name):
    rng = np.random.default_rng(0)
    X = rng.uniform(0.0, 1.0, size=(400, 2))
    y = np.sin(6.0 * X[:, 0]) + X[:, 1] + rng.normal(0.0, 0.05, 400)  # rises and falls along column 0
    grid = np.column_stack([np.linspace(0.0, 1.0, 50), np.full(50, 0.5)])
    free = learner(name)(rounds=100, seed=0, n_jobs=1).fit(X, y).predict(grid)
    falling = learner(name)(rounds=100, seed=0, n_jobs=1, monotone=[-1, 0]).fit(X, y).predict(grid)
    assert np.diff(free).max() > 0.05  # the data rise somewhere along column 0
    assert np.diff(falling).max() <= 1e-9


def test_only_step_time_efficiencies_fall_with_the_device_count():
    spec = FeatureSpec.fit(pd.DataFrame({"precision": ["fp16"], "mode": ["inference"]}))
    devices = [spec.names.index("num_devices"), spec.names.index("log_num_devices")]
    throughput, latency = spec.monotone("roofline_throughput", "physics"), spec.monotone("roofline_batch_time", "efficiency")
    assert [throughput[i] for i in devices] == [-1, -1] and [latency[i] for i in devices] == [1, 1]
    assert sum(map(abs, throughput)) == 2
    assert not any(spec.monotone("roofline_throughput", "direct")) and not any(spec.monotone("weights_memory", "physics"))


@pytest.mark.parametrize("name", list(LEARNERS))
def test_each_learners_defaults_lie_in_its_search_space(name):
    cls = learner(name)
    trial = optuna.trial.create_trial(params=dict(cls.default_params), distributions=search_distributions(name), value=1.0)
    assert trial.params == cls.default_params


def test_an_unknown_learner_is_named_with_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown learner 'sklearn'; expected one of xgboost, lightgbm, catboost"):
        learner("sklearn")


def test_metric_estimator_stores_config_and_fit_returns_itself_fitted(world):
    frame, _, _ = world
    config = TrainingConfig.fast(n_jobs=1, n_trials=1, algorithms=("lightgbm",), formulations=("efficiency",),
                                 max_rounds=60)
    estimator = MetricEstimator(config)
    assert estimator.config is config and not hasattr(estimator, "model_")
    assert estimator.fit(frame, "memory") is estimator  # a key names the metric as well as its column
    partition = "workload=static_batch"  # no workload given: a static batch
    assert list(estimator.settings_) == list(estimator.model_.partitions) == [partition]
    settings = estimator.settings_[partition]
    assert settings.metric == "memory_mb" and settings.members == ["lightgbm"]
    assert estimator.model_.partitions[partition].settings is settings
    assert set(estimator.member_oof_[partition]) == {"lightgbm"}
    predicted = estimator.predict(frame.head(20))
    assert list(predicted.columns) == ["memory_mb_pred", "memory_mb_lower", "memory_mb_upper", "memory_mb_confidence"]
    # a static batch's latency is the throughput model's: latency alone has nothing to fit here
    with pytest.raises(ValueError, match="latency_ms: no partition"):
        MetricEstimator(config).fit(frame, "latency")
    refitted = fit_metric_model(frame, settings, config, member_oof=estimator.member_oof_[partition])
    pd.testing.assert_frame_equal(predicted, refitted.predict(frame.head(20)), check_exact=True)
