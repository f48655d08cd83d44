"""Grouped cross-validation of one learner, the yardstick of tuning and of the confidence calibrator.

Folds hold out whole devices (``new_hardware``) or whole models (``new_model``), the questions the
predictor answers; each fold stops early on whole groups of its own training part, so the
held-out fold never picks the number of trees. Errors are RMSEs of the log target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from predictive_performance.modeling.config import TrainingConfig
from predictive_performance.modeling.folds import FoldPairs, early_stopping_split, scheme_folds
from predictive_performance.modeling.learners import learner
from predictive_performance.modeling.targets import RefitShift

if TYPE_CHECKING:
    import optuna

TUNING_SCHEMES: tuple[str, ...] = ("new_hardware", "new_model")

Folds = dict[str, FoldPairs]


@dataclass
class CVResult:
    score: float  # mean over schemes of RMSE in log units
    scheme_rmse: dict[str, float]
    oof: dict[str, np.ndarray]  # scheme -> out-of-fold predictions of the target (NaN where none)
    rounds: list[int]


def joined(parts: Sequence[CVResult]) -> CVResult:
    """One result from cross-validations of the same learner and target on different schemes."""
    scheme_rmse = {scheme: value for part in parts for scheme, value in part.scheme_rmse.items()}
    oof = {scheme: values for part in parts for scheme, values in part.oof.items()}
    rounds = [count for part in parts for count in part.rounds]
    return CVResult(float(np.mean(list(scheme_rmse.values()))), scheme_rmse, oof, rounds)


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    """RMSE over the positions where both are finite (NaN when there are none)."""
    ok = np.isfinite(a) & np.isfinite(b)
    return float(np.sqrt(np.mean((a[ok] - b[ok]) ** 2))) if ok.any() else float("nan")


def relative_rmse(scheme_rmse: dict[str, float], best: dict[str, float]) -> float:
    """Mean over schemes of RMSE / best RMSE in that scheme (1.0 = best everywhere).

    Raw RMSEs would let the scheme with the largest errors (usually unseen models) decide alone.
    """
    return float(np.mean([scheme_rmse[s] / best[s] if best[s] > 0 else 1.0 for s in best]))


def tuning_folds(frame: pd.DataFrame, config: TrainingConfig) -> Folds:
    """Grouped schemes the data supports; random folds only when no grouping has two groups."""
    folds = {s: f for s in TUNING_SCHEMES if (f := scheme_folds(frame, s, config.n_folds, config.seed)) is not None}
    if not folds:
        folds = {"seen": scheme_folds(frame, "seen", config.n_folds, config.seed)}
    return folds


def cross_validate(
    frame: pd.DataFrame,
    X: np.ndarray,
    target: np.ndarray,
    folds: Folds,
    algorithm: str,
    params: dict,
    config: TrainingConfig,
    trial: optuna.Trial | None = None,
    monotone: Sequence[int] | None = None,
    refit: RefitShift | None = None,
) -> CVResult:
    """Grouped CV with honest early stopping; reports to ``trial`` after every fold for pruning.
    ``monotone``: the learners' sign per column (``FeatureSpec.monotone``); ``refit``: how a fold's own fit of the
    reference shifts the target (``targets.refit_shift``), undone on its predictions so they compare with ``target``."""
    oof = {scheme: np.full(len(target), np.nan) for scheme in folds}
    rounds: list[int] = []
    step = 0
    for scheme, pairs in folds.items():
        for number, (train, test) in enumerate(pairs):
            fit, val = early_stopping_split(frame.iloc[train], scheme, config.seed + number)
            shift = refit(train) if refit is not None else np.zeros(len(target))
            fold_target = target - shift
            member = learner(algorithm)(
                params, config.max_rounds, config.seed, config.n_jobs, config.early_stopping_rounds, monotone
            ).fit(X[train[fit]], fold_target[train[fit]], X[train[val]], fold_target[train[val]])
            rounds.append(member.rounds_)
            oof[scheme][test] = member.predict(X[test], config.n_jobs) + shift[test]
            step += 1
            if trial is not None:
                done = [rmse(oof[s], target) for s in folds if np.isfinite(oof[s]).any()]
                trial.report(float(np.mean(done)), step)
                if trial.should_prune():
                    import optuna

                    raise optuna.TrialPruned()
    scheme_rmse = {scheme: rmse(pred, target) for scheme, pred in oof.items()}
    return CVResult(float(np.mean(list(scheme_rmse.values()))), scheme_rmse, oof, rounds)


def oof_summary(oof: dict[str, np.ndarray], target: np.ndarray) -> dict[str, float]:
    """RMSE per scheme and pooled MAPE / median APE (ratios are the same in log or efficiency space)."""
    errors = np.concatenate([pred - target for pred in oof.values()])
    errors = errors[np.isfinite(errors)]
    ape = np.abs(np.expm1(errors))
    out = {f"rmse_{scheme}": rmse(pred, target) for scheme, pred in oof.items()}
    out.update(
        rmse=float(np.mean([rmse(pred, target) for pred in oof.values()])),
        mape=float(ape.mean()) if len(ape) else float("nan"),
        median_ape=float(np.median(ape)) if len(ape) else float("nan"),
    )
    return out
