"""The first tests on a new device: the k configurations whose results fix its predictions best.

What k results on a device can teach is its correction (``prediction.adaptation``): an offset and
a trend with the workload. An offset is best measured on typical configurations, a trend on
configurations far apart, so the tests spread over the device's workload space (``workload_space``:
batch size, arithmetic intensity, model size, precision, mode), each pick taken where candidates
are dense (``representativeness``: it stands for many of the rows to be predicted) and the model
is unsure, and away from the earlier picks and the device's tested rows (``greedy_select``'s
diversity). Only configurations the device can run are candidates (``runnable``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictive_performance.active_learning.scoring import DiversitySpace
from predictive_performance.active_learning.selection import Selection, greedy_select, typical_spacing

SPACE_FEATURES: tuple[str, ...] = ("batch_size", "arithmetic_intensity", "parameters_million", "precision_bytes")
TRAINING_MEMORY_FACTOR = 4.0  # weights, gradients and two optimiser states
DENSITY_REFERENCES = 1000  # candidates the density is measured against, at most


def runnable(frame: pd.DataFrame) -> np.ndarray:
    """Configurations the device can run: a compute peak at the precision, and the weights fit its memory."""
    peak = pd.to_numeric(frame.get("peak_tflops_at_precision"), errors="coerce").to_numpy(dtype=float)
    weights = pd.to_numeric(frame.get("model_memory_mb"), errors="coerce").to_numpy(dtype=float)
    weights = weights * np.where(frame["mode"].astype(str).to_numpy() == "training", TRAINING_MEMORY_FACTOR, 1.0)
    memory = pd.to_numeric(frame.get("memory_gb"), errors="coerce").to_numpy(dtype=float) * 1024.0
    fits = ~(weights > memory)  # unknown memory or size: assumed to fit
    return (peak > 0) & fits


def workload_space(frame: pd.DataFrame) -> np.ndarray:
    """Logged ``SPACE_FEATURES`` and a training flag, standardised over ``frame`` (missing: the mean)."""
    columns = [
        np.log(pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float).clip(min=1e-12))
        if c in frame
        else np.zeros(len(frame))
        for c in SPACE_FEATURES
    ]
    columns.append((frame["mode"].astype(str).to_numpy() == "training").astype(float))
    X = np.column_stack(columns)
    X = np.where(np.isfinite(X), X, np.nanmean(np.where(np.isfinite(X), X, np.nan), axis=0))
    std = X.std(axis=0)
    return np.nan_to_num((X - X.mean(axis=0)) / np.where(std > 1e-9, std, 1.0))


def representativeness(Z: np.ndarray, bandwidth: float, seed: int = 0) -> np.ndarray:
    """Mean Gaussian similarity to the candidates (a fixed sample of them), scaled to a maximum of 1."""
    rng = np.random.default_rng(seed)
    references = Z[rng.choice(len(Z), min(DENSITY_REFERENCES, len(Z)), replace=False)]
    squared = ((Z[:, None, :] - references[None, :, :]) ** 2).sum(-1)
    density = np.exp(-squared / (2.0 * bandwidth**2)).mean(axis=1)
    return density / density.max()


def choose_device_tests(
    frame: pd.DataFrame,
    budget: int,
    uncertainty: np.ndarray | None = None,
    tested: np.ndarray | None = None,
) -> tuple[Selection, np.ndarray]:
    """The ``budget`` positions of ``frame`` (one device's configurations) to test first, in order.

    ``uncertainty`` (0-1 per row, e.g. ``scoring.uncertainty_scores``) raises a candidate's value by
    up to half; ``tested`` marks rows already measured: never chosen, and the picks keep away from
    them. Returns the selection and each row's value (representativeness x uncertainty weight).
    """
    tested = np.zeros(len(frame), dtype=bool) if tested is None else np.asarray(tested, dtype=bool)
    eligible = runnable(frame) & ~tested
    if not eligible.any():
        return Selection([], np.empty(0)), np.zeros(len(frame))
    Z = workload_space(frame)
    spacing = typical_spacing(Z, eligible) if eligible.sum() > 1 else 1.0
    weight = 1.0 if uncertainty is None else (1.0 + np.nan_to_num(np.asarray(uncertainty, dtype=float))) / 2.0
    value = representativeness(Z, spacing) * weight
    space = DiversitySpace.build(Z, Z[tested], spacing=spacing)
    selection = greedy_select(space, budget, lambda diversity: value * diversity, eligible=eligible)
    return selection, value
