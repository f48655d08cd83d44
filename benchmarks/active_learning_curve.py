"""Learning curves: how many benchmark runs active learning saves against random and uncertainty-only picks.

    python benchmarks/active_learning_curve.py [DB_PATH] [--metric throughput] [--seeds 5]
        [--initial 30] [--step 30] [--rounds 15] [--target-mape X] [--out artifacts/active_learning_curve.png]

``marts.training_features`` of the warehouse (``DB_PATH``, default ``$BENCHMARK_DB_PATH``) is split,
per seed, into a fixed held-out test set (30 %) and a pool. Each strategy starts from the same
random seed set and adds ``--step`` pool rows per round:

``active``       ``active_learning.greedy_gain_order`` with the default ``GainWeights``: uncertainty
                 (spread of a small bagged LightGBM ensemble) + diversity (``DiversitySpace``:
                 distance in the models' standardised novelty space times the difference between
                 the ensemble's predicted value and the labelled and chosen rows' values) + expected
                 model change (the leaf-change proxy).
``random``       uniformly at random.
``uncertainty``  the largest ensemble spread alone.

After every round a plain LightGBM on ``FeatureSpec`` features (log target relative to the
roofline) is fitted on the labelled rows and scored by MAPE on the test set. Curves are averaged
over seeds and plotted; the tests each strategy needs to reach the target MAPE (default: random's
final MAPE) and the saving relative to random are printed, and then the same for every budget:
the tests each strategy needs to reach what random reached with that many.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from predictive_performance.active_learning import (
    DiversitySpace,
    GainWeights,
    greedy_gain_order,
    leaf_change_scores,
    minmax,
)
from predictive_performance.modeling import FeatureSpec, NeighbourIndex, load_training_frame
from predictive_performance.modeling.targets import metric_rows, offset
from predictive_performance.warehouse import Warehouse

PARAMS = {
    "objective": "regression",
    "num_leaves": 15,
    "learning_rate": 0.08,
    "min_data_in_leaf": 5,
    "feature_fraction": 0.8,
    "lambda_l2": 1.0,
    "verbosity": -1,
    "num_threads": 2,
    "min_data_in_bin": 1,
    "feature_pre_filter": False,
}
ROUNDS = 150
ENSEMBLE = 4
STRATEGIES = ("active", "random", "uncertainty")


def fit(X: np.ndarray, y: np.ndarray, seed: int, bagging: bool = False) -> lgb.Booster:
    params = {**PARAMS, "seed": seed}
    if bagging:
        params.update(bagging_fraction=0.7, bagging_freq=1, feature_fraction=0.7)
    return lgb.train(params, lgb.Dataset(X, y, params={"verbosity": -1}), num_boost_round=ROUNDS)


def mape(booster: lgb.Booster, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.abs(np.expm1(booster.predict(X) - y))) * 100.0)


def pick(
    strategy: str,
    X: np.ndarray,
    Z: np.ndarray,
    y: np.ndarray,
    labelled: np.ndarray,
    pool: np.ndarray,
    step: int,
    rng: np.random.Generator,
    radius: float,
    seed: int,
) -> np.ndarray:
    if strategy == "random":
        return rng.choice(pool, min(step, len(pool)), replace=False)
    members = [fit(X[labelled], y[labelled], seed * 100 + k, bagging=True) for k in range(ENSEMBLE)]
    predictions = np.array([m.predict(X[pool]) for m in members])
    spread = predictions.std(axis=0)
    if strategy == "uncertainty":
        return pool[np.argsort(-spread, kind="stable")[:step]]
    uncertainty = minmax(spread)
    change = minmax(leaf_change_scores(members[0], X[pool], X[labelled], spread))
    scored = pd.DataFrame({"uncertainty": uncertainty, "expected_model_change": change})
    space = DiversitySpace.build(Z[pool], Z[labelled], predictions.mean(axis=0), y[labelled], spacing=radius)
    return pool[greedy_gain_order(scored, space, step, GainWeights()).positions]


def curves(frame: pd.DataFrame, metric: str, seeds: int, initial: int, step: int, rounds: int) -> dict[str, np.ndarray]:
    rows = metric_rows(frame, metric, ("efficiency",))
    spec = FeatureSpec.fit(rows)
    X = spec.matrix(rows).astype(np.float64)
    y = np.log(rows[metric].to_numpy(dtype=float)) - offset(rows, metric, "efficiency")
    index = NeighbourIndex.fit(X, spec.names)
    Z = index.transform(X).astype(np.float64)
    out = {s: np.zeros((seeds, rounds + 1)) for s in STRATEGIES}
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(rows))
        n_test = int(0.3 * len(rows))
        test, pool0 = order[:n_test], order[n_test:]
        seed_set = pool0[:initial]
        for strategy in STRATEGIES:
            srng = np.random.default_rng(1000 + seed)
            labelled, pool = seed_set.copy(), pool0[initial:].copy()
            for r in range(rounds + 1):
                out[strategy][seed, r] = mape(fit(X[labelled], y[labelled], seed), X[test], y[test])
                if r == rounds:
                    break
                chosen = pick(strategy, X, Z, y, labelled, pool, step, srng, index.radius, seed)
                labelled = np.concatenate([labelled, chosen])
                pool = np.setdiff1d(pool, chosen, assume_unique=True)
        print(f"seed {seed}: " + ", ".join(f"{s} final MAPE {out[s][seed, -1]:.1f}%" for s in STRATEGIES), flush=True)
    return out


def tests_to_reach(sizes: np.ndarray, curve: np.ndarray, target: float) -> float | None:
    """First number of tests (linearly interpolated) at which the mean curve is at or under the target."""
    below = np.flatnonzero(curve <= target)
    if not len(below):
        return None
    i = below[0]
    if i == 0:
        return float(sizes[0])
    x0, x1, y0, y1 = sizes[i - 1], sizes[i], curve[i - 1], curve[i]
    return float(x0 + (y0 - target) / (y0 - y1) * (x1 - x0)) if y0 != y1 else float(x1)


def print_savings_per_budget(sizes: np.ndarray, mean: dict[str, np.ndarray]) -> None:
    """For every budget B: the tests each strategy needs to reach random's MAPE at B, and the saving."""
    others = [s for s in STRATEGIES if s != "random"]
    print("\nevery budget: tests needed to reach random's MAPE at that budget (saving; negative: more tests)")
    print("budget  random MAPE  " + "  ".join(f"{s:>20}" for s in others))
    for i, budget in enumerate(sizes[1:], start=1):
        cells = []
        for s in others:
            n = tests_to_reach(sizes, mean[s], float(mean["random"][i]))
            cells.append(f"{'not reached':>20}" if n is None else f"{n:7.0f} tests ({100.0 * (1 - n / budget):+4.0f} %)")
        print(f"{budget:6d}  {mean['random'][i]:10.1f}%  " + "  ".join(cells))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", nargs="?", default=os.environ.get("BENCHMARK_DB_PATH"))
    parser.add_argument("--metric", default="throughput")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--initial", type=int, default=30)
    parser.add_argument("--step", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--target-mape", type=float, default=None)
    parser.add_argument("--out", default="artifacts/active_learning_curve.png")
    args = parser.parse_args(argv)
    if not args.db:
        parser.error("give a warehouse path or set BENCHMARK_DB_PATH")
    started = time.monotonic()
    frame = load_training_frame(Warehouse(args.db))
    result = curves(frame, args.metric, args.seeds, args.initial, args.step, args.rounds)
    sizes = args.initial + args.step * np.arange(args.rounds + 1)
    mean = {s: result[s].mean(axis=0) for s in STRATEGIES}
    target = args.target_mape if args.target_mape is not None else float(mean["random"][-1])
    print(
        f"\n{args.metric}: {len(metric_rows(frame, args.metric, ('efficiency',)))} rows, {args.seeds} seeds, "
        f"seed set {args.initial}, +{args.step} per round; held-out MAPE (mean over seeds):"
    )
    print("tests  " + "  ".join(f"{s:>11}" for s in STRATEGIES))
    for i, n in enumerate(sizes):
        print(f"{n:5d}  " + "  ".join(f"{mean[s][i]:10.1f}%" for s in STRATEGIES))
    needed = {s: tests_to_reach(sizes, mean[s], target) for s in STRATEGIES}
    print(f"\ntarget MAPE {target:.1f}%: tests needed")
    for s in STRATEGIES:
        n = needed[s]
        saving = (
            f", saving {100.0 * (1 - n / needed['random']):.0f}% vs random"
            if n and needed["random"] and s != "random"
            else ""
        )
        print(f"  {s:<12} {('not reached' if n is None else f'{n:.0f}')}{saving}")
    print_savings_per_budget(sizes, mean)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for s in STRATEGIES:
            sd = result[s].std(axis=0)
            ax.plot(sizes, mean[s], marker="o", ms=3, label=s)
            ax.fill_between(sizes, mean[s] - sd, mean[s] + sd, alpha=0.12)
        ax.axhline(target, color="grey", ls="--", lw=1, label=f"target {target:.1f}%")
        ax.set_xlabel("benchmark tests (labelled rows)")
        ax.set_ylabel(f"held-out MAPE, {args.metric} (%)")
        ax.set_title(f"Active learning vs random ({args.seeds} seeds)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.out, dpi=120)
        print(f"plot: {args.out}")
    except ImportError:
        print("matplotlib not installed: no plot")
    print(f"{time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
