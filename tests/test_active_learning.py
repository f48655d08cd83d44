"""Active learning: the scoring helpers and the greedy selector on small frames, batch constraints,
state round trip, and the README snippet against a small real warehouse with really trained models
(the simulated data and catalog marts of ``tests/factories.py``, plus ``marts.coverage_gaps`` /
``marts.training_features``); learning from new results through a real ingest and the pipeline's job.
"""

from __future__ import annotations

import functools
from pathlib import Path

import duckdb
import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from predictive_performance.active_learning import (
    BATCHES_TABLE,
    QUEUE_COLUMNS,
    QUEUE_TABLE,
    ActiveLearningSystem,
    DiversitySpace,
    GainWeights,
    greedy_gain_order,
    greedy_select,
    leaf_change_scores,
    minmax,
    rebuild_through_pipeline,
    score_candidates,
    scoring,
    select_batch,
    uncertainty_scores,
)
from predictive_performance.modeling import load_training_frame, train_and_register
from predictive_performance.recommend import HardwareRecommender, objective_for
from predictive_performance.settings import Settings
from predictive_performance.vocabulary import metric
from predictive_performance.warehouse import Warehouse
from tests.conftest import FAST_TRAINING
from tests.factories import CONFIG, MEASURED, MODELS, seed_catalogs, simulate, simulate_workloads, write_marts

EXTRA_DEVICES = ["NVIDIA L4", "AMD EPYC 9965"]

# --- pure helpers --------------------------------------------------------------------------------


def test_minmax_and_uncertainty_are_0_to_1_and_grow_with_width_and_spread():
    assert minmax([np.nan, 2.0, 4.0, 3.0]).tolist() == [0.0, 0.0, 1.0, 0.5]
    assert minmax([5.0, 5.0]).tolist() == [0.0, 0.0]
    components = pd.DataFrame(
        {
            "throughput_interval_width": [0.1, 0.5, 1.0],
            "throughput_spread": [0.01, 0.02, 0.05],
            "memory_mb_interval_width": [0.2, 0.2, 0.4],
            "memory_mb_spread": [0.0, 0.01, 0.01],
        }
    )
    u = uncertainty_scores(components)
    assert ((u >= 0) & (u <= 1)).all() and u[0] < u[1] < u[2]


def test_diversity_grows_with_distance_to_tested_and_chosen():
    space = DiversitySpace.build(np.array([[0.0, 0, 0], [0.5, 0, 0], [2.0, 0, 0], [10.0, 0, 0]]), np.zeros((1, 3)))
    d = space.diversity(space.to_tested())
    assert d[0] == 0.0 and np.all(np.diff(d) > 0) and d.max() < 1.0
    # choosing the far configuration takes its diversity away
    assert space.diversity(np.minimum(space.to_tested(), space.to_candidate(3)))[3] == 0.0
    assert space.diversity(np.full(4, np.inf)).tolist() == [1.0] * 4


def test_diversity_with_values_counts_what_a_candidate_is_predicted_to_measure():
    # two candidates equally far from the one tested row: the one predicted far from its measured value is novel
    Z = np.array([[1.0, 0.0], [0.0, 1.0], [3.0, 3.0]])
    space = DiversitySpace.build(Z, np.zeros((1, 2)), values=np.array([0.0, 2.0, 1.0]), tested_values=np.array([0.0]))
    d = space.diversity(space.to_tested())
    assert d[0] == 0.0 and d[1] > 0.0
    assert space.scale == 1.0  # one measured value has no spread: the feature spacing alone
    # a candidate without a prediction takes the median measured value
    missing = DiversitySpace.build(Z[:1], np.zeros((1, 2)), values=np.array([np.nan]), tested_values=np.array([0.5]))
    assert missing.values.tolist() == [0.5]


def test_leaf_change_is_larger_where_training_rows_are_sparse():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (300, 2)), rng.normal(8, 1, (6, 2))])
    y = X[:, 0] + rng.normal(0, 0.1, len(X))
    booster = lgb.train(
        {"objective": "regression", "verbosity": -1, "min_data_in_leaf": 2, "num_leaves": 8},
        lgb.Dataset(X, y),
        num_boost_round=30,
    )
    candidates = np.array([[0.0, 0.0], [8.0, 8.0]])
    change = leaf_change_scores(booster, candidates, X, np.ones(2))
    assert change[1] > change[0] > 0
    assert leaf_change_scores(booster, candidates, X, np.array([2.0, 2.0]))[0] == pytest.approx(2 * change[0])


def _platform_frame() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = [
        {
            "model_name": f"m{i}",
            "hardware_name": f"{p}-dev{i % 3}",
            "hardware_platform": p,
            "batch_size": 2 ** (i % 4),
            "precision": "fp32",
            "mode": "inference",
        }
        for p in ("cuda", "cpu", "rocm")
        for i in range(10)
    ]
    frame = pd.DataFrame(rows)
    frame["expected_information_gain"] = rng.uniform(0.1, 1.0, len(frame))
    return frame


def test_batch_respects_constraints_exactly_and_orders_1_to_n():
    frame = _platform_frame()
    batch = select_batch(frame, 20, hardware_constraints={"cuda": 3, "cpu": 2}, diversity_weight=0.6)
    counts = batch["hardware_platform"].value_counts()
    assert counts["cuda"] == 3 and counts["cpu"] == 2 and counts["rocm"] == 10
    assert batch["selection_order"].tolist() == list(range(1, 16))
    # without diversity: the gain order within the caps
    plain = select_batch(frame, 5, ensure_diversity=False, hardware_constraints={"cuda": 3, "cpu": 0, "rocm": 0})
    assert plain["hardware_platform"].tolist() == ["cuda"] * 3
    top = frame[frame.hardware_platform == "cuda"].nlargest(3, "expected_information_gain")["model_name"].tolist()
    assert plain["model_name"].tolist() == top


def test_availability_scales_gain_and_zero_excludes():
    frame = _platform_frame()
    frame["expected_information_gain"] = 0.5
    batch = select_batch(frame, 30, ensure_diversity=False, hardware_availability={"cuda": 0.0, "cpu": 0.5})
    assert "cuda" not in set(batch["hardware_platform"])
    assert batch["hardware_platform"].tolist() == ["rocm"] * 10 + ["cpu"] * 10
    assert batch.loc[batch.hardware_platform == "cpu", "adjusted_gain"].eq(0.25).all()


def test_greedy_order_spreads_choices():
    # two tight clusters, the first slightly more uncertain: the second pick must come from the other cluster
    Z = np.array([[0.0, 0.0], [0.01, 0.0], [0.02, 0.0], [5.0, 5.0], [5.01, 5.0]])
    scored = pd.DataFrame({"uncertainty": [1.0, 0.99, 0.98, 0.9, 0.89], "expected_model_change": [0.5] * 5})
    order = greedy_gain_order(scored, DiversitySpace.build(Z, np.array([[-20.0, -20.0]])), 2).positions
    assert order[0] == 0 and order[1] in (3, 4)


def test_greedy_select_caps_groups_and_drops_duplicates_of_a_pick():
    # rows 0 and 1 are the same configuration; the objective alone would take 0, 1, 2 in that order
    space = DiversitySpace.build(np.array([[0.0], [0.0], [1.0], [5.0]]), np.empty((0, 1)))
    value = np.array([1.0, 0.9, 0.3, 0.1])
    assert greedy_select(space, 4, lambda diversity: value).positions == [0, 2, 3]
    assert greedy_select(space, 4, lambda diversity: value, spread=False).positions == [0, 1, 2, 3]
    groups = np.array(["a", "a", "a", "b"])
    capped = greedy_select(space, 4, lambda diversity: value, groups=groups, caps={"a": 1}, spread=False)
    assert capped.positions == [0, 3]
    # spreading: after the first pick the others' diversity falls, and each pick keeps its own
    spread = greedy_select(space, 2, lambda diversity: diversity + value, duplicates="distance")
    assert spread.positions == [0, 3] and spread.diversity.tolist() == [1.0, pytest.approx(5.0 / 6.0)]


@pytest.mark.parametrize(
    ("name", "power_constrained", "expected"),
    [
        ("throughput", False, "throughput"),
        ("latency_ms", False, "latency"),
        ("memory", True, "memory"),
        ("power_w", False, "throughput_per_watt"),
        ("latency", True, "energy_per_batch"),
        ("throughput", True, "throughput_per_watt"),
        ("energy_per_batch", False, "energy_per_batch"),
    ],
)
def test_objective_for_a_metric_or_an_objective(name, power_constrained, expected):
    assert objective_for(name, power_constrained).name == expected
    with pytest.raises(ValueError, match="unknown metric or objective"):
        objective_for("bogus")


# --- a small real warehouse with trained models ------------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("active_learning")
    models, hardware = seed_catalogs()
    full = simulate(models, hardware)
    # half of the simulated grid is "measured"; the rest, and two catalog-only devices, are untested
    rng = np.random.default_rng(3)
    frame = full[rng.random(len(full)) < 0.5].reset_index(drop=True)
    db_path = folder / "benchmarks.duckdb"
    write_marts(db_path, models, hardware, frame)
    grid = pd.MultiIndex.from_product(
        [MODELS, MEASURED + EXTRA_DEVICES, ["fp32", "fp16"], [1, 8, 32], ["inference", "training"]],
        names=["model_name", "hardware_name", "precision", "batch_size", "mode"],
    ).to_frame(index=False)
    grid["hardware_platform"] = grid["hardware_name"].map(hardware.set_index("hardware_name")["hardware_platform"])
    tested = set(map(tuple, frame[["model_name", "hardware_name", "precision", "batch_size", "mode"]].to_numpy()))
    grid["is_tested"] = [
        tuple(r) in tested for r in grid[["model_name", "hardware_name", "precision", "batch_size", "mode"]].to_numpy()
    ]
    features = frame.drop(columns=[c for c in ("peak_fp16_tflops", "peak_bf16_tflops", "peak_int8_tops") if c in frame])
    with duckdb.connect(str(db_path)) as connection:
        connection.register("g", grid)
        connection.register("f", features)
        connection.execute("create table marts.coverage_gaps as select * from g")
        connection.execute("create table marts.training_features as select * from f")
    artifacts = folder / "artifacts"
    train_and_register(frame, CONFIG, ["throughput", "memory_mb"], artifacts, evaluate=False)
    return {"db_path": db_path, "artifacts": artifacts, "grid": grid}


@pytest.fixture
def env(world, monkeypatch):
    monkeypatch.setenv("BENCHMARK_DB_PATH", str(world["db_path"]))
    monkeypatch.setenv("PERFPREDICT_ARTIFACTS", str(world["artifacts"]))
    return world


def test_a_metric_without_a_model_for_the_grid_cells_does_not_score_them(world, tmp_path):
    """A latency model trained for serving kinds alone has no static-batch interval: the cells (static batches)
    are scored by the other metrics, and their latency is the throughput model's."""
    models, hardware = seed_catalogs()
    frame = simulate_workloads(models, hardware)
    db_path = tmp_path / "benchmarks.duckdb"
    write_marts(db_path, models, hardware, frame)
    with duckdb.connect(str(db_path)) as connection:
        connection.register("g", world["grid"])
        connection.register("f", frame.drop(columns=[c for c in ("peak_fp16_tflops", "peak_bf16_tflops") if c in frame]))
        connection.execute("create table marts.coverage_gaps as select * from g")
        connection.execute("create table marts.training_features as select * from f")
    versions = train_and_register(frame, CONFIG, ["throughput", "latency_ms"], tmp_path / "artifacts", evaluate=False)
    latency = versions[1].model
    assert latency.default_partition not in latency.partitions and latency.partitions  # per token only
    scores = score_candidates(Warehouse(db_path), {v.metric: v for v in versions}, GainWeights(), 300)
    assert len(scores.frame) == 300 and scores.frame["expected_information_gain"].between(0, 1).all()
    assert scores.frame["latency_ms_pred"].gt(0).all()


def test_readme_snippet_runs(env, capsys):
    learner = ActiveLearningSystem.from_models()
    configs = learner.recommend_configurations(budget=20)
    assert len(configs) == 20
    for c in configs:
        assert {"model_name", "model_type", "hardware", "batch_size", "expected_information_gain"} <= set(c)
        assert 0.0 <= c["expected_information_gain"] <= 1.0
    untested = env["grid"][~env["grid"]["is_tested"]]
    keys = set(map(tuple, untested[["model_name", "hardware_name", "batch_size", "precision", "mode"]].to_numpy()))
    assert all(
        (c["model_name"], c["hardware_name"], c["batch_size"], c["precision"], c["mode"]) in keys for c in configs
    )
    assert (
        len({(c["model_name"], c["hardware_name"], c["batch_size"], c["precision"], c["mode"]) for c in configs}) == 20
    )

    integrated = learner.integrate_with_hardware_recommender(
        hardware_recommender=HardwareRecommender(), test_budget=20, optimize_for="throughput"
    )
    assert len(integrated["recommendations"]) == 20 and integrated["objective"] == "throughput"
    assert all(0.0 <= r["decision_relevance"] <= 1.0 for r in integrated["recommendations"])
    assert len(integrated["contested"]) > 0
    batch = learner.suggest_test_batch(
        configurations=integrated["recommendations"],
        batch_size=10,
        ensure_diversity=True,
        hardware_constraints={"cuda": 3, "cpu": 2, "webgpu": 1},
        hardware_availability={"cuda": 0.8, "webgpu": 0.5},
        diversity_weight=0.6,
    )
    for _, row in batch.iterrows():
        print(row["selection_order"], row["model_name"], row["hardware"])
    assert batch["selection_order"].tolist() == list(range(1, len(batch) + 1))
    counts = batch["hardware"].value_counts()
    assert counts.get("cuda", 0) <= 3 and counts.get("cpu", 0) <= 2 and 0 < len(batch) <= 5
    assert capsys.readouterr().out.count("\n") == len(batch)

    queue = learner.queue_table()
    assert list(queue.columns[: len(QUEUE_COLUMNS)]) == QUEUE_COLUMNS
    assert len(queue) == len(untested) and queue["rank"].tolist() == list(range(1, len(queue) + 1))
    for column in ("uncertainty", "diversity", "expected_model_change", "expected_information_gain"):
        assert queue[column].between(0, 1).all(), column
    assert queue["expected_information_gain"].is_monotonic_decreasing
    # unmeasured devices are far from every tested row
    by_device = queue.groupby("hardware_name")["diversity"].mean()
    assert by_device["AMD EPYC 9965"] > by_device[MEASURED].max()


def test_hardware_recommender_ranks_each_device_once_best_first(env):
    scored = ActiveLearningSystem.from_models().candidate_scores().frame
    ranked = HardwareRecommender().recommend(scored, "gpt2", "throughput", top_k=None)
    assert ranked["rank"].tolist() == list(range(1, len(ranked) + 1)) and ranked["hardware_name"].is_unique
    assert len(ranked) > 1 and ranked["score"].is_monotonic_decreasing
    assert set(ranked["model_name"]) == {"gpt2"}


def test_state_round_trip_and_published_tables(env):
    learner = ActiveLearningSystem.from_models(warehouse=Warehouse(env["db_path"]), artifacts=env["artifacts"])
    learner.suggest_test_batch(batch_size=4, hardware_constraints={"cuda": 2})
    queue, batches = learner.queue_table(), learner.test_batches_table()
    folder = learner.save_state()
    restored = ActiveLearningSystem.load(warehouse=Warehouse(env["db_path"]), artifacts=env["artifacts"])
    pd.testing.assert_frame_equal(restored.queue_table(), queue)
    pd.testing.assert_frame_equal(restored.test_batches_table().reset_index(drop=True), batches)
    assert (folder / "state.json").exists()
    published = Warehouse(env["db_path"]).query(f"select * from {QUEUE_TABLE} order by rank")
    assert len(published) == len(queue) and published["model_name"].tolist() == queue["model_name"].tolist()
    published_batches = Warehouse(env["db_path"]).query(f"select * from {BATCHES_TABLE} order by selection_order")
    assert published_batches["selection_order"].tolist() == [1, 2, 3, 4]


def test_update_with_benchmark_results_ingests_refreshes_and_retrains(env):
    warehouse = Warehouse(env["db_path"])
    learner = ActiveLearningSystem(warehouse=warehouse, artifacts=env["artifacts"])
    chosen = pd.DataFrame(learner.recommend_configurations(budget=3))
    models, hardware = seed_catalogs()
    measured = simulate(models, hardware)  # the simulated truth for every cell of the measured devices
    cells = ["model_name", "hardware_name", "precision", "batch_size", "mode"]
    # measure three untested cells of measured devices
    untested = env["grid"][~env["grid"]["is_tested"] & env["grid"]["hardware_name"].isin(MEASURED)].head(3)
    results = untested[cells].merge(measured, on=cells)
    before = {v: latest for v, latest in ((m, learner.versions()[m].version) for m in ("throughput", "memory_mb"))}
    retrained = []

    def retrain(wh: Warehouse, artifacts: Path) -> None:
        """What the pipeline does for these rows on these hand-built marts: new training rows, cells now tested, new models."""
        features = results.drop(
            columns=[c for c in ("peak_fp16_tflops", "peak_bf16_tflops", "peak_int8_tops") if c in results]
        )
        with wh.connect() as connection:
            connection.register("r", features)
            connection.execute("insert into marts.training_features by name select * from r")
            connection.execute(
                "update marts.coverage_gaps g set is_tested = true from r "
                "where g.model_name = r.model_name and g.hardware_name = r.hardware_name and g.precision = r.precision "
                "and g.batch_size = r.batch_size and g.mode = r.mode"
            )
        train_and_register(load_training_frame(wh), CONFIG, None, artifacts, evaluate=False, warehouse=wh)
        retrained.append(wh.latest_load_id())

    canonical = results[
        ["model_name", "hardware_name", "batch_size", "precision", "mode", "throughput", "latency_ms", "memory_mb"]
    ]
    report = learner.update_with_benchmark_results(canonical.assign(hardware_platform="cuda"), retrain=retrain)
    assert report.stored and retrained == [report.load_id]  # retrained after the rows landed as a new load
    after = learner.versions()
    assert all(after[m].version != before[m] for m in before)
    queue = learner.queue_table()
    done = set(map(tuple, results[["model_name", "hardware_name", "batch_size", "precision", "mode"]].to_numpy()))
    assert not any(
        k in done
        for k in map(tuple, queue[["model_name", "hardware_name", "batch_size", "precision", "mode"]].to_numpy())
    )
    assert len(chosen) == 3


def test_rebuild_through_pipeline_refuses_a_warehouse_the_job_would_not_build(env, tmp_path):
    with pytest.raises(ValueError, match="the pipeline builds"):
        rebuild_through_pipeline(Warehouse(tmp_path / "elsewhere.duckdb"), env["artifacts"])


def test_update_starts_the_sensor_job_so_new_rows_pass_the_gates(trained_copy):
    """The default retrain step for real: ``build_everything`` as the sensor starts it, on a copy of a pipeline run."""
    warehouse = trained_copy
    learner = ActiveLearningSystem(warehouse=warehouse)
    throughput = metric("throughput")
    measured = set(warehouse.query("select distinct hardware_name from marts.training_features")["hardware_name"])
    matrix = warehouse.query("select * from predictions.prediction_matrix where not is_tested order by all")
    cells = ["model_name", "hardware_platform", "hardware_name", "batch_size", "precision", "mode"]
    new_rows = matrix[matrix["hardware_name"].isin(measured)].head(2)
    # "measured" at the predicted figure: plausible, so every gate passes
    results = new_rows[cells].assign(**{throughput.column: new_rows[throughput.figure("pred")].to_numpy()})
    before = learner.versions()[throughput.column].version
    fast = Settings.from_env().with_overrides(
        time_budget_s=FAST_TRAINING["time_budget_s"], n_trials=FAST_TRAINING["n_trials"], fast_training=True
    )

    retrain = functools.partial(rebuild_through_pipeline, settings=fast)
    report = learner.update_with_benchmark_results(results, retrain=retrain)

    assert report.stored and warehouse.latest_load_id() == report.load_id
    assert learner.versions()[throughput.column].version != before
    gaps = warehouse.query("select * from marts.coverage_gaps").merge(new_rows[cells], on=cells)
    assert len(gaps) == 2 and gaps["is_tested"].all()  # dbt rebuilt the marts from the new load
    queued = warehouse.query("select * from active_learning.queue").merge(new_rows[cells], on=cells)
    assert queued.empty  # and the published queue no longer asks for them


@pytest.mark.parametrize("block_cells", [1, 7, scoring.BLOCK_CELLS])
def test_nearest_distance_is_the_brute_force_minimum_whatever_the_block(monkeypatch, block_cells):
    """Blocks shrink as the tested rows grow (memory stays bounded); the distances must not change with them."""
    monkeypatch.setattr(scoring, "BLOCK_CELLS", block_cells)
    rng = np.random.default_rng(3)
    Z, R = rng.normal(size=(37, 4)), rng.normal(size=(11, 4))
    values, reference_values = rng.normal(size=37), rng.normal(size=11)
    euclidean = np.sqrt(((Z[:, None, :] - R[None, :, :]) ** 2).sum(-1))
    joint = euclidean * np.abs(values[:, None] - reference_values[None, :])
    assert np.allclose(scoring.nearest_distance(Z, R, values, reference_values), joint.min(axis=1))
    assert np.allclose(scoring.nearest_distance(Z, R), euclidean.min(axis=1))


def test_repeats_of_a_tested_configuration_count_once_at_their_median_value():
    rng = np.random.default_rng(4)
    Z, R = rng.normal(size=(20, 3)), rng.normal(size=(6, 3))
    values, measured = rng.normal(size=20), rng.normal(size=6)
    # each tested configuration measured three times, the repeats a little apart
    repeats = np.repeat(R, 3, axis=0)
    spread = np.repeat(measured, 3) + np.tile([-0.1, 0.0, 0.3], 6)
    repeated = scoring.DiversitySpace.build(Z, repeats, values, spread)
    assert len(repeated.tested_Z) == 6
    once = scoring.DiversitySpace(Z, R, values, measured, scale=repeated.scale)
    assert np.allclose(repeated.to_tested(), once.to_tested())
    assert len(scoring.DiversitySpace.build(Z, repeats).tested_Z) == 6
