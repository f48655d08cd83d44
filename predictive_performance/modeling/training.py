"""One model per metric and partition: the learners (``learners.LEARNERS``) tuned in grouped folds, plus their average.

A metric's rows are first split by its partition columns (``partitions``: a per-token latency is
never fitted with a per-batch one); ``MetricModel`` holds one ``PartitionModel`` per partition with
at least ``min_rows`` usable rows and predicts each row with its partition's model (no figure where
its partition has none). For each partition ``MetricEstimator(config).fit(frame, metric)`` runs
these steps (1-3 in ``tuning``: ``screen_formulations``, ``search_learner``, ``choose_learners``;
4 here, in ``fit_metric_model``), with the partition's share of the budget:

1. **Target formulation.** Every target is fitted in log space, either directly
   (``log y``) or as an *efficiency* against a physics reference (``log y - log reference``:
   the roofline for throughput, the roofline time of one batch for latency, the weights'
   footprint for memory, the rated power for power). The efficiency form lets a device that is
   faster than any training device be predicted faster, which trees cannot do on their own.
   The *physics* efficiency uses a reference that holds across architectures (matmul rate at the
   precision, TF32 for fp32 on Ampere and later, plus a per-step overhead; ``targets``).
   All are cross-validated with the default hyperparameters of the screening learners
   (``screen_algorithms``, on a sample of ``screen_rows``; every learner on every search row with
   ``TrainingConfig.thorough``); the lower mean grouped error wins (each grouped scheme's RMSE
   taken relative to the best reached in that scheme, so that unseen devices and unseen models
   count equally) and the comparison is recorded. The screen's time counts against the budget.
2. **Tuning.** Optuna's TPE sampler searches each learner's hyperparameters for the lowest
   RMSE (log units) over leave-devices-out and leave-models-out folds, each scheme's RMSE taken
   relative to the default hyperparameters' so that both count equally. Each fold fits with early
   stopping on whole groups of its own training part, so the held-out fold never picks the
   number of trees. A median pruner stops hopeless trials after a few folds, and the search
   ends at ``n_trials`` or ``time_budget_s``, whichever comes first. The default settings are
   always the first trial, so even a tiny budget yields a sound model.
3. **Choice.** Candidates are each tuned learner and the equal-weight average of all of them
   (averaging log predictions); the lowest grouped-CV RMSE (relative, as above) wins, per metric,
   except that the average is kept unless a single learner beats it by more than
   ``ENSEMBLE_TOLERANCE`` (a one-standard-error style rule: the average is the robust choice).
4. **Final fit.** The winner is refitted on all rows, with every learner kept for the spread
   signal, quantile models and per-regime conformal margins (``calibration``), a neighbour
   index, a confidence calibrator (``confidence``) and the few-shot corrections of devices with
   only a few rows (``prediction.corrections``, from residuals this step and tuning already have).

Steps 1-3, the margins and the confidence calibrator fit a model per fold, so on large warehouses
they run on ``folds.search_sample`` (at most ``max_search_rows`` rows, every device x model pair
kept; the margins on a smaller sample of those, ``calibration_rows``); the learners and quantile
models of step 4 always fit every row. Margins estimated from
sample-sized fits are, if anything, wide for models fitted on more rows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from predictive_performance import vocabulary
from predictive_performance.modeling.calibration import (
    ConformalBands,
    apply_bands,
    calibrate,
    fit_quantile_models,
    predict_quantiles,
    regime_of,
)
from predictive_performance.modeling.confidence import (
    WITHIN,
    ConfidenceModel,
    NeighbourIndex,
    signal_matrix,
    unseen_factor,
)
from predictive_performance.modeling.config import TrainingConfig
from predictive_performance.modeling.crossval import cross_validate, tuning_folds
from predictive_performance.modeling.derived import is_derived
from predictive_performance.modeling.features import FeatureSpec
from predictive_performance.modeling.folds import SCHEMES, search_sample
from predictive_performance.modeling.learners import Learner, learner
from predictive_performance.modeling.partitions import SEARCHED_ROWS, partition_config, row_partitions, split_rows
from predictive_performance.modeling.targets import (
    FittedReference,
    column_values,
    fit_reference,
    metric_rows,
    offset,
    refit_shift,
)
from predictive_performance.modeling.tuning import MetricSettings, SchemeOOF, tune_metric
from predictive_performance.modeling.workers import side_by_side
from predictive_performance.prediction.corrections import DeviceCorrections
from predictive_performance.progress import step

if TYPE_CHECKING:
    import lightgbm as lgb

QUANTILES = "quantiles"  # the quantile pair's task among a partition's final fits (no learner's name)


def metric_partitions(
    frame: pd.DataFrame, metric: str | vocabulary.Metric, config: TrainingConfig = TrainingConfig()
) -> dict[str, pd.DataFrame]:
    """The usable rows of every partition of ``metric`` (largest first), trainable or not; a partition another
    metric's model answers (``derived``: a static batch's latency) is never fitted and not among them."""
    every = split_rows(metric_rows(frame, metric, config.formulations), metric)
    return {p: rows for p, rows in every.items() if not is_derived(metric, p)}


def trainable_partitions(
    frame: pd.DataFrame, metric: str | vocabulary.Metric, config: TrainingConfig = TrainingConfig()
) -> dict[str, pd.DataFrame]:
    """The partitions of ``metric`` with at least ``min_rows`` usable rows."""
    return {p: rows for p, rows in metric_partitions(frame, metric, config).items() if len(rows) >= config.min_rows}


def trainable_metrics(frame: pd.DataFrame, config: TrainingConfig = TrainingConfig()) -> list[str]:
    """Metrics with at least one partition of ``min_rows`` usable rows."""
    return [m for m in vocabulary.metric_columns() if trainable_partitions(frame, m, config)]


# Device facts the features read that ``marts.training_features`` may not carry itself.
HARDWARE_FACTS: tuple[str, ...] = (
    "peak_fp16_tflops", "peak_bf16_tflops", "peak_int8_tops", "peak_fp64_tflops", "peak_tf32_tflops",
    "peak_fp8_tflops", "peak_fp4_tflops", "idle_power_w",
)


# Model facts the physics references read (``layers``, ``priors``): a prediction's configuration has them
# from the catalog (``features.MODEL_CATALOG_COLUMNS``), so training rows must have them too.
MODEL_FACTS: tuple[str, ...] = (
    "reference_sequence_length", "reference_image_size", "reference_num_frames", "reference_denoising_steps",
    "unsplit_gflops_per_item", "recurrent_step_layers",
)


def load_training_frame(warehouse) -> pd.DataFrame:
    """``marts.training_features`` plus the device and model facts it lacks (``HARDWARE_FACTS``, ``MODEL_FACTS``)
    from ``marts.dim_hardware`` and ``marts.dim_models``."""
    present = set(warehouse.query("select * from marts.training_features limit 0").columns)
    joined = ""
    for table, alias, facts in (("dim_hardware", "hardware", HARDWARE_FACTS), ("dim_models", "models", MODEL_FACTS)):
        available = set(warehouse.query(f"select * from marts.{table} limit 0").columns)
        joined += "".join(f", {alias}.{c}" for c in facts if c in available and c not in present)
    return warehouse.query(
        f"""
        select features.*{joined}
        from marts.training_features as features
        left join marts.dim_hardware as hardware
            on features.hardware_name = hardware.hardware_name
        left join marts.dim_models as models
            on features.model_name = models.model_name
        order by features.load_id, features.source_row
        """
    )


# --- the fitted model --------------------------------------------------------------------------


@dataclass
class PartitionModel:
    """Everything needed to predict one metric in one partition for any configuration, vectorised."""

    metric: str
    settings: MetricSettings
    spec: FeatureSpec
    learners: dict[str, Learner]  # name -> the learner fitted on all rows
    quantiles: dict[str, lgb.Booster]
    bands: ConformalBands
    neighbours: NeighbourIndex
    confidence: ConfidenceModel | None
    known_hardware: frozenset[str]
    known_models: frozenset[str]
    n_rows: int
    load_ids: dict[str, int]
    n_jobs: int = 2
    corrections: DeviceCorrections | None = None  # few-shot corrections of devices with few rows (none: older versions)
    # the part of the reference fitted on the rows (``targets.fit_reference``): harness overhead, rate elasticity
    fitted_reference: FittedReference | None = None

    def predict(self, frame: pd.DataFrame, components: bool = False, matrix: np.ndarray | None = None) -> pd.DataFrame:
        """``<metric>_pred``, ``_lower``, ``_upper``, ``_confidence`` for every row, in ``frame``'s order.

        ``matrix``: ``spec.matrix(frame)`` when the caller built it already (metrics sharing a layout).
        A device with a few training rows has point and interval moved by its correction (``corrections``).
        """
        metric = vocabulary.metric(self.metric)
        X = self.spec.matrix(frame) if matrix is None else matrix
        shift = offset(frame, metric, self.settings.formulation, self.fitted_reference)
        member = {a: m.predict(X, self.n_jobs) for a, m in self.learners.items()}
        point = np.mean([member[a] for a in self.settings.members], axis=0)
        spread = np.std(list(member.values()), axis=0) if len(member) > 1 else np.zeros(len(frame))
        lower, upper = predict_quantiles(self.quantiles, X, self.n_jobs)
        regimes = regime_of(frame, self.known_hardware, self.known_models)
        distance, density = self.neighbours.query(X)
        lower, upper = apply_bands(lower, upper, point, regimes, distance, self.bands)
        if self.corrections is not None:
            shift = shift + self.corrections.correction(frame)
        if self.confidence is not None:
            confidence = self.confidence.predict(signal_matrix(upper - lower, spread, distance, density))
        else:
            confidence = np.full(len(frame), np.nan)
        usable = np.isfinite(shift)
        out = pd.DataFrame(
            {
                metric.figure("pred"): np.exp(point + shift),
                metric.figure("lower"): np.exp(lower + shift),
                metric.figure("upper"): np.exp(upper + shift),
                metric.figure("confidence"): np.where(usable, confidence, 0.0),
            },
            index=frame.index,
        )
        if components:
            out[metric.figure("interval_width")] = upper - lower
            out[metric.figure("spread")] = spread
            out[metric.figure("distance")] = distance
            out[metric.figure("density")] = density
            out[metric.figure("regime")] = regimes
        return out


@dataclass
class MetricModel:
    """One metric's ``PartitionModel`` per partition (by label, largest first); rows go to their partition's.

    ``partition_by``: the columns the partitions were made of (the metric's, when it was trained);
    ``untrained``: partitions with too few rows for a model, with their usable rows.
    """

    metric: str
    partition_by: tuple[str, ...]
    partitions: dict[str, PartitionModel]
    untrained: dict[str, int] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return sum(part.n_rows for part in self.partitions.values())

    @property
    def load_ids(self) -> dict[str, int]:
        """Rows used from each load, over every partition."""
        out: dict[str, int] = {}
        for part in self.partitions.values():
            for load, rows in part.load_ids.items():
                out[load] = out.get(load, 0) + rows
        return out

    @property
    def settings(self) -> dict[str, MetricSettings]:
        """What tuning chose, by partition (what ``evaluation.evaluate_metric`` refits)."""
        return {partition: part.settings for partition, part in self.partitions.items()}

    @property
    def default_partition(self) -> str:
        """The partition of a configuration that says nothing of them (static batch, per-batch latency,
        accelerator power), trained or not."""
        return row_partitions(pd.DataFrame(index=[0]), self.metric, self.partition_by)[0]

    @property
    def primary_partition(self) -> str:
        """The default partition if trained, else the largest."""
        default = self.default_partition
        return default if default in self.partitions else next(iter(self.partitions))

    @property
    def primary(self) -> PartitionModel:
        """The model of ``primary_partition``."""
        return self.partitions[self.primary_partition]

    def partition_of(self, frame: pd.DataFrame) -> np.ndarray:
        """Each row's partition label."""
        return row_partitions(frame, self.metric, self.partition_by)

    def corrected_rows(self, frame: pd.DataFrame) -> np.ndarray:
        """Per row, the measured rows of its device its partition's correction came from (0: not corrected)."""
        labels = self.partition_of(frame)
        rows = np.zeros(len(frame), dtype=int)
        for label, part in self.partitions.items():
            inside = labels == label
            if part.corrections is not None and inside.any():
                rows[inside] = part.corrections.measured_rows(frame[inside])
        return rows

    def predict(
        self, frame: pd.DataFrame, components: bool = False, matrices: dict[tuple[str, ...], np.ndarray] | None = None
    ) -> pd.DataFrame:
        """``<metric>_pred``, ``_lower``, ``_upper``, ``_confidence``, each row by its partition's model.

        A row whose partition has no model gets NaN: never another partition's figure. A row of a kind of device
        its partition's model never saw has its confidence cut (``confidence.unseen_factor``).
        ``matrices``: model matrices of the whole ``frame`` by feature layout, shared with other metrics.
        """
        matrices = {} if matrices is None else matrices
        labels = self.partition_of(frame)
        parts = []
        for label, part in self.partitions.items():
            rows = np.flatnonzero(labels == label)
            if len(rows) == len(frame):
                layout = tuple(part.spec.names)
                if layout not in matrices:
                    matrices[layout] = part.spec.matrix(frame)
                parts.append(part.predict(frame, components, matrices[layout]).set_axis(rows))
            elif len(rows):
                parts.append(part.predict(frame.iloc[rows], components).set_axis(rows))
        if not parts:
            return pd.DataFrame(np.nan, index=frame.index, columns=list(vocabulary.metric(self.metric).figures))
        out = pd.concat(parts).reindex(range(len(frame))).set_axis(frame.index)
        confidence = vocabulary.metric(self.metric).figure("confidence")
        out[confidence] = out[confidence].to_numpy(dtype=float) * unseen_factor(self, frame)
        return out


def fit_metric_model(
    frame: pd.DataFrame,
    settings: MetricSettings,
    config: TrainingConfig = TrainingConfig(),
    with_confidence: bool = True,
    member_oof: dict[str, SchemeOOF] | None = None,
    regimes: tuple[str, ...] = SCHEMES,
) -> PartitionModel:
    """Refit a tuned setting on ``frame`` (one partition's rows): learners, quantiles, margins, neighbours, confidence
    and the few-shot device corrections (``prediction.corrections``).

    ``with_confidence=False`` (used inside evaluation folds) fits only the learners the point
    prediction needs and skips the confidence calibrator and the corrections; intervals are still calibrated, for the
    novelty ``regimes`` given (all by default; an evaluation fold passes only those its test rows
    fall in, since the other margins would go unused).
    """
    metric = settings.metric
    rows = metric_rows(frame, metric, config.formulations)
    if len(rows) < 2:
        raise ValueError(f"{metric}: {len(rows)} usable rows")
    spec = FeatureSpec.fit(rows)
    X = spec.matrix(rows)
    fitted = fit_reference(rows, metric, settings.formulation)
    target = np.log(column_values(rows, metric)) - offset(rows, metric, settings.formulation, fitted)
    names = list(settings.params) if with_confidence else list(settings.members)
    monotone = spec.monotone(vocabulary.metric(metric).reference, settings.formulation)
    fits = side_by_side(_final_fit, [(name, X, target, settings, monotone) for name in (*names, QUANTILES)], config)
    learners = dict(zip((*names, QUANTILES), fits, strict=True))
    quantiles = learners.pop(QUANTILES)
    # the same rows tune_metric searched on, so its out-of-fold predictions line up
    sample = search_sample(rows, config.max_search_rows, config.seed)
    search, X_search, target_search = rows.iloc[sample].reset_index(drop=True), X[sample], target[sample]
    # the margins on a smaller sample of those rows, their out-of-fold bands indexed back into ``search``
    calibration = search_sample(search, config.calibration_rows, config.seed)
    calibration_rows = search.iloc[calibration].reset_index(drop=True)
    bands, band_oof = calibrate(
        calibration_rows, X_search[calibration], spec.names, target_search[calibration], config, regimes,
        refit_shift(calibration_rows, metric, settings.formulation, fitted),
    )
    band_oof = {scheme: dataclasses.replace(oof, index=calibration[oof.index]) for scheme, oof in band_oof.items()}
    neighbours = NeighbourIndex.fit(X, spec.names, config.seed)
    confidence, corrections = None, None
    if with_confidence:
        if member_oof is None:
            folds, refit = tuning_folds(search, config), refit_shift(search, metric, settings.formulation, fitted)
            member_oof = {
                a: cross_validate(search, X_search, target_search, folds, a, settings.params[a], config,
                                  monotone=monotone, refit=refit).oof
                for a in names
            }
        confidence = _fit_confidence(target_search, settings, bands, band_oof, member_oof)
        corrections = _device_corrections(rows, X, target, learners, settings, search, target_search, member_oof,
                                          config.n_jobs)
    load_ids = rows["load_id"].value_counts().sort_index().to_dict() if "load_id" in rows else {}
    return PartitionModel(
        metric=metric,
        settings=settings,
        spec=spec,
        learners=learners,
        quantiles=quantiles,
        bands=bands,
        neighbours=neighbours,
        confidence=confidence,
        known_hardware=frozenset(rows["hardware_name"].astype(str)),
        known_models=frozenset(rows["model_name"].astype(str)),
        n_rows=len(rows),
        load_ids={str(k): int(v) for k, v in load_ids.items()},
        n_jobs=config.n_jobs,
        corrections=corrections,
        fitted_reference=fitted,
    )


def _final_fit(name: str, X: np.ndarray, target: np.ndarray, settings: MetricSettings, monotone: list[int],
               config: TrainingConfig) -> Learner | dict:
    """One of a partition's final fits, side by side with the others: a learner or (``QUANTILES``) the quantile pair."""
    if name == QUANTILES:
        return fit_quantile_models(X, target, config.coverage, config.seed, config.n_jobs)
    return learner(name)(settings.params[name], settings.rounds[name], config.seed, config.n_jobs,
                         monotone=monotone).fit(X, target)


def _device_corrections(
    rows, X, target, learners, settings, search, target_search, member_oof, n_jobs
) -> DeviceCorrections | None:
    """The corrections from residuals the fit already has, no extra fit: in-sample on every row (the learners just
    fitted), leave-devices-out on the search rows (tuning's out-of-fold predictions)."""
    if not all("new_hardware" in member_oof[a] for a in settings.members):
        return None
    in_sample = target - np.mean([learners[a].predict(X, n_jobs) for a in settings.members], axis=0)
    held_out = target_search - np.mean([member_oof[a]["new_hardware"] for a in settings.members], axis=0)
    return DeviceCorrections.fit(rows, in_sample, search, held_out)


def _fit_confidence(target, settings, bands, band_oof, member_oof) -> ConfidenceModel:
    """Fit the logistic map on out-of-group rows: the same folds gave bands, learners and novelty."""
    signals, within = [], []
    for scheme, bands_oof in band_oof.items():
        if not all(scheme in member_oof[a] for a in member_oof):
            continue
        index = bands_oof.index
        member = np.array([member_oof[a][scheme][index] for a in member_oof])
        point = np.mean([member_oof[a][scheme][index] for a in settings.members], axis=0)
        spread = member.std(axis=0) if len(member) > 1 else np.zeros(len(index))
        margin = bands.row_margins(np.full(len(index), scheme), bands_oof.distance)
        width = np.maximum((bands_oof.upper + margin) - (bands_oof.lower - margin), 0.0)
        signals.append(signal_matrix(width, spread, bands_oof.distance, bands_oof.density))
        within.append(np.abs(np.expm1(point - target[index])) <= WITHIN)
    if not signals:
        return ConfidenceModel.fit(np.empty((0, 4)), np.empty(0, dtype=bool))
    return ConfidenceModel.fit(np.vstack(signals), np.concatenate(within))


class MetricEstimator:
    """Tune, choose and fit the models of one metric, one per partition, in the scikit-learn manner.

    ``fit`` learns, by partition label, ``settings_`` (what tuning chose) and ``member_oof_`` (each
    learner's out-of-fold predictions by scheme, which calibrated the confidence), and ``model_``
    (the ``MetricModel``). The time budget is shared among the partitions in proportion to their
    rows; a small one gets the learners' defaults (``partitions.partition_config``).
    """

    def __init__(self, config: TrainingConfig = TrainingConfig()) -> None:
        self.config = config

    def fit(self, frame: pd.DataFrame, metric: str | vocabulary.Metric) -> MetricEstimator:
        metric = vocabulary.metric(metric)
        every = metric_partitions(frame, metric, self.config)
        trained = {p: rows for p, rows in every.items() if len(rows) >= self.config.min_rows}
        if not trained:
            raise ValueError(f"{metric.column}: no partition has {self.config.min_rows} usable rows ({_sizes(every)})")
        searched = sum(len(rows) for rows in trained.values() if len(rows) >= SEARCHED_ROWS)
        self.settings_, self.member_oof_, models = {}, {}, {}
        for partition, rows in trained.items():
            config = partition_config(self.config, len(rows), searched)
            settings, member_oof = tune_metric(rows, metric, config)
            with step("training", f"{metric.column} [{partition}]: final fit and calibration") as advance:
                models[partition] = fit_metric_model(rows, settings, config, member_oof=member_oof)
                advance(len(rows), detail=f"{settings.algorithm} on {len(rows):,} rows")
            self.settings_[partition], self.member_oof_[partition] = settings, member_oof
        untrained = {p: len(rows) for p, rows in every.items() if p not in trained}
        self.model_ = MetricModel(metric.column, metric.partition_by, models, untrained)
        return self

    def predict(self, frame: pd.DataFrame, components: bool = False) -> pd.DataFrame:
        """The fitted model's ``<metric>_pred / _lower / _upper / _confidence`` columns."""
        return self.model_.predict(frame, components=components)


def _sizes(partitions: dict[str, pd.DataFrame]) -> str:
    return ", ".join(f"{p}: {len(rows)}" for p, rows in partitions.items()) or "no usable rows"


def train_metric(frame: pd.DataFrame, metric: str, config: TrainingConfig = TrainingConfig()) -> MetricModel:
    """The fitted model of one metric (``MetricEstimator(config).fit(frame, metric).model_``)."""
    return MetricEstimator(config).fit(frame, metric).model_


def train(
    frame: pd.DataFrame, metrics: list[str] | None = None, config: TrainingConfig = TrainingConfig()
) -> dict[str, MetricModel]:
    """One model per metric that has enough rows."""
    metrics = metrics or trainable_metrics(frame, config)
    return {metric: train_metric(frame, metric, config) for metric in metrics}
