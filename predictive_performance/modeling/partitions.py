"""Which rows one model of a metric may see: its partition, by the values of ``Metric.partition_by``.

A per-token latency and a per-batch one, accelerator power and wall power, a serving workload and a
static batch measure different things under one column. Each combination of the partition columns'
values (``latency_kind=token,workload=serving``) gets a model of its own, fitted, evaluated and asked
only with rows of that combination. An empty partition column means its default
(``vocabulary.PARTITION_DEFAULTS``); a metric without partition columns has the one partition ``all``.

Partitions multiply fits, so the training budget is shared among them in proportion to their rows,
and a small partition gets the cheap fit: every learner's defaults, no search (``partition_config``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from predictive_performance import vocabulary
from predictive_performance.modeling.config import TrainingConfig

ALL = "all"  # the partition of a metric without partition columns
SEARCHED_ROWS = 200  # a partition with fewer rows is fitted with defaults only: a search would tune noise


def label(values: dict[str, str]) -> str:
    """``latency_kind=token,workload=serving``; ``all`` for no partition columns."""
    return ",".join(f"{column}={value}" for column, value in values.items()) or ALL


def values_of(partition: str) -> dict[str, str]:
    """The inverse of ``label``."""
    if partition == ALL:
        return {}
    return dict(part.split("=", 1) for part in partition.split(","))


def partition_frame(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """The partition columns of every row, empty cells (or a missing column) filled with their default."""
    out = pd.DataFrame(index=frame.index)
    for column in columns:
        default = vocabulary.PARTITION_DEFAULTS[column]
        given = frame[column].astype("object") if column in frame.columns else pd.Series(None, index=frame.index)
        out[column] = given.where(given.notna(), default).astype(str)
    return out


def row_partitions(
    frame: pd.DataFrame, metric: str | vocabulary.Metric, columns: tuple[str, ...] | None = None
) -> np.ndarray:
    """Each row's partition label for ``metric`` (or for the ``columns`` a saved model was partitioned by)."""
    columns = vocabulary.metric(metric).partition_by if columns is None else columns
    if not columns:
        return np.full(len(frame), ALL, dtype=object)
    keys = partition_frame(frame, columns)
    labels = keys[columns[0]].radd(f"{columns[0]}=")
    for column in columns[1:]:
        labels = labels + f",{column}=" + keys[column]
    return labels.to_numpy(dtype=object)


def split_rows(frame: pd.DataFrame, metric: str | vocabulary.Metric) -> dict[str, pd.DataFrame]:
    """The rows of every partition of ``metric`` (largest first), each re-indexed from 0."""
    labels = pd.Series(row_partitions(frame, metric), index=frame.index)
    order = labels.value_counts(sort=True).index
    return {str(p): frame.loc[labels == p].reset_index(drop=True) for p in order}


def partition_config(config: TrainingConfig, rows: int, total_rows: int) -> TrainingConfig:
    """The training knobs for one partition: its share of the budget, or the cheap fit when it is small."""
    if rows < SEARCHED_ROWS:
        return dataclasses.replace(config, n_trials=1, time_budget_s=0.0)
    return dataclasses.replace(config, time_budget_s=config.time_budget_s * rows / max(total_rows, 1))
