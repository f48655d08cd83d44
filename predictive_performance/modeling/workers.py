"""Independent fits side by side: a fit on a few thousand rows keeps one core busy, not two.

Held-out folds and the formulation screen's cross-validations do not depend on each other, so they
run in ``TrainingConfig.fold_workers`` threads, each learner on its share of ``n_jobs``. Threads,
not processes: the boosting libraries release the GIL while they fit, and a thread sees the
vocabulary as it stands (a metric a test registers for its length exists in no fresh process).
Results come back in order, as they finish, for progress.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from joblib import Parallel, delayed

from predictive_performance.modeling.config import TrainingConfig


def side_by_side(function: Callable[..., Any], calls: Iterable[tuple], config: TrainingConfig) -> Iterator[Any]:
    """``function(*call, worker_config)`` for every call, in order; ``worker_config`` shares out the threads."""
    calls = list(calls)
    workers = max(1, min(config.fold_workers, len(calls)))
    shared = dataclasses.replace(config, n_jobs=max(1, config.n_jobs // workers))
    parallel = Parallel(n_jobs=workers, prefer="threads", return_as="generator")
    return parallel(delayed(function)(*call, shared) for call in calls)
