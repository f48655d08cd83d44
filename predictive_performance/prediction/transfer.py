"""Few-shot transfer from measured devices: a new device's error read off devices that ran the same tests.

Much of what the model gets wrong on a device it never saw is not the device's alone: a harness
runs one model, batch size and precision badly on every device, or a generation of devices shares
what the spec sheet misses. Where a known device ``d`` ran configuration ``c``, its residual
``e_d(c)`` (log measured - log predicted) is a reading of that error, so ``f(c) + e_d(c)`` is the
new device predicted through ``d`` (``log y_d(c)`` times the ratio the model expects between the
two), and what remains is the pair's own correction: an offset and slopes on the workload, fitted
from the shared measured rows with the Bayesian shrinkage of ``adaptation.DeviceAdaptation`` (its
prior ``pair_prior``: how such pair corrections spread over known pairs). ``DeviceTransfer`` mixes
these paths per row with the device's own correction, each weighted by its predictive precision;
each path's noise is learnt from its own fit on the k rows, so a reference whose ratio wanders
loses weight, and a row no known device ran keeps the plain correction. This is the few-shot
device adaptation of HELP and MAPLE (a device known by its ratios to others on a few probes),
done on the model's residuals so the spec-based ratio still counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from predictive_performance.prediction.adaptation import DeviceAdaptation, DevicePrior, workload_design

CONFIG_KEY: tuple[str, ...] = (
    "source", "task", "model_name", "mode", "precision", "batch_size", "sequence_length", "image_size",
    "num_devices", "parallelism", "compiled",
)  # one test: the same harness, model and settings
NOISE_DOF = 2.0  # the prior noise counts as this many rows against a path's own residuals


def key_text(values: pd.Series) -> pd.Series:
    """A column as key text: a whole number spelt one way whatever its dtype (8 and 8.0 alike), missing as empty."""
    if pd.api.types.is_float_dtype(values):
        whole = values.dropna()
        if (whole == np.round(whole)).all():
            values = values.astype("Int64")
    return values.astype(object).where(values.notna(), "").astype(str)


def configuration_keys(frame: pd.DataFrame) -> pd.Series:
    """One text key per row naming its configuration (missing columns and values count as empty)."""
    parts = [key_text(frame[c]) if c in frame else pd.Series("", frame.index) for c in CONFIG_KEY]
    return parts[0].str.cat(parts[1:], sep="|")


@dataclass(frozen=True)
class ReferenceResiduals:
    """Known devices' log residuals under the model: ``table`` is configuration key x device (mean of repeats)."""

    table: pd.DataFrame

    @classmethod
    def build(cls, frame: pd.DataFrame, residuals: np.ndarray) -> ReferenceResiduals:
        """From known devices' rows and their residuals under the model that predicts the new device."""
        values = pd.DataFrame(
            {"key": configuration_keys(frame).to_numpy(), "device": frame["hardware_name"].to_numpy(), "r": residuals}
        )
        values = values[np.isfinite(values["r"])]
        return cls(values.groupby(["key", "device"])["r"].mean().unstack("device"))

    def at(self, frame: pd.DataFrame, exclude: str | None = None) -> pd.DataFrame:
        """Rows of ``frame`` x known devices: each device's residual at the row's configuration (NaN: not run)."""
        table = self.table.drop(columns=[exclude], errors="ignore")
        return table.reindex(configuration_keys(frame).to_numpy()).set_axis(frame.index)


def pair_prior(frame: pd.DataFrame, held_out: np.ndarray, references: ReferenceResiduals) -> DevicePrior:
    """How pair corrections spread: for each known device (``frame``'s rows, ``held_out`` their residuals
    from models that had not seen the device) and each other device that ran the same configurations,
    the residual left after reading the other's, as ``DevicePrior.from_residuals`` measures devices."""
    readings = references.at(frame)
    rows, differences, pairs = [], [], []
    for device in readings.columns:
        left = held_out - readings[device].to_numpy()
        keep = np.flatnonzero(np.isfinite(left) & (frame["hardware_name"].to_numpy() != device))
        rows.append(keep)
        differences.append(left[keep])
        pairs.append(frame["hardware_name"].to_numpy()[keep].astype(str) + " / " + str(device))
    return DevicePrior.from_residuals(
        frame.iloc[np.concatenate(rows)], np.concatenate(differences), np.concatenate(pairs)
    )


@dataclass
class _Path:
    """One way to predict the device: a base log residual per row plus a fitted correction."""

    adaptation: DeviceAdaptation
    noise: float

    def variance(self, design: np.ndarray) -> np.ndarray:
        return self.noise + np.einsum("ij,jk,ik->i", design, self.adaptation.covariance_, design)


def _fit_path(prior: DevicePrior, frame: pd.DataFrame, residuals: np.ndarray) -> _Path:
    """The path's correction and its noise: the prior noise pooled with its own residuals' (``NOISE_DOF``)."""
    keep = np.isfinite(residuals)
    adaptation = DeviceAdaptation(prior).fit(frame[keep], residuals[keep])
    squares = float(((residuals[keep] - adaptation.correction(frame[keep])) ** 2).sum())
    return _Path(adaptation, (NOISE_DOF * prior.noise + squares) / (NOISE_DOF + keep.sum()))


class DeviceTransfer:
    """A new device's log correction from its k measured rows and the known devices' residuals, in the
    scikit-learn manner.

    ``fit(frame, residuals)``: the device's measured rows and ``log measured - log predicted``;
    ``correction(frame)`` the log factor for any of its rows, ``transform(frame, predictions)`` the
    corrected figures. ``prior``: the device's own correction (``corrections.DeviceCorrections.prior``);
    ``pair``: a pair's (``pair_prior``); ``references``: the known devices' residuals; ``device``: the
    new device's name, never read as its own reference.
    """

    def __init__(self, prior: DevicePrior, pair: DevicePrior, references: ReferenceResiduals, device: str | None = None) -> None:
        self.prior = prior
        self.pair = pair
        self.references = references
        self.device = device

    def fit(self, frame: pd.DataFrame, residuals: np.ndarray) -> DeviceTransfer:
        residuals = np.asarray(residuals, dtype=float)
        readings = self.references.at(frame, self.device)
        self.own_ = _fit_path(self.prior, frame, residuals)
        self.paths_ = {
            device: _fit_path(self.pair, frame, residuals - readings[device].to_numpy()) for device in readings.columns
        }
        return self

    def correction(self, frame: pd.DataFrame) -> np.ndarray:
        """The log factor for each row: the precision-weighted mean of the paths open to it (0 before ``fit``)."""
        if not hasattr(self, "own_"):
            return np.zeros(len(frame))
        own = workload_design(frame, self.prior.center, self.prior.scale)
        pair = workload_design(frame, self.pair.center, self.pair.scale)
        weight = 1.0 / self.own_.variance(own)
        total = weight * (own @ self.own_.adaptation.coef_)
        readings = self.references.at(frame, self.device)
        for device, path in self.paths_.items():
            reading = readings[device].to_numpy()
            ran = np.isfinite(reading)
            if not ran.any():
                continue
            w = np.where(ran, 1.0 / path.variance(pair), 0.0)
            total = total + w * np.where(ran, reading + pair @ path.adaptation.coef_, 0.0)
            weight = weight + w
        return total / weight

    def transform(self, frame: pd.DataFrame, predictions: np.ndarray) -> np.ndarray:
        """``predictions`` (figures, not logs) times the device's correction."""
        return np.asarray(predictions, dtype=float) * np.exp(self.correction(frame))
