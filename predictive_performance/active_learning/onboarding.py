"""The first tests on a new device: the k configurations whose results fix its predictions best.

What k results on a device can teach is its correction (``prediction.adaptation``): an offset and
a trend with the workload, to be applied to all of the device's other rows. So the k tests should
stand for those rows: they are chosen greedily for *coverage* (facility location) in the device's
workload space (``workload_space``: batch size, arithmetic intensity, model size, precision, mode),
each pick the candidate that raises the rows' similarity to their nearest test (or tested row) the
most (``coverage_gains``). The first pick is the most typical configuration, the next ones cover what
it leaves uncovered, and a pick next to an earlier one gains little: spread and typicality from one
objective with diminishing returns. The model's uncertainty does not weigh the picks: the rows it is
least sure of (several devices under data parallelism, models unlike the rest) are the ones whose
residuals stand least for the device's, and a correction shared by all of its rows learnt from them
misled it. On the default data's 19 held-out (device, source) pairs (``benchmarks/results/
new_device_curve.md``) the uncertainty weight left the median pair at 27.6 % after one test and
27.9 % after three, worse than the untested 23.9 % and than random tests; without it 21.2 % and
22.5 %, the same 21.2 % at five and 19.6 % against 21.6 % at ten. Density times distance to the
earlier picks, the form before coverage, chose outlying configurations: 22.6 % at five, and one test
per model first 22.5 %. Only configurations the device can run are candidates (``runnable``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictive_performance.active_learning.selection import Selection, typical_spacing

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


def similarities(Z: np.ndarray, bandwidth: float, seed: int = 0) -> np.ndarray:
    """Gaussian similarity of every row to a fixed sample of the rows (``DENSITY_REFERENCES`` at most)."""
    rng = np.random.default_rng(seed)
    references = Z[rng.choice(len(Z), min(DENSITY_REFERENCES, len(Z)), replace=False)]
    squared = ((Z[:, None, :] - references[None, :, :]) ** 2).sum(-1)
    return np.exp(-squared / (2.0 * bandwidth**2))


def coverage_gains(similarity: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """How much each row, were it tested, would raise the references' similarity to their nearest test."""
    return np.maximum(similarity - covered[None, :], 0.0).sum(axis=1)


def choose_device_tests(
    frame: pd.DataFrame, budget: int, tested: np.ndarray | None = None
) -> tuple[Selection, np.ndarray]:
    """The ``budget`` positions of ``frame`` (one device's configurations) to test first, in order.

    ``tested`` marks rows already measured: never chosen, and what they cover counts as covered.
    Returns the selection (each pick's ``diversity``: its coverage gain over the first pick's, 1 for
    the first) and each row's value (typicality: its mean similarity to the rows, scaled to a maximum of 1).
    """
    tested = np.zeros(len(frame), dtype=bool) if tested is None else np.asarray(tested, dtype=bool)
    available = runnable(frame) & ~tested
    if not available.any():
        return Selection([], np.empty(0)), np.zeros(len(frame))
    Z = workload_space(frame)
    similarity = similarities(Z, typical_spacing(Z, available) if available.sum() > 1 else 1.0)
    covered = similarity[tested].max(axis=0) if tested.any() else np.zeros(similarity.shape[1])
    chosen: list[int] = []
    gains: list[float] = []
    while len(chosen) < budget and available.any():
        gain = coverage_gains(similarity, covered)
        best = int(np.argmax(np.where(available, gain, -np.inf)))
        chosen.append(best)
        gains.append(float(gain[best]))
        covered = np.maximum(covered, similarity[best])
        available[best] = False
    first = gains[0] if gains[0] > 0 else 1.0
    typicality = similarity.mean(axis=1)
    return Selection(chosen, np.asarray(gains) / first), typicality / typicality.max()
