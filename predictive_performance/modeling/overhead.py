"""What a step costs beyond the device: a harness's own time, fitted inside every fit.

A serving engine's step is not only the device's work. Scheduling, sampling and detokenising each
running sequence, and the prefills of arriving requests interleaved with the decodes, cost time the
GPU does not set. On ML.ENERGY v2, where an A100 and an H100 ran the same harness, the measured
A100 / H100 per-token ratio is 1.29 (the median over 72 shared configurations) while the physics
step time says 2.05: a device-independent part of the step. A learned efficiency against physics
alone must then learn that a faster device is less efficient, which trees cannot carry to a device
outside the measured range.

``StepOverhead`` fits one step's time as ``scale x physics + per_task_s[task] + per_item_s x items``
by non-negative least squares on relative error: the physics share that scales with the device, a
fixed cost per step of each task's request set (the harness and its arrival pattern), and a cost
per sequence in the step. It is fitted on the training rows of each fit (each held-out fold fits
its own), so it carries state, unlike the other references. Rows that name no task are one more
request set. A request set no training row ran (a serving prediction that names none, say) gets
the median of the known sets' costs: every measured harness costs something, and the typical one is
the best guess for one nobody measured.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import nnls

# the least share of a fitted step that physics must explain for the device's part to be told apart
MIN_PHYSICS_SHARE = 0.05


@dataclass
class StepOverhead:
    """``seconds = scale x physics + per_task_s[task] + per_item_s x items`` of one step (see the module docstring)."""

    scale: float = 1.0
    per_task_s: dict[str, float] = field(default_factory=dict)
    per_item_s: float = 0.0

    @classmethod
    def fit(cls, measured: np.ndarray, physics: np.ndarray, tasks: np.ndarray, items: np.ndarray) -> StepOverhead:
        """Fit on measured step seconds against the physics step seconds of the same rows.

        Rows without a positive measurement or physics time are left out. When physics explains under
        ``MIN_PHYSICS_SHARE`` of the median fitted step (the rows cannot tell the device's part from the fixed
        costs), the median ratio stands in without overheads, so a faster device is never predicted the same
        as a slower one.
        """
        measured, physics = np.asarray(measured, dtype=float), np.asarray(physics, dtype=float)
        ok = np.isfinite(measured) & np.isfinite(physics) & (measured > 0) & (physics > 0)
        if not ok.any():
            return cls()
        measured, physics = measured[ok], physics[ok]
        tasks, items = _task_keys(tasks)[ok], _items(items)[ok]
        names = sorted(set(tasks))
        design = np.column_stack([physics, *[(tasks == t).astype(float) for t in names], items]) / measured[:, None]
        coefficients, _ = nnls(design, np.ones(len(measured)))
        fitted = cls(
            scale=float(coefficients[0]),
            per_task_s={t: float(c) for t, c in zip(names, coefficients[1:-1], strict=True)},
            per_item_s=float(coefficients[-1]),
        )
        if np.median(fitted.scale * physics / fitted.seconds(physics, tasks, items)) < MIN_PHYSICS_SHARE:
            return cls(scale=float(np.median(measured / physics)))
        return fitted

    def typical_task_s(self) -> float:
        """The fixed cost of a task nobody measured (or of none named): the median of the known tasks' costs."""
        return float(np.median(list(self.per_task_s.values()))) if self.per_task_s else 0.0

    def seconds(self, physics: np.ndarray, tasks: np.ndarray, items: np.ndarray) -> np.ndarray:
        """One step's reference seconds for rows with these physics seconds, tasks and items per step."""
        typical = self.typical_task_s()
        fixed = np.array([self.per_task_s.get(t, typical) for t in _task_keys(tasks)], dtype=float)
        return self.scale * np.asarray(physics, dtype=float) + fixed + self.per_item_s * _items(items)

    def to_dict(self) -> dict:
        return {"scale": self.scale, "per_task_s": dict(self.per_task_s), "per_item_s": self.per_item_s}

    @classmethod
    def from_dict(cls, data: dict) -> StepOverhead:
        per_task = {str(task): float(cost) for task, cost in data["per_task_s"].items()}
        return cls(float(data["scale"]), per_task, float(data["per_item_s"]))


UNNAMED_TASK = ""  # the request set of rows that name no task


def _task_keys(tasks: np.ndarray) -> np.ndarray:
    """Tasks as text, ``UNNAMED_TASK`` where a row has none."""
    return np.array([UNNAMED_TASK if pd.isna(t) else str(t) for t in tasks], dtype=object)


def _items(items: np.ndarray) -> np.ndarray:
    """Items per step, one where the batch is unknown (the system chose it)."""
    return np.nan_to_num(np.asarray(items, dtype=float), nan=1.0)
