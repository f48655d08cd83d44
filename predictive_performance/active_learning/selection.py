"""Choosing a set of candidates one at a time, so each pick counts the diversity the earlier picks took.

``greedy_select`` is the one greedy loop. After each pick the diversity of the rest is recomputed
against the tested configurations and the picks so far, so a second candidate next to the first
loses its novelty. Two callers give it different options:

``greedy_gain_order``  the expected information gain (``GainWeights``) of every candidate, optionally
                       scaled per row (by decision relevance), in the models' novelty space.
``select_batch``       a test batch under hardware limits: per-platform caps, availability scaling the
                       gain, and a ``diversity_weight`` trading gain for spread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from predictive_performance.active_learning.scoring import DiversitySpace, GainWeights, simple_space

DUPLICATE = 1e-9  # closer than this to a pick, a candidate would measure nothing new


@dataclass(frozen=True)
class Selection:
    """The positions picked, in order, and each pick's diversity at the moment it was chosen."""

    positions: list[int]
    diversity: np.ndarray


def greedy_select(
    space: DiversitySpace,
    count: int,
    objective: Callable[[np.ndarray], np.ndarray],
    eligible: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    caps: Mapping[str, int] | None = None,
    spread: bool = True,
    duplicates: Literal["features", "distance"] = "features",
) -> Selection:
    """Up to ``count`` positions, each the best ``objective(diversity)`` among those still available.

    ``eligible`` limits the candidates; ``groups`` (one label per candidate) with ``caps`` (label ->
    most picks) closes a group once it has its share. With ``spread`` each pick becomes a reference
    for the diversity of the rest, and candidates that duplicate a pick leave: ``features``, the same
    row of ``space.Z``; ``distance``, within ``DUPLICATE`` of a tested row or a pick in diversity distance.
    """
    available = np.ones(len(space.Z), dtype=bool) if eligible is None else np.asarray(eligible, dtype=bool).copy()
    caps = caps or {}
    nearest = space.to_tested()
    used: dict[str, int] = {}
    chosen: list[int] = []
    diversity_at: list[float] = []
    while len(chosen) < count and available.any():
        diversity = space.diversity(nearest)
        best = int(np.argmax(np.where(available, objective(diversity), -np.inf)))
        chosen.append(best)
        diversity_at.append(float(diversity[best]))
        available[best] = False
        if groups is not None:
            group = groups[best]
            used[group] = used.get(group, 0) + 1
            if group in caps and used[group] >= caps[group]:
                available &= groups != group
        if spread:
            nearest = np.minimum(nearest, space.to_candidate(best))
            if duplicates == "features":
                available &= np.abs(space.Z - space.Z[best]).max(axis=1) > DUPLICATE
            else:
                available &= nearest > DUPLICATE
    return Selection(chosen, np.asarray(diversity_at))


def greedy_gain_order(
    scored: pd.DataFrame,
    space: DiversitySpace,
    budget: int,
    weights: GainWeights = GainWeights(),
    value: np.ndarray | None = None,
) -> Selection:
    """``budget`` rows of ``scored`` (``uncertainty``, ``expected_model_change``), best gain first,
    the diversity recomputed against the tested rows and those already chosen. ``value`` (optional,
    one per row) multiplies the gain."""
    uncertainty = scored["uncertainty"].to_numpy(dtype=float)
    change = scored["expected_model_change"].to_numpy(dtype=float)
    factor = np.ones(len(scored)) if value is None else np.asarray(value, dtype=float)
    return greedy_select(space, budget, lambda diversity: weights.combine(uncertainty, diversity, change) * factor)


def select_batch(
    frame: pd.DataFrame,
    batch_size: int,
    Z: np.ndarray | None = None,
    ensure_diversity: bool = True,
    hardware_constraints: Mapping[str, int] | None = None,
    hardware_availability: Mapping[str, float] | None = None,
    diversity_weight: float = 0.5,
    gain_column: str = "expected_information_gain",
    reference: np.ndarray | None = None,
) -> pd.DataFrame:
    """Greedy batch: each step takes the best ``(1 - w) * gain * availability + w * diversity``.

    ``hardware_constraints`` caps tests per platform (0: none); ``hardware_availability`` (0-1)
    scales a platform's gain (missing: 1.0; 0: none). Diversity is ``d / (d + scale)`` to the
    already selected rows (and ``reference`` rows, e.g. the tested ones) in ``Z`` (default
    ``simple_space``), ``scale`` the median distance between candidates. Without
    ``ensure_diversity`` the order is gain alone. Returns the chosen rows with ``selection_order``
    1..n, ``availability``, ``adjusted_gain`` and ``diversity_at_selection``.
    """
    frame = frame.reset_index(drop=True)
    caps = {str(k).lower(): int(v) for k, v in (hardware_constraints or {}).items()}
    availability = {str(k).lower(): float(v) for k, v in (hardware_availability or {}).items()}
    platform = _platform(frame).to_numpy()
    avail = np.array([availability.get(p, 1.0) for p in platform], dtype=float)
    gain = (
        pd.to_numeric(frame[gain_column], errors="coerce").fillna(0.0).to_numpy(dtype=float)
        if gain_column in frame
        else np.ones(len(frame))
    )
    value = np.clip(gain, 0.0, None) * np.clip(avail, 0.0, 1.0)
    eligible = (avail > 0) & np.array([caps.get(p, 1) > 0 for p in platform], dtype=bool)
    Z = simple_space(frame) if Z is None else np.asarray(Z, dtype=np.float64)
    w = float(np.clip(diversity_weight, 0.0, 1.0)) if ensure_diversity else 0.0
    scale = typical_spacing(Z, eligible) if w > 0 and eligible.sum() > 1 else 1.0
    value_scaled = value / value[eligible].max() if eligible.any() and value[eligible].max() > 0 else value
    space = DiversitySpace.build(Z, np.empty((0, Z.shape[1])) if reference is None else reference, spacing=scale)
    selection = greedy_select(
        space,
        batch_size,
        lambda diversity: (1.0 - w) * value_scaled + w * diversity,
        eligible=eligible,
        groups=platform,
        caps=caps,
        spread=w > 0,
        duplicates="distance",
    )
    chosen = selection.positions
    out = frame.iloc[chosen].copy()
    out.insert(0, "selection_order", np.arange(1, len(chosen) + 1))
    out["availability"] = avail[chosen]
    out["adjusted_gain"] = value[chosen]
    out["diversity_at_selection"] = selection.diversity.tolist()
    return out.reset_index(drop=True)


def typical_spacing(Z: np.ndarray, eligible: np.ndarray) -> float:
    """The median distance between eligible candidates (a fixed sample of at most 500 of them)."""
    rng = np.random.default_rng(0)
    sample = Z[rng.choice(np.flatnonzero(eligible), min(500, int(eligible.sum())), replace=False)]
    pairwise = np.sqrt(np.maximum(((sample[:, None, :] - sample[None, :, :]) ** 2).sum(-1), 0.0))
    positive = pairwise[pairwise > DUPLICATE]
    return float(np.median(positive)) if positive.size else 1.0


def _platform(frame: pd.DataFrame) -> pd.Series:
    for column in ("hardware_platform", "hardware"):
        if column in frame:
            return frame[column].astype(str).str.lower()
    raise KeyError("configurations need a hardware_platform (or hardware) column")
