"""What the learners fit: each metric in log space, directly or as an efficiency against physics.

The efficiency formulation fits ``log y - log reference``, where the reference is what an ideal
device would show (``REFERENCES``, named by each ``Metric.reference``): the roofline for
throughput, the roofline time of one batch for latency, the weights' footprint for memory, the
rated power for power. A device faster than every training device is then predicted faster, which
trees over spec features cannot do on their own. Rows faster than physics allows never get here:
dbt marks them ``is_implausible`` and leaves them out of ``marts.training_features``.

The *physics* formulation fits the same kind of efficiency against a reference that holds for
devices in general (``PHYSICS_REFERENCES``, where a metric has one): the time of one step is the
sum over layer kinds (linear, attention, normalisation and elementwise, embedding, convolution;
``layers``) of compute time at the rate that kind reaches at the precision (TF32 tensor cores
for fp32 convolutions on Ampere and later, ``features.matmul_peak_tflops``) plus memory time at the
bandwidth, plus a launch and framework overhead per step that dominates small batches,
plus on several devices the time spent communicating. Against the catalog's FP32 peak an A100's
fp32 rows sit at 1.2-1.9x "the roof" and a Volta's at 0.5x, a gap the trees must otherwise learn
per architecture and cannot carry to an unseen one. *physics_totals* is the earlier form for time:
the model's total FLOPs and bytes at the matmul rate plus the overhead, linear over devices; it
predicts unseen models about as well and unseen devices worse
(``benchmarks/results/formulation_comparison.md``), so the screen chooses between them.
*physics_overhead* adds to the physics step time what a harness costs per step whatever the device
(``overhead``). For step times, *physics* also scales with the device's matmul rate by an exponent fitted
within configurations measured on several devices (``elasticity``): a faster matrix unit shows up only in part.
These two fitted parts (``FittedReference``) are fitted on the training rows of every fit and passed to ``offset``.
Memory and power have analytical priors (``priors``): weights, training state, activations, KV cache
and workspace; idle-to-TDP power by the step's compute share.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from predictive_performance.modeling.elasticity import (
    RateElasticity,
    configuration_ids,
    log_matmul_rate,
    log_relative_rate,
)
from predictive_performance.modeling.features import TIME_REFERENCES, frame_matmul_peak_tflops, text_column
from predictive_performance.modeling.features import numeric_column as column_values
from predictive_performance.modeling.layers import (
    STEP_OVERHEAD_S_PER_LAYER,
    TRAINING_FACTOR,
    items_per_step,
    launched_layers,
    step_seconds,
    with_step_seconds,
)
from predictive_performance.modeling.overhead import StepOverhead
from predictive_performance.modeling.priors import memory_prior_mb, power_prior_w
from predictive_performance.vocabulary import Metric, metric

# physics plus a harness's own cost per step, fitted on the training rows (``overhead``); step times only
OVERHEAD_FORMULATION = "physics_overhead"
FORMULATIONS: tuple[str, ...] = ("physics", OVERHEAD_FORMULATION, "physics_totals", "efficiency", "direct")
# the state a formulation's reference fits on the training rows: the harness overhead, the rate elasticity
FittedReference = StepOverhead | RateElasticity


def _devices(frame: pd.DataFrame) -> np.ndarray:
    return np.nan_to_num(column_values(frame, "num_devices"), nan=1.0)


def roofline_throughput(frame: pd.DataFrame) -> np.ndarray:
    """Items/s at the device's roof (``features.add_roofline``)."""
    return column_values(frame, "roofline_throughput")


def roofline_batch_time(frame: pd.DataFrame) -> np.ndarray:
    """Milliseconds one step of all devices (``layers.items_per_step``) takes at the roofline."""
    return 1000.0 * items_per_step(frame) / column_values(frame, "roofline_throughput")


def weights_memory(frame: pd.DataFrame) -> np.ndarray:
    """MB the weights take at the row's precision."""
    return column_values(frame, "model_memory_mb")


def rated_power(frame: pd.DataFrame) -> np.ndarray:
    """Watts the devices are rated for (TDP times the device count)."""
    return column_values(frame, "tdp_w") * _devices(frame)


def physics_step_time(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(seconds one step takes on all devices, items in it): each layer kind at its roof, plus launch
    overhead and communication (``layers.step_seconds``)."""
    return step_seconds(frame)


def totals_step_time(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``physics_step_time`` from the model's total FLOPs and bytes at one roof (the matmul rate) plus
    overhead, with a linear speed-up over devices: the *physics_totals* formulation.

    A row without a batch size (the system chose it) gets one item per step and no overhead.
    """
    devices = _devices(frame)
    with np.errstate(divide="ignore", invalid="ignore"):
        compute = column_values(frame, "flops_per_item") / (frame_matmul_peak_tflops(frame) * 1e12 * devices)
        memory = column_values(frame, "bytes_per_item") / (column_values(frame, "memory_bandwidth_gbs") * 1e9 * devices)
    batch = column_values(frame, "batch_size")
    items = np.where(np.isnan(batch), 1.0, items_per_step(frame))
    training = (frame["mode"].astype("object").to_numpy() == "training") if "mode" in frame.columns else False
    launches = STEP_OVERHEAD_S_PER_LAYER * launched_layers(frame) * np.where(training, TRAINING_FACTOR, 1.0)
    overhead = np.where(np.isnan(batch), 0.0, launches)
    return items * np.fmax(compute, memory) + overhead, items


def physics_throughput(frame: pd.DataFrame) -> np.ndarray:
    """Items/s of ``physics_step_time``."""
    seconds, items = physics_step_time(frame)
    return items / seconds


def physics_batch_time(frame: pd.DataFrame) -> np.ndarray:
    """Milliseconds of one batch at ``physics_step_time``."""
    return 1000.0 * physics_step_time(frame)[0]


def totals_throughput(frame: pd.DataFrame) -> np.ndarray:
    """Items/s of ``totals_step_time``."""
    seconds, items = totals_step_time(frame)
    return items / seconds


def totals_batch_time(frame: pd.DataFrame) -> np.ndarray:
    """Milliseconds of one batch at ``totals_step_time``."""
    return 1000.0 * totals_step_time(frame)[0]


REFERENCES: dict[str, Callable[[pd.DataFrame], np.ndarray]] = {
    "roofline_throughput": roofline_throughput,
    "roofline_batch_time": roofline_batch_time,
    "weights_memory": weights_memory,
    "rated_power": rated_power,
}


# The physics formulation's reference in place of a metric's ``REFERENCES`` entry.
PHYSICS_REFERENCES: dict[str, Callable[[pd.DataFrame], np.ndarray]] = {
    "roofline_throughput": physics_throughput,
    "roofline_batch_time": physics_batch_time,
    "weights_memory": memory_prior_mb,
    "rated_power": power_prior_w,
}


# Where the physics_totals formulation differs from physics (its other references are physics's).
TOTALS_REFERENCES: dict[str, Callable[[pd.DataFrame], np.ndarray]] = {
    "roofline_throughput": totals_throughput,
    "roofline_batch_time": totals_batch_time,
}


def reference(frame: pd.DataFrame, name: str | Metric, formulation: str = "efficiency") -> np.ndarray:
    """The reference of a metric (not logged) under a formulation: what an ideal device would show."""
    key = metric(name).reference
    if formulation == "physics_totals" and key in TOTALS_REFERENCES:
        return TOTALS_REFERENCES[key](frame)
    if formulation in ("physics", "physics_totals") and key in PHYSICS_REFERENCES:
        return PHYSICS_REFERENCES[key](frame)
    return REFERENCES[key](frame)


def is_step_time(name: str | Metric) -> bool:
    """Whether a metric's reference is the time of a step (throughput, latency): the metrics a harness's
    overhead applies to."""
    return metric(name).reference in TIME_REFERENCES


def formulations_for(name: str | Metric, formulations: tuple[str, ...]) -> tuple[str, ...]:
    """The formulations of ``formulations`` a metric can be fitted under."""
    return tuple(f for f in formulations if f != OVERHEAD_FORMULATION or is_step_time(name))


def _step_seconds(name: str | Metric, values: np.ndarray, items: np.ndarray) -> np.ndarray:
    """A step time's metric values (latency in ms, throughput in items/s) as seconds of one step."""
    return values / 1000.0 if metric(name).reference == "roofline_batch_time" else items / values


def _in_metric_unit(name: str | Metric, seconds: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Seconds of one step as the metric states them: ``_step_seconds`` the other way."""
    return 1000.0 * seconds if metric(name).reference == "roofline_batch_time" else items / seconds


def _overhead_inputs(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(physics seconds of one step, its items, the task) of every row: what a harness overhead is fitted on and
    applied to."""
    physics, items = physics_step_time(frame)
    return physics, items, text_column(frame, "task")


def fit_overhead(frame: pd.DataFrame, name: str | Metric) -> StepOverhead:
    """The harness's overhead (``overhead.StepOverhead``) of a step-time metric's rows, against physics."""
    physics, items, tasks = _overhead_inputs(frame)
    measured = _step_seconds(name, column_values(frame, metric(name).column), items)
    return StepOverhead.fit(measured, physics, tasks, items)


def _speed_sign(name: str | Metric) -> int:
    """+1 where a faster step raises the metric (throughput), -1 where it lowers it (a batch's time)."""
    return -TIME_REFERENCES[metric(name).reference]


def _log_physics_efficiency(rows: pd.DataFrame, name: str | Metric) -> np.ndarray:
    """Each row's measured speed over its physics speed, logged: what ``RateElasticity`` is fitted on."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logged = np.log(column_values(rows, metric(name).column)) - np.log(reference(rows, name, "physics"))
    return _speed_sign(name) * logged


def fit_reference(rows: pd.DataFrame, name: str | Metric, formulation: str) -> FittedReference | None:
    """The part of a formulation's reference fitted on ``rows``: the harness overhead of *physics_overhead*, the
    rate elasticity of *physics* for step times; None where the reference fits nothing."""
    if formulation == OVERHEAD_FORMULATION:
        return fit_overhead(rows, name)
    if formulation == "physics" and is_step_time(name):
        return RateElasticity.fit(rows, _log_physics_efficiency(rows, name))
    return None


def overhead_reference(frame: pd.DataFrame, name: str | Metric, overhead: StepOverhead) -> np.ndarray:
    """The *physics_overhead* reference: physics scaled, plus the fitted overhead, in the metric's unit."""
    physics, items, tasks = _overhead_inputs(frame)
    return _in_metric_unit(name, overhead.seconds(physics, tasks, items), items)


# A fold's change of offset: given the training positions of a fold, each row's offset under the reference part
# refitted on them less its offset under the part fitted on all rows (``refit_shift``).
RefitShift = Callable[[np.ndarray], np.ndarray]


def refit_shift(
    rows: pd.DataFrame, name: str | Metric, formulation: str, fitted: FittedReference | None
) -> RefitShift | None:
    """For a formulation whose reference fits a part (``fit_reference``), the shift of every row's offset when a
    fold refits that part on its training rows alone, so no held-out row's harness cost or rate elasticity is
    learnt from itself; None for the formulations that fit nothing. What the refits read of the rows (their
    physics) is computed once here, not again in every fold."""
    if isinstance(fitted, RateElasticity):
        efficiency, configurations = _log_physics_efficiency(rows, name), configuration_ids(rows)
        log_rate, factor_rate = log_matmul_rate(rows), log_relative_rate(rows)

        def elasticity_shift(train: np.ndarray) -> np.ndarray:
            refitted = RateElasticity.from_points(configurations[train], log_rate[train], efficiency[train])
            return _speed_sign(name) * (refitted.exponent - fitted.exponent) * factor_rate

        return elasticity_shift
    if formulation != OVERHEAD_FORMULATION or fitted is None:
        return None
    physics, items, tasks = _overhead_inputs(rows)
    measured = _step_seconds(name, column_values(rows, metric(name).column), items)

    def log_reference(overhead: StepOverhead) -> np.ndarray:
        return np.log(_in_metric_unit(name, overhead.seconds(physics, tasks, items), items))

    fitted_log = log_reference(fitted)

    def overhead_shift(train: np.ndarray) -> np.ndarray:
        return log_reference(StepOverhead.fit(measured[train], physics[train], tasks[train], items[train])) - fitted_log

    return overhead_shift


def offset(
    frame: pd.DataFrame, name: str | Metric, formulation: str, fitted: FittedReference | None = None
) -> np.ndarray:
    """What is added to a model's output to get ``log(metric)``; ``fitted``: the part of the reference fitted on
    the training rows (``fit_reference``), which *physics_overhead* needs and *physics* uses where it has one."""
    if formulation == "direct":
        return np.zeros(len(frame))
    if formulation not in FORMULATIONS:
        raise ValueError(f"unknown formulation {formulation!r}; expected one of {FORMULATIONS}")
    if formulation == OVERHEAD_FORMULATION and not isinstance(fitted, StepOverhead):
        raise ValueError(f"the {OVERHEAD_FORMULATION} formulation needs a fitted overhead (fit_overhead)")
    with np.errstate(divide="ignore", invalid="ignore"):
        if formulation == OVERHEAD_FORMULATION:
            values = np.log(overhead_reference(frame, name, fitted))
        else:
            values = np.log(reference(frame, name, formulation))
    if isinstance(fitted, RateElasticity):
        values = values + _speed_sign(name) * fitted.log_factor(frame)
    values[~np.isfinite(values)] = np.nan
    return values


def metric_rows(frame: pd.DataFrame, name: str | Metric, formulations: tuple[str, ...] = FORMULATIONS) -> pd.DataFrame:
    """Rows usable for a metric: a positive measurement and finite offsets (physics's for *physics_overhead*,
    which adds positive terms to it), with their physics step time kept (``layers.with_step_seconds``)."""
    frame = with_step_seconds(frame)
    y = column_values(frame, metric(name).column)
    ok = np.isfinite(y) & (y > 0)
    for formulation in {"physics" if f == OVERHEAD_FORMULATION else f for f in formulations}:
        ok &= np.isfinite(offset(frame, name, formulation))
    return frame.loc[ok].reset_index(drop=True)
