"""The gradient-boosting libraries behind one interface: one small class per library.

Each learner knows its default hyperparameters, its Optuna search space, how to fit (with early
stopping on a validation set when one is given), predict, save in its library's own format and
load again. Tuning, fitting and the registry only ever talk to ``Learner``; adding a library is
one class here and one entry in ``LEARNERS``. A library is imported only when a learner fits or a
saved one is opened, so reading a model version's manifest or predicting with two of the three
never loads the third.

``monotone`` (one -1 / 0 / 1 per column, ``FeatureSpec.monotone``) keeps the fitted function
falling, free or rising along each column, in each library's own way, where the learner
``keeps_monotone``: CatBoost's constrained fits take 3.5x as long (300 trees on 5,000 rows: 4.3 s
against 1.2 s, with every leaf-estimation and boosting option tried), which tripled the default
run's training, so it fits unconstrained and the grouped CV weighs it against the constrained two.

Learners follow the scikit-learn manner: ``__init__`` stores its arguments and nothing else,
``fit`` learns ``booster_`` and ``rounds_`` (trees used) and returns ``self``, ``predict`` is pure.
"""

from __future__ import annotations

import importlib
import sys
from abc import ABC, abstractmethod
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    import optuna

SMALL_FIT_ROWS = 20000
# LightGBM settings of every booster perfpredict trains (learners and quantile models): histograms built row-wise,
# which LightGBM otherwise tries both ways before each fit to choose (row-wise wins on our <= 2 threads), and a
# leaf may hold a single row's bin. With ``keep_training_booster`` a fit skips the round trip through the model's
# text that frees its training data: with these, the quantile pair of a calibration fold fits 22 % faster, with the
# same trees.
LIGHTGBM_DATASET_PARAMS: dict[str, Any] = {"verbosity": -1, "min_data_in_bin": 1, "feature_pre_filter": False}
LIGHTGBM_BOOSTER_PARAMS: dict[str, Any] = {**LIGHTGBM_DATASET_PARAMS, "force_row_wise": True}


def fit_threads(n_rows: int, n_jobs: int) -> int:
    """One thread for small fits: with a few hundred rows, thread start-up and spinning cost more
    than they save, and on a busy 2-core machine OpenMP spinning slows fits several-fold."""
    return n_jobs if n_rows >= SMALL_FIT_ROWS else 1


def boosting_library(name: str) -> ModuleType:
    """``xgboost``, ``lightgbm`` or ``catboost``, imported on first use without its scikit-learn wrappers.

    XGBoost and LightGBM import scikit-learn at import time only to offer scikit-learn estimator
    classes, which perfpredict never uses (it calls their native APIs): 0.4 s of CPU in a 2 s
    command-line prediction. While scikit-learn is not imported yet, it is hidden for the length of
    the import, so the libraries load without those wrappers; scikit-learn itself imports normally
    afterwards.
    """
    if name in sys.modules:
        return sys.modules[name]
    hide = "sklearn" not in sys.modules
    if hide:
        sys.modules["sklearn"] = None  # an import of it raises ImportError, which both libraries expect
    try:
        return importlib.import_module(name)
    finally:
        if hide:
            del sys.modules["sklearn"]


class Learner(ABC):
    """One boosting library: defaults, search space, fit, predict, save, load."""

    name: ClassVar[str]
    file_name: ClassVar[str]  # inside a model version's directory; saved versions depend on it
    library: ClassVar[str]  # the distribution (and module) the native booster comes from
    default_params: ClassVar[dict[str, Any]]
    keeps_monotone: ClassVar[bool] = True  # applies ``monotone`` (see the module docstring)

    def __init__(
        self,
        params: dict[str, Any] | None = None,
        rounds: int = 2000,
        seed: int = 0,
        n_jobs: int = 2,
        early_stopping_rounds: int = 50,
        monotone: Sequence[int] | None = None,
    ) -> None:
        self.params = params
        self.rounds = rounds
        self.seed = seed
        self.n_jobs = n_jobs
        self.early_stopping_rounds = early_stopping_rounds
        self.monotone = monotone

    @classmethod
    def library_version(cls) -> str:
        """The installed version of the learner's library, without importing it."""
        return version(cls.library)

    @staticmethod
    @abstractmethod
    def search_space(trial: optuna.Trial) -> dict[str, Any]:
        """Hyperparameters suggested by an Optuna trial."""

    def fit(
        self, X: np.ndarray, y: np.ndarray, X_val: np.ndarray | None = None, y_val: np.ndarray | None = None
    ) -> Learner:
        """Fit up to ``rounds`` trees; with a non-empty validation set, stop early on it."""
        boosting_library(self.library)
        params = dict(self.default_params if self.params is None else self.params)
        if self.keeps_monotone and self.monotone is not None and any(self.monotone):
            params["monotone_constraints"] = [int(sign) for sign in self.monotone]
        validation = (X_val, y_val) if X_val is not None and len(X_val) > 0 else None
        self.booster_, self.rounds_ = self._fit(params, X, y, validation, fit_threads(len(y), self.n_jobs))
        return self

    @abstractmethod
    def _fit(
        self, params: dict, X: np.ndarray, y: np.ndarray, validation: tuple | None, threads: int
    ) -> tuple[Any, int]:
        """The native fit: (booster, rounds used)."""

    def predict(self, X: np.ndarray, n_jobs: int | None = None, rounds: int | None = None) -> np.ndarray:
        """Predictions of the first ``rounds`` trees (default ``rounds_``, what early stopping kept)."""
        return self._predict(X, self.n_jobs if n_jobs is None else n_jobs, rounds or self.rounds_)

    @abstractmethod
    def _predict(self, X: np.ndarray, n_jobs: int, rounds: int) -> np.ndarray:
        """The native prediction, float64."""

    def save(self, path: str | Path) -> None:
        self.booster_.save_model(str(path))

    @classmethod
    def from_path(cls, path: str | Path, n_jobs: int = 2) -> Learner:
        """A fitted learner read from a file ``save`` wrote; it predicts with every tree saved."""
        learner = cls(n_jobs=n_jobs)
        boosting_library(cls.library)
        learner.booster_ = cls._load(str(path))
        learner.rounds_ = cls._tree_count(learner.booster_)
        return learner

    @staticmethod
    @abstractmethod
    def _load(path: str) -> Any:
        """The native booster in a file."""

    @staticmethod
    @abstractmethod
    def _tree_count(booster: Any) -> int:
        """How many boosting rounds a native booster holds."""


class XGBoostLearner(Learner):
    name = "xgboost"
    file_name = "xgboost.ubj"
    library = "xgboost"
    default_params = dict(
        max_depth=5, learning_rate=0.05, min_child_weight=1.0, subsample=0.8, colsample_bytree=0.8,
        reg_lambda=1.0, reg_alpha=1e-3,
    )

    @staticmethod
    def search_space(trial: optuna.Trial) -> dict[str, Any]:
        return dict(
            max_depth=trial.suggest_int("max_depth", 2, 8),
            learning_rate=trial.suggest_float("learning_rate", 0.02, 0.3, log=True),
            min_child_weight=trial.suggest_float("min_child_weight", 0.5, 20.0, log=True),
            subsample=trial.suggest_float("subsample", 0.5, 1.0),
            colsample_bytree=trial.suggest_float("colsample_bytree", 0.4, 1.0),
            reg_lambda=trial.suggest_float("reg_lambda", 1e-3, 30.0, log=True),
            reg_alpha=trial.suggest_float("reg_alpha", 1e-4, 3.0, log=True),
        )

    def _fit(self, params, X, y, validation, threads):
        import xgboost as xgb

        booster_params = {
            "objective": "reg:squarederror", "tree_method": "hist", "nthread": threads, "seed": self.seed,
            "eta": params["learning_rate"], "max_depth": params["max_depth"],
            "min_child_weight": params["min_child_weight"], "subsample": params["subsample"],
            "colsample_bytree": params["colsample_bytree"], "lambda": params["reg_lambda"], "alpha": params["reg_alpha"],
        }
        if "monotone_constraints" in params:
            booster_params["monotone_constraints"] = "(" + ",".join(map(str, params["monotone_constraints"])) + ")"
        train = xgb.DMatrix(X, y)
        if validation is None:
            return xgb.train(booster_params, train, self.rounds, verbose_eval=False), self.rounds
        booster = xgb.train(booster_params, train, self.rounds, evals=[(xgb.DMatrix(*validation), "val")],
                            early_stopping_rounds=self.early_stopping_rounds, verbose_eval=False)
        return booster, int(booster.best_iteration) + 1

    def _predict(self, X, n_jobs, rounds):
        self.booster_.set_param({"nthread": n_jobs})
        return np.asarray(self.booster_.inplace_predict(X, iteration_range=(0, rounds)), dtype=np.float64)

    @staticmethod
    def _load(path):
        import xgboost as xgb

        return xgb.Booster(model_file=path)

    @staticmethod
    def _tree_count(booster):
        return booster.num_boosted_rounds()


class LightGBMLearner(Learner):
    name = "lightgbm"
    file_name = "lightgbm.txt"
    library = "lightgbm"
    default_params = dict(
        num_leaves=15, learning_rate=0.05, min_data_in_leaf=10, feature_fraction=0.8, bagging_fraction=0.8,
        lambda_l2=1.0, lambda_l1=1e-3,
    )

    @staticmethod
    def search_space(trial: optuna.Trial) -> dict[str, Any]:
        return dict(
            num_leaves=trial.suggest_int("num_leaves", 4, 64, log=True),
            learning_rate=trial.suggest_float("learning_rate", 0.02, 0.3, log=True),
            min_data_in_leaf=trial.suggest_int("min_data_in_leaf", 3, 50, log=True),
            feature_fraction=trial.suggest_float("feature_fraction", 0.4, 1.0),
            bagging_fraction=trial.suggest_float("bagging_fraction", 0.5, 1.0),
            lambda_l2=trial.suggest_float("lambda_l2", 1e-3, 30.0, log=True),
            lambda_l1=trial.suggest_float("lambda_l1", 1e-4, 3.0, log=True),
        )

    def _fit(self, params, X, y, validation, threads):
        import lightgbm as lgb

        booster_params = {
            **LIGHTGBM_BOOSTER_PARAMS, "objective": "regression", "num_threads": threads, "seed": self.seed,
            "bagging_freq": 1, **params,
        }
        # a leaf may not need more rows than a quarter of a small training set has
        booster_params["min_data_in_leaf"] = max(1, min(int(params["min_data_in_leaf"]), len(y) // 4))
        train = lgb.Dataset(X, y, params=LIGHTGBM_DATASET_PARAMS)
        if validation is None:
            return lgb.train(booster_params, train, self.rounds, keep_training_booster=True), self.rounds
        valid = lgb.Dataset(*validation, reference=train, params=LIGHTGBM_DATASET_PARAMS)
        booster = lgb.train(booster_params, train, self.rounds, valid_sets=[valid], keep_training_booster=True,
                            callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)])
        return booster, max(1, int(booster.best_iteration or self.rounds))

    def _predict(self, X, n_jobs, rounds):
        return self.booster_.predict(X, num_iteration=rounds, num_threads=n_jobs)

    @staticmethod
    def _load(path):
        import lightgbm as lgb

        return lgb.Booster(model_file=path)

    @staticmethod
    def _tree_count(booster):
        return booster.current_iteration()


class CatBoostLearner(Learner):
    name = "catboost"
    file_name = "catboost.cbm"
    library = "catboost"
    keeps_monotone = False
    default_params = dict(depth=6, learning_rate=0.08, l2_leaf_reg=3.0, random_strength=1.0, bagging_temperature=1.0)

    @staticmethod
    def search_space(trial: optuna.Trial) -> dict[str, Any]:
        return dict(
            depth=trial.suggest_int("depth", 3, 8),
            learning_rate=trial.suggest_float("learning_rate", 0.03, 0.3, log=True),
            l2_leaf_reg=trial.suggest_float("l2_leaf_reg", 0.3, 30.0, log=True),
            random_strength=trial.suggest_float("random_strength", 0.1, 10.0, log=True),
            bagging_temperature=trial.suggest_float("bagging_temperature", 0.0, 1.0),
        )

    def _fit(self, params, X, y, validation, threads):
        import catboost as cb

        model = cb.CatBoostRegressor(
            iterations=self.rounds, thread_count=threads, random_seed=self.seed, verbose=0, allow_writing_files=False,
            bootstrap_type="Bayesian", **params,
        )
        if validation is None:
            model.fit(X, y)
            return model, self.rounds
        model.fit(X, y, eval_set=validation, early_stopping_rounds=self.early_stopping_rounds, use_best_model=True)
        return model, int(model.get_best_iteration()) + 1

    def _predict(self, X, n_jobs, rounds):
        return self.booster_.predict(X, ntree_end=rounds, thread_count=n_jobs)

    @staticmethod
    def _load(path):
        import catboost as cb

        return cb.CatBoostRegressor().load_model(path)

    @staticmethod
    def _tree_count(booster):
        return booster.tree_count_


LEARNERS: dict[str, type[Learner]] = {c.name: c for c in (XGBoostLearner, LightGBMLearner, CatBoostLearner)}
ALGORITHMS: tuple[str, ...] = tuple(LEARNERS)


def learner(name: str) -> type[Learner]:
    """The learner class of a name in ``LEARNERS``."""
    try:
        return LEARNERS[name]
    except KeyError:
        raise ValueError(f"unknown learner {name!r}; expected one of {', '.join(LEARNERS)}") from None


def search_distributions(name: str) -> dict[str, optuna.distributions.BaseDistribution]:
    """A learner's search space as Optuna distributions (to enter its defaults as a finished trial)."""
    import optuna

    trial = optuna.create_study().ask()
    learner(name).search_space(trial)
    return dict(trial.distributions)
