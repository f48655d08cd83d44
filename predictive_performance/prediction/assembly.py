"""Feature assembly: resolved configurations -> catalog and roofline features -> every metric's figures.

One vectorised call into the models for all rows. The output has one row per configuration, in
order: the resolved names, ``<column>_pred / _lower / _upper / _confidence / _low_confidence``
for every metric of the vocabulary (NaN where no model is trained), the model versions, whether
the device and the model were measured, the fallback and the notes.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from predictive_performance.modeling import MetricModel, ModelVersion, workload_features
from predictive_performance.modeling import predict as predict_frame
from predictive_performance.modeling.confidence import unseen_notes
from predictive_performance.modeling.derived import available_metrics, is_derived
from predictive_performance.names import map_distinct
from predictive_performance.prediction.plausibility import contradictions, lowered
from predictive_performance.prediction.resolution import CatalogResolver, stand_in
from predictive_performance.vocabulary import metrics

CONFIG_COLUMNS = (
    "model_name",
    "model_name_raw",
    "model_type",
    "hardware_name",
    "hardware_name_raw",
    "hardware_platform",
    "num_devices",
    "batch_size",
    "precision",
    "mode",
    "sequence_length",
    "image_size",
    "workload",
    "task",
    "latency_kind",
    "power_scope",
)
NOTE_SEPARATOR = " | "  # between the notes of one row in tables and CSV files


def predict_resolved(
    frame: pd.DataFrame,
    catalogs: CatalogResolver,
    versions: Mapping[str, ModelVersion],
    confidence_threshold: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(predictions, the feature rows they came from) for ``CatalogResolver.resolve`` output.

    A configuration that contradicts the catalogs keeps its figures, with a note and its confidence
    lowered by ``plausibility``'s rule, and a stand-in (``resolution.stand_in``) lowers it and widens the intervals;
    a kind of device a metric's model never saw was cut by the model (``confidence.unseen_factor``) and gets a note.
    """
    features = workload_features(frame, catalogs.models, catalogs.hardware).reset_index(drop=True)
    contradicted = contradictions(frame, features, catalogs)
    predicted = predict_frame(features, versions=dict(versions)).reset_index(drop=True)
    columns = [
        *(column for m in metrics() for column in m.figures),
        *(m.figure("model_version") for m in metrics()),
        "model_version",
    ]
    predicted = predicted.reindex(columns=columns)
    out = frame[[c for c in CONFIG_COLUMNS if c in frame.columns]].reset_index(drop=True)
    out["model_type"] = out["model_name"].map(catalogs.models.set_index("model_name")["model_type"])
    out["hardware_platform"] = features["hardware_platform"].to_numpy()
    out["num_devices"] = features["num_devices"].to_numpy()
    standing_in, wider = stand_in(frame["fallback"])
    for m in metrics():
        for column in m.figures:
            out[column] = predicted[column].to_numpy(dtype=float)
        out[m.figure("confidence")] = lowered(out[m.figure("confidence")].to_numpy(), contradicted) * standing_in
        out[m.figure("lower")] *= np.exp(-wider)
        out[m.figure("upper")] *= np.exp(wider)
        confidence = out[m.figure("confidence")]
        out[m.figure("low_confidence")] = (confidence < confidence_threshold).where(confidence.notna())
    out["model_version"] = predicted["model_version"].to_numpy()
    for kind, catalog in (("hardware", catalogs.hardware), ("model", catalogs.models)):
        measured = out[f"{kind}_name"].map(catalog.set_index(f"{kind}_name")["is_measured"])
        out[f"{kind}_measured"] = measured.fillna(False).astype(bool)
    out["fallback"] = frame["fallback"].reset_index(drop=True).to_numpy()
    unseen = [unseen_notes(version.model, features) for version in versions.values()]  # the models applied the cut
    out["notes"] = _notes(frame, out, features, versions, [*contradicted.values(), *unseen])
    return out, features


def split_notes(notes: object) -> list[str]:
    """The notes of one prediction row as a list (the row holds them joined by ``NOTE_SEPARATOR``)."""
    return [note for note in str(notes).split(NOTE_SEPARATOR) if note] if notes else []


def _notes(
    frame: pd.DataFrame,
    out: pd.DataFrame,
    features: pd.DataFrame,
    versions: Mapping[str, ModelVersion],
    contradicted: list[np.ndarray],
) -> np.ndarray:
    """Each row's notes: resolution's, contradictions, catalog-only devices and models, metrics without a model,
    metrics without a model for the row's partition and figures corrected from the device's few measured rows."""
    notes = [frame["notes"].reset_index(drop=True).map(NOTE_SEPARATOR.join).to_numpy(dtype=object), *contradicted]
    for kind, what in (("hardware", "specs"), ("model", "facts")):
        said = map_distinct(
            out[f"{kind}_name"], lambda name, what=what: f"{name} has no measurements: predicted from its catalog {what}"
        )
        notes.append(np.where(out[f"{kind}_measured"].to_numpy(), "", said.to_numpy(dtype=object)))
    available = available_metrics(versions)
    untrained = [m.column for m in metrics() if m.column not in available]
    if untrained:
        missing = f"no trained model for {', '.join(untrained)} (no measurements yet)"
        notes.append(np.full(len(out), missing, dtype=object))
    notes += [_partition_notes(features, version.model) for version in versions.values()]
    notes.append(_correction_notes(features, versions))
    return _joined(notes)


def _partition_notes(features: pd.DataFrame, model: MetricModel) -> np.ndarray:
    """A note on each row whose partition (latency kind, power scope, workload) the metric has no model for
    (a partition another metric's model answers, ``derived``, has one)."""
    labels = model.partition_of(features)
    answered = [*model.partitions, *(label for label in set(labels) if is_derived(model.metric, label))]
    trained = ", ".join(model.partitions)
    said = map_distinct(
        pd.Series(labels),
        lambda label: f"no {model.metric} model for {label} (trained for {trained}): left empty rather than "
        "answered by another partition's model",
    )
    return np.where(np.isin(labels, answered), "", said.to_numpy(dtype=object))


def _correction_notes(features: pd.DataFrame, versions: Mapping[str, ModelVersion]) -> np.ndarray:
    """"corrected from this device's measured rows (throughput: 5, ...)" on each row a metric's model corrected
    (``prediction.corrections``: a device with only a few rows)."""
    said = []
    for version in versions.values():
        rows = version.model.corrected_rows(features)
        said.append(np.where(rows > 0, f"{version.metric}: " + rows.astype(str).astype(object), "").astype(object))
    if not said:
        return np.full(len(features), "", dtype=object)
    listed = _joined(said, ", ")
    return np.where(listed != "", "corrected from this device's measured rows (" + listed + ")", "").astype(object)


def _joined(notes: list[np.ndarray], separator: str = NOTE_SEPARATOR) -> np.ndarray:
    """Row-wise ``separator.join`` of the non-empty notes of each array, without a Python loop over rows."""
    joined = notes[0]
    for more in notes[1:]:
        joined = joined + np.where((joined != "") & (more != ""), separator, "").astype(object) + more
    return joined

