"""Figures one metric's model gives for another, so that the two can never disagree.

A static batch's per-batch latency is the time the batch takes at the predicted throughput:
``latency_ms = 1000 x items per step / throughput``, the items ``batch_size x num_devices`` (``batch_size``
where one batch is split over the devices, ``layers.splits_batch``). Two models fitted on their own would
give a latency and a throughput that contradict each other (and the latency model would see rows
the throughput model sees, under another name). So the latency model is fitted only for what
throughput cannot give (per-token, per-request and per-query latency, workloads without a fixed
batch); the static batch's latency comes from the throughput model: its prediction, its interval
(the bounds swap: a higher throughput is a lower latency) and its confidence. It is judged the same
way, on the held-out throughput predictions of the rows whose latency was measured.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from predictive_performance import vocabulary
from predictive_performance.modeling.layers import items_per_step
from predictive_performance.modeling.partitions import row_partitions
from predictive_performance.modeling.targets import column_values

if TYPE_CHECKING:
    from predictive_performance.modeling.registry import ModelVersion


SWAPPED_BOUNDS: dict[str, str] = {"lower": "upper", "upper": "lower"}
# the figures of a held-out predictions frame (``evaluation``, ``anchors``) that are the metric's values
HELD_OUT_FIGURES: tuple[str, ...] = ("pred", "lower", "upper", "baseline", "roofline")


@dataclass(frozen=True)
class Derivation:
    """``metric``'s figures in its ``partition`` are ``source``'s in ``source_partition``, converted."""

    metric: str
    partition: str
    source: str
    source_partition: str
    imputed_column: str  # true where dbt computed the metric from the source's measurement: not judged on

    @property
    def remark(self) -> str:
        """What the evaluation table says of the derivation's rows."""
        return f"from the {self.source} model ({self.metric} = 1000 x items per step / {self.source})"

    def rows(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows of ``frame`` the derivation answers: in both partitions, with a batch to convert by."""
        return (
            (row_partitions(frame, self.metric) == self.partition)
            & (row_partitions(frame, self.source) == self.source_partition)
            & np.isfinite(column_values(frame, "batch_size"))
        )

    def convert(self, frame: pd.DataFrame, value: np.ndarray) -> np.ndarray:
        """The metric's value for a source value (and back: the conversion is its own inverse)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return 1000.0 * items_per_step(frame) / np.asarray(value, dtype=float)

    def convert_figures(self, frame: pd.DataFrame, figures: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Each figure (``pred``, ``lower``, ``upper``, a baseline, ...) converted; ``lower`` and ``upper`` swap
        names, as a higher throughput is a lower latency."""
        return {SWAPPED_BOUNDS.get(name, name): self.convert(frame, values) for name, values in figures.items()}

    def figures(self, frame: pd.DataFrame, source_figures: pd.DataFrame) -> pd.DataFrame:
        """The metric's ``pred / lower / upper / confidence`` from the source's (bounds swapped)."""
        source, target = vocabulary.metric(self.source), vocabulary.metric(self.metric)
        names = ("pred", "lower", "upper")
        bounds = self.convert_figures(frame, {f: source_figures[source.figure(f)] for f in names})
        return pd.DataFrame(
            {
                **{target.figure(f): bounds[f] for f in names},
                target.figure("confidence"): source_figures[source.figure("confidence")].to_numpy(dtype=float),
            },
            index=frame.index,
        )

    def imputed(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows whose metric dbt computed from the source's measurement (false where the frame does not say)."""
        if self.imputed_column not in frame.columns:
            return np.zeros(len(frame), dtype=bool)
        return frame[self.imputed_column].astype("boolean").fillna(False).to_numpy(dtype=bool)

    def held_out(self, rows: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
        """The source's held-out predictions (``evaluation``'s frame, ``row`` indexing ``rows``) as the metric's,
        on the rows whose metric was measured rather than imputed."""
        judged = rows.iloc[predictions["row"].to_numpy()].reset_index(drop=True)
        keep = self.rows(judged) & ~self.imputed(judged) & np.isfinite(column_values(judged, self.metric))
        judged, source = judged[keep], predictions[keep].reset_index(drop=True)
        figures = {c: source[c].to_numpy() for c in HELD_OUT_FIGURES if c in source.columns}
        return source.assign(actual=column_values(judged, self.metric), **self.convert_figures(judged, figures))


DERIVATIONS: tuple[Derivation, ...] = (
    Derivation(
        "latency_ms",
        "latency_kind=batch,workload=static_batch",
        "throughput",
        "workload=static_batch",
        "latency_imputed",
    ),
)


def derivation_of(metric: str, partition: str) -> Derivation | None:
    """The derivation that gives ``metric``'s figures in ``partition``, if another metric's model does."""
    column = vocabulary.metric(metric).column
    return next((d for d in DERIVATIONS if d.metric == column and d.partition == partition), None)


def is_derived(metric: str, partition: str) -> bool:
    """Whether ``metric``'s ``partition`` comes from another metric's model (and is never fitted)."""
    return derivation_of(metric, partition) is not None


def derived_from(source: str, partition: str) -> list[Derivation]:
    """The derivations a model of ``source`` in ``partition`` answers."""
    column = vocabulary.metric(source).column
    return [d for d in DERIVATIONS if d.source == column and d.source_partition == partition]


def available_metrics(trained: Iterable[str]) -> list[str]:
    """The metrics with figures, in vocabulary order: those ``trained`` and those derived from one of them."""
    trained = set(trained)
    derivable = {d.metric for d in DERIVATIONS if d.source in trained}
    return [m for m in vocabulary.metric_columns() if m in trained or m in derivable]


def add_derived(frame: pd.DataFrame, predicted: pd.DataFrame, trained: Mapping[str, ModelVersion]) -> pd.DataFrame:
    """``predicted`` (``registry.predict``'s columns for ``frame``) with every derivation's rows filled in."""
    out = predicted.copy()
    for derivation in DERIVATIONS:
        if derivation.source not in trained:
            continue
        rows = derivation.rows(frame)
        if not rows.any():
            continue
        figures = derivation.figures(frame.loc[rows], out.loc[rows])
        for column in figures.columns:
            if column not in out.columns:
                out[column] = np.nan
            out.loc[rows, column] = figures[column].to_numpy()
    return out


def answering_version(metric: str, partition: str, versions: Mapping[str, ModelVersion]) -> str | None:
    """The version whose model gives ``metric``'s figures in ``partition``: the source's where derived."""
    derivation = derivation_of(metric, partition)
    if derivation is not None and derivation.source in versions:
        return versions[derivation.source].version
    column = vocabulary.metric(metric).column
    return versions[column].version if column in versions else None

