"""Few-shot adaptation: a per-device correction of the trained model from a handful of measured rows.

A device the model never saw is predicted from its spec sheet, and what the spec sheet misses
(drivers, clocks, cooling, how well kernels use its units) shows up as a residual shared by all of
its rows: in log space, an efficiency offset, and often a trend with the workload (the device
gains more or less from larger batches, or from compute-bound models, than the model expects).
``DeviceAdaptation`` estimates that offset and trend from the device's first k measured rows as a
Bayesian linear model on the workload features (``FEATURES``: log batch size, log arithmetic
intensity, log bytes per value of the precision, log device count: scaling across devices), centred so the intercept is the offset. The prior (``DevicePrior``) comes from how
much such coefficients vary over other devices, measured on residuals of devices each held out
from the model (an empirical-Bayes estimate). So one noisy row moves predictions a little, five
rows fix the offset, and the trend only counts once the rows spread far enough to show it; no
figure here is tuned to one warehouse. It corrects predictions; it never retrains.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

FEATURES: tuple[str, ...] = ("batch_size", "arithmetic_intensity", "precision_bytes", "num_devices")  # logged, centred, scaled
MIN_DEVICE_ROWS = 8  # rows a device needs to estimate its own coefficients for the prior
FLOOR = 1e-4  # smallest prior variance (log units squared): never a coefficient fixed at exactly 0


def workload_design(frame: pd.DataFrame, center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``[1, (log feature - center) / scale ...]`` per row; a missing feature sits at the centre."""
    logged = np.column_stack(
        [np.log(pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float).clip(min=1e-12)) for c in FEATURES]
    )
    standard = np.nan_to_num((logged - center) / scale, nan=0.0, posinf=0.0, neginf=0.0)
    return np.column_stack([np.ones(len(frame)), standard])


@dataclass(frozen=True)
class DevicePrior:
    """How far a new device's correction coefficients typically lie from 0, and the noise around them.

    ``variances``: the prior variance of the offset and of each feature slope; ``noise``: the
    variance of one row's residual around its device's correction; ``center`` / ``scale``: the
    standardisation of the logged features, fixed so slopes mean the same on every device.
    """

    variances: np.ndarray
    noise: float
    center: np.ndarray
    scale: np.ndarray

    @classmethod
    def from_residuals(cls, frame: pd.DataFrame, residuals: np.ndarray, devices: np.ndarray) -> DevicePrior:
        """Method-of-moments estimate from log residuals of held-out devices (``frame``: their rows).

        Per device with ``MIN_DEVICE_ROWS`` rows, least squares gives its coefficients and their
        sampling covariance (from its own residual variance); the prior variance of a coefficient
        is the spread of the devices' coefficients less the part their sampling noise explains
        (``between_variance``), and
        the noise is the median device's residual variance (each device counts once, however many
        rows it has).
        """
        residuals = np.asarray(residuals, dtype=float)
        devices = np.asarray(devices)
        logged = np.log(frame[list(FEATURES)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float).clip(1e-12))
        with warnings.catch_warnings():  # a feature no row has (NaN centre) leaves every row at the centre
            warnings.simplefilter("ignore", RuntimeWarning)
            center, scale = np.nanmean(logged, axis=0), np.nanstd(logged, axis=0)
        scale = np.where(scale > 1e-9, scale, 1.0)
        X = workload_design(frame, center, scale)
        p = X.shape[1]
        coefficients, sampling, noises = [], [], []
        finite = np.flatnonzero(np.isfinite(residuals))
        for positions in pd.Series(finite).groupby(devices[finite]).indices.values():  # one pass, not one mask a device
            rows = finite[positions]
            if len(rows) < max(MIN_DEVICE_ROWS, p + 2):
                continue
            Xd, rd = X[rows], residuals[rows]
            gram = Xd.T @ Xd + 1e-6 * np.eye(p)
            beta = np.linalg.solve(gram, Xd.T @ rd)
            noise = float(((rd - Xd @ beta) ** 2).sum()) / (len(rows) - p)
            coefficients.append(beta)
            sampling.append(noise * np.diag(np.linalg.inv(gram)))
            noises.append(noise)
        if not coefficients:
            raise ValueError(f"no device has {MIN_DEVICE_ROWS} residual rows: cannot estimate a device prior")
        variances = between_variance(np.square(coefficients), np.asarray(sampling))
        return cls(variances, max(float(np.median(noises)), FLOOR), center, scale)

    def to_dict(self) -> dict:
        """Plain lists and numbers, for a model version's manifest."""
        return {"variances": self.variances.tolist(), "noise": self.noise, "center": self.center.tolist(),
                "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> DevicePrior:
        return cls(np.asarray(data["variances"], dtype=float), float(data["noise"]),
                   np.asarray(data["center"], dtype=float), np.asarray(data["scale"], dtype=float))


def between_variance(squares: np.ndarray, sampling: np.ndarray, iterations: int = 50) -> np.ndarray:
    """Per column, the variance ``tau2`` of true coefficients around 0 given each device's squared
    estimate and its sampling variance: the fixed point of ``tau2 = sum w (b^2 - v) / sum w`` with
    ``w = 1 / (tau2 + v)^2``, so a device whose data cannot pin a coefficient (one batch size only)
    barely counts for it."""
    tau2 = np.maximum(np.median(squares, axis=0), FLOOR)
    for _ in range(iterations):
        weights = 1.0 / (tau2 + sampling) ** 2
        tau2 = np.maximum((weights * (squares - sampling)).sum(axis=0) / weights.sum(axis=0), FLOOR)
    return tau2


class DeviceAdaptation:
    """A device's log correction from its measured rows, in the scikit-learn manner.

    ``fit(frame, residuals)`` takes the device's measured rows and ``log measured - log predicted``
    and learns ``coef_`` (offset and slopes, the posterior mean) and ``covariance_``;
    ``correction(frame)`` is the log factor for any rows of the device and ``transform(frame,
    predictions)`` the corrected figures. Unfitted, or fitted on no rows, it corrects nothing.
    """

    def __init__(self, prior: DevicePrior) -> None:
        self.prior = prior

    def fit(self, frame: pd.DataFrame, residuals: np.ndarray) -> DeviceAdaptation:
        residuals = np.asarray(residuals, dtype=float)
        keep = np.isfinite(residuals)
        X = workload_design(frame, self.prior.center, self.prior.scale)[keep]
        precision = np.diag(1.0 / self.prior.variances) + X.T @ X / self.prior.noise
        self.covariance_ = np.linalg.inv(precision)
        self.coef_ = self.covariance_ @ (X.T @ residuals[keep]) / self.prior.noise
        self.n_rows_ = int(keep.sum())
        return self

    def correction(self, frame: pd.DataFrame) -> np.ndarray:
        """The log factor for each row (0 before ``fit``)."""
        if not hasattr(self, "coef_"):
            return np.zeros(len(frame))
        return workload_design(frame, self.prior.center, self.prior.scale) @ self.coef_

    def transform(self, frame: pd.DataFrame, predictions: np.ndarray) -> np.ndarray:
        """``predictions`` (figures, not logs) times the device's correction."""
        return np.asarray(predictions, dtype=float) * np.exp(self.correction(frame))
