"""The knobs of one training run, shared by tuning, fitting, evaluation and the registry."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from predictive_performance.modeling.learners import ALGORITHMS
from predictive_performance.modeling.targets import FORMULATIONS


@dataclass(frozen=True)
class TrainingConfig:
    """Knobs for one training run; the defaults tune, fit and judge a 6,500-row partition in about 2 CPU-minutes.

    Every fold fit costs the same whatever the knobs, so the defaults spend fewer of them where more
    would mostly repeat what is known: the formulation is screened with one learner on a sample, the
    margins and the held-out splits use fewer, larger group folds (a fold that holds out several
    devices is at least as hard as one that holds out one). ``thorough()`` is the full search.
    """

    time_budget_s: float = 5.0  # per partition: formulation screen + Optuna search
    n_trials: int = 30  # per learner, at most
    n_folds: int = 3  # per grouped scheme, for tuning and the random / grid calibration folds
    calibration_group_folds: int = 5  # leave-devices-out / leave-models-out calibration folds, at most
    evaluation_group_folds: int = 5  # leave-one-hardware-out / leave-one-model-out evaluation folds, at most
    evaluation_random_folds: int = 3  # the random split's folds (the optimistic reference beside the grouped ones)
    algorithms: tuple[str, ...] = ALGORITHMS  # names in ``learners.LEARNERS``
    screen_algorithms: tuple[str, ...] = ("lightgbm",)  # learners that screen the formulations (the fastest)
    formulations: tuple[str, ...] = FORMULATIONS
    coverage: float = 0.8
    max_rounds: int = 2000
    early_stopping_rounds: int = 50
    min_rows: int = 20
    max_search_rows: int = 4000  # tuning, calibration and evaluation fit on a sample of at most this many rows
    screen_rows: int = 2000  # the formulation screen fits on a sample of at most this many of those
    calibration_rows: int = 2500  # conformal margins fit on a sample of at most this many of those
    seed: int = 0
    n_jobs: int = 2  # threads per learner
    # held-out folds and screen fits run in this many processes side by side (``workers``), their learners on
    # n_jobs / workers threads each: a fit on a few thousand rows keeps one core busy, not two
    fold_workers: int = 2

    @classmethod
    def thorough(cls, **overrides: Any) -> TrainingConfig:
        """The full search: every learner screens every formulation on a search sample of up to 10,000 rows, a
        two-minute Optuna budget per partition, 5 tuning folds per scheme, margins from 12 group folds, held-out
        splits of up to 30 group folds and 5 random ones."""
        settings = dict(
            time_budget_s=120.0, n_folds=5, calibration_group_folds=12, evaluation_group_folds=30, evaluation_random_folds=5,
            screen_algorithms=ALGORITHMS, max_search_rows=10000, screen_rows=10000, calibration_rows=10000,
        )
        settings.update(overrides)
        return cls(**settings)

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
