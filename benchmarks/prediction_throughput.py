"""Rows per second of the predictor against the raw XGBoost booster's ``inplace_predict``, same rows, same run.

    python benchmarks/prediction_throughput.py [--rows 1000000] [--metric throughput]
        [--artifacts DIR] [--db PATH] [--repeats 3] [--out benchmarks/results]

Uses the latest saved version of the metric under ``--artifacts`` (default
``$PERFPREDICT_ARTIFACTS``); when there is none it trains one with the small test budget on
``marts.training_features`` of ``--db`` (default ``$BENCHMARK_DB_PATH``) into a temporary
folder. The configurations are the catalog grid (every model x device x precision x batch size x
device count x mode), shuffled and repeated to ``--rows``.

Paths timed, each against the raw booster on the same rows:

- ``raw xgboost inplace_predict``: the saved version's XGBoost booster, model matrix given.
- ``raw boosters of the point``: each learner of the chosen model (XGBoost / LightGBM / CatBoost,
  the average when the model is the ensemble), called directly, matrix given.
- ``raw boosters of the model``: every booster a full prediction calls (each learner, for the
  point and the spread, and the two quantile models), called directly, matrix given.
- ``point prediction``: the predictor's own member predictions and their average, matrix given.
- ``full metric prediction``: ``ModelVersion.predict`` on catalog-feature rows: model matrix,
  every learner, quantile band, conformal margins, neighbour distances, confidence; against the
  raw boosters of the model, so the ratio is what the predictor adds to the model's own cost.
- ``catalog + roofline features``: ``workload_features`` from configurations.
- ``batch_predict, every metric``: ``PerformancePredictor.batch_predict`` from configurations
  (names, features, every trained metric with interval and confidence, notes).

The machine is shared, so every path is timed ``--repeats`` times in turn (raw, then the others,
then raw again, ...) and the fastest run of each is kept; the ratios compare runs of one session.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from predictive_performance.modeling import (  # noqa: E402
    TrainingConfig,
    latest_version,
    load_training_frame,
    train_and_register,
    workload_features,
)
from predictive_performance.predict import PerformancePredictor  # noqa: E402
from predictive_performance.warehouse import Warehouse  # noqa: E402


def configuration_grid(warehouse: Warehouse, rows: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    models = warehouse.query("select * from marts.dim_models")
    hardware = warehouse.query("select * from marts.dim_hardware")
    grid = pd.MultiIndex.from_product(
        [models["model_name"], hardware["hardware_name"], ["fp32", "fp16", "bf16", "int8"],
         [1, 2, 4, 8, 16, 32, 64, 128], [1, 2, 4, 8], ["inference", "training"]],
        names=["model_name", "hardware_name", "precision", "batch_size", "num_devices", "mode"],
    ).to_frame(index=False)
    grid = grid.sample(frac=1.0, random_state=0)  # every block of rows mixes models and devices
    repeats = int(np.ceil(rows / len(grid)))
    grid = pd.concat([grid] * repeats, ignore_index=True).iloc[:rows].reset_index(drop=True)
    return grid, models, hardware


def best_times(paths: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """The fastest of ``repeats`` runs of each path, the paths taking turns."""
    times = {name: float("inf") for name in paths}
    for _ in range(repeats):
        for name, run in paths.items():
            started = time.perf_counter()
            run()
            times[name] = min(times[name], time.perf_counter() - started)
    return times


def ratio_table(times: dict[str, float], rows: int, baselines: dict[str, str]) -> pd.DataFrame:
    """rows/s of each path and its slowdown against its baseline (baseline rows/s / path rows/s)."""
    table = pd.DataFrame({"path": list(times), "seconds": list(times.values())})
    table["rows_per_s"] = rows / table["seconds"]
    table["baseline"] = table["path"].map(baselines).fillna("")
    table["ratio"] = [
        times[name] / times[baselines[name]] if name in baselines else float("nan") for name in table["path"]
    ]
    return table


def markdown(table: pd.DataFrame) -> str:
    lines = ["| path | seconds | rows/s | vs | slowdown (x) |", "|---|---:|---:|---|---:|"]
    for row in table.itertuples(index=False):
        ratio = "" if np.isnan(row.ratio) else f"{row.ratio:.2f}"
        lines.append(f"| {row.path} | {row.seconds:.3f} | {row.rows_per_s:,.0f} | {row.baseline} | {ratio} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--metric", default="throughput")
    parser.add_argument("--artifacts", default=None)
    parser.add_argument("--db", default=None)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each path; the fastest is kept")
    parser.add_argument("--out", type=Path, default=None, help="also write prediction_throughput.md/.csv here")
    args = parser.parse_args()

    warehouse = Warehouse(args.db) if args.db else Warehouse.from_env()
    version = latest_version(args.metric, args.artifacts)
    if version is None:
        folder = tempfile.mkdtemp(prefix="perfpredict-bench-")
        print(f"no saved {args.metric} version: training one with the test budget into {folder}")
        frame = load_training_frame(warehouse)
        [version] = train_and_register(frame, TrainingConfig.fast(), [args.metric], folder, evaluate=False)
    model = version.model
    print(f"version {version.version} ({model.settings.algorithm}: {', '.join(model.settings.members)};"
          f" rounds {model.settings.rounds}; {model.settings.formulation})")

    grid, models, hardware = configuration_grid(warehouse, args.rows)
    features = workload_features(grid, models, hardware)
    X = model.spec.matrix(features)
    booster = model.learners["xgboost"].booster_
    booster.set_param({"nthread": model.n_jobs})
    members = model.settings.members

    def raw_boosters(algorithms: list[str], quantiles: bool = False) -> None:
        for algorithm in algorithms:
            native = model.learners[algorithm].booster_
            if algorithm == "xgboost":
                native.inplace_predict(X)
            elif algorithm == "lightgbm":
                native.predict(X, num_threads=model.n_jobs)
            else:
                native.predict(X, thread_count=model.n_jobs)
        for native in model.quantiles.values() if quantiles else ():
            native.predict(X, num_threads=model.n_jobs)

    paths: dict[str, Callable[[], object]] = {
        "raw xgboost inplace_predict": lambda: booster.inplace_predict(X),
        "raw boosters of the point": lambda: raw_boosters(members),
        "raw boosters of the model": lambda: raw_boosters(list(model.learners), quantiles=True),
        "point prediction": lambda: np.mean([model.learners[a].predict(X, model.n_jobs) for a in members], 0),
        "full metric prediction": lambda: version.predict(features),
        "catalog + roofline features": lambda: workload_features(grid, models, hardware),
    }
    baselines = {
        "raw boosters of the point": "raw xgboost inplace_predict",
        "raw boosters of the model": "raw xgboost inplace_predict",
        "point prediction": "raw boosters of the point",
        "full metric prediction": "raw boosters of the model",
    }
    predictor = PerformancePredictor.load(version.path.parent.parent, warehouse=warehouse)
    paths["batch_predict, every metric"] = lambda: predictor.batch_predict(grid)
    baselines["batch_predict, every metric"] = "raw xgboost inplace_predict"
    best_times({"warm-up": lambda: version.predict(features.head(1000))}, 1)
    times = best_times(paths, args.repeats)

    table = ratio_table(times, len(grid), baselines)
    load = os.getloadavg()[0]
    header = (f"{len(grid):,} rows, {args.metric} version {version.version} ({model.settings.algorithm}), "
              f"{os.cpu_count()} vCPU, load average {load:.1f} (shared machine), best of {args.repeats}")
    text = header + "\n\n" + markdown(table)
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        table.assign(rows=len(grid), load_average=load).to_csv(args.out / "prediction_throughput.csv", index=False)
        (args.out / "prediction_throughput.md").write_text("# Prediction throughput\n\n" + text + "\n")


if __name__ == "__main__":
    main()
