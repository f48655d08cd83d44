"""Fold assignments shared by tuning, conformal calibration and the confidence calibrator.

A *scheme* says what the held-out rows have in common, which is what the model will face
when it predicts for real:

- ``seen``: random folds; the held-out rows' model and device are also in the training part.
- ``new_hardware``: whole devices held out (grouped by ``hardware_name``).
- ``new_model``: whole models held out (grouped by ``model_name``).
- ``new_both``: a device *and* a model held out together (a grid of hardware x model folds:
  train on rows that share neither, test on rows that share both).

All assignments are deterministic for a given seed, so tuning, calibration and evaluation see
the same folds and a rerun reproduces the same figures.

``search_sample`` bounds the rows the searches fit on. Tuning, conformal calibration, the
confidence calibrator and evaluation each fit hundreds of models (every fold of every scheme), so
their cost is folds x rows; on a sample of at most ``max_search_rows`` rows that keeps every
device x model pair, a warehouse of a million rows costs the search what ten thousand do, and only
the final learners see every row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SCHEMES: tuple[str, ...] = ("seen", "new_hardware", "new_model", "new_both")
GROUP_COLUMN: dict[str, str] = {"new_hardware": "hardware_name", "new_model": "model_name"}
FoldPairs = list[tuple[np.ndarray, np.ndarray]]  # (train_index, test_index) of each fold


def group_fold_ids(groups: pd.Series | np.ndarray, n_folds: int, seed: int) -> np.ndarray | None:
    """Assign whole groups to folds, balancing rows (largest group first); None with < 2 groups."""
    values = pd.Series(np.asarray(groups, dtype=object)).fillna("<missing>").astype(str)
    sizes = values.value_counts()
    if len(sizes) < 2:
        return None
    k = min(n_folds, len(sizes))
    rng = np.random.default_rng(seed)
    # random order first, then a stable sort by size, so equal-sized groups land in random folds
    order = sizes.index.to_numpy()[rng.permutation(len(sizes))]
    order = sorted(order, key=lambda g: -sizes[g])
    load = np.zeros(k)
    fold_of: dict[str, int] = {}
    for group in order:
        fold = int(np.argmin(load))
        fold_of[group] = fold
        load[fold] += sizes[group]
    return values.map(fold_of).to_numpy(dtype=np.int64)


def random_fold_ids(n_rows: int, n_folds: int, seed: int) -> np.ndarray | None:
    if n_rows < 2:
        return None
    k = min(n_folds, n_rows)
    rng = np.random.default_rng(seed)
    return rng.permutation(np.arange(n_rows) % k)


def scheme_folds(frame: pd.DataFrame, scheme: str, n_folds: int, seed: int) -> FoldPairs | None:
    """(train_index, test_index) pairs for a scheme, or None when the frame cannot support it."""
    if scheme == "seen":
        ids = random_fold_ids(len(frame), n_folds, seed)
        return None if ids is None else _pairs(ids)
    if scheme in GROUP_COLUMN:
        ids = group_fold_ids(frame[GROUP_COLUMN[scheme]], n_folds, seed)
        return None if ids is None else _pairs(ids)
    if scheme == "new_both":
        hardware = group_fold_ids(frame["hardware_name"], n_folds, seed)
        models = group_fold_ids(frame["model_name"], n_folds, seed + 1)
        if hardware is None or models is None:
            return None
        pairs = []
        for h in np.unique(hardware):
            for m in np.unique(models):
                test = np.flatnonzero((hardware == h) & (models == m))
                train = np.flatnonzero((hardware != h) & (models != m))
                if len(test) and len(train):
                    pairs.append((train, test))
        return pairs or None
    raise ValueError(f"unknown scheme {scheme!r}; expected one of {SCHEMES}")


def _pairs(ids: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(np.flatnonzero(ids != f), np.flatnonzero(ids == f)) for f in np.unique(ids)]


def search_sample(frame: pd.DataFrame, max_rows: int, seed: int) -> np.ndarray:
    """Sorted positions of at most ``max_rows`` rows: one of every device x model pair, then random rows.

    All positions when the frame is no larger. Deterministic for a frame and seed, so tuning and
    the final fit's calibration pick the same rows.
    """
    n = len(frame)
    if n <= max_rows:
        return np.arange(n)
    order = np.random.default_rng(seed).permutation(n)
    first = ~frame[["hardware_name", "model_name"]].iloc[order].duplicated().to_numpy()
    chosen = np.concatenate([order[first], order[~first]])[:max_rows]
    return np.sort(chosen)


def early_stopping_split(frame: pd.DataFrame, scheme: str, seed: int, share: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Split a training part into fit / early-stopping rows the way the scheme holds out rows.

    Early stopping on the outer held-out fold would leak it into the score; holding out whole
    groups of the training part instead makes the stopping point honest for unseen groups too.
    """
    n = len(frame)
    rng = np.random.default_rng(seed)
    column = GROUP_COLUMN.get(scheme, "hardware_name" if scheme == "new_both" else None)
    if column is not None:
        groups = frame[column].astype(str).to_numpy()
        unique = np.unique(groups)
        if len(unique) >= 3:
            n_val = max(1, round(share * len(unique)))
            val_groups = rng.choice(unique, size=n_val, replace=False)
            val = np.isin(groups, val_groups)
            if 0 < val.sum() < n:
                return np.flatnonzero(~val), np.flatnonzero(val)
    val = np.zeros(n, dtype=bool)
    val[rng.choice(n, size=max(1, round(share * n)), replace=False)] = True
    return np.flatnonzero(~val), np.flatnonzero(val)
