"""Independent fits side by side: a fit on a few thousand rows keeps one core busy, not two.

Held-out folds and the formulation screen's cross-validations do not depend on each other, so they
run in ``TrainingConfig.fold_workers`` processes (joblib's reusable pool), each learner on its share
of ``n_jobs`` threads. Processes, not threads: two boosting libraries fitting in threads of one
process crashed the interpreter once in a benchmark run (a segmentation fault, not reproduced), and
a crash must not take the pipeline down. A worker sees the caller's vocabulary (``_in_vocabulary``),
so a metric registered at run time is known there too. Results come back in order, as they finish.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from joblib import Parallel, delayed

from predictive_performance import vocabulary
from predictive_performance.modeling.config import TrainingConfig


def side_by_side(function: Callable[..., Any], calls: Iterable[tuple], config: TrainingConfig) -> Iterator[Any]:
    """``function(*call, worker_config)`` for every call, in order. With several workers ``worker_config`` shares
    out the threads, and what the function runs side by side in turn runs in its worker, not in more processes;
    calls run here one by one get ``config`` itself, so what they run side by side still can (a split of one fold)."""
    calls = list(calls)
    workers = max(1, min(config.fold_workers, len(calls)))
    if workers == 1:
        return (function(*call, config) for call in calls)
    shared = dataclasses.replace(config, n_jobs=max(1, config.n_jobs // workers), fold_workers=1)
    metrics = vocabulary.metrics()
    parallel = Parallel(n_jobs=workers, return_as="generator")
    return parallel(delayed(_in_vocabulary)(metrics, function, *call, shared) for call in calls)


def _in_vocabulary(metrics: tuple[vocabulary.Metric, ...], function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` with the caller's metrics as the vocabulary's (a worker process imports its own)."""
    vocabulary.METRICS = metrics
    return function(*args)
