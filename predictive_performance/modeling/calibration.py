"""Prediction intervals: quantile models made honest by conformal calibration on held-out groups.

Conformalised quantile regression (CQR, Romano et al. 2019): two LightGBM quantile models give
a raw (lower, upper) band in the target's log space. Their out-of-fold residuals
``E = max(lower - y, y - upper)`` are collected and the ``(1 - alpha)`` quantile of E (with the
finite-sample ``(n + 1)`` correction) becomes a margin added on both sides. A band that was too
narrow widens, one that was too wide shrinks.

The guarantee holds for held-out rows that are exchangeable with the calibration rows. A row of
a device nobody measured is *not* exchangeable with a random row, so margins are estimated per
novelty regime (a Mondrian split) from folds that hold out the same kind of thing:

====================  ===============================================  ============================
regime                the prediction row's ...                          calibrated on
====================  ===============================================  ============================
``seen``              model and device both have training rows          random folds
``new_hardware``      device has no training rows, model has            leave-devices-out folds
``new_model``         model has no training rows, device has            leave-models-out folds
``new_both``          neither has training rows                         device x model grid folds
====================  ===============================================  ============================

A regime the data cannot estimate (one device only, say) borrows the widest margin that could
be estimated, so an unknown situation never gets a narrower interval than a known one.

Within a regime the margin also grows with *novelty*: the score is divided by ``sqrt(1 + d)``,
where ``d`` is the row's distance to the nearest training configuration (in units of the training
set's typical spacing, ``NeighbourIndex``), and a prediction gets ``margin * sqrt(1 + d)``
(normalised conformal prediction, Papadopoulos et al. 2008). Devices differ far more than the rows
of one device: with one constant margin a GPU much like the measured ones and a CPU unlike any of
them got the same interval, several times too wide for the first and too narrow for the second.
The square root is the error growth of a quantity that drifts like a random walk with distance (a
linear variogram); a linear scale gave a device 20 spacings away (a CPU among GPUs) an interval
hundreds of times wide. Versions saved before this keep constant margins (``novelty_scaled``).

No margin grows past the spread of the calibration target itself (``ceiling``: the coverage
quantile of its distance to its median): a row so far from the training rows that the novelty
scale says nothing is known about it gets the interval of the efficiencies every training row
showed, not more. Without the ceiling a serving device 35 spacings from the rest got intervals of
10^5x.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from predictive_performance.modeling.confidence import NeighbourIndex
from predictive_performance.modeling.config import TrainingConfig
from predictive_performance.modeling.folds import GROUP_COLUMN, SCHEMES, FoldPairs, scheme_folds
from predictive_performance.modeling.learners import (
    LIGHTGBM_BOOSTER_PARAMS,
    LIGHTGBM_DATASET_PARAMS,
    boosting_library,
    fit_threads,
)
from predictive_performance.modeling.targets import RefitShift
from predictive_performance.modeling.workers import side_by_side

if TYPE_CHECKING:
    import lightgbm as lgb

QUANTILE_PARAMS: dict = {
    "objective": "quantile",
    "learning_rate": 0.1,
    "num_leaves": 15,
    "min_data_in_leaf": 5,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
}
QUANTILE_ROUNDS = 150  # with learning rate 0.1; prediction cost grows with rounds


MIN_FOLD_TRAIN_ROWS = 5


def quantile_levels(coverage: float) -> tuple[float, float]:
    alpha = 1.0 - coverage
    return alpha / 2.0, 1.0 - alpha / 2.0


def fit_quantile_models(X: np.ndarray, target: np.ndarray, coverage: float, seed: int, n_jobs: int) -> dict[str, lgb.Booster]:
    """Lower and upper quantile boosters on the (log-space) target, binned once for both."""
    lgb = boosting_library("lightgbm")

    models = {}
    data = lgb.Dataset(X, target, params=LIGHTGBM_DATASET_PARAMS)
    threads = fit_threads(len(target), n_jobs)
    for name, level in zip(("lower", "upper"), quantile_levels(coverage), strict=True):
        params = {**LIGHTGBM_BOOSTER_PARAMS, **QUANTILE_PARAMS, "alpha": level, "seed": seed, "num_threads": threads}
        params["min_data_in_leaf"] = max(1, min(params["min_data_in_leaf"], len(target) // 4))
        models[name] = lgb.train(params, data, num_boost_round=QUANTILE_ROUNDS, keep_training_booster=True)
    return models


def predict_quantiles(models: dict[str, lgb.Booster], X: np.ndarray, n_jobs: int) -> tuple[np.ndarray, np.ndarray]:
    lower = models["lower"].predict(X, num_threads=n_jobs)
    upper = models["upper"].predict(X, num_threads=n_jobs)
    # quantile models are fitted separately and can cross; the band is the pair, in order
    return np.minimum(lower, upper), np.maximum(lower, upper)


def conformal_margin(scores: np.ndarray, coverage: float) -> float:
    """The split-conformal quantile of nonconformity scores, with the (n + 1) correction."""
    scores = np.asarray(scores, dtype=float)
    scores = scores[np.isfinite(scores)]
    n = len(scores)
    if n == 0:
        return float("nan")
    # the ceil((n + 1) * coverage)-th smallest score; with too few scores for that rank the
    # exact answer is an infinite margin, the largest score is used instead
    rank = min(n, math.ceil((n + 1) * coverage - 1e-9))
    return float(np.sort(scores)[rank - 1])


@dataclass
class ConformalBands:
    """Per-regime margins (log units at novelty 0) around the quantile band; ``estimated`` says which
    were measured; ``novelty_scaled`` whether a row's margin grows as ``sqrt(1 + distance)``."""

    coverage: float
    margins: dict[str, float] = field(default_factory=dict)
    estimated: dict[str, bool] = field(default_factory=dict)
    calibration_rows: dict[str, int] = field(default_factory=dict)
    novelty_scaled: bool = True
    ceiling: float = math.inf  # the widest margin of any row (see the module docstring); none in older versions

    def resolved(self) -> dict[str, float]:
        """Every regime gets a margin: missing ones borrow the widest estimated one."""
        known = [m for m in self.margins.values() if np.isfinite(m)]
        widest = max(known) if known else 0.0
        out = {}
        for regime in SCHEMES:
            margin = self.margins.get(regime, float("nan"))
            out[regime] = margin if np.isfinite(margin) else widest
        return out

    def to_dict(self) -> dict:
        return {
            "coverage": self.coverage,
            "margins": {k: (v if np.isfinite(v) else None) for k, v in self.margins.items()},
            "estimated": self.estimated,
            "calibration_rows": self.calibration_rows,
            "novelty_scaled": self.novelty_scaled,
            "ceiling": self.ceiling if np.isfinite(self.ceiling) else None,
        }

    @classmethod
    def from_dict(cls, data: dict) -> ConformalBands:
        return cls(
            coverage=data["coverage"],
            margins={k: float("nan") if v is None else float(v) for k, v in data["margins"].items()},
            estimated=dict(data["estimated"]),
            calibration_rows=dict(data.get("calibration_rows", {})),
            novelty_scaled=bool(data.get("novelty_scaled", False)),
            ceiling=math.inf if data.get("ceiling") is None else float(data["ceiling"]),
        )

    def scale(self, distance: np.ndarray) -> np.ndarray:
        """How many unit margins a row at this novelty distance gets."""
        distance = np.asarray(distance, dtype=float)
        return np.sqrt(1.0 + distance) if self.novelty_scaled else np.ones(len(distance))

    def row_margins(self, regimes: np.ndarray, distance: np.ndarray) -> np.ndarray:
        """The margin (log units) of every row: its regime's margin times its novelty scale, up to ``ceiling``."""
        margin = np.zeros(len(regimes))
        for regime, value in self.resolved().items():
            margin[regimes == regime] = value
        return np.minimum(margin * self.scale(distance), self.ceiling)


@dataclass
class OutOfFold:
    """Out-of-fold quantile bands of one scheme, with each row's novelty (distance to and density of
    its fold's training rows): what the calibration and the confidence calibrator learn from."""

    scheme: str
    index: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    distance: np.ndarray
    density: np.ndarray


def calibration_folds(
    frame: pd.DataFrame, schemes: tuple[str, ...], config: TrainingConfig
) -> dict[str, FoldPairs | None]:
    """Each scheme's (train, test) folds, None where the frame cannot estimate it; a scheme that has none brings in
    the others to borrow from (``calibrate``). Leave-devices-out and leave-models-out get
    ``config.calibration_group_folds`` folds, the others ``config.n_folds``."""
    plan: dict[str, FoldPairs | None] = {}
    pending = list(schemes)
    while pending:
        scheme = pending.pop(0)
        n_folds = config.calibration_group_folds if scheme in GROUP_COLUMN else config.n_folds
        # a fold whose training part is (nearly) empty cannot say anything about held-out error
        folds = [(train, test) for train, test in scheme_folds(frame, scheme, n_folds, config.seed) or []
                 if len(train) >= MIN_FOLD_TRAIN_ROWS and len(test)]
        plan[scheme] = folds or None
        if not folds:
            pending += [lender for lender in SCHEMES if lender not in plan and lender not in pending]
    return plan


def fold_band(X_train: np.ndarray, target_train: np.ndarray, X_test: np.ndarray, names: list[str],
              config: TrainingConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One calibration fold: (lower, upper, distance, density) of its held-out rows, in the training rows' target."""
    models = fit_quantile_models(X_train, target_train, config.coverage, config.seed, config.n_jobs)
    lower, upper = predict_quantiles(models, X_test, config.n_jobs)
    distance, density = NeighbourIndex.fit(X_train, names, config.seed).query(X_test)
    return lower, upper, distance, density


def calibrate(
    frame: pd.DataFrame,
    X: np.ndarray,
    names: list[str],
    target: np.ndarray,
    config: TrainingConfig,
    schemes: tuple[str, ...] = SCHEMES,
    refit: RefitShift | None = None,
) -> tuple[ConformalBands, dict[str, OutOfFold]]:
    """Margins for every regime the frame can estimate (of ``schemes``), plus the out-of-fold bands of each; the
    folds of all schemes fit side by side (``workers``), each on its own fit of the reference (``refit``, as in
    ``crossval.cross_validate``).

    Leave-devices-out and leave-models-out hold out about one group a fold (up to ``calibration_group_folds``), like
    the leave-one-out question the margins must answer; fewer, larger folds leave less to train on and overstate the
    error. A regime of ``schemes`` the frame cannot estimate brings in the others: it borrows the widest of them
    (``ConformalBands.resolved``), as the model fitted with every regime would, and an evaluation fold that asks for
    it alone must not get none.
    """
    bands = ConformalBands(
        coverage=config.coverage, ceiling=conformal_margin(np.abs(target - np.median(target)), config.coverage)
    )
    plan = calibration_folds(frame, schemes, config)
    tasks = [(scheme, train, test) for scheme, folds in plan.items() for train, test in folds or ()]
    shifts = [refit(train) if refit is not None else np.zeros(len(target)) for _, train, _ in tasks]
    calls = [(X[train], target[train] - shift[train], X[test], names)
             for (_, train, test), shift in zip(tasks, shifts, strict=True)]
    parts: dict[str, list[tuple]] = {scheme: [] for scheme in plan}
    for (scheme, _, test), shift, (lower, upper, distance, density) in zip(
        tasks, shifts, side_by_side(fold_band, calls, config), strict=True
    ):
        parts[scheme].append((test, lower + shift[test], upper + shift[test], distance, density))
    oof: dict[str, OutOfFold] = {}
    for scheme, folds in parts.items():
        if not folds:
            bands.margins[scheme], bands.estimated[scheme], bands.calibration_rows[scheme] = float("nan"), False, 0
            continue
        result = OutOfFold(scheme, *(np.concatenate(values) for values in zip(*folds, strict=True)))
        y = target[result.index]
        scores = np.maximum(result.lower - y, y - result.upper) / bands.scale(result.distance)
        bands.margins[scheme] = conformal_margin(scores, config.coverage)
        bands.estimated[scheme] = True
        bands.calibration_rows[scheme] = len(y)
        oof[scheme] = result
    return bands, oof


def regime_of(frame: pd.DataFrame, known_hardware: set[str] | frozenset[str], known_models: set[str] | frozenset[str]) -> np.ndarray:
    """Which calibration regime each prediction row falls in (vectorised set membership)."""
    hardware_known = frame["hardware_name"].isin(list(known_hardware)).to_numpy()
    model_known = frame["model_name"].isin(list(known_models)).to_numpy()
    return np.select(
        [hardware_known & model_known, ~hardware_known & model_known, hardware_known & ~model_known],
        ["seen", "new_hardware", "new_model"],
        default="new_both",
    )


def apply_bands(
    lower: np.ndarray,
    upper: np.ndarray,
    point: np.ndarray,
    regimes: np.ndarray,
    distance: np.ndarray,
    bands: ConformalBands,
) -> tuple[np.ndarray, np.ndarray]:
    """Widen (or shrink) the raw band by each row's margin; the point prediction stays inside."""
    margin = bands.row_margins(regimes, distance)
    return np.minimum(lower - margin, point), np.maximum(upper + margin, point)
