"""Steps 1-3 of training a metric (see ``training``): screen, search, choose.

``screen_formulations`` picks the target formulation with every learner's defaults,
``search_learner`` runs one learner's Optuna study on that target, and ``choose_learners`` picks
a single learner or their average from the out-of-fold predictions. ``tune_metric`` runs the
three in order and records what each decided in ``MetricSettings``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.stats import ttest_1samp

from predictive_performance import vocabulary
from predictive_performance.modeling.config import TrainingConfig
from predictive_performance.modeling.crossval import (
    CVResult,
    Folds,
    cross_validate,
    joined,
    oof_summary,
    relative_rmse,
    rmse,
    tuning_folds,
)
from predictive_performance.modeling.features import FeatureSpec
from predictive_performance.modeling.folds import search_sample
from predictive_performance.modeling.learners import learner, search_distributions
from predictive_performance.modeling.targets import (
    FittedReference,
    column_values,
    fit_reference,
    formulations_for,
    metric_rows,
    offset,
    refit_shift,
)
from predictive_performance.modeling.workers import side_by_side
from predictive_performance.progress import step

if TYPE_CHECKING:
    import optuna

ENSEMBLE = "ensemble"
# The average is kept unless one learner beats it by more than this (relative grouped RMSE). With
# ten or fewer devices the CV ranking of close candidates is noise: on the Lambda data two
# searches moved a single learner's leave-one-hardware-out MAPE by 5 points, the average's by 0.6.
ENSEMBLE_TOLERANCE = 0.02
# Formulations within this of the best relative grouped error count as tied, and the earliest of them in the
# configured order (``targets.FORMULATIONS``: per-layer physics, with a harness's overhead, the totals, the
# plain roofline, none) wins: the order puts first the references that hold for devices in general, and a
# few devices' folds cannot rank closer ones (static-batch throughput: physics 1.015 against the totals' 1.016
# in one run, 1.002 against 1.000 in the next, after a change to one model's physics).
FORMULATION_TOLERANCE = 0.02

log = logging.getLogger(__name__)

SchemeOOF = dict[str, np.ndarray]  # scheme -> out-of-fold predictions of the target


@dataclass
class MetricSettings:
    """What tuning decided for one metric; enough to refit the same model on other rows."""

    metric: str
    formulation: str
    algorithm: str  # a learner or "ensemble"
    members: list[str]  # learners whose average is the point prediction
    params: dict[str, dict]
    rounds: dict[str, int]
    candidates: dict[str, dict] = field(default_factory=dict)
    formulation_scores: dict[str, dict] = field(default_factory=dict)
    tuning: dict[str, dict] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> MetricSettings:
        return cls(**data)


def search_rows(rows: pd.DataFrame, config: TrainingConfig) -> pd.DataFrame:
    """The rows tuning, calibration and evaluation fit on (all of them up to ``max_search_rows``)."""
    return rows.iloc[search_sample(rows, config.max_search_rows, config.seed)].reset_index(drop=True)


@dataclass(frozen=True)
class TuningData:
    """What every tuning step fits on: the sampled rows, their model matrix, ``log y``, the folds, the
    formulations the metric can take and the part each one's reference fits (``targets.fit_reference``).

    The parts fitted on all these rows set the targets; every fold of a cross-validation refits them on
    its training rows (``targets.refit_shift``), since a per-task cost or a rate elasticity fitted on a
    held-out row's own measurement would flatter the formulation.
    """

    metric: str
    rows: pd.DataFrame
    spec: FeatureSpec
    X: np.ndarray
    log_y: np.ndarray
    folds: Folds
    formulations: tuple[str, ...]
    fitted: dict[str, FittedReference | None]

    @classmethod
    def prepare(cls, frame: pd.DataFrame, metric: str, config: TrainingConfig) -> TuningData:
        rows = search_rows(metric_rows(frame, metric, config.formulations), config)
        if len(rows) < config.min_rows:
            raise ValueError(f"{metric}: {len(rows)} usable rows, need at least {config.min_rows}")
        spec = FeatureSpec.fit(rows)
        formulations = formulations_for(metric, config.formulations)
        fitted = {f: fit_reference(rows, metric, f) for f in formulations}
        log_y = np.log(column_values(rows, metric))
        return cls(metric, rows, spec, spec.matrix(rows), log_y, tuning_folds(rows, config), formulations, fitted)

    def subset(self, max_rows: int, config: TrainingConfig) -> TuningData:
        """These data on at most ``max_rows`` of their rows (``folds.search_sample``), with folds of their own;
        the data themselves when they are no larger."""
        if len(self.rows) <= max_rows:
            return self
        keep = search_sample(self.rows, max_rows, config.seed)
        rows = self.rows.iloc[keep].reset_index(drop=True)
        return TuningData(self.metric, rows, self.spec, self.X[keep], self.log_y[keep], tuning_folds(rows, config),
                          self.formulations, self.fitted)

    def target(self, formulation: str) -> np.ndarray:
        """What the learners fit under a formulation (``targets.offset``)."""
        return self.log_y - offset(self.rows, self.metric, formulation, self.fitted[formulation])

    def cross_validate(self, formulation: str, algorithm: str, params: dict, config: TrainingConfig,
                       trial: optuna.Trial | None = None, schemes: tuple[str, ...] | None = None) -> CVResult:
        """Grouped CV of one learner on a formulation's target, under the formulation's monotone constraints, in
        ``schemes`` (default all of ``folds``)."""
        monotone = self.spec.monotone(vocabulary.metric(self.metric).reference, formulation)
        refit = refit_shift(self.rows, self.metric, formulation, self.fitted[formulation])
        folds = {s: pairs for s, pairs in self.folds.items() if schemes is None or s in schemes}
        return cross_validate(self.rows, self.X, self.target(formulation), folds, algorithm, params, config,
                              trial, monotone, refit)


@dataclass(frozen=True)
class Screening:
    """Step 1's outcome: the formulation, every formulation's scores, the defaults' CV under it."""

    formulation: str
    scores: dict[str, dict]
    defaults: dict[str, CVResult]  # learner -> its default hyperparameters' CV on the chosen target


def screening_learners(config: TrainingConfig) -> tuple[str, ...]:
    """The learners of ``config.screen_algorithms`` that are trained at all; the first learner if none is."""
    return tuple(a for a in config.screen_algorithms if a in config.algorithms) or config.algorithms[:1]


def screen_formulations(data: TuningData, config: TrainingConfig) -> Screening:
    """Step 1: cross-validate every formulation with the screening learners' defaults on a sample of at
    most ``screen_rows`` rows; the lowest relative grouped error wins (each scheme relative to the best
    error reached in it), a near tie going to the more general reference (``choose_formulation``). Then
    every learner's defaults are cross-validated on the chosen target with all search rows (reused from
    the screen where it ran on them): the search's first trial.

    The default screens with the fastest learner on a sample, since the screen's fits count against
    the budget; ``TrainingConfig.thorough`` screens with every learner on every search row.
    """
    sample = data.subset(config.screen_rows, config)
    screen = _defaults_cv(sample, data.formulations, screening_learners(config), config)
    best_in = {s: min(r.scheme_rmse[s] for results in screen.values() for r in results.values()) for s in sample.folds}
    scores = {
        f: {
            "relative": float(np.mean([relative_rmse(r.scheme_rmse, best_in) for r in results.values()])),
            **{a: r.scheme_rmse for a, r in results.items()},
        }
        for f, results in screen.items()
    }
    formulation = choose_formulation({f: score["relative"] for f, score in scores.items()})
    reused = screen[formulation] if sample is data else {}
    fresh = _defaults_cv(data, [formulation], [a for a in config.algorithms if a not in reused], config)[formulation]
    return Screening(formulation, scores, {a: reused[a] if a in reused else fresh[a] for a in config.algorithms})


def choose_formulation(relative: dict[str, float]) -> str:
    """The earliest formulation (in ``relative``'s order) within ``FORMULATION_TOLERANCE`` of the lowest score."""
    best = min(relative.values())
    return next(f for f, score in relative.items() if score <= best * (1 + FORMULATION_TOLERANCE))


def _defaults_cv(data: TuningData, formulations: Sequence[str], algorithms: Sequence[str], config: TrainingConfig
                 ) -> dict[str, dict[str, CVResult]]:
    """Grouped CV of each learner's defaults on each formulation's target (formulation -> learner -> result), all in
    one pool, a scheme of a learner per task (``_default_cv``): the slowest learner's folds do not run alone."""
    tasks = [(f, a, s) for f in formulations for a in algorithms for s in data.folds]
    results = side_by_side(_default_cv, [(data, *task) for task in tasks], config)
    parts: dict[tuple[str, str], list[CVResult]] = {(f, a): [] for f, a, _ in tasks}
    for (formulation, algorithm, _), result in zip(tasks, results, strict=True):
        parts[formulation, algorithm].append(result)
    return {f: {a: joined(parts[f, a]) for a in algorithms} for f in formulations}


def _default_cv(data: TuningData, formulation: str, algorithm: str, scheme: str, config: TrainingConfig) -> CVResult:
    """Grouped CV of one learner's defaults on one formulation's target in one scheme (one task of the screen)."""
    return data.cross_validate(formulation, algorithm, learner(algorithm).default_params, config, schemes=(scheme,))


@dataclass(frozen=True)
class LearnerSearch:
    """Step 2's outcome for one learner: its best trial and how the search went."""

    params: dict
    result: CVResult
    rounds: int  # trees for a fit on all rows: the folds' median early-stopped count, plus 10 %
    record: dict


def search_learner(
    data: TuningData, formulation: str, algorithm: str, default: CVResult, config: TrainingConfig, budget_s: float
) -> LearnerSearch:
    """Step 2: Optuna's TPE search of one learner, its screened defaults entered as the first trial.

    Trials score relative to the defaults in each scheme, so unseen devices and unseen models weigh
    the same; a median pruner stops hopeless trials after a few folds.
    """
    import optuna  # only where a search runs: predicting never needs it

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=config.seed, n_startup_trials=5),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2),
    )
    study.add_trial(
        optuna.trial.create_trial(
            params=dict(learner(algorithm).default_params), distributions=search_distributions(algorithm), value=1.0
        )
    )
    results: dict[int, CVResult] = {0: default}

    def objective(trial: optuna.Trial) -> float:
        result = data.cross_validate(formulation, algorithm, learner(algorithm).search_space(trial), config, trial)
        results[trial.number] = result
        return relative_rmse(result.scheme_rmse, default.scheme_rmse)

    started = time.monotonic()
    if budget_s > 0 and config.n_trials > 1:
        study.optimize(objective, n_trials=config.n_trials - 1, timeout=budget_s, catch=(ValueError,))
    chosen = study.best_trial
    best = results[chosen.number]
    states = [t.state for t in study.trials]
    record = {
        "trials": len(study.trials),
        "complete": sum(s == optuna.trial.TrialState.COMPLETE for s in states),
        "pruned": sum(s == optuna.trial.TrialState.PRUNED for s in states),
        "seconds": round(time.monotonic() - started, 2),
        "best_relative_to_default": chosen.value,
        "best_scheme_rmse": best.scheme_rmse,
        "default_scheme_rmse": default.scheme_rmse,
    }
    rounds = max(1, math.ceil(float(np.median(best.rounds)) * 1.1))
    return LearnerSearch(dict(chosen.params), best, rounds, record)


def choose_learners(
    member_oof: dict[str, SchemeOOF], target: np.ndarray, folds: Folds
) -> tuple[str, list[str], dict[str, dict]]:
    """Step 3: (choice, members, candidates) among each learner and the average of all.

    The lowest relative grouped RMSE wins, except that the average is kept unless a single learner
    beats it by more than ``ENSEMBLE_TOLERANCE`` and fold by fold beyond chance (``beats_in_folds``):
    the average is the robust choice, and a total over a few devices' folds can be one fold's
    accident (static-batch throughput: CatBoost alone 3.6 % ahead in tuning, 5 points behind the
    average leaving a GPU out).
    """
    schemes = list(folds)
    candidates = {a: oof_summary(oof, target) for a, oof in member_oof.items()}
    averaged = {s: np.mean([oof[s] for oof in member_oof.values()], axis=0) for s in schemes}
    if len(member_oof) > 1:
        candidates[ENSEMBLE] = oof_summary(averaged, target)
    best_in = {s: min(c[f"rmse_{s}"] for c in candidates.values()) for s in schemes}
    for c in candidates.values():
        c["relative"] = relative_rmse({s: c[f"rmse_{s}"] for s in schemes}, best_in)
    choice = min(candidates, key=lambda c: candidates[c]["relative"])
    if ENSEMBLE in candidates and choice != ENSEMBLE:
        ratios = np.array([
            np.log(rmse(member_oof[choice][s][test], target[test]) / rmse(averaged[s][test], target[test]))
            for s in schemes for _, test in folds[s]
        ])
        close = candidates[ENSEMBLE]["relative"] <= candidates[choice]["relative"] * (1 + ENSEMBLE_TOLERANCE)
        candidates[choice]["fold_log_ratio"] = {"mean": float(ratios.mean()), "folds": len(ratios)}
        if close or not beats_in_folds(ratios):
            choice = ENSEMBLE
    members = list(member_oof) if choice == ENSEMBLE else [choice]
    return choice, members, candidates


def beats_in_folds(log_ratios: np.ndarray, level: float = 0.05) -> bool:
    """Whether per-fold ``log(RMSE of one learner / RMSE of the average)`` is below zero beyond chance: a one-sided
    paired t-test at ``level``, so a small lead in most folds does not count and a large one in all but one does."""
    log_ratios = log_ratios[np.isfinite(log_ratios)]
    if len(log_ratios) < 2:
        return False
    if np.ptp(log_ratios) == 0:  # no spread, no t statistic: the sign alone decides
        return bool(log_ratios[0] < 0)
    return bool(ttest_1samp(log_ratios, 0.0, alternative="less").pvalue < level)


def tune_metric(
    frame: pd.DataFrame, metric: str | vocabulary.Metric, config: TrainingConfig = TrainingConfig()
) -> tuple[MetricSettings, dict[str, SchemeOOF]]:
    """Pick formulation, hyperparameters and learner(s) for a metric by grouped CV.

    Returns the settings and, per learner, its best trial's out-of-fold predictions (by scheme),
    which the confidence calibrator reuses instead of fitting everything again. The time budget
    is shared out evenly among the learners still to search.
    """
    started = time.monotonic()
    column = vocabulary.metric(metric).column
    data = TuningData.prepare(frame, column, config)
    with step("training", f"{column}: formulation screen") as advance:
        screening = screen_formulations(data, config)
        advance(detail=screening.formulation)
    log.info("%s: formulation %s (%s)", column, screening.formulation, screening.scores)
    target = data.target(screening.formulation)

    searches: dict[str, LearnerSearch] = {}
    for position, algorithm in enumerate(config.algorithms):
        remaining = config.time_budget_s - (time.monotonic() - started)
        budget = max(0.0, remaining / (len(config.algorithms) - position))
        with step("training", f"{column}: search {algorithm}") as advance:
            searches[algorithm] = search_learner(
                data, screening.formulation, algorithm, screening.defaults[algorithm], config, budget
            )
            advance(detail=f"{searches[algorithm].record['trials']} trials")
    member_oof = {a: search.result.oof for a, search in searches.items()}

    choice, members, candidates = choose_learners(member_oof, target, data.folds)
    settings = MetricSettings(
        metric=column,
        formulation=screening.formulation,
        algorithm=choice,
        members=members,
        params={a: search.params for a, search in searches.items()},
        rounds={a: search.rounds for a, search in searches.items()},
        candidates=candidates,
        formulation_scores=screening.scores,
        tuning={a: search.record for a, search in searches.items()}
        | {"seconds": round(time.monotonic() - started, 2), "schemes": list(data.folds)},
    )
    return settings, member_oof
