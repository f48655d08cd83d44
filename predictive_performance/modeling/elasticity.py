"""How much of a faster matrix unit shows up in a step: efficiency's elasticity in the device's matmul rate.

Against the per-layer physics, the same configuration (source, model, settings) measured on several devices
sits further below its roof on the device with the higher matmul rate: launch, host and memory-hierarchy costs
that physics does not charge do not shrink with the rate. On the default data the slope of log efficiency on
log matmul rate within such configurations is -0.10 on Lambda's systems, -0.15 on pytorch-gpu-benchmark's
cards and -0.36 between ML.ENERGY v2's A100 and H100. Trees over spec features cannot carry it past the fastest
device they saw: the H100 held out got the A100's efficiency, and its diffusion rows came out 1.5-2.5x too fast.

``RateElasticity`` fits that slope as one exponent, inside every fit (each held-out fold fits its own, like the
harness overhead), and scales the physics reference by ``(matmul rate / REFERENCE_TFLOPS) ** exponent``; the
trees fit the rest. The slope is taken within configurations (``configuration_ids``) measured on at least two
devices, each configuration's own level removed, so which devices happened to run which workloads does not enter.
It is bounded to [-1, 0]: a faster matrix unit never makes the rest of the step faster, nor the whole step slower.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from predictive_performance.modeling.features import frame_matmul_peak_tflops
from predictive_performance.prediction.transfer import configuration_keys

# The rate at which the factor is one; any constant would do (the trees absorb a level), this keeps it near 1.
REFERENCE_TFLOPS = 100.0
# Below this sum of squared within-configuration spread of log rates the rows cannot tell a slope.
MIN_RATE_SPREAD = 1e-6


@dataclass(frozen=True)
class RateElasticity:
    """``d log(efficiency) / d log(matmul rate)`` within configurations (see the module docstring)."""

    exponent: float = 0.0

    @classmethod
    def fit(cls, rows: pd.DataFrame, log_efficiency: np.ndarray) -> RateElasticity:
        """The within-configuration least-squares slope of ``log_efficiency`` (the speed measured over the physics
        speed, logged) on the log matmul rate, bounded to [-1, 0]; zero when no configuration spans two rates."""
        return cls.from_points(configuration_ids(rows), log_matmul_rate(rows), log_efficiency)

    @classmethod
    def from_points(
        cls, configurations: np.ndarray, log_rate: np.ndarray, log_efficiency: np.ndarray
    ) -> RateElasticity:
        """``fit`` on what it reads of the rows (``configuration_ids``, log rates), which a refit in every fold of
        the same rows computes once."""
        log_efficiency = np.asarray(log_efficiency, dtype=float)
        usable = np.isfinite(log_rate) & np.isfinite(log_efficiency)
        if not usable.any():
            return cls()
        points = pd.DataFrame({"key": configurations[usable], "x": log_rate[usable], "y": log_efficiency[usable]})
        centred = points[["x", "y"]] - points.groupby("key")[["x", "y"]].transform("mean")
        spread = float((centred["x"] ** 2).sum())
        if spread < MIN_RATE_SPREAD:
            return cls()
        return cls(float(np.clip((centred["x"] * centred["y"]).sum() / spread, -1.0, 0.0)))

    def log_factor(self, frame: pd.DataFrame) -> np.ndarray:
        """What the elasticity adds to each row's log physics speed."""
        return self.exponent * log_relative_rate(frame) if self.exponent else np.zeros(len(frame))

    def to_dict(self) -> dict:
        return {"exponent": self.exponent}

    @classmethod
    def from_dict(cls, data: dict) -> RateElasticity:
        return cls(float(data["exponent"]))


def log_matmul_rate(frame: pd.DataFrame) -> np.ndarray:
    """The log matmul rate (TFLOPS) of every row; NaN where a row has none."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logged = np.log(frame_matmul_peak_tflops(frame))
    return np.where(np.isfinite(logged), logged, np.nan)


def log_relative_rate(frame: pd.DataFrame) -> np.ndarray:
    """``log(matmul rate / REFERENCE_TFLOPS)`` of every row; zero where a row has no matmul rate."""
    return np.nan_to_num(log_matmul_rate(frame) - np.log(REFERENCE_TFLOPS), nan=0.0)


def configuration_ids(rows: pd.DataFrame) -> np.ndarray:
    """One integer per row, equal for rows of one configuration on any device (``transfer.configuration_keys``,
    the key the few-shot transfer reads known devices by): integers, so a refit in every fold groups cheaply."""
    return pd.factorize(configuration_keys(rows))[0]
