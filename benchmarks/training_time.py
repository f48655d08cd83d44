"""How long training and held-out evaluation take per metric, and what the evaluation says.

    BENCHMARK_DB_PATH=w.duckdb python benchmarks/training_time.py [--metrics throughput power_w]
        [--primary-only] [--thorough] [--time-budget S] [--splits random_kfold leave_one_hardware_out]
        [--fold-workers 1 2] [--out benchmarks/results]

Reads ``marts.training_features`` of a built warehouse (run ``perfpredict run`` once first), then
for each metric fits ``MetricEstimator`` and runs ``evaluate_metric`` with the run's training knobs
(``Settings.training_config``: the default shared budget, or ``--thorough``'s full search). Wall and
CPU seconds are recorded per step, beside the load average, because on a shared machine wall time
alone says little. ``--primary-only`` keeps only each metric's default partition (static batch,
per-batch latency), the one the speed / accuracy comparison is about. ``--fold-workers 1 2``
fits and evaluates once per value (screen, final fits, calibration and held-out folds side by side,
``modeling.workers``), in the same run, so their times compare. Results go to
``<out>/training_time.csv`` (timings) and ``<out>/training_time_evaluation.csv`` (overall held-out
figures of the model and the baseline).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from predictive_performance.modeling import MetricEstimator, evaluate_metric, load_training_frame  # noqa: E402
from predictive_performance.modeling.evaluation import SPLITS  # noqa: E402
from predictive_performance.modeling.partitions import row_partitions  # noqa: E402
from predictive_performance.settings import Settings  # noqa: E402
from predictive_performance.vocabulary import metric  # noqa: E402
from predictive_performance.warehouse import Warehouse  # noqa: E402

FIGURES = ("n_rows", "n_folds", "mape", "median_ape", "within_25", "coverage")


def cpu_seconds() -> float:
    """CPU seconds of this process and of its live children (the side-by-side fits' worker processes)."""
    me = psutil.Process()
    return sum(sum(p.cpu_times()[:2]) for p in (me, *me.children(recursive=True)))


def timed(action):
    """(result, wall seconds, CPU seconds of this process, its threads and its worker processes)."""
    wall, cpu = time.monotonic(), cpu_seconds()
    result = action()
    return result, time.monotonic() - wall, cpu_seconds() - cpu


def primary_rows(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """The rows of the metric's default partition (what an empty partition column means)."""
    default = row_partitions(pd.DataFrame(index=[0]), column)[0]
    return frame[row_partitions(frame, column) == default].reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--metrics", nargs="+", default=["throughput", "power_w"])
    parser.add_argument("--fold-workers", nargs="+", type=int)
    parser.add_argument("--splits", nargs="+", default=list(SPLITS))
    parser.add_argument("--primary-only", action="store_true")
    parser.add_argument("--thorough", action="store_true")
    parser.add_argument("--time-budget", type=float)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()

    settings = Settings.from_env().with_overrides(time_budget_s=args.time_budget, thorough=args.thorough or None)
    config = settings.training_config()
    frame = load_training_frame(Warehouse(settings.warehouse))
    timings, figures = [], []
    for name in args.metrics:
        column = metric(name).column
        rows = primary_rows(frame, column) if args.primary_only else frame
        for workers in args.fold_workers or [config.fold_workers]:
            judged = dataclasses.replace(config, fold_workers=workers)
            estimator, fit_wall, fit_cpu = timed(lambda judged=judged: MetricEstimator(judged).fit(rows, column))
            result, eval_wall, eval_cpu = timed(
                lambda judged=judged: evaluate_metric(rows, column, estimator.settings_, judged, tuple(args.splits))
            )
            timings.append(dict(metric=column, rows=len(rows), fit_wall_s=fit_wall, fit_cpu_s=fit_cpu, fold_workers=workers,
                                evaluate_wall_s=eval_wall, evaluate_cpu_s=eval_cpu, load_average=os.getloadavg()[0],
                                thorough=args.thorough))
            table = result.table[result.table["stratum"] == "all"]
            figures.append(table[["metric", "partition", "split", "method", *FIGURES]].assign(fold_workers=workers))
            print(timings[-1], flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(timings).to_csv(args.out / "training_time.csv", index=False)
    evaluation = pd.concat(figures, ignore_index=True)
    evaluation.to_csv(args.out / "training_time_evaluation.csv", index=False)
    print(evaluation.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
