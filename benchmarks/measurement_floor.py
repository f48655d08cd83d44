"""How far the measurements disagree with themselves: the error no predictor can go below.

    python benchmarks/measurement_floor.py [DB_PATH] [--out benchmarks/results/measurement_floor]

On ``marts.training_features`` of a built warehouse (``DB_PATH``, default ``$BENCHMARK_DB_PATH``), rows
that the models cannot tell apart -- the same source, device, model and partition, and an identical
feature-matrix row (``FeatureSpec``: every configuration, model and device column the learners read) --
are repeats of one configuration. Each repeat is predicted by the geometric mean of the others, an
oracle that knows the configuration's true figure but not the run's: its absolute percentage error
is the floor under any model's error on those rows. Repeats come from repeated runs of one harness
(pytorch-gpu-benchmark's two runs of one RTX 2080 Ti), from settings the features do not carry (a
task's request set, a benchmark's software version), or from a source's own duplicates.

Writes ``<out>.csv`` (metric, source, device, configurations, rows, loads, mean and median APE) and
``<out>.md`` (per metric and source, with each device's row where a source has several).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from predictive_performance import vocabulary  # noqa: E402
from predictive_performance.modeling import load_training_frame  # noqa: E402
from predictive_performance.modeling.features import FeatureSpec  # noqa: E402
from predictive_performance.modeling.partitions import row_partitions  # noqa: E402
from predictive_performance.modeling.targets import column_values  # noqa: E402
from predictive_performance.warehouse import Warehouse  # noqa: E402

IDENTITY = ("source", "hardware_name", "model_name")


def configuration_ids(frame: pd.DataFrame, metric: str) -> np.ndarray:
    """One id per configuration the models cannot tell apart: identity columns, partition and feature row."""
    matrix = np.ascontiguousarray(FeatureSpec.fit(frame).matrix(frame))
    features = matrix.view(np.dtype((np.void, matrix.dtype.itemsize * matrix.shape[1]))).ravel()
    keys = frame[list(IDENTITY)].astype(str).assign(partition=row_partitions(frame, metric), features=features)
    return keys.groupby(list(keys.columns), sort=False).ngroup().to_numpy()


def repeat_errors(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Every repeated row of ``metric`` with the APE of the geometric mean of its configuration's other repeats."""
    values = column_values(frame, metric)
    usable = np.isfinite(values) & (values > 0)
    rows = frame.loc[usable].reset_index(drop=True)
    if rows.empty:
        return pd.DataFrame(columns=[*IDENTITY, "configuration", "load_id", "ape"])
    logs = np.log(values[usable])
    ids = pd.Series(configuration_ids(rows, metric))
    count, total = ids.map(ids.value_counts()).to_numpy(), ids.map(pd.Series(logs).groupby(ids).sum()).to_numpy()
    repeated = count > 1
    others = (total[repeated] - logs[repeated]) / (count[repeated] - 1)
    return rows.loc[repeated, [*IDENTITY, "load_id"]].assign(
        configuration=ids[repeated].to_numpy(), ape=np.abs(np.expm1(others - logs[repeated]))
    )


def summary(errors: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Configurations, rows, loads and the repeats' MAPE and median APE per group of ``by``."""
    return errors.groupby(by).agg(
        configurations=("configuration", "nunique"),
        rows=("ape", "size"),
        loads=("load_id", "nunique"),
        mape=("ape", "mean"),
        median_ape=("ape", "median"),
    ).reset_index()


def markdown(table: pd.DataFrame) -> str:
    """The results table as the committed ``.md``."""
    lines = [
        "# Measurement floor: repeats of one configuration, each predicted by the others",
        "",
        "Rows the models cannot tell apart (same source, device, model, partition and feature row); the APE",
        "of the geometric mean of a configuration's other repeats. `device` is `all` for the source as a whole.",
        "",
        "| metric | source | device | configurations | rows | loads | MAPE | median APE |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in table.itertuples():
        lines.append(
            f"| {row.metric} | {row.source} | {row.hardware_name} | {row.configurations} | {row.rows} | {row.loads} | "
            f"{100 * row.mape:.1f} % | {100 * row.median_ape:.1f} % |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", nargs="?", default=os.environ.get("BENCHMARK_DB_PATH"))
    parser.add_argument("--out", default="benchmarks/results/measurement_floor")
    args = parser.parse_args(argv)
    if not args.db:
        parser.error("give DB_PATH or set BENCHMARK_DB_PATH")
    frame = load_training_frame(Warehouse(args.db))
    tables = []
    for metric in vocabulary.METRICS:
        errors = repeat_errors(frame, metric.column)
        if errors.empty:
            continue
        per_source = summary(errors, ["source"]).assign(hardware_name="all")
        per_device = summary(errors, ["source", "hardware_name"])
        several = per_device["source"].map(per_device["source"].value_counts()) > 1
        tables.append(pd.concat([per_source, per_device[several]]).assign(metric=metric.column))
    columns = ["metric", "source", "hardware_name", "configurations", "rows", "loads", "mape", "median_ape"]
    table = pd.concat(tables, ignore_index=True)[columns].sort_values(["metric", "source", "hardware_name"])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out.with_suffix(".csv"), index=False, float_format="%.4f")
    out.with_suffix(".md").write_text(markdown(table), encoding="utf-8")
    print(markdown(table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
