"""What the learners fit: each metric in log space, directly or as an efficiency against physics.

The efficiency formulation fits ``log y - log reference``, where the reference is what an ideal
device would show (``REFERENCES``, named by each ``Metric.reference``): the roofline for
throughput, the roofline time of one batch for latency, the weights' footprint for memory, the
rated power for power. A device faster than every training device is then predicted faster, which
trees over spec features cannot do on their own. Rows faster than physics allows never get here:
dbt marks them ``is_implausible`` and leaves them out of ``marts.training_features``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from predictive_performance.vocabulary import Metric, metric

FORMULATIONS: tuple[str, ...] = ("efficiency", "direct")


def column_values(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A column as float64 with NaN for missing (all NaN when the frame lacks it)."""
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _devices(frame: pd.DataFrame) -> np.ndarray:
    return np.nan_to_num(column_values(frame, "num_devices"), nan=1.0)


def roofline_throughput(frame: pd.DataFrame) -> np.ndarray:
    """Items/s at the device's roof (``features.add_roofline``)."""
    return column_values(frame, "roofline_throughput")


def roofline_batch_time(frame: pd.DataFrame) -> np.ndarray:
    """Milliseconds one batch takes on all devices at the roofline."""
    return 1000.0 * column_values(frame, "batch_size") * _devices(frame) / column_values(frame, "roofline_throughput")


def weights_memory(frame: pd.DataFrame) -> np.ndarray:
    """MB the weights take at the row's precision."""
    return column_values(frame, "model_memory_mb")


def rated_power(frame: pd.DataFrame) -> np.ndarray:
    """Watts the devices are rated for (TDP times the device count)."""
    return column_values(frame, "tdp_w") * _devices(frame)


REFERENCES: dict[str, Callable[[pd.DataFrame], np.ndarray]] = {
    "roofline_throughput": roofline_throughput,
    "roofline_batch_time": roofline_batch_time,
    "weights_memory": weights_memory,
    "rated_power": rated_power,
}


def reference(frame: pd.DataFrame, name: str | Metric) -> np.ndarray:
    """The physics reference of a metric (not logged): what an ideal device would show."""
    return REFERENCES[metric(name).reference](frame)


def offset(frame: pd.DataFrame, name: str | Metric, formulation: str) -> np.ndarray:
    """What is added to a model's output to get ``log(metric)``."""
    if formulation == "direct":
        return np.zeros(len(frame))
    if formulation == "efficiency":
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.log(reference(frame, name))
        values[~np.isfinite(values)] = np.nan
        return values
    raise ValueError(f"unknown formulation {formulation!r}; expected one of {FORMULATIONS}")


def metric_rows(frame: pd.DataFrame, name: str | Metric, formulations: tuple[str, ...] = FORMULATIONS) -> pd.DataFrame:
    """Rows usable for a metric: a positive measurement and finite offsets."""
    y = column_values(frame, metric(name).column)
    ok = np.isfinite(y) & (y > 0)
    for formulation in formulations:
        ok &= np.isfinite(offset(frame, name, formulation))
    return frame.loc[ok].reset_index(drop=True)
