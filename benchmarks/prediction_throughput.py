"""Predict 1,000,000 configurations with a saved model version and report rows per second.

    python benchmarks/prediction_throughput.py [--rows 1000000] [--metric throughput]
        [--artifacts DIR] [--db PATH]

Uses the latest saved version of the metric under ``--artifacts`` (default
``$PERFPREDICT_ARTIFACTS``); when there is none it trains one with the small test budget on
``marts.training_features`` of ``--db`` (default ``$BENCHMARK_DB_PATH``) into a temporary
folder. The configurations are the catalog grid (every model x device x precision x batch size x
device count x mode), repeated to ``--rows``.

Reported: the time to derive catalog / roofline features, the time for the full prediction
(every learner, quantile bands, conformal margins, neighbour distances, confidence) and, on the
same feature matrix in the same run, the raw XGBoost booster's ``inplace_predict``, with the ratio.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
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
from predictive_performance.warehouse import Warehouse  # noqa: E402


def configuration_grid(warehouse: Warehouse, rows: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    models = warehouse.query("select * from marts.dim_models")
    hardware = warehouse.query("select * from marts.dim_hardware")
    grid = pd.MultiIndex.from_product(
        [models["model_name"], hardware["hardware_name"], ["fp32", "fp16", "bf16", "int8"],
         [1, 2, 4, 8, 16, 32, 64, 128], [1, 2, 4, 8], ["inference", "training"]],
        names=["model_name", "hardware_name", "precision", "batch_size", "num_devices", "mode"],
    ).to_frame(index=False)
    repeats = int(np.ceil(rows / len(grid)))
    grid = pd.concat([grid] * repeats, ignore_index=True).iloc[:rows].reset_index(drop=True)
    return grid, models, hardware


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--metric", default="throughput")
    parser.add_argument("--artifacts", default=None)
    parser.add_argument("--db", default=None)
    parser.add_argument("--repeats", type=int, default=2, help="timed runs; the best is reported")
    args = parser.parse_args()

    warehouse = Warehouse(args.db) if args.db else Warehouse.from_env()
    version = latest_version(args.metric, args.artifacts)
    if version is None:
        folder = tempfile.mkdtemp(prefix="perfpredict-bench-")
        print(f"no saved {args.metric} version: training one with the test budget into {folder}")
        frame = load_training_frame(warehouse)
        [version] = train_and_register(frame, TrainingConfig.fast(), [args.metric], folder, evaluate=False)
    print(f"version {version.version} ({version.manifest['algorithm']}, {version.manifest['target_formulation']})")

    grid, models, hardware = configuration_grid(warehouse, args.rows)
    started = time.perf_counter()
    frame = workload_features(grid, models, hardware)
    features_s = time.perf_counter() - started

    version.predict(frame.head(1000))  # open the files (lazy load) outside the timing
    model = version.model
    timings = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        predicted = version.predict(frame)
        timings.append(time.perf_counter() - started)
    predict_s = min(timings)

    X = model.spec.matrix(frame)
    booster = model.models["xgboost"]
    booster.set_param({"nthread": model.n_jobs})
    raw = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        booster.inplace_predict(X)
        raw.append(time.perf_counter() - started)
    raw_s = min(raw)

    n = len(frame)
    assert len(predicted) == n and predicted[f"{args.metric}_pred"].notna().mean() > 0.5
    print(f"rows                         {n:,}")
    print(f"catalog + roofline features  {features_s:6.2f} s  {n / features_s:12,.0f} rows/s")
    print(f"full prediction              {predict_s:6.2f} s  {n / predict_s:12,.0f} rows/s"
          f"  (pred, 80% interval, confidence; {len(model.models)} learners + 2 quantile models)")
    print(f"raw xgboost inplace_predict  {raw_s:6.2f} s  {n / raw_s:12,.0f} rows/s  (one booster, matrix given)")
    print(f"ratio full / raw booster     {(n / predict_s) / (n / raw_s):6.3f}")


if __name__ == "__main__":
    main()
