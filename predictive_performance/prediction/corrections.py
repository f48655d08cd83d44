"""The few-shot device correction a fitted model carries, so a device with a few measured rows gets it in every prediction.

Retraining with a device's first k rows barely moves the trees (k of thousands of rows), so each
partition model keeps what ``transfer.DeviceTransfer`` needs: its two priors (from the fit's own
leave-devices-out residuals) and every training row's in-sample residual (``residuals``). A device
with fewer than ``MAX_ROWS`` training rows has its rows corrected by what its residuals show; they
are in-sample, so where the trees did learn the device the correction fades by itself. A device
with ``MAX_ROWS`` rows or more is skipped: the trees carry its rows (its in-sample residuals are
near 0), and a matrix of ~100 devices stays cheap. A device with no rows gets nothing: the readings
of known devices need the prediction row to name the harness (``transfer.CONFIG_KEY``'s source),
which prediction rows do not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from predictive_performance.prediction.adaptation import FEATURES, DevicePrior
from predictive_performance.prediction.transfer import (
    CONFIG_KEY,
    DeviceTransfer,
    ReferenceResiduals,
    key_text,
    pair_prior,
)

MAX_ROWS = 50  # a device with this many training rows or more is left to the trees
KEY_COLUMNS = tuple(c for c in ("hardware_name", *CONFIG_KEY) if c not in FEATURES)  # kept as text (``key_text``)


def residual_table(rows: pd.DataFrame, residuals: np.ndarray) -> pd.DataFrame:
    """What a correction reads of each training row: device, configuration (text), workload features, residual."""
    table = pd.DataFrame(index=range(len(rows)))
    for column in KEY_COLUMNS:
        table[column] = key_text(rows[column]).to_numpy() if column in rows else ""
    for column in FEATURES:
        table[column] = pd.to_numeric(rows[column], errors="coerce").to_numpy(dtype=float)
    table["residual"] = np.asarray(residuals, dtype=float)
    return table


@dataclass
class DeviceCorrections:
    """One partition model's per-device log corrections; ``correction(frame)`` is the log factor of each row.

    ``prior`` / ``pair``: ``DeviceTransfer``'s priors; ``residuals``: ``residual_table`` of the training rows
    under the final model. Each device's ``DeviceTransfer`` is fitted on first use and kept.
    """

    prior: DevicePrior
    pair: DevicePrior
    residuals: pd.DataFrame
    max_rows: int = MAX_ROWS
    _fitted: dict[str, DeviceTransfer] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def fit(
        cls, rows: pd.DataFrame, in_sample: np.ndarray, held_out_rows: pd.DataFrame, held_out: np.ndarray
    ) -> DeviceCorrections | None:
        """From the training rows with their in-sample log residuals and the rows with leave-devices-out ones;
        ``None`` where too few devices have rows for a prior."""
        table = residual_table(rows, in_sample)
        try:
            prior = DevicePrior.from_residuals(held_out_rows, held_out, held_out_rows["hardware_name"].to_numpy())
            pair = pair_prior(held_out_rows, held_out, ReferenceResiduals.build(table, table["residual"].to_numpy()))
        except ValueError:
            return None
        return cls(prior, pair, table)

    @cached_property
    def references(self) -> ReferenceResiduals:
        return ReferenceResiduals.build(self.residuals, self.residuals["residual"].to_numpy())

    @cached_property
    def measured(self) -> pd.Series:
        """Training rows per corrected device (those with fewer than ``max_rows``)."""
        counts = self.residuals["hardware_name"].value_counts()
        return counts[counts < self.max_rows]

    def correction(self, frame: pd.DataFrame) -> np.ndarray:
        """The log factor of each row of ``frame``: its device's correction, 0 for a device not corrected."""
        out = np.zeros(len(frame))
        if "hardware_name" not in frame or self.measured.empty:
            return out
        names = frame["hardware_name"].astype(str)
        hit = np.flatnonzero(names.isin(self.measured.index).to_numpy())
        if not len(hit):
            return out
        subset = frame.iloc[hit].reindex(columns=[*KEY_COLUMNS, *FEATURES])  # the columns it reads, not the matrix's
        for device, positions in pd.Series(hit).groupby(names.iloc[hit].to_numpy()).indices.items():
            out[hit[positions]] = self._transfer(device).correction(subset.iloc[positions])
        return out

    def measured_rows(self, frame: pd.DataFrame) -> np.ndarray:
        """Per row of ``frame``, the measured rows its device's correction came from (0: not corrected)."""
        if "hardware_name" not in frame:
            return np.zeros(len(frame), dtype=int)
        return frame["hardware_name"].astype(str).map(self.measured).fillna(0).to_numpy(dtype=int)

    def _transfer(self, device: str) -> DeviceTransfer:
        if device not in self._fitted:
            rows = self.residuals[self.residuals["hardware_name"] == device]
            transfer = DeviceTransfer(self.prior, self.pair, self.references, device)
            self._fitted[device] = transfer.fit(rows, rows["residual"].to_numpy())
        return self._fitted[device]

    def to_dict(self) -> dict:
        """The priors and the row limit, for a version's manifest (``residuals`` is saved beside it)."""
        return {"prior": self.prior.to_dict(), "pair": self.pair.to_dict(), "max_rows": self.max_rows}

    @classmethod
    def from_dict(cls, data: dict, residuals: pd.DataFrame) -> DeviceCorrections:
        return cls(
            DevicePrior.from_dict(data["prior"]), DevicePrior.from_dict(data["pair"]), residuals, int(data["max_rows"])
        )
