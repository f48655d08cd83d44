"""Independent fits side by side: a fit on a few thousand rows keeps one core busy, not two.

Held-out folds and the formulation screen's cross-validations do not depend on each other, so they
run in ``TrainingConfig.fold_workers`` processes (joblib's reusable pool), each learner on its share
of ``n_jobs`` threads. Results come back in order, as they finish, for progress.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from joblib import Parallel, delayed

from predictive_performance.modeling.config import TrainingConfig


def side_by_side(
    function: Callable[..., Any], calls: Iterable[tuple], config: TrainingConfig
) -> Iterator[Any]:
    """``function(*call, worker_config)`` for every call, in order; ``worker_config`` shares out the threads."""
    calls = list(calls)
    workers = max(1, min(config.fold_workers, len(calls)))
    shared = dataclasses.replace(config, n_jobs=max(1, config.n_jobs // workers))
    return Parallel(n_jobs=workers, return_as="generator")(delayed(function)(*call, shared) for call in calls)
