"""One model per metric: XGBoost, LightGBM and CatBoost tuned in grouped folds, plus their average.

For each metric with data the steps are:

1. **Target formulation.** Every target is fitted in log space, either directly
   (``log y``) or as an *efficiency* against a physics reference (``log y - log reference``:
   the roofline for throughput, the roofline time of one batch for latency, the weights'
   footprint for memory, the rated power for power). The efficiency form lets a device that is
   faster than any training device be predicted faster, which trees cannot do on their own.
   Both are cross-validated with default hyperparameters for every learner; the lower mean
   grouped error wins (each grouped scheme's RMSE taken relative to the best reached in that
   scheme, so that unseen devices and unseen models count equally) and the comparison is
   recorded.
2. **Tuning.** Optuna's TPE sampler searches each learner's hyperparameters for the lowest
   RMSE (log units) over leave-devices-out and leave-models-out folds, each scheme's RMSE taken
   relative to the default hyperparameters' so that both count equally. Each fold fits with early
   stopping on whole groups of its own training part, so the held-out fold never picks the
   number of trees. A median pruner stops hopeless trials after a few folds, and the search
   ends at ``n_trials`` or ``time_budget_s``, whichever comes first. The default settings are
   always the first trial, so even a tiny budget yields a sound model.
3. **Choice.** Candidates are each tuned learner and the equal-weight average of all of them
   (averaging log predictions); the lowest grouped-CV RMSE (relative, as above) wins, per metric,
   except that the average is kept unless a single learner beats it by more than
   ``ENSEMBLE_TOLERANCE`` (a one-standard-error style rule: the average is the robust choice).
4. **Final fit.** The winner is refitted on all rows, with every learner kept for the spread
   signal, quantile models and per-regime conformal margins (``calibration``), a neighbour
   index and a confidence calibrator (``confidence``).

Steps 1-3, the margins and the confidence calibrator fit a model per fold, so on large warehouses
they run on ``folds.search_sample`` (at most ``max_search_rows`` rows, every device x model pair
kept); the learners and quantile models of step 4 always fit every row. Margins estimated from
sample-sized fits are, if anything, wide for models fitted on more rows.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import catboost as cb
import lightgbm as lgb
import numpy as np
import optuna
import pandas as pd
import xgboost as xgb

from predictive_performance.modeling.calibration import (
    ConformalBands,
    apply_bands,
    calibrate,
    fit_quantile_models,
    predict_quantiles,
    regime_of,
)
from predictive_performance.modeling.confidence import WITHIN, ConfidenceModel, NeighbourIndex, signal_matrix
from predictive_performance.modeling.features import FeatureSpec
from predictive_performance.modeling.folds import SCHEMES, early_stopping_split, scheme_folds, search_sample
from predictive_performance.modeling.targets import FORMULATIONS, column_values, metric_rows, offset
from predictive_performance.vocabulary import metric_columns

ALGORITHMS: tuple[str, ...] = ("xgboost", "lightgbm", "catboost")
ENSEMBLE = "ensemble"
# The average is kept unless one learner beats it by more than this (relative grouped RMSE). With
# ten or fewer devices the CV ranking of close candidates is noise: on the Lambda data two
# searches moved a single learner's leave-one-hardware-out MAPE by 5 points, the average's by 0.6.
ENSEMBLE_TOLERANCE = 0.02
TUNING_SCHEMES: tuple[str, ...] = ("new_hardware", "new_model")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingConfig:
    """Knobs for one training run; the defaults train the real data in a few minutes on 2 cores."""

    time_budget_s: float = 120.0  # per metric: formulation screen + Optuna search of all learners
    n_trials: int = 30  # per learner, at most
    n_folds: int = 5  # per grouped scheme, for tuning and the random / grid calibration folds
    calibration_group_folds: int = 12  # leave-devices-out / leave-models-out calibration folds, at most
    algorithms: tuple[str, ...] = ALGORITHMS
    formulations: tuple[str, ...] = FORMULATIONS
    coverage: float = 0.8
    max_rounds: int = 2000
    early_stopping_rounds: int = 50
    min_rows: int = 20
    max_search_rows: int = 5000  # tuning, calibration and evaluation fit on a sample of at most this many rows
    seed: int = 0
    n_jobs: int = 2

    @classmethod
    def fast(cls, **overrides: Any) -> TrainingConfig:
        """A small budget for tests and smoke runs."""
        settings = dict(
            time_budget_s=10.0, n_trials=2, n_folds=3, calibration_group_folds=6, max_rounds=300, early_stopping_rounds=20
        )
        settings.update(overrides)
        return cls(**settings)

    def to_dict(self) -> dict:
        return asdict(self)


def trainable_metrics(frame: pd.DataFrame, config: TrainingConfig = TrainingConfig()) -> list[str]:
    """Metrics with at least ``min_rows`` usable rows."""
    return [m for m in metric_columns() if len(metric_rows(frame, m, config.formulations)) >= config.min_rows]


def search_rows(rows: pd.DataFrame, config: TrainingConfig) -> pd.DataFrame:
    """The rows tuning, calibration and evaluation fit on (all of them up to ``max_search_rows``)."""
    return rows.iloc[search_sample(rows, config.max_search_rows, config.seed)].reset_index(drop=True)


def load_training_frame(warehouse) -> pd.DataFrame:
    """``marts.training_features`` plus the device's other peak rates from ``marts.dim_hardware``."""
    return warehouse.query(
        """
        select
            features.*,
            hardware.peak_fp16_tflops,
            hardware.peak_bf16_tflops,
            hardware.peak_int8_tops
        from marts.training_features as features
        left join marts.dim_hardware as hardware
            on features.hardware_name = hardware.hardware_name
        order by features.load_id, features.source_row
        """
    )


# --- the three learners behind one interface ------------------------------------------------

DEFAULT_PARAMS: dict[str, dict] = {
    "xgboost": dict(max_depth=5, learning_rate=0.05, min_child_weight=1.0, subsample=0.8, colsample_bytree=0.8,
                    reg_lambda=1.0, reg_alpha=1e-3),
    "lightgbm": dict(num_leaves=15, learning_rate=0.05, min_data_in_leaf=10, feature_fraction=0.8,
                     bagging_fraction=0.8, lambda_l2=1.0, lambda_l1=1e-3),
    "catboost": dict(depth=6, learning_rate=0.08, l2_leaf_reg=3.0, random_strength=1.0, bagging_temperature=1.0),
}


def suggest_params(trial: optuna.Trial, algorithm: str) -> dict:
    if algorithm == "xgboost":
        return dict(
            max_depth=trial.suggest_int("max_depth", 2, 8),
            learning_rate=trial.suggest_float("learning_rate", 0.02, 0.3, log=True),
            min_child_weight=trial.suggest_float("min_child_weight", 0.5, 20.0, log=True),
            subsample=trial.suggest_float("subsample", 0.5, 1.0),
            colsample_bytree=trial.suggest_float("colsample_bytree", 0.4, 1.0),
            reg_lambda=trial.suggest_float("reg_lambda", 1e-3, 30.0, log=True),
            reg_alpha=trial.suggest_float("reg_alpha", 1e-4, 3.0, log=True),
        )
    if algorithm == "lightgbm":
        return dict(
            num_leaves=trial.suggest_int("num_leaves", 4, 64, log=True),
            learning_rate=trial.suggest_float("learning_rate", 0.02, 0.3, log=True),
            min_data_in_leaf=trial.suggest_int("min_data_in_leaf", 3, 50, log=True),
            feature_fraction=trial.suggest_float("feature_fraction", 0.4, 1.0),
            bagging_fraction=trial.suggest_float("bagging_fraction", 0.5, 1.0),
            lambda_l2=trial.suggest_float("lambda_l2", 1e-3, 30.0, log=True),
            lambda_l1=trial.suggest_float("lambda_l1", 1e-4, 3.0, log=True),
        )
    if algorithm == "catboost":
        return dict(
            depth=trial.suggest_int("depth", 3, 8),
            learning_rate=trial.suggest_float("learning_rate", 0.03, 0.3, log=True),
            l2_leaf_reg=trial.suggest_float("l2_leaf_reg", 0.3, 30.0, log=True),
            random_strength=trial.suggest_float("random_strength", 0.1, 10.0, log=True),
            bagging_temperature=trial.suggest_float("bagging_temperature", 0.0, 1.0),
        )
    raise ValueError(f"unknown algorithm {algorithm!r}; expected one of {ALGORITHMS}")


SMALL_FIT_ROWS = 20000


def fit_threads(n_rows: int, n_jobs: int) -> int:
    """One thread for small fits: with a few hundred rows, thread start-up and spinning cost more
    than they save, and on a busy 2-core machine OpenMP spinning slows fits several-fold."""
    return n_jobs if n_rows >= SMALL_FIT_ROWS else 1


def fit_member(
    algorithm: str,
    params: dict,
    X: np.ndarray,
    y: np.ndarray,
    rounds: int,
    seed: int,
    n_jobs: int,
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    early_stopping_rounds: int = 50,
) -> tuple[Any, int]:
    """Fit one learner; with a validation set it stops early. Returns (native model, rounds used)."""
    validate = X_val is not None and len(X_val) > 0
    n_jobs = fit_threads(len(y), n_jobs)
    if algorithm == "xgboost":
        booster_params = {
            "objective": "reg:squarederror", "tree_method": "hist", "nthread": n_jobs, "seed": seed,
            "eta": params["learning_rate"], "max_depth": params["max_depth"],
            "min_child_weight": params["min_child_weight"], "subsample": params["subsample"],
            "colsample_bytree": params["colsample_bytree"], "lambda": params["reg_lambda"], "alpha": params["reg_alpha"],
        }
        train = xgb.DMatrix(X, y)
        if validate:
            booster = xgb.train(booster_params, train, rounds, evals=[(xgb.DMatrix(X_val, y_val), "val")],
                                early_stopping_rounds=early_stopping_rounds, verbose_eval=False)
            return booster, int(booster.best_iteration) + 1
        return xgb.train(booster_params, train, rounds, verbose_eval=False), rounds
    if algorithm == "lightgbm":
        booster_params = {
            "objective": "regression", "verbosity": -1, "num_threads": n_jobs, "seed": seed, "bagging_freq": 1,
            "feature_pre_filter": False, **params,
        }
        booster_params["min_data_in_leaf"] = max(1, min(int(params["min_data_in_leaf"]), len(y) // 4))
        dataset_params = {"verbosity": -1, "min_data_in_bin": 1, "feature_pre_filter": False}
        train = lgb.Dataset(X, y, params=dataset_params)
        if validate:
            valid = lgb.Dataset(X_val, y_val, reference=train, params=dataset_params)
            booster = lgb.train(booster_params, train, rounds, valid_sets=[valid],
                                callbacks=[lgb.early_stopping(early_stopping_rounds, verbose=False)])
            return booster, max(1, int(booster.best_iteration or rounds))
        return lgb.train(booster_params, train, rounds), rounds
    if algorithm == "catboost":
        model = cb.CatBoostRegressor(
            iterations=rounds, thread_count=n_jobs, random_seed=seed, verbose=0, allow_writing_files=False,
            bootstrap_type="Bayesian", **params,
        )
        if validate:
            model.fit(X, y, eval_set=(X_val, y_val), early_stopping_rounds=early_stopping_rounds, use_best_model=True)
            return model, int(model.get_best_iteration()) + 1
        model.fit(X, y)
        return model, rounds
    raise ValueError(f"unknown algorithm {algorithm!r}; expected one of {ALGORITHMS}")


def predict_member(algorithm: str, model: Any, X: np.ndarray, n_jobs: int, rounds: int | None = None) -> np.ndarray:
    """Vectorised prediction from a native model (``rounds`` limits trees for early-stopped fits)."""
    if algorithm == "xgboost":
        model.set_param({"nthread": n_jobs})
        iteration_range = (0, rounds) if rounds else (0, 0)
        return np.asarray(model.inplace_predict(X, iteration_range=iteration_range), dtype=np.float64)
    if algorithm == "lightgbm":
        return model.predict(X, num_iteration=rounds, num_threads=n_jobs)
    if algorithm == "catboost":
        return model.predict(X, ntree_end=rounds or 0, thread_count=n_jobs)
    raise ValueError(f"unknown algorithm {algorithm!r}")


# --- cross-validation and tuning --------------------------------------------------------------


@dataclass
class CVResult:
    score: float  # mean over schemes of RMSE in log units
    scheme_rmse: dict[str, float]
    oof: dict[str, np.ndarray]  # scheme -> out-of-fold predictions of the target (NaN where none)
    rounds: list[int]


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    return float(np.sqrt(np.mean((a[ok] - b[ok]) ** 2))) if ok.any() else float("nan")


def cross_validate(
    frame: pd.DataFrame,
    X: np.ndarray,
    target: np.ndarray,
    folds: dict[str, list[tuple[np.ndarray, np.ndarray]]],
    algorithm: str,
    params: dict,
    config: TrainingConfig,
    trial: optuna.Trial | None = None,
) -> CVResult:
    """Grouped CV with honest early stopping; reports to ``trial`` after every fold for pruning."""
    oof = {scheme: np.full(len(target), np.nan) for scheme in folds}
    rounds: list[int] = []
    step = 0
    for scheme, pairs in folds.items():
        for number, (train, test) in enumerate(pairs):
            fit, val = early_stopping_split(frame.iloc[train], scheme, config.seed + number)
            model, used = fit_member(
                algorithm, params, X[train[fit]], target[train[fit]], config.max_rounds, config.seed, config.n_jobs,
                X[train[val]], target[train[val]], config.early_stopping_rounds,
            )
            rounds.append(used)
            oof[scheme][test] = predict_member(algorithm, model, X[test], config.n_jobs, used)
            step += 1
            if trial is not None:
                done = [_rmse(oof[s], target) for s in folds if np.isfinite(oof[s]).any()]
                trial.report(float(np.mean(done)), step)
                if trial.should_prune():
                    raise optuna.TrialPruned()
    scheme_rmse = {scheme: _rmse(pred, target) for scheme, pred in oof.items()}
    return CVResult(float(np.mean(list(scheme_rmse.values()))), scheme_rmse, oof, rounds)


def tuning_folds(frame: pd.DataFrame, config: TrainingConfig) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """Grouped schemes the data supports; random folds only when no grouping has two groups."""
    folds = {s: f for s in TUNING_SCHEMES if (f := scheme_folds(frame, s, config.n_folds, config.seed)) is not None}
    if not folds:
        folds = {"seen": scheme_folds(frame, "seen", config.n_folds, config.seed)}
    return folds


def oof_summary(oof: dict[str, np.ndarray], target: np.ndarray) -> dict[str, float]:
    """RMSE per scheme and pooled MAPE / median APE (ratios are the same in log or efficiency space)."""
    errors = np.concatenate([pred - target for pred in oof.values()])
    errors = errors[np.isfinite(errors)]
    ape = np.abs(np.expm1(errors))
    out = {f"rmse_{scheme}": _rmse(pred, target) for scheme, pred in oof.items()}
    out.update(
        rmse=float(np.mean([_rmse(pred, target) for pred in oof.values()])),
        mape=float(ape.mean()) if len(ape) else float("nan"),
        median_ape=float(np.median(ape)) if len(ape) else float("nan"),
    )
    return out


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


def tune_metric(
    frame: pd.DataFrame, metric: str, config: TrainingConfig = TrainingConfig()
) -> tuple[MetricSettings, dict[str, dict[str, np.ndarray]]]:
    """Pick formulation, hyperparameters and learner(s) for a metric by grouped CV.

    Returns the settings and, per learner, its best trial's out-of-fold predictions (by scheme),
    which the confidence calibrator reuses instead of fitting everything again.
    """
    started = time.monotonic()
    rows = search_rows(metric_rows(frame, metric, config.formulations), config)
    if len(rows) < config.min_rows:
        raise ValueError(f"{metric}: {len(rows)} usable rows, need at least {config.min_rows}")
    spec = FeatureSpec.fit(rows)
    X = spec.matrix(rows)
    log_y = np.log(column_values(rows, metric))
    folds = tuning_folds(rows, config)

    # 1. formulation screen with default hyperparameters
    screen: dict[str, dict[str, CVResult]] = {}
    for formulation in config.formulations:
        target = log_y - offset(rows, metric, formulation)
        screen[formulation] = {
            a: cross_validate(rows, X, target, folds, a, DEFAULT_PARAMS[a], config) for a in config.algorithms
        }
    # each scheme counts equally *relative to the best error reached in it*: raw RMSEs would let
    # the scheme with the largest errors (usually unseen models) decide alone
    best_in = {s: min(r.scheme_rmse[s] for results in screen.values() for r in results.values()) for s in folds}
    formulation_scores = {
        f: {
            "relative": float(np.mean([_relative(r.scheme_rmse, best_in) for r in results.values()])),
            **{a: r.scheme_rmse for a, r in results.items()},
        }
        for f, results in screen.items()
    }
    formulation = min(formulation_scores, key=lambda f: formulation_scores[f]["relative"])
    target = log_y - offset(rows, metric, formulation)
    log.info("%s: formulation %s (%s)", metric, formulation, formulation_scores)

    # 2. Optuna per learner, the screened defaults entered as the first finished trial
    best: dict[str, dict] = {}
    best_oof: dict[str, dict[str, np.ndarray]] = {}
    best_rounds: dict[str, int] = {}
    tuning: dict[str, dict] = {}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for position, algorithm in enumerate(config.algorithms):
        remaining = config.time_budget_s - (time.monotonic() - started)
        budget = max(0.0, remaining / (len(config.algorithms) - position))
        study = optuna.create_study(
            direction="minimize",
            sampler=optuna.samplers.TPESampler(seed=config.seed, n_startup_trials=5),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2),
        )
        default = screen[formulation][algorithm]
        distributions = _distributions(algorithm)
        study.add_trial(
            optuna.trial.create_trial(
                params=dict(DEFAULT_PARAMS[algorithm]), distributions=distributions, value=1.0,
            )
        )
        results: dict[int, CVResult] = {0: default}

        def objective(
            trial: optuna.Trial, algorithm: str = algorithm, results: dict = results, default: CVResult = default
        ) -> float:
            # relative to the defaults in each scheme, so unseen devices and unseen models weigh the same
            params = suggest_params(trial, algorithm)
            result = cross_validate(rows, X, target, folds, algorithm, params, config, trial)
            results[trial.number] = result
            return _relative(result.scheme_rmse, default.scheme_rmse)

        tuned_started = time.monotonic()
        if budget > 0 and config.n_trials > 1:
            study.optimize(objective, n_trials=config.n_trials - 1, timeout=budget, catch=(ValueError,))
        chosen = study.best_trial
        best[algorithm] = dict(chosen.params)
        best_oof[algorithm] = results[chosen.number].oof
        best_rounds[algorithm] = max(1, math.ceil(float(np.median(results[chosen.number].rounds)) * 1.1))
        states = [t.state for t in study.trials]
        tuning[algorithm] = {
            "trials": len(study.trials),
            "complete": sum(s == optuna.trial.TrialState.COMPLETE for s in states),
            "pruned": sum(s == optuna.trial.TrialState.PRUNED for s in states),
            "seconds": round(time.monotonic() - tuned_started, 2),
            "best_relative_to_default": chosen.value,
            "best_scheme_rmse": results[chosen.number].scheme_rmse,
            "default_scheme_rmse": default.scheme_rmse,
        }

    # 3. candidates: each learner, and the average of all
    candidates = {a: oof_summary(best_oof[a], target) for a in config.algorithms}
    if len(config.algorithms) > 1:
        averaged = {s: np.mean([best_oof[a][s] for a in config.algorithms], axis=0) for s in folds}
        candidates[ENSEMBLE] = oof_summary(averaged, target)
    best_in = {s: min(c[f"rmse_{s}"] for c in candidates.values()) for s in folds}
    for c in candidates.values():
        c["relative"] = _relative({s: c[f"rmse_{s}"] for s in folds}, best_in)
    algorithm = min(candidates, key=lambda c: candidates[c]["relative"])
    if ENSEMBLE in candidates and candidates[ENSEMBLE]["relative"] <= candidates[algorithm]["relative"] * (
        1 + ENSEMBLE_TOLERANCE
    ):
        algorithm = ENSEMBLE
    members = list(config.algorithms) if algorithm == ENSEMBLE else [algorithm]
    settings = MetricSettings(
        metric=metric,
        formulation=formulation,
        algorithm=algorithm,
        members=members,
        params=best,
        rounds=best_rounds,
        candidates=candidates,
        formulation_scores=formulation_scores,
        tuning=tuning | {"seconds": round(time.monotonic() - started, 2), "schemes": list(folds)},
    )
    return settings, best_oof


def _relative(scheme_rmse: dict[str, float], best: dict[str, float]) -> float:
    """Mean over schemes of RMSE / best RMSE in that scheme (1.0 = best everywhere)."""
    return float(np.mean([scheme_rmse[s] / best[s] if best[s] > 0 else 1.0 for s in best]))


def _distributions(algorithm: str) -> dict:
    """The search space as Optuna distributions (for entering the default as a finished trial)."""
    study = optuna.create_study()
    trial = study.ask()
    suggest_params(trial, algorithm)
    return dict(trial.distributions)


# --- the fitted model --------------------------------------------------------------------------


@dataclass
class MetricModel:
    """Everything needed to predict one metric for any configuration, vectorised."""

    metric: str
    settings: MetricSettings
    spec: FeatureSpec
    models: dict[str, Any]  # learner -> native booster, fitted on all rows
    quantiles: dict[str, lgb.Booster]
    bands: ConformalBands
    neighbours: NeighbourIndex
    confidence: ConfidenceModel | None
    known_hardware: frozenset[str]
    known_models: frozenset[str]
    n_rows: int
    load_ids: dict[str, int]
    n_jobs: int = 2

    def predict(self, frame: pd.DataFrame, components: bool = False, matrix: np.ndarray | None = None) -> pd.DataFrame:
        """``<metric>_pred``, ``_lower``, ``_upper``, ``_confidence`` for every row, in ``frame``'s order.

        ``matrix``: ``spec.matrix(frame)`` when the caller built it already (metrics sharing a layout).
        """
        metric = self.metric
        X = self.spec.matrix(frame) if matrix is None else matrix
        shift = offset(frame, metric, self.settings.formulation)
        member = {a: predict_member(a, m, X, self.n_jobs) for a, m in self.models.items()}
        point = np.mean([member[a] for a in self.settings.members], axis=0)
        spread = np.std(list(member.values()), axis=0) if len(member) > 1 else np.zeros(len(frame))
        lower, upper = predict_quantiles(self.quantiles, X, self.n_jobs)
        regimes = regime_of(frame, self.known_hardware, self.known_models)
        distance, density = self.neighbours.query(X)
        lower, upper = apply_bands(lower, upper, point, regimes, distance, self.bands)
        if self.confidence is not None:
            confidence = self.confidence.predict(signal_matrix(upper - lower, spread, distance, density))
        else:
            confidence = np.full(len(frame), np.nan)
        usable = np.isfinite(shift)
        out = pd.DataFrame(
            {
                f"{metric}_pred": np.exp(point + shift),
                f"{metric}_lower": np.exp(lower + shift),
                f"{metric}_upper": np.exp(upper + shift),
                f"{metric}_confidence": np.where(usable, confidence, 0.0),
            },
            index=frame.index,
        )
        if components:
            out[f"{metric}_interval_width"] = upper - lower
            out[f"{metric}_spread"] = spread
            out[f"{metric}_distance"] = distance
            out[f"{metric}_density"] = density
            out[f"{metric}_regime"] = regimes
        return out


def fit_metric_model(
    frame: pd.DataFrame,
    settings: MetricSettings,
    config: TrainingConfig = TrainingConfig(),
    with_confidence: bool = True,
    member_oof: dict[str, dict[str, np.ndarray]] | None = None,
    regimes: tuple[str, ...] = SCHEMES,
) -> MetricModel:
    """Refit a tuned setting on ``frame``: learners, quantile bands, margins, neighbours, confidence.

    ``with_confidence=False`` (used inside evaluation folds) fits only the learners the point
    prediction needs and skips the confidence calibrator; intervals are still calibrated, for the
    novelty ``regimes`` given (all by default; an evaluation fold passes only those its test rows
    fall in, since the other margins would go unused).
    """
    metric = settings.metric
    rows = metric_rows(frame, metric, config.formulations)
    if len(rows) < 2:
        raise ValueError(f"{metric}: {len(rows)} usable rows")
    spec = FeatureSpec.fit(rows)
    X = spec.matrix(rows)
    target = np.log(column_values(rows, metric)) - offset(rows, metric, settings.formulation)
    learners = list(settings.params) if with_confidence else list(settings.members)
    models = {
        a: fit_member(a, settings.params[a], X, target, settings.rounds[a], config.seed, config.n_jobs)[0]
        for a in learners
    }
    quantiles = fit_quantile_models(X, target, config.coverage, config.seed, config.n_jobs)
    # the same rows tune_metric searched on, so its out-of-fold predictions line up
    sample = search_sample(rows, config.max_search_rows, config.seed)
    search, X_search, target_search = rows.iloc[sample].reset_index(drop=True), X[sample], target[sample]
    bands, band_oof = calibrate(
        search, X_search, spec.names, target_search, config.coverage, config.n_folds, config.seed, config.n_jobs, regimes,
        config.calibration_group_folds,
    )
    neighbours = NeighbourIndex.fit(X, spec.names, config.seed)
    confidence = None
    if with_confidence:
        if member_oof is None:
            folds = tuning_folds(search, config)
            member_oof = {
                a: cross_validate(search, X_search, target_search, folds, a, settings.params[a], config).oof
                for a in learners
            }
        confidence = _fit_confidence(target_search, settings, bands, band_oof, member_oof)
    load_ids = rows["load_id"].value_counts().sort_index().to_dict() if "load_id" in rows else {}
    return MetricModel(
        metric=metric,
        settings=settings,
        spec=spec,
        models=models,
        quantiles=quantiles,
        bands=bands,
        neighbours=neighbours,
        confidence=confidence,
        known_hardware=frozenset(rows["hardware_name"].astype(str)),
        known_models=frozenset(rows["model_name"].astype(str)),
        n_rows=len(rows),
        load_ids={str(k): int(v) for k, v in load_ids.items()},
        n_jobs=config.n_jobs,
    )


def _fit_confidence(target, settings, bands, band_oof, member_oof) -> ConfidenceModel:
    """Fit the logistic map on out-of-group rows: the same folds gave bands, learners and novelty."""
    signals, within = [], []
    for scheme, bands_oof in band_oof.items():
        if not all(scheme in member_oof[a] for a in member_oof):
            continue
        index = bands_oof.index
        member = np.array([member_oof[a][scheme][index] for a in member_oof])
        point = np.mean([member_oof[a][scheme][index] for a in settings.members], axis=0)
        spread = member.std(axis=0) if len(member) > 1 else np.zeros(len(index))
        margin = bands.resolved()[scheme] * bands.scale(bands_oof.distance)
        width = np.maximum((bands_oof.upper + margin) - (bands_oof.lower - margin), 0.0)
        signals.append(signal_matrix(width, spread, bands_oof.distance, bands_oof.density))
        within.append(np.abs(np.expm1(point - target[index])) <= WITHIN)
    if not signals:
        return ConfidenceModel.fit(np.empty((0, 4)), np.empty(0, dtype=bool))
    return ConfidenceModel.fit(np.vstack(signals), np.concatenate(within))


def train_metric(frame: pd.DataFrame, metric: str, config: TrainingConfig = TrainingConfig()) -> MetricModel:
    """Tune, choose and fit the model of one metric."""
    settings, member_oof = tune_metric(frame, metric, config)
    return fit_metric_model(frame, settings, config, with_confidence=True, member_oof=member_oof)


def train(
    frame: pd.DataFrame, metrics: list[str] | None = None, config: TrainingConfig = TrainingConfig()
) -> dict[str, MetricModel]:
    """One model per metric that has enough rows."""
    metrics = metrics or trainable_metrics(frame, config)
    return {metric: train_metric(frame, metric, config) for metric in metrics}
