"""Which target formulation predicts static-batch throughput best on unseen devices and models.

    BENCHMARK_DB_PATH=w.duckdb python benchmarks/formulation_comparison.py [--db w.duckdb] [--folds 8]
        [--rounds 300] [--out benchmarks/results]

Reads ``marts.training_features`` of a built warehouse, keeps the static-batch throughput rows every
formulation has a reference for, and fits LightGBM with its defaults and a fixed number of trees
(no search, no early stopping: the formulations are compared, not the tuning) through the
project's own feature matrix, on grouped folds (``folds.group_fold_ids``): devices held out among
the GPU rows (cuda, rocm), models held out among all rows. Beside each formulation, each physics
reference alone: as it is (no learning) and times the training part's median efficiency (one
learned number). Figures: MAPE over the held-out rows, the median of each held-out group's MAPE,
and the MAPE of the NeuSight rows' batch latency (batch x devices / throughput). Results go to
``<out>/formulation_comparison.csv`` and ``.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from predictive_performance.modeling import load_training_frame  # noqa: E402
from predictive_performance.modeling.features import FeatureSpec  # noqa: E402
from predictive_performance.modeling.folds import group_fold_ids  # noqa: E402
from predictive_performance.modeling.learners import learner  # noqa: E402
from predictive_performance.modeling.targets import (  # noqa: E402
    FORMULATIONS,
    column_values,
    fit_reference,
    metric_rows,
    offset,
)
from predictive_performance.vocabulary import metric  # noqa: E402
from predictive_performance.warehouse import Warehouse  # noqa: E402

METRIC = "throughput"
GPU_PLATFORMS = ("cuda", "rocm")
REFERENCE_SOURCE = "neusight"
# scheme -> (the rows it runs on, the column whose values are held out together)
SCHEMES: dict[str, tuple[str, str]] = {
    "leave_one_hardware_out": ("gpu", "hardware_name"),
    "leave_one_model_out": ("all", "model_name"),
}


ELASTICITY_OFF = "physics without rate elasticity"


def static_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Static-batch throughput rows with a finite offset under every formulation."""
    return metric_rows(frame[frame["workload"].astype(str) == "static_batch"], METRIC, FORMULATIONS)


def fold_offset(rows: pd.DataFrame, train: np.ndarray, formulation: str, fit_part: bool = True) -> np.ndarray:
    """A formulation's offset on every row, its fitted part (``targets.fit_reference``) fitted on the training rows
    alone; ``fit_part=False``: without that part (*physics* without its rate elasticity)."""
    return offset(rows, METRIC, formulation, fit_reference(rows[train], METRIC, formulation) if fit_part else None)


def learned(rows: pd.DataFrame, ids: np.ndarray, formulation: str, rounds: int, seed: int, fit_part: bool = True
            ) -> np.ndarray:
    """Out-of-fold ``log throughput`` of LightGBM's defaults fitted to the formulation's target, under its
    monotone constraints (``FeatureSpec.monotone``), as the project's learners fit it."""
    out = np.full(len(rows), np.nan)
    for fold in np.unique(ids):
        train, test = ids != fold, ids == fold
        shift = fold_offset(rows, train, formulation, fit_part)
        target = np.log(column_values(rows, METRIC)) - shift
        spec = FeatureSpec.fit(rows[train])
        monotone = spec.monotone(metric(METRIC).reference, formulation)
        model = learner("lightgbm")(None, rounds, seed, 2, monotone=monotone).fit(spec.matrix(rows[train]), target[train])
        out[test] = model.predict(spec.matrix(rows[test])) + shift[test]
    return out


def reference_alone(rows: pd.DataFrame, ids: np.ndarray, formulation: str, scaled: bool, fit_part: bool = True
                    ) -> np.ndarray:
    """``log`` of a formulation's reference, times the training folds' median efficiency when ``scaled``."""
    out = np.full(len(rows), np.nan)
    for fold in np.unique(ids):
        train, test = ids != fold, ids == fold
        shift = fold_offset(rows, train, formulation, fit_part)
        efficiency = np.log(column_values(rows, METRIC)) - shift
        out[test] = shift[test] + (np.median(efficiency[train]) if scaled else 0.0)
    return out


def figures(rows: pd.DataFrame, log_pred: np.ndarray, group: str) -> dict[str, float]:
    """MAPE, the median of the held-out groups' MAPE, and the NeuSight rows' latency MAPE.

    A batch's latency is batch x devices / throughput, so its error is measured / predicted - 1.
    """
    measured = column_values(rows, METRIC)
    ape = np.abs(np.exp(log_pred) / measured - 1.0)
    latency_ape = np.abs(measured / np.exp(log_pred) - 1.0)
    neusight = (rows["source"].astype(str) == REFERENCE_SOURCE).to_numpy()
    return {
        "mape": float(np.mean(ape)),
        "median_group_mape": float(pd.Series(ape).groupby(rows[group].astype(str).to_numpy()).mean().median()),
        "neusight_rows": int(neusight.sum()),
        "neusight_latency_mape": float(np.mean(latency_ape[neusight])) if neusight.any() else float("nan"),
    }


def compare(frame: pd.DataFrame, n_folds: int, rounds: int, seed: int) -> pd.DataFrame:
    """One row per scheme x method (each formulation learnt, each physics reference alone)."""
    results = []
    all_rows = static_rows(frame)
    for scheme, (subset, group) in SCHEMES.items():
        rows = all_rows
        if subset == "gpu":
            rows = all_rows[all_rows["hardware_platform"].astype(str).isin(GPU_PLATFORMS)].reset_index(drop=True)
        ids = group_fold_ids(rows[group], n_folds, seed)
        methods = {f"lightgbm {f}": partial(learned, formulation=f, rounds=rounds, seed=seed) for f in FORMULATIONS}
        methods[f"lightgbm {ELASTICITY_OFF}"] = partial(learned, formulation="physics", rounds=rounds, seed=seed,
                                                        fit_part=False)
        for formulation in (f for f in FORMULATIONS if f != "direct"):
            methods[f"{formulation} reference alone"] = partial(reference_alone, formulation=formulation, scaled=False)
            methods[f"{formulation} reference x median efficiency"] = partial(
                reference_alone, formulation=formulation, scaled=True
            )
        methods[f"{ELASTICITY_OFF} reference x median efficiency"] = partial(
            reference_alone, formulation="physics", scaled=True, fit_part=False
        )
        for method, predict in methods.items():
            started = time.monotonic()
            log_pred = predict(rows, ids)
            results.append({"scheme": scheme, "method": method, "rows": len(rows), "groups": rows[group].nunique(),
                            "folds": len(np.unique(ids)), **figures(rows, log_pred, group),
                            "seconds": round(time.monotonic() - started, 2)})
            print(results[-1], flush=True)
    return pd.DataFrame(results)


def markdown(table: pd.DataFrame, args: argparse.Namespace, wall_s: float) -> str:
    """The results as a Markdown note: how they were made, then one table per scheme."""
    lines = [
        "# Target formulations on static-batch throughput",
        "",
        (f"`benchmarks/formulation_comparison.py` on `{args.db}`: LightGBM defaults, {args.rounds} trees, no early "
         f"stopping, at most {args.folds} grouped folds (`folds.group_fold_ids`, seed {args.seed}); devices held out "
         "among the GPU rows, models held out among all rows. MAPE is over held-out rows; `median group MAPE` is the "
         "median over held-out devices (models) of their own MAPE; `NeuSight latency MAPE` is the batch latency "
         f"(batch x devices / throughput) of the NeuSight rows. {wall_s:.0f} s wall on a shared 2-core machine "
         f"(load average {os.getloadavg()[0]:.1f})."),
        "",
        ("Formulations (`targets.FORMULATIONS`): `direct` fits log throughput; `efficiency` fits it against the "
         "catalog roofline; `physics_totals` against the total FLOPs and bytes at the matmul rate plus launch "
         "overhead, linear over devices; `physics` against the per-layer-kind step time of `modeling/layers.py` "
         "plus launch overhead and communication, scaled by the rate elasticity fitted on the training folds "
         "(`modeling/elasticity.py`; `physics without rate elasticity` leaves it out). A reference alone is as it is "
         "(no learning) or times the training folds' median efficiency (one learnt number)."),
    ]
    for scheme, part in table.groupby("scheme", sort=False):
        heading = f"## {scheme} ({part['rows'].iloc[0]} rows, {part['groups'].iloc[0]} groups, {part['folds'].iloc[0]} folds)"
        lines += ["", heading, "",
                  "| method | MAPE | median group MAPE | NeuSight latency MAPE |", "|---|---|---|---|"]
        for row in part.itertuples():
            lines.append(f"| {row.method} | {row.mape:.3f} | {row.median_group_mape:.3f} | {row.neusight_latency_mape:.3f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=Path(os.environ.get("BENCHMARK_DB_PATH", "data/benchmarks.duckdb")))
    parser.add_argument("--folds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()

    started = time.monotonic()
    table = compare(load_training_frame(Warehouse(args.db)), args.folds, args.rounds, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "formulation_comparison.csv", index=False)
    (args.out / "formulation_comparison.md").write_text(markdown(table, args, time.monotonic() - started))
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
