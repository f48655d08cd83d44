"""The three 0-1 signals a candidate configuration is scored on, and how they combine.

``uncertainty``            the calibrated interval width and the ensemble members' spread (log space),
                           each min-max scaled over the candidates, averaged over the metrics.
``diversity``              distance to the nearest tested configuration and, while a set is being
                           chosen, to those already chosen (``DiversitySpace``).
``expected_model_change``  a leaf-change proxy for gradient-boosted trees: a new label moves the value
                           of every leaf it falls into by about ``residual / (n_leaf + 1)``, so the
                           expected change is the mean over trees of ``sigma / (n_leaf + 1)`` with
                           ``sigma`` the predicted half-interval (the expected |residual|) and
                           ``n_leaf`` the training rows sharing the candidate's leaf.

Everything here takes plain arrays and DataFrames, so it works (and is tested) without a warehouse.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

LEAF_TREES = 100  # trees read for the leaf-change proxy: the early trees carry most of the fit
CHUNK = 2048  # candidate rows per block, so distance matrices stay small (and in cache)
# cells (candidates x tested) of one distance block, at most: 2048 rows against 10^5 tested rows made
# 1.6 GB blocks (a 100,000-row warehouse's queue peaked at 5.9 GB), and 10^6 would not fit in memory
BLOCK_CELLS = 1 << 22


@dataclass(frozen=True)
class GainWeights:
    """How the signals combine into ``expected_information_gain``.

    The defaults are measured (``benchmarks/active_learning_curve.py``, 16 seeds): against
    uncertainty and diversity alone, a 0.1 weight on the leaf-change proxy saved 0-5 points more
    of the tests random needs from 270 tests on, and was even (within 3 points) below that.
    """

    uncertainty: float = 0.45
    diversity: float = 0.45
    expected_model_change: float = 0.1

    def combine(self, uncertainty: np.ndarray, diversity: np.ndarray, change: np.ndarray) -> np.ndarray:
        total = self.uncertainty + self.diversity + self.expected_model_change
        if total <= 0:
            raise ValueError("gain weights must not all be zero")
        return (
            self.uncertainty * uncertainty + self.diversity * diversity + self.expected_model_change * change
        ) / total


def minmax(values: Iterable[float]) -> np.ndarray:
    """Scale to 0-1 over the finite values; missing values score 0; a constant vector scores 0."""
    v = np.asarray(values, dtype=np.float64)
    out = np.zeros(len(v))
    finite = np.isfinite(v)
    if not finite.any():
        return out
    lo, hi = v[finite].min(), v[finite].max()
    if hi - lo > 1e-12:
        out[finite] = (v[finite] - lo) / (hi - lo)
    return out


def uncertainty_scores(components: pd.DataFrame, metrics: Iterable[str] | None = None) -> np.ndarray:
    """Per row: mean over metrics of (scaled interval width + scaled ensemble spread) / 2, in 0-1."""
    if metrics is None:
        metrics = [c[: -len("_interval_width")] for c in components.columns if c.endswith("_interval_width")]
    parts = []
    for metric in metrics:
        width = components.get(f"{metric}_interval_width")
        spread = components.get(f"{metric}_spread")
        pieces = [minmax(x) for x in (width, spread) if x is not None]
        if pieces:
            parts.append(np.mean(pieces, axis=0))
    if not parts:
        return np.zeros(len(components))
    return np.clip(np.mean(parts, axis=0), 0.0, 1.0)


def nearest_distance(
    Z: np.ndarray,
    reference: np.ndarray | None,
    values: np.ndarray | None = None,
    reference_values: np.ndarray | None = None,
) -> np.ndarray:
    """Distance from each row of ``Z`` to the nearest row of ``reference`` (inf if none).

    Euclidean; with ``values`` (one per row of ``Z``) and ``reference_values``, the distance to a
    reference row is the Euclidean one times the absolute difference of the values. The minimum is
    taken over squares (``d^2 x diff^2``), in place, and rooted once per row: the candidates x tested
    matrices are the cost, so each is passed over as few times as possible.
    """
    Z = np.asarray(Z, dtype=np.float64)
    if reference is None or len(reference) == 0:
        return np.full(len(Z), np.inf)
    R = np.asarray(reference, dtype=np.float64)
    joint = values is not None and reference_values is not None
    out = np.empty(len(Z))
    r2 = (R**2).sum(axis=1)
    rows = max(1, min(CHUNK, BLOCK_CELLS // len(R)))
    for start in range(0, len(Z), rows):
        block = Z[start : start + rows]
        squared = block @ R.T
        squared *= -2.0
        squared += (block**2).sum(axis=1)[:, None]
        squared += r2[None, :]
        np.maximum(squared, 0.0, out=squared)
        if joint:
            gap = np.subtract.outer(np.asarray(values, dtype=np.float64)[start : start + len(block)],
                                    np.asarray(reference_values, dtype=np.float64))
            gap *= gap
            squared *= gap
        out[start : start + len(block)] = np.sqrt(squared.min(axis=1))
    return out


def collapse_repeats(Z: np.ndarray, values: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """The distinct rows of ``Z`` and, with ``values``, the median value of each one's repeats."""
    if len(Z) < 2:
        return Z, values
    distinct, inverse = np.unique(Z, axis=0, return_inverse=True)
    if len(distinct) == len(Z):
        return Z, values
    if values is None:
        return distinct, None
    return distinct, pd.Series(values).groupby(inverse.ravel()).median().to_numpy()


@dataclass(frozen=True)
class DiversitySpace:
    """Where the diversity of candidates is measured against the tested configurations.

    ``Z`` / ``tested_Z`` are rows of the models' standardised novelty space. With ``values`` (a
    candidate's predicted log value of the anchor metric, relative to its roofline) and
    ``tested_values`` (the measured ones), the distance between two configurations is their feature
    distance times their value difference (improved greedy sampling, Wu, Lin & Huang 2019): a
    candidate is novel when no tested configuration is both near it and measured near what it is
    predicted to reach, so tests spread over the range of outcomes as well as over the features.
    Diversity is ``d / (d + scale)`` with a fixed scale (the typical feature spacing, times the
    spread of the measured values when there are values), so it fades as tests fill the space and
    uncertainty decides more of the later picks. Tested rows at one point of the space are repeats of
    one configuration and count once, at the median of their measured values (``collapse_repeats``):
    the candidates x tested distances are the cost, and a warehouse of a million rows holds a few
    thousand configurations.
    """

    Z: np.ndarray
    tested_Z: np.ndarray
    values: np.ndarray | None = None
    tested_values: np.ndarray | None = None
    scale: float = 1.0

    @classmethod
    def build(
        cls,
        Z: np.ndarray,
        tested_Z: np.ndarray,
        values: np.ndarray | None = None,
        tested_values: np.ndarray | None = None,
        spacing: float = 1.0,
    ) -> DiversitySpace:
        """The space with ``scale = spacing * std(tested_values)`` (``spacing`` without values);
        a candidate without a finite predicted value takes the median measured value."""
        Z, tested_Z = np.asarray(Z, dtype=np.float64), np.asarray(tested_Z, dtype=np.float64)
        if values is None or tested_values is None:
            return cls(Z, collapse_repeats(tested_Z)[0], scale=spacing)
        tested_values = np.asarray(tested_values, dtype=np.float64)
        fill = float(np.nanmedian(tested_values)) if np.isfinite(tested_values).any() else 0.0
        values = np.where(np.isfinite(values), values, fill)
        tested_values = np.where(np.isfinite(tested_values), tested_values, fill)
        spread = float(np.std(tested_values))
        tested_Z, tested_values = collapse_repeats(tested_Z, tested_values)
        return cls(Z, tested_Z, values, tested_values, spacing * spread if spread > 1e-12 else spacing)

    def to_tested(self) -> np.ndarray:
        """Each candidate's distance to the nearest tested configuration."""
        return nearest_distance(self.Z, self.tested_Z, self.values, self.tested_values)

    def to_candidate(self, position: int) -> np.ndarray:
        """Each candidate's distance to the candidate at ``position`` (taken as tested at its predicted value)."""
        at = slice(position, position + 1)
        if self.values is None:
            return nearest_distance(self.Z, self.Z[at])
        return nearest_distance(self.Z, self.Z[at], self.values, self.values[at])

    def diversity(self, distance: np.ndarray) -> np.ndarray:
        """``d / (d + scale)``: 0 on top of a tested configuration, towards 1 far from all; 1 when none is tested."""
        with np.errstate(invalid="ignore"):
            return np.where(np.isfinite(distance), distance / (distance + max(self.scale, 1e-12)), 1.0)


def leaf_change_scores(
    booster: lgb.Booster, X_candidates: np.ndarray, X_train: np.ndarray, sigma: np.ndarray, trees: int = LEAF_TREES
) -> np.ndarray:
    """Mean over the first ``trees`` trees of ``sigma / (n_leaf + 1)``: how far one new label moves the leaves it lands in."""
    n_trees = min(trees, booster.num_trees())
    train_leaves = booster.predict(X_train, pred_leaf=True, num_iteration=n_trees).reshape(len(X_train), -1)[
        :, :n_trees
    ]
    counts = [np.bincount(train_leaves[:, t], minlength=int(train_leaves[:, t].max()) + 1) for t in range(n_trees)]
    out = np.empty(len(X_candidates))
    for start in range(0, len(X_candidates), CHUNK):
        block = booster.predict(X_candidates[start : start + CHUNK], pred_leaf=True, num_iteration=n_trees)
        block = block.reshape(len(block), -1)[:, :n_trees]
        per_tree = np.column_stack(
            [np.take(np.append(c, 0), np.minimum(block[:, t], len(c))) for t, c in enumerate(counts)]
        )
        out[start : start + len(block)] = np.mean(1.0 / (per_tree + 1.0), axis=1)
    return out * np.nan_to_num(np.asarray(sigma, dtype=np.float64), nan=0.0)


def simple_space(frame: pd.DataFrame) -> np.ndarray:
    """A standardised encoding from the identifying columns alone (log2 batch size, one-hot names)."""
    parts = []
    if "batch_size" in frame:
        b = np.log2(pd.to_numeric(frame["batch_size"], errors="coerce").fillna(1).clip(lower=1).to_numpy(dtype=float))
        parts.append(((b - b.mean()) / (b.std() or 1.0))[:, None])
    for column in ("model_name", "hardware_name", "hardware_platform", "precision", "mode"):
        if column in frame:
            parts.append(pd.get_dummies(frame[column].astype(str)).to_numpy(dtype=float))
    return np.hstack(parts) if parts else np.zeros((len(frame), 1))
