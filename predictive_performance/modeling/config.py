"""The knobs of one training run, shared by tuning, fitting, evaluation and the registry."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from predictive_performance.modeling.learners import ALGORITHMS
from predictive_performance.modeling.targets import FORMULATIONS


@dataclass(frozen=True)
class TrainingConfig:
    """Knobs for one training run; the defaults train the real data in a few minutes on 2 cores."""

    time_budget_s: float = 120.0  # per metric: formulation screen + Optuna search of all learners
    n_trials: int = 30  # per learner, at most
    n_folds: int = 5  # per grouped scheme, for tuning and the random / grid calibration folds
    calibration_group_folds: int = 12  # leave-devices-out / leave-models-out calibration folds, at most
    algorithms: tuple[str, ...] = ALGORITHMS  # names in ``learners.LEARNERS``
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
