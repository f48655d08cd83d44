"""Honest accuracy: held-out figures per split, per stratum, next to a physics baseline.

Splits (``docs/architecture.md``, "Honest accuracy"):

- ``random_kfold``: ``TrainingConfig.evaluation_random_folds`` random folds (3; 5 thorough). Optimistic: the same model and device, usually the same
  configuration at another repeat, are in training.
- ``leave_one_hardware_out``: each device is held out entirely, exactly once. The question the
  product answers. With more devices than ``TrainingConfig.evaluation_group_folds`` a fold holds out
  several (whole groups, balanced by rows), which is at least as hard as holding out one: less is
  left to train on and nothing of the held-out devices. ``n_folds`` records how many folds ran.
- ``leave_one_model_out``: the same with models.
- ``time_based``: the latest 20 % of timestamps held out, trained on everything earlier; only
  when ``measured_at`` has at least two distinct values (rows without a timestamp sit out).

In every fold the tuned setting (formulation, learners, hyperparameters) is refitted on the
training part only, quantile models and conformal margins included, so intervals are judged on
rows their calibration never saw. Hyperparameters were chosen once by grouped CV on all rows,
which is mildly optimistic; refitting the search per fold would multiply the cost by the folds.

Baseline (``method = 'baseline'``): *roofline-scaled nearest neighbour*. For a held-out row take
the most similar training row -- same model if there is one, else the model with the nearest
parameters / FLOPs; then the same precision, mode and platform where possible, the nearest batch
size, device count and device specs -- and scale its measurement by the ratio of the two rows'
physics references (the roofline for throughput; see ``targets.reference``). It is what an
engineer would do by hand with one benchmark table and a spec sheet, so the gap between the two
rows of a split is what the learned model adds.

On a warehouse larger than ``TrainingConfig.max_search_rows`` the splits run on the same
sample of rows tuning used (every device x model pair kept; ``n_rows`` says how many), so the
figures describe models fitted on fewer rows than the published one: slightly pessimistic.

Every partition of a metric (``partitions``: per-token and per-batch latency, say) is evaluated on
its own rows with its own tuned setting, and its rows in the table name it (``partition``): figures
of two partitions are never pooled. A partition another metric's model answers (``derived``: a
static batch's latency) is judged in that model's evaluation, on its held-out predictions converted,
over the rows whose figure was measured; its table rows name the derived metric and partition.

Figures: MAPE, median APE, share within +-10 % and +-25 %, R^2 of log values, Spearman rank
correlation, coverage of the nominal interval and the median upper/lower ratio (how wide the
intervals are), overall and by ``hardware_platform``, ``model_type`` and ``source``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from predictive_performance import vocabulary
from predictive_performance.modeling.calibration import regime_of
from predictive_performance.modeling.config import TrainingConfig
from predictive_performance.modeling.derived import derived_from
from predictive_performance.modeling.folds import group_fold_ids, random_fold_ids
from predictive_performance.modeling.targets import column_values, reference
from predictive_performance.modeling.training import PartitionModel, fit_metric_model, trainable_partitions
from predictive_performance.modeling.tuning import MetricSettings, search_rows, tune_metric
from predictive_performance.modeling.workers import side_by_side
from predictive_performance.progress import step

SPLITS: tuple[str, ...] = ("random_kfold", "leave_one_hardware_out", "leave_one_model_out", "time_based")
STRATA: tuple[str, ...] = ("hardware_platform", "model_type", "source")
GROUP_SPLITS: dict[str, str] = {"leave_one_hardware_out": "hardware_name", "leave_one_model_out": "model_name"}
TIME_TEST_SHARE = 0.2

EVALUATION_COLUMNS: tuple[str, ...] = (
    "metric", "partition", "split", "method", "stratum", "stratum_value", "n_rows", "n_folds", "mape", "median_ape",
    "within_10", "within_25", "r2_log", "spearman", "coverage", "nominal_coverage", "median_interval_ratio", "note",
)


def split_folds(
    frame: pd.DataFrame, split: str, n_folds: int = 5, seed: int = 0, group_folds: int = TrainingConfig.evaluation_group_folds
) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """Outer (train_index, test_index) pairs, or None when the frame cannot support the split.

    The grouped splits hold every device (model) out exactly once, in at most ``group_folds`` folds
    of whole groups balanced by rows (``folds.group_fold_ids``): one group per fold when there are
    no more groups than that.
    """
    n = len(frame)
    if split == "random_kfold":
        ids = random_fold_ids(n, n_folds, seed)
        return None if ids is None else _fold_pairs(ids)
    if split in GROUP_SPLITS:
        ids = group_fold_ids(frame[GROUP_SPLITS[split]], group_folds, seed)
        return None if ids is None else _fold_pairs(ids)
    if split == "time_based":
        if "measured_at" not in frame.columns:
            return None
        stamps = pd.to_datetime(frame["measured_at"], errors="coerce")
        distinct = np.sort(stamps.dropna().unique())
        if len(distinct) < 2:
            return None
        cutoff = distinct[max(1, int(np.floor(len(distinct) * (1 - TIME_TEST_SHARE))))] if len(distinct) > 2 else distinct[1]
        test = np.flatnonzero((stamps >= cutoff).to_numpy())
        train = np.flatnonzero((stamps < cutoff).to_numpy())
        return [(train, test)] if len(train) >= 2 and len(test) else None
    raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")


def _fold_pairs(ids: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(np.flatnonzero(ids != f), np.flatnonzero(ids == f)) for f in np.unique(ids)]


# --- baseline ----------------------------------------------------------------------------------


def _one_hot(values: pd.Series, vocabulary: np.ndarray) -> np.ndarray:
    codes = pd.Categorical(values.astype("object"), categories=vocabulary).codes
    out = np.zeros((len(values), len(vocabulary)), dtype=np.float64)
    known = codes >= 0
    out[np.flatnonzero(known), codes[known]] = 1.0
    return out


def _baseline_space(frame: pd.DataFrame, train: pd.DataFrame) -> np.ndarray:
    """Weighted coordinates: same model >> same precision / mode / platform >> nearby numbers."""
    blocks = []
    # weights set the priority order: a model mismatch (10) outweighs any precision / mode /
    # platform mismatch (3), which outweighs a few standard deviations of batch size or device specs
    for column, weight in (("model_name", 10.0), ("precision", 3.0), ("mode", 3.0), ("hardware_platform", 3.0)):
        vocabulary = np.unique(train[column].astype(str))
        blocks.append(weight * _one_hot(frame[column].astype(str), vocabulary) / np.sqrt(2))
    numeric = {
        "parameters_million": 2.0, "flops_per_item": 2.0, "batch_size": 1.0, "num_devices": 1.0,
        "peak_tflops_at_precision": 1.0, "memory_bandwidth_gbs": 1.0, "memory_gb": 0.5, "release_year": 0.5,
    }
    for column, weight in numeric.items():
        values = column_values(frame, column)
        reference_values = column_values(train, column)
        if column != "release_year":
            with np.errstate(divide="ignore", invalid="ignore"):
                values, reference_values = np.log(values), np.log(reference_values)
        mean = np.nanmean(reference_values) if np.isfinite(reference_values).any() else 0.0
        std = np.nanstd(reference_values) if np.isfinite(reference_values).any() else 1.0
        std = std if std > 1e-9 else 1.0
        blocks.append((weight * np.nan_to_num((values - mean) / std, nan=0.0, posinf=0.0, neginf=0.0))[:, None])
    return np.hstack(blocks)


def baseline_predict(train: pd.DataFrame, test: pd.DataFrame, metric: str) -> np.ndarray:
    """Roofline-scaled nearest neighbour (see module docstring), vectorised."""
    A = _baseline_space(train, train)
    B = _baseline_space(test, train)
    nearest = np.empty(len(test), dtype=np.int64)
    for start in range(0, len(B), 4096):
        chunk = B[start : start + 4096]
        d2 = (chunk**2).sum(1)[:, None] + (A**2).sum(1)[None, :] - 2 * chunk @ A.T
        nearest[start : start + len(chunk)] = d2.argmin(axis=1)
    y = column_values(train, metric)[nearest]
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = reference(test, metric) / reference(train, metric)[nearest]
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    return y * scale


# --- figures -----------------------------------------------------------------------------------


def score(y: np.ndarray, pred: np.ndarray, lower: np.ndarray | None = None, upper: np.ndarray | None = None) -> dict:
    """The held-out figures for one set of rows."""
    y = np.asarray(y, dtype=float)
    pred = np.asarray(pred, dtype=float)
    ok = np.isfinite(y) & np.isfinite(pred) & (y > 0) & (pred > 0)
    y, pred = y[ok], pred[ok]
    out = dict(n_rows=int(ok.sum()), mape=np.nan, median_ape=np.nan, within_10=np.nan, within_25=np.nan,
               r2_log=np.nan, spearman=np.nan, coverage=np.nan, median_interval_ratio=np.nan)
    if not len(y):
        return out
    ape = np.abs(pred - y) / y
    ly, lp = np.log(y), np.log(pred)
    total = np.sum((ly - ly.mean()) ** 2)
    out.update(
        mape=float(ape.mean()),
        median_ape=float(np.median(ape)),
        within_10=float(np.mean(ape <= 0.10)),
        within_25=float(np.mean(ape <= 0.25)),
        r2_log=float(1 - np.sum((ly - lp) ** 2) / total) if total > 0 else np.nan,
        spearman=(
            float(pd.Series(y).corr(pd.Series(pred), method="spearman"))
            if len(y) > 2 and np.ptp(y) > 0 and np.ptp(pred) > 0
            else np.nan
        ),
    )
    if lower is not None and upper is not None:
        lo, hi = np.asarray(lower, dtype=float)[ok], np.asarray(upper, dtype=float)[ok]
        out["coverage"] = float(np.mean((y >= lo) & (y <= hi)))
        with np.errstate(divide="ignore", invalid="ignore"):
            out["median_interval_ratio"] = float(np.nanmedian(hi / lo))
    return out


@dataclass
class EvaluationResult:
    """The tidy table (``ml.evaluation`` rows, without version columns) and the held-out predictions."""

    table: pd.DataFrame
    predictions: pd.DataFrame
    seconds: float

    def summary(self) -> dict:
        """Overall figures per partition, split and method (``<partition>/<split>/<method>``), for the manifest."""
        overall = self.table[self.table["stratum"] == "all"]
        return {
            f"{row.partition}/{row.split}/{row.method}": {
                k: (None if pd.isna(v := getattr(row, k)) else round(float(v), 4))
                for k in ("n_rows", "mape", "median_ape", "within_10", "within_25", "r2_log", "spearman", "coverage")
            }
            for row in overall.itertuples()
        }


def evaluate_metric(
    frame: pd.DataFrame,
    metric: str,
    settings: dict[str, MetricSettings] | None = None,
    config: TrainingConfig = TrainingConfig(),
    splits: tuple[str, ...] = SPLITS,
    strata: tuple[str, ...] = STRATA,
) -> EvaluationResult:
    """Every split for every trainable partition of one metric: the model and the baseline on the same held-out rows.

    ``settings``: the tuned setting by partition label (``MetricEstimator.settings_``); the
    partitions it leaves out are not evaluated. Tuned here when not given.
    """
    started = time.monotonic()
    metric = vocabulary.metric(metric).column
    tables, predictions = [], []
    for partition, rows in trainable_partitions(frame, metric, config).items():
        if settings is None:
            tuned, _ = tune_metric(rows, metric, config)
        elif partition in settings:
            tuned = settings[partition]
        else:
            continue
        table, held = _evaluate_partition(search_rows(rows, config), metric, partition, tuned, config, splits, strata)
        tables.append(table)
        predictions.append(held.assign(partition=partition))
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=list(EVALUATION_COLUMNS))
    held = pd.concat(predictions, ignore_index=True) if predictions else pd.DataFrame()
    return EvaluationResult(table=table, predictions=held, seconds=time.monotonic() - started)


def _evaluate_partition(rows, metric, partition, settings, config, splits, strata) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(table, held-out predictions) of one partition's rows."""
    y = column_values(rows, metric)
    plan, notes, remarks = [], {}, {}
    for split in splits:
        folds = split_folds(
            rows, split, n_folds=config.evaluation_random_folds, seed=config.seed, group_folds=config.evaluation_group_folds
        )
        if folds is None:
            notes[split] = "skipped: " + (
                "no two distinct measured_at values" if split == "time_based" else "fewer than two groups"
            )
            continue
        if split in GROUP_SPLITS and len(folds) < (groups := rows[GROUP_SPLITS[split]].nunique()):
            remarks[split] = f"{groups} groups held out in {len(folds)} folds, several per fold (each exactly once)"
        plan.append((split, folds))
    results, parts = split_predictions(rows, y, metric, plan, settings, config, strata), []
    for split, folds in plan:
        with step("training", f"{metric} [{partition}]: evaluation {split}", total=len(folds)) as advance:
            for done in range(1, len(folds) + 1):
                parts.append(next(results))
                advance(done)
    predictions = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    tables = [_tabulate(predictions, metric, partition, config.coverage, strata, notes, remarks, splits)]
    for derivation in derived_from(metric, partition) if len(predictions) else ():
        said = {split: "; ".join(filter(None, (remarks.get(split), derivation.remark))) for split in splits}
        held = derivation.held_out(rows, predictions)
        tables.append(
            _tabulate(held, derivation.metric, derivation.partition, config.coverage, strata, notes, said, splits)
        )
    return pd.concat(tables, ignore_index=True), predictions


def _stratum(rows: pd.DataFrame, column: str) -> np.ndarray:
    """A stratum's values as text; ``unknown`` where the rows do not say (or lack the column)."""
    if column not in rows.columns:
        return np.full(len(rows), "unknown", dtype=object)
    return rows[column].astype("object").where(rows[column].notna(), "unknown").astype(str).to_numpy()


def _held_out_model(
    train_rows: pd.DataFrame, test_rows: pd.DataFrame, settings: MetricSettings, config: TrainingConfig
) -> PartitionModel:
    """The tuned setting refitted on ``train_rows`` alone, calibrated for the novelty ``test_rows`` have."""
    seen_hardware, seen_models = set(train_rows["hardware_name"].astype(str)), set(train_rows["model_name"].astype(str))
    regimes = tuple(np.unique(regime_of(test_rows, seen_hardware, seen_models)))
    return fit_metric_model(train_rows, settings, config, with_confidence=False, regimes=regimes)


def split_predictions(rows, y, metric, plan, settings, config, strata) -> Iterator[pd.DataFrame]:
    """Every fold of every split in ``plan`` (``(split, folds)`` pairs), in order, ``config.fold_workers`` at a
    time in one pool (``_fold_predictions``): a split's last fold runs beside the next split's first, not alone."""
    calls = [
        (rows, y[test], metric, split, number, train, test, settings, strata)
        for split, folds in plan
        for number, (train, test) in enumerate(folds)
    ]
    return iter(side_by_side(_fold_predictions, calls, config))


def held_out_predictions(rows, y, metric, split, folds, settings, config, strata, advance) -> list[pd.DataFrame]:
    """Each fold of one split (``split_predictions``); ``advance`` is told how many have finished."""
    parts = []
    for part in split_predictions(rows, y, metric, [(split, folds)], settings, config, strata):
        parts.append(part)
        advance(len(parts))
    return parts


def _fold_predictions(rows, actual, metric, split, number, train, test, settings, strata, config) -> pd.DataFrame:
    """One fold: a model fitted on the other folds, its predictions and the baseline's."""
    figure = vocabulary.metric(metric).figure
    train_rows, test_rows = rows.iloc[train], rows.iloc[test]
    predicted = _held_out_model(train_rows, test_rows, settings, config).predict(test_rows)
    return pd.DataFrame(
        {
            "split": split,
            "fold": number,
            "row": test,
            "actual": actual,
            "pred": predicted[figure("pred")].to_numpy(),
            "lower": predicted[figure("lower")].to_numpy(),
            "upper": predicted[figure("upper")].to_numpy(),
            "baseline": baseline_predict(train_rows, test_rows, metric),
            "hardware_name": test_rows["hardware_name"].astype(str).to_numpy(),
            "model_name": test_rows["model_name"].astype(str).to_numpy(),
            **{s: _stratum(test_rows, s) for s in strata},
        }
    )


def _tabulate(predictions, metric, partition, coverage, strata, notes, remarks, splits) -> pd.DataFrame:
    """The table's rows; ``notes``: why a split was skipped, ``remarks``: what a split's rows should say."""
    records = []
    for split in splits:
        if split in notes:
            for method in ("model", "baseline"):
                records.append(dict(metric=metric, partition=partition, split=split, method=method, stratum="all",
                                    stratum_value="all", n_rows=0, n_folds=0, nominal_coverage=coverage,
                                    note=notes[split]))
            continue
        held = predictions[predictions["split"] == split]
        n_folds = int(held["fold"].nunique())
        for stratum in ("all", *strata):
            groups = [("all", held)] if stratum == "all" else list(held.groupby(stratum, sort=True))
            for value, part in groups:
                for method in ("model", "baseline"):
                    if method == "model":
                        figures = score(part["actual"], part["pred"], part["lower"], part["upper"])
                    else:
                        figures = score(part["actual"], part["baseline"])
                    records.append(dict(metric=metric, partition=partition, split=split, method=method,
                                        stratum=stratum, stratum_value=str(value), n_folds=n_folds,
                                        nominal_coverage=coverage, note=remarks.get(split), **figures))
    table = pd.DataFrame.from_records(records)
    for column in EVALUATION_COLUMNS:
        if column not in table.columns:
            table[column] = np.nan
    return table[list(EVALUATION_COLUMNS)]


def evaluate(
    frame: pd.DataFrame,
    settings: dict[str, dict[str, MetricSettings]],
    config: TrainingConfig = TrainingConfig(),
    splits: tuple[str, ...] = SPLITS,
) -> dict[str, EvaluationResult]:
    """``evaluate_metric`` for every tuned metric (metric -> partition -> setting)."""
    return {metric: evaluate_metric(frame, metric, s, config, splits) for metric, s in settings.items()}
