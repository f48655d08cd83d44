"""One 0-1 confidence per prediction, from four signals of how much the model can know.

The signals (all computed vectorised, per row):

``interval_width``
    log(upper / lower) of the calibrated 80 % interval (see ``calibration``). Wide when the
    quantile models disagree, the row's novelty regime (unseen device / model) had large
    held-out errors, or the row is far from the training rows (its margin grows with distance).
``spread``
    Standard deviation, in log units, of the XGBoost, LightGBM and CatBoost predictions. The
    three learners agree where the data pins the answer down and drift apart when they
    extrapolate. 0 when only one learner was trained.
``distance``
    Distance from the row to the nearest training configuration in a standardised space of
    model, device and workload facts (parameters, FLOPs and bytes per item, batch size, devices,
    precision, peak TFLOPS, bandwidth, memory, TDP, release year, platform, mode), divided by the
    typical spacing between training configurations. 0 on a measured configuration, about 1 one
    "step" away, large for a device or model unlike anything measured.
``density``
    Gaussian-kernel average over the 10 nearest training configurations (bandwidth = the typical
    spacing): 1 when many measured configurations sit right at the row, towards 0 when the
    neighbourhood is empty.

They are combined by a logistic regression fitted on out-of-group predictions (devices held out,
models held out) to the event "the prediction is within +-25 % of the measurement". So:

    **confidence = estimated probability that the true value lies within +-25 % of the prediction.**

Beyond the 99th percentile of the distances seen in calibration (``support_distance``) the
logistic fit has no evidence, so the probability is multiplied by ``exp(-excess / support)``: a
device or model unlike anything measured cannot keep the confidence of a familiar one.

Coefficients are constrained to the sensible direction (wider, more spread, farther -> lower;
denser -> higher) by dropping any signal whose fitted sign is reversed, so that a device with no
measurements can never look surer than a measured one merely through noise in the fit.

One explicit factor stands beside the signals (``unseen_factor``, said by ``unseen_notes``): a row
whose device platform, or device class, no training row of its metric partition has is a kind of
device the model has never seen (a memory model fitted on CPUs asked about an NPU). The distance cannot say so: one-hot columns
of an unseen category are all zero, which lies no farther than a switch between two seen ones, and
the out-of-group calibration rarely holds a whole platform out. So the confidence is multiplied by
``UNSEEN_FACTORS`` per unseen category (x0.2 for a platform, x0.5 for a device class; x0.1 for
both), and the row gets a note saying so.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sklearn.neighbors import NearestNeighbors

    from predictive_performance.modeling.training import MetricModel

WITHIN = 0.25
SIGNALS: tuple[str, ...] = ("interval_width", "spread", "distance", "density")
# +1: more of it means more confidence; -1: less
DIRECTION: dict[str, int] = {"interval_width": -1, "spread": -1, "distance": -1, "density": 1}

NOVELTY_NUMERIC: tuple[str, ...] = (
    "log_parameters_million",
    "log_flops_per_item",
    "log_bytes_per_item",
    "log_input_scale",
    "log_batch_size",
    "log_num_devices",
    "precision_bytes",
    "log_memory_bandwidth_gbs",
    "log_peak_tflops_at_precision",
    "log_memory_gb",
    "log_tdp_w",
    "release_year",
)
NOVELTY_CATEGORICAL_PREFIXES: tuple[str, ...] = ("hardware_platform=", "mode=")
# device category -> the confidence factor for a row whose value no training row of its partition has
UNSEEN_FACTORS: dict[str, float] = {"hardware_platform": 0.2, "device_class": 0.5}
NEIGHBOURS = 10
MAX_REFERENCE = 2000
CHUNK_ROWS = 65536
DIRECT_QUERY_ROWS = 64  # at most 64 x 2,000 references x ~20 columns of float64: 20 MB


@dataclass
class NeighbourIndex:
    """Standardised reference configurations for distance and density queries."""

    columns: list[int] = field(default_factory=list)
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None
    reference: np.ndarray | None = None
    radius: float = 1.0
    _neighbours: NearestNeighbors | None = field(default=None, repr=False, compare=False)

    @classmethod
    def fit(cls, X: np.ndarray, names: list[str], seed: int = 0) -> NeighbourIndex:
        columns = [names.index(n) for n in NOVELTY_NUMERIC if n in names]
        n_numeric = len(columns)
        columns += [i for i, n in enumerate(names) if n.startswith(NOVELTY_CATEGORICAL_PREFIXES)]
        raw = X[:, columns].astype(np.float64)
        mean = np.zeros(len(columns))
        scale = np.ones(len(columns))
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            # a column empty in every row (batch size where the system chose it) is centred at 0, scale 1
            warnings.simplefilter("ignore", RuntimeWarning)
            mean[:n_numeric] = np.nan_to_num(np.nanmean(raw[:, :n_numeric], axis=0)) if len(raw) else 0.0
            std = np.nanstd(raw[:, :n_numeric], axis=0) if len(raw) else np.ones(n_numeric)
        scale[:n_numeric] = np.where(np.isfinite(std) & (std > 1e-9), std, 1.0)
        index = cls(columns=columns, mean=mean, scale=scale)
        reference = np.unique(index.transform(X), axis=0)
        if len(reference) > MAX_REFERENCE:
            rng = np.random.default_rng(seed)
            reference = reference[rng.choice(len(reference), MAX_REFERENCE, replace=False)]
        index.reference = reference.astype(np.float32)
        index.radius = index._typical_spacing()
        return index

    def transform(self, X: np.ndarray) -> np.ndarray:
        Z = (X[:, self.columns].astype(np.float64) - self.mean) / self.scale
        return np.nan_to_num(Z, nan=0.0).astype(np.float32)

    def _typical_spacing(self) -> float:
        """Median distance from a reference configuration to its nearest other one."""
        if self.reference is None or len(self.reference) < 2:
            return 1.0
        d2 = _squared_distances(self.reference, self.reference)
        np.fill_diagonal(d2, np.inf)
        nearest = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
        spacing = float(np.median(nearest))
        return spacing if spacing > 1e-6 else 1.0

    def query(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(distance to the nearest reference / spacing, kernel density of the nearest ten), per row.

        scikit-learn's brute-force search finds the ten nearest exactly, from BLAS distances of small
        row blocks kept in per-row heaps on all cores: several times faster than partitioning a full
        (rows x references) matrix, and in float64, so a measured configuration lies at distance 0
        instead of float32 cancellation noise. A few rows (one command-line prediction) are measured
        directly instead: scikit-learn's thread start-up costs more than their distances.
        """
        n = len(X)
        distance = np.empty(n)
        density = np.empty(n)
        nearest_of = self._nearest_directly if n <= DIRECT_QUERY_ROWS else self._search().kneighbors
        for start in range(0, n, CHUNK_ROWS):
            nearest, _ = nearest_of(self.transform(X[start : start + CHUNK_ROWS]))
            distance[start : start + len(nearest)] = nearest[:, 0] / self.radius
            density[start : start + len(nearest)] = np.exp(-(nearest**2) / (2.0 * self.radius**2)).mean(axis=1)
        return distance, density

    def _nearest_directly(self, Z: np.ndarray) -> tuple[np.ndarray, None]:
        """The distances to the nearest references, ascending, from exact float64 differences."""
        k = min(NEIGHBOURS, len(self.reference))
        differences = Z[:, None, :].astype(np.float64) - self.reference[None, :, :].astype(np.float64)
        return np.sort(np.sqrt((differences**2).sum(axis=2)), axis=1)[:, :k], None

    def _search(self) -> NearestNeighbors:
        if self._neighbours is None:
            from sklearn.neighbors import NearestNeighbors

            k = min(NEIGHBOURS, len(self.reference))
            self._neighbours = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(self.reference)
        return self._neighbours

    def to_dict(self) -> dict:
        return {"columns": self.columns, "mean": self.mean.tolist(), "scale": self.scale.tolist(), "radius": self.radius}

    @classmethod
    def from_dict(cls, data: dict, reference: np.ndarray) -> NeighbourIndex:
        return cls(
            columns=list(data["columns"]),
            mean=np.asarray(data["mean"]),
            scale=np.asarray(data["scale"]),
            reference=reference.astype(np.float32),
            radius=float(data["radius"]),
        )


def _squared_distances(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    d2 = (A * A).sum(axis=1)[:, None] + (B * B).sum(axis=1)[None, :] - 2.0 * (A @ B.T)
    return np.maximum(d2, 0.0)


def signal_matrix(interval_width: np.ndarray, spread: np.ndarray, distance: np.ndarray, density: np.ndarray) -> np.ndarray:
    """Signals as the logistic model sees them (distance on a log scale: 0 -> 0, 1 step -> 0.69)."""
    return np.column_stack([interval_width, spread, np.log1p(distance), density]).astype(np.float64)


@dataclass
class ConfidenceModel:
    """Logistic map from the four signals to P(|error| <= 25 %)."""

    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    method: str
    n_rows: int
    base_rate: float
    support_distance: float = float("inf")

    @classmethod
    def fit(cls, signals: np.ndarray, within: np.ndarray) -> ConfidenceModel:
        within = np.asarray(within, dtype=bool)
        ok = np.all(np.isfinite(signals), axis=1)
        signals, within = signals[ok], within[ok]
        mean = signals.mean(axis=0) if len(signals) else np.zeros(len(SIGNALS))
        std = signals.std(axis=0) if len(signals) else np.zeros(len(SIGNALS))
        scale = np.where(std > 1e-9, std, 1.0)
        rate = float(within.mean()) if len(within) else 0.5
        support = float(np.quantile(np.expm1(signals[:, 2]), 0.99)) if len(signals) else float("inf")
        Z = (signals - mean) / scale
        active = [i for i in range(len(SIGNALS)) if std[i] > 1e-9]  # a constant signal says nothing
        if len(within) >= 10 and 0 < within.sum() < len(within) and active:
            from sklearn.linear_model import LogisticRegression

            while active:
                model = LogisticRegression(C=1.0).fit(Z[:, active], within)
                signs = np.sign(model.coef_[0]) * np.array([DIRECTION[SIGNALS[i]] for i in active])
                if np.all(signs >= 0):
                    coef = np.zeros(len(SIGNALS))
                    coef[active] = model.coef_[0]
                    return cls(mean.tolist(), scale.tolist(), coef.tolist(), float(model.intercept_[0]), "logistic",
                               len(within), rate, support)
                active = [i for i, s in zip(active, signs, strict=True) if s >= 0]
        # too little (or one-sided) evidence: the base rate, moved by each standardised signal in
        # its sensible direction, so that ranking by confidence still means something
        rate = min(max(rate, 0.02), 0.98)
        coef = [0.5 * DIRECTION[s] for s in SIGNALS]
        return cls(mean.tolist(), scale.tolist(), coef, float(np.log(rate / (1 - rate))), "prior", len(within), rate,
                   support)

    def predict(self, signals: np.ndarray) -> np.ndarray:
        Z = (signals - np.asarray(self.mean)) / np.asarray(self.scale)
        logit = np.nan_to_num(Z, nan=0.0) @ np.asarray(self.coef) + self.intercept
        probability = 1.0 / (1.0 + np.exp(-logit))
        # beyond the farthest distance the calibration saw there is no evidence either way, so
        # confidence decays with the excess (by e per support distance) instead of extrapolating
        support = max(self.support_distance, 1.0)
        excess = np.maximum(np.expm1(signals[:, 2]) - support, 0.0)
        return probability * np.exp(-excess / support)

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict) -> ConfidenceModel:
        data = dict(data)
        if data.get("support_distance") is None:
            data["support_distance"] = float("inf")
        return cls(**data)


def _unseen(model: MetricModel, features: pd.DataFrame) -> Iterator[tuple[str, float, np.ndarray]]:
    """(column, factor, rows) for each device category in ``UNSEEN_FACTORS`` and the rows whose value of it no
    training row of their partition has (the partition's ``FeatureSpec`` categories)."""
    labels = model.partition_of(features)
    for label, part in model.partitions.items():
        rows = labels == label
        for column, cut in UNSEEN_FACTORS.items():
            if column not in features.columns or not part.spec.categories.get(column):
                continue  # a layout without the column never learnt from it
            values = features[column]
            yield column, cut, (rows & values.notna() & ~values.isin(part.spec.categories[column])).to_numpy()


def unseen_factor(model: MetricModel, features: pd.DataFrame) -> np.ndarray:
    """The confidence factor per row: the product of ``UNSEEN_FACTORS`` of its unseen device categories, 1 on
    rows with none and on rows whose partition has no model. Vectorised: every prediction pays it."""
    factor = np.ones(len(features))
    for _, cut, new in _unseen(model, features):
        factor[new] *= cut
    return factor


def unseen_notes(model: MetricModel, features: pd.DataFrame) -> np.ndarray:
    """The note per row that ``unseen_factor`` cut ("... model never saw a device of platform qnn: confidence
    x0.2"); empty text elsewhere."""
    factor = np.ones(len(features))
    unseen: dict[int, list[str]] = {}
    for column, cut, new in _unseen(model, features):
        factor[new] *= cut
        for position in np.flatnonzero(new):
            said = f"{column.replace('_', ' ').removeprefix('hardware ')} {features[column].iat[position]}"
            unseen.setdefault(int(position), []).append(said)
    notes = np.full(len(features), "", dtype=object)
    for position, said in unseen.items():
        notes[position] = (
            f"{model.metric} model never saw a device of {' nor '.join(said)}: confidence x{factor[position]:g}"
        )
    return notes
