"""Onboarding a new device: its MAPE against the number of tests, chosen by active learning or at random.

    python benchmarks/new_device_curve.py [DB_PATH] [--min-rows 20] [--max-devices N] [--seeds 5]
        [--max-k 10] [--out benchmarks/results/new_device_curve]

On the static-batch throughput rows of ``marts.training_features`` (``DB_PATH``, default
``$BENCHMARK_DB_PATH``), every device with at least ``--min-rows`` rows is held out in turn. One
model is trained on the other devices (``MetricEstimator`` with ``TrainingConfig.fast`` and
LightGBM alone, the same fixed config for every device), and the device prior of
``prediction.adaptation`` is estimated from that fit's leave-devices-out residuals, so nothing of
the held-out device informs it. Then for k = 0..max-k, k of the device's rows are "measured":

``active``  the first k of ``active_learning.onboarding.choose_device_tests`` (uncertainty: the
            model's interval width on the device's rows);
``random``  k at random (``--seeds`` draws, the mean reported).

The model is adapted to the device with those k rows (``DeviceAdaptation``) and scored by MAPE on
the device's other rows. Writes ``<out>.csv`` (device, k, strategy, mape), ``<out>.png`` (median over
devices against k) and ``<out>.md`` (the median at k = 0, 3, 5, 10 and the tests random needs to reach
active learning's k=5 figure).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from predictive_performance.active_learning.onboarding import choose_device_tests
from predictive_performance.active_learning.scoring import minmax
from predictive_performance.modeling import MetricEstimator, TrainingConfig, load_training_frame
from predictive_performance.modeling.targets import metric_rows
from predictive_performance.prediction.adaptation import DeviceAdaptation, DevicePrior, held_out_prior
from predictive_performance.warehouse import Warehouse

METRIC = "throughput"
CONFIG = TrainingConfig.fast(algorithms=("lightgbm",))
REPORTED_K = (0, 3, 5, 10)


def mape(measured: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean(np.abs(predicted / measured - 1.0)) * 100.0)


def device_curve(rows: pd.DataFrame, estimator: MetricEstimator, prior: DevicePrior, max_k: int, seeds: int) -> list[dict]:
    """MAPE on the rows not measured, per k and strategy, for one held-out device."""
    predicted = estimator.predict(rows, components=True)
    measured = rows[METRIC].to_numpy(dtype=float)
    point = predicted[f"{METRIC}_pred"].to_numpy(dtype=float)
    residuals = np.log(measured) - np.log(point)
    uncertainty = minmax(predicted[f"{METRIC}_interval_width"])
    active = choose_device_tests(rows, max_k, uncertainty)[0].positions
    orders = {"active": [active]}
    orders["random"] = [np.random.default_rng(seed).permutation(len(rows))[:max_k] for seed in range(seeds)]
    out = []
    for strategy, draws in orders.items():
        for k in range(max_k + 1):
            scores = []
            for order in draws:
                chosen = np.asarray(order[:k], dtype=int)
                rest = np.setdiff1d(np.arange(len(rows)), chosen)
                adapted = DeviceAdaptation(prior).fit(rows.iloc[chosen], residuals[chosen])
                scores.append(mape(measured[rest], adapted.transform(rows.iloc[rest], point[rest])))
            out.append({"k": k, "strategy": strategy, "mape": float(np.mean(scores))})
    return out


def tests_to_reach(curve: pd.Series, target: float) -> float | None:
    """The first k (linearly interpolated) at which a median curve is at or under ``target``."""
    k, values = curve.index.to_numpy(dtype=float), curve.to_numpy(dtype=float)
    below = np.flatnonzero(values <= target)
    if not len(below):
        return None
    i = below[0]
    if i == 0 or values[i - 1] == values[i]:
        return float(k[i])
    return float(k[i - 1] + (values[i - 1] - target) / (values[i - 1] - values[i]) * (k[i] - k[i - 1]))


def summary(results: pd.DataFrame, devices: int, seeds: int, seconds: float) -> str:
    median = results.groupby(["strategy", "k"])["mape"].median().unstack("strategy")
    target = float(median.loc[5, "active"])
    needed = tests_to_reach(median["random"], target)
    lines = [
        "# New-device curve",
        "",
        (
            f"{devices} held-out devices (static-batch throughput), random averaged over {seeds} seeds; "
            f"median over devices of the MAPE on each device's rows not measured. {seconds:.0f} s."
        ),
        "",
        "| k | active MAPE % | random MAPE % |",
        "|---|---|---|",
        *(f"| {k} | {median.loc[k, 'active']:.1f} | {median.loc[k, 'random']:.1f} |" for k in REPORTED_K if k in median.index),
        "",
        (
            f"Random needs {'more than ' + str(median.index.max()) if needed is None else f'{needed:.1f}'} tests "
            f"to reach active learning's k=5 median ({target:.1f} %)."
        ),
        "",
        "Per device at k=5 (random: mean over seeds):",
        "",
        "| device | active MAPE % | random MAPE % | k=0 MAPE % |",
        "|---|---|---|---|",
    ]
    at = results.pivot_table(index="device", columns=["strategy", "k"], values="mape")
    for device, row in at.iterrows():
        lines.append(f"| {device} | {row[('active', 5)]:.1f} | {row[('random', 5)]:.1f} | {row[('active', 0)]:.1f} |")
    return "\n".join(lines) + "\n"


def plot(results: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    median = results.groupby(["strategy", "k"])["mape"].median().unstack("strategy")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for strategy in median.columns:
        ax.plot(median.index, median[strategy], marker="o", ms=3, label=strategy)
    ax.set_xlabel("tests measured on the new device (k)")
    ax.set_ylabel("median MAPE on its other rows (%)")
    ax.set_title("Onboarding a new device: active learning vs random")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", nargs="?", default=os.environ.get("BENCHMARK_DB_PATH"))
    parser.add_argument("--min-rows", type=int, default=20)
    parser.add_argument("--max-devices", type=int, default=None)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--max-k", type=int, default=10)
    parser.add_argument("--out", default="benchmarks/results/new_device_curve")
    args = parser.parse_args(argv)
    if not args.db:
        parser.error("give a warehouse path or set BENCHMARK_DB_PATH")
    started = time.monotonic()
    frame = load_training_frame(Warehouse(args.db))
    frame = metric_rows(frame[frame["workload"].astype(str) == "static_batch"], METRIC, CONFIG.formulations)
    counts = frame["hardware_name"].value_counts()
    devices = sorted(counts[counts >= args.min_rows].index)[: args.max_devices]
    results = []
    for device in devices:
        train = frame[frame["hardware_name"] != device]
        rows = frame[frame["hardware_name"] == device].reset_index(drop=True)
        estimator = MetricEstimator(CONFIG).fit(train, METRIC)
        curve = device_curve(rows, estimator, held_out_prior(estimator, train), args.max_k, args.seeds)
        results += [{"device": device, **point} for point in curve]
        at5 = {p["strategy"]: p["mape"] for p in curve if p["k"] == 5}
        print(f"{device} ({len(rows)} rows): k=5 active {at5['active']:.1f}%, random {at5['random']:.1f}%", flush=True)
    table = pd.DataFrame(results, columns=["device", "k", "strategy", "mape"])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out.with_suffix(".csv"), index=False)
    plot(table, out.with_suffix(".png"))
    text = summary(table, len(devices), args.seeds, time.monotonic() - started)
    out.with_suffix(".md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
