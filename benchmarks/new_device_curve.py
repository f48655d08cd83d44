"""Onboarding a new device: its MAPE against the number of tests, chosen by active learning or at random.

    python benchmarks/new_device_curve.py [DB_PATH] [--min-rows 20] [--max-devices N] [--seeds 5]
        [--max-k 10] [--out benchmarks/results/new_device_curve]

On the static-batch throughput rows of ``marts.training_features`` (``DB_PATH``, default
``$BENCHMARK_DB_PATH``), every (device, source) pair with at least ``--min-rows`` rows is onboarded in
turn: a real onboarding runs one harness on the new device, and one device's harnesses differ in
efficiency (H100 SXM5: Lambda training +0.2, ML.ENERGY v3 -1.0 in log residual), so tests are chosen
among the pair's rows and scored on the pair's other rows. One model is trained without the device
at all (``MetricEstimator`` with ``TrainingConfig.fast`` and LightGBM alone, the same fixed config
for every device); its priors come from its leave-devices-out residuals and the known devices'
residuals from its own fit (``prediction.corrections``, what the model carries), so nothing of the
held-out device informs them. Then for k = 0..max-k,
k of the pair's rows are "measured":

``active``  the first k of ``active_learning.onboarding.choose_device_tests`` (coverage of the
            device's workload space);
``random``  k at random (``--seeds`` draws, the mean reported).

The model is corrected with those k rows by two methods: ``transfer`` (``prediction.transfer.
DeviceTransfer``: the device's own correction mixed with readings of known devices that ran the
same configurations) and ``offset`` (``prediction.adaptation.DeviceAdaptation`` alone), and scored
by MAPE on the pair's other rows. Writes ``<out>.csv`` (unit, k, strategy, method, mape),
``<out>.png`` (median over pairs against k) and ``<out>.md`` (the median at k = 0, 3, 5, 10 and the
tests random needs to reach active learning's k=5 figure, per method).
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
from predictive_performance.modeling import MetricEstimator, TrainingConfig, load_training_frame
from predictive_performance.modeling.targets import metric_rows
from predictive_performance.prediction.adaptation import DeviceAdaptation
from predictive_performance.prediction.transfer import DeviceTransfer
from predictive_performance.warehouse import Warehouse

METRIC = "throughput"
CONFIG = TrainingConfig.fast(algorithms=("lightgbm",))
REPORTED_K = (0, 3, 5, 10)


def mape(measured: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean(np.abs(predicted / measured - 1.0)) * 100.0)


def unit_curve(rows: pd.DataFrame, point: np.ndarray, methods: dict, max_k: int, seeds: int) -> list[dict]:
    """MAPE on the rows not measured, per k, strategy and method, for one (device, source) pair."""
    measured = rows[METRIC].to_numpy(dtype=float)
    residuals = np.log(measured) - np.log(point)
    active = choose_device_tests(rows, max_k)[0].positions
    orders = {"active": [active]}
    orders["random"] = [np.random.default_rng(seed).permutation(len(rows))[:max_k] for seed in range(seeds)]
    out = []
    for strategy, draws in orders.items():
        for k in range(max_k + 1):
            scores: dict[str, list[float]] = {method: [] for method in methods}
            for order in draws:
                chosen = np.asarray(order[:k], dtype=int)
                rest = np.setdiff1d(np.arange(len(rows)), chosen)
                for method, make in methods.items():
                    adapted = make().fit(rows.iloc[chosen], residuals[chosen])
                    scores[method].append(mape(measured[rest], adapted.transform(rows.iloc[rest], point[rest])))
            out += [{"k": k, "strategy": strategy, "method": m, "mape": float(np.mean(v))} for m, v in scores.items()]
    return out


def device_methods(estimator: MetricEstimator, device: str) -> dict:
    """The correction methods for one held-out device, from the priors and known devices' residuals the model
    fitted without it carries (``prediction.corrections``), as every prediction of the product uses them."""
    corrections = estimator.model_.primary.corrections
    if corrections is None:
        raise ValueError(f"the model fitted without {device} has no device corrections (too few devices)")
    return {
        "transfer": lambda: DeviceTransfer(corrections.prior, corrections.pair, corrections.references, device),
        "offset": lambda: DeviceAdaptation(corrections.prior),
    }


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


def medians(results: pd.DataFrame) -> pd.DataFrame:
    """Median over units of the MAPE, rows k, columns (method, strategy)."""
    return results.groupby(["method", "strategy", "k"])["mape"].median().unstack(["method", "strategy"])


def summary(results: pd.DataFrame, units: int, seeds: int, seconds: float) -> str:
    median = medians(results)
    lines = [
        "# New-device curve",
        "",
        (
            f"{units} held-out (device, source) pairs (static-batch throughput; the model trained without the device), "
            f"random averaged over {seeds} seeds; median over pairs of the MAPE on each pair's rows not measured. "
            f"{seconds:.0f} s."
        ),
        "",
        "| k | transfer active % | transfer random % | offset active % | offset random % |",
        "|---|---|---|---|---|",
        *(
            f"| {k} | " + " | ".join(f"{median.loc[k, (m, st)]:.1f}" for m in ("transfer", "offset") for st in ("active", "random")) + " |"
            for k in REPORTED_K if k in median.index
        ),
        "",
    ]
    for method in ("transfer", "offset"):
        target = float(median.loc[5, (method, "active")])
        needed = tests_to_reach(median[(method, "random")], target)
        lines.append(
            f"{method}: random needs {'more than ' + str(median.index.max()) if needed is None else f'{needed:.1f}'} "
            f"tests to reach active learning's k=5 median ({target:.1f} %)."
        )
    lines += [
        "",
        "Per pair at k=5 (random: mean over seeds):",
        "",
        "| pair | transfer active % | transfer random % | offset active % | k=0 transfer % | k=0 model % |",
        "|---|---|---|---|---|---|",
    ]
    at = results.pivot_table(index="unit", columns=["method", "strategy", "k"], values="mape")
    for unit, row in at.iterrows():
        lines.append(
            f"| {unit} | {row[('transfer', 'active', 5)]:.1f} | {row[('transfer', 'random', 5)]:.1f} | "
            f"{row[('offset', 'active', 5)]:.1f} | {row[('transfer', 'active', 0)]:.1f} | {row[('offset', 'active', 0)]:.1f} |"
        )
    return "\n".join(lines) + "\n"


def plot(results: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    median = medians(results)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for method, strategy in median.columns:
        ax.plot(median.index, median[(method, strategy)], marker="o", ms=3, label=f"{method}, {strategy}")
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
    units = frame.groupby(["hardware_name", "source"]).size()
    units = units[units >= args.min_rows]
    devices = sorted(units.index.get_level_values(0).unique())[: args.max_devices]
    results = []
    for device in devices:
        train = frame[frame["hardware_name"] != device]
        estimator = MetricEstimator(CONFIG).fit(train, METRIC)
        methods = device_methods(estimator, device)
        for source in sorted(units.loc[device].index):
            rows = frame[(frame["hardware_name"] == device) & (frame["source"] == source)].reset_index(drop=True)
            point = estimator.predict(rows)[f"{METRIC}_pred"].to_numpy(dtype=float)
            curve = unit_curve(rows, point, methods, args.max_k, args.seeds)
            results += [{"unit": f"{device} [{source}]", **point_} for point_ in curve]
            at5 = {(p["method"], p["strategy"]): p["mape"] for p in curve if p["k"] == 5}
            print(f"{device} [{source}] ({len(rows)} rows): k=5 transfer active {at5[('transfer', 'active')]:.1f}%, "
                  f"random {at5[('transfer', 'random')]:.1f}%", flush=True)
    table = pd.DataFrame(results, columns=["unit", "k", "strategy", "method", "mape"])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out.with_suffix(".csv"), index=False)
    plot(table, out.with_suffix(".png"))
    text = summary(table, table["unit"].nunique(), args.seeds, time.monotonic() - started)
    out.with_suffix(".md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
