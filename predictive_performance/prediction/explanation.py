"""SHAP explanations: how much each feature moved one prediction, per metric.

Models are fitted to ``log(metric)`` minus a physics reference (the roofline, for the efficiency
formulation), so contributions are in log units and add up:
``log(prediction) = base_value + sum(contribution) + reference_offset + device_correction`` (the last
non-zero only for a device with a few measured rows, ``prediction.corrections``). ``factor`` =
``exp(contribution)`` is the multiplicative effect on the metric. When the chosen model is the
ensemble, each member (XGBoost, LightGBM, CatBoost) is explained with its own TreeExplainer and
the contributions are averaged, as the point prediction averages them. The model explained is the
one of the row's partition (``modeling.partitions``); a metric without one for it is left out.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from predictive_performance.modeling import ModelVersion, PartitionModel
from predictive_performance.modeling.targets import offset
from predictive_performance.vocabulary import metric


class ShapExplainer:
    """TreeSHAP contributions for predictions of saved model versions.

    Keeps the TreeExplainer of each (version, partition, learner) it has built: building one walks every tree.
    """

    def __init__(self) -> None:
        self._explainers: dict[tuple[str, str, str], Any] = {}

    def explain(
        self, features: pd.DataFrame, versions: Mapping[str, ModelVersion], columns: Iterable[str]
    ) -> dict[str, dict]:
        """Metric key -> the explanation of the first row of ``features`` for each metric column given
        whose model has the row's partition."""
        row = features.iloc[[0]]
        out = {}
        for column in columns:
            if column not in versions:
                continue
            partition = versions[column].model.partition_of(row)[0]
            if partition in versions[column].model.partitions:
                out[metric(column).key] = self._explain_metric(row, column, versions[column], partition)
        return out

    def _explain_metric(self, row: pd.DataFrame, column: str, version: ModelVersion, partition: str) -> dict[str, Any]:
        model = version.model.partitions[partition]
        X = model.spec.matrix(row)
        members = list(model.settings.members)
        values, bases = [], []
        for algorithm in members:
            explainer = self._tree_explainer(version.version, partition, model, algorithm)
            values.append(np.asarray(explainer.shap_values(X), dtype=float).reshape(len(X), -1)[0])
            bases.append(float(np.ravel(explainer.expected_value)[0]))
        contribution = np.mean(values, axis=0)
        base = float(np.mean(bases))
        shift = float(offset(row, column, model.settings.formulation, model.fitted_reference)[0])
        shift = shift if np.isfinite(shift) else 0.0
        correction = float(model.corrections.correction(row)[0]) if model.corrections is not None else 0.0
        explained = (
            f"ensemble: mean of TreeSHAP values of {', '.join(members)}"
            if len(members) > 1
            else f"{members[0]} (the chosen learner), TreeSHAP"
        )
        return {
            "metric": column,
            "partition": partition,
            "model_version": version.version,
            "explained": explained,
            "target": version.manifest.get("target"),
            "base_value": base,
            "reference_offset": shift,
            "device_correction": correction,
            "log_prediction": base + float(contribution.sum()) + shift + correction,
            "features": _contributions(model.spec.names, X[0], contribution, dict(zip(members, values, strict=True))),
        }

    def _tree_explainer(self, version: str, partition: str, model: PartitionModel, algorithm: str) -> Any:
        explainer = self._explainers.get((version, partition, algorithm))
        if explainer is None:
            with warnings.catch_warnings():  # shap's colour maps use matplotlib calls it is deprecating
                warnings.simplefilter("ignore", PendingDeprecationWarning)
                import shap  # heavy: imported only when explanations are asked for

            explainer = shap.TreeExplainer(model.learners[algorithm].booster_)
            self._explainers[(version, partition, algorithm)] = explainer
        return explainer


def _contributions(
    names: Sequence[str], values: np.ndarray, contribution: np.ndarray, by_member: dict[str, np.ndarray]
) -> pd.DataFrame:
    """The features that moved the prediction, largest contribution first (per member for an ensemble)."""
    table = pd.DataFrame({"feature": names, "value": values.astype(float), "contribution": contribution})
    if len(by_member) > 1:
        for algorithm, member_values in by_member.items():
            table[f"contribution_{algorithm}"] = member_values
    table["factor"] = np.exp(table["contribution"])
    table = table[table["contribution"].abs() > 0].copy()
    return table.reindex(table["contribution"].abs().sort_values(ascending=False).index).reset_index(drop=True)
