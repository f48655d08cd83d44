"""``PerformancePredictor``: the trained models behind one friendly object.

Typical use::

    from predictive_performance.predict import PerformancePredictor

    predictor = PerformancePredictor.load()                  # warehouse and models from the environment
    result = predictor.predict("bert-base-uncased", hardware_name="NVIDIA A100 80GB SXM4", batch_size=8)
    result["throughput"], result["throughput_lower"], result["throughput_upper"], result["confidence"]

Where things come from: ``load`` reads the catalogs (``marts.dim_models``, ``marts.dim_hardware``)
from the warehouse (``$BENCHMARK_DB_PATH`` or ``db_path``) and the newest model version of every
metric from the artifacts directory (``$PERFPREDICT_ARTIFACTS`` or ``model_path``); the
constructor takes those parts already loaded and reads nothing. Every result names the versions
it came from.

The predictor is a facade: each job lives in ``predictive_performance.prediction`` (inputs, name
resolution, feature assembly, the typed result, SHAP explanations, and the matrix, recommendation
and report views). Choices worth knowing:

- **Names** are resolved as dbt resolves them (``predictive_performance.names``): catalog names,
  their aliases, any case and spacing, and Lambda system names ("Dell 2x H100 80GB SXM5" is two
  H100 SXM5).
- **Platform only.** ``hardware_platform="cuda"`` without a device predicts for one
  representative device of that platform: the one with the most measured rows in the warehouse
  (newest release first among equals, and the first catalog device of the platform when none is
  measured). The result names the device and says why (``notes``). Use ``hardware_name`` (or
  ``recommend_hardware``) to compare devices.
- **Unknown names.** A model or device that is neither in the catalogs nor an alias raises
  ``UnknownNameError`` (a ``modeling.UnknownEntityError``, so a ``ValueError``) naming it, with the
  closest catalog spellings. With ``fallback_to_similar=True`` the closest catalog entry by name
  (within the given platform / model type) is used instead, and the result's ``fallback`` says
  what was asked, what was used and how close it was.
- **Catalog-only devices and models** (specs, no measurements) are predicted from their catalog
  facts; their confidence is lower because the confidence model measures the distance to the
  measured configurations. ``hardware_measured`` / ``model_measured`` say which case applies.
- **Confidence** is the calibrated probability that the measurement lies within +-25 % of the
  prediction; ``low_confidence`` flags metrics under ``confidence_threshold``.
- **Metrics without a model** (no measurements of memory or power yet) are ``None`` with a note.
- **One prediction for a static batch.** Its latency is the throughput model's: ``1000 x batch x
  devices / throughput``, the interval's bounds swapped, the same confidence (``modeling.derived``),
  so the two never disagree; the latency model answers the per-token and per-request kinds.
- **What a figure means** is asked for, never mixed: ``workload`` (``static_batch`` by default,
  ``serving``, the MLPerf scenarios), ``task``, ``latency_kind`` (per batch by default; per output
  token when serving) and ``power_scope`` (``accelerators`` by default, or ``system``). Each metric
  answers with its model for that partition; where it has none the figure is ``None`` and a note
  names the partitions it has.
- **Contradictions** (a platform that is not the device's, a sequence longer than the model's
  positions, a batch larger than the device's memory) are predicted as given, with a note and
  the confidence halved per contradiction, cut to x0.05 where the batch cannot fit in memory
  (``prediction.plausibility``). A kind of device (platform, device class) a metric's model never
  saw cuts that metric's confidence (``modeling.confidence.unseen_factor``), and a stand-in from
  ``fallback_to_similar`` lowers it and widens the intervals (``prediction.resolution``); each with a note.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from predictive_performance.modeling import ModelVersion, latest_version, load_version
from predictive_performance.modeling.derived import available_metrics, is_derived
from predictive_performance.modeling.partitions import row_partitions
from predictive_performance.modeling.registry import models_dir
from predictive_performance.names import NameResolver
from predictive_performance.prediction import views
from predictive_performance.prediction.assembly import predict_resolved
from predictive_performance.prediction.explanation import ShapExplainer
from predictive_performance.prediction.resolution import CatalogResolver
from predictive_performance.prediction.result import Prediction
from predictive_performance.settings import artifacts_dir
from predictive_performance.vocabulary import SYSTEM_BATCHED_WORKLOADS, Metric, metric, metrics
from predictive_performance.warehouse import Warehouse


class PerformancePredictor:
    """Predicts every metric of the vocabulary, with calibrated intervals and confidence.

    Build one with ``load``. ``versions``: the model version of each trained metric, by warehouse
    column; ``catalogs``: the catalogs and name resolution; ``warehouse``: where they came from
    (the demo reads measurements there). ``confidence_threshold``: below it a metric is flagged
    ``low_confidence``. ``fallback_to_similar``: use the closest catalog entry for unknown names
    (explained in the result) instead of raising. ``verbose``: add SHAP explanations to every
    ``predict`` result.
    """

    def __init__(
        self,
        versions: Mapping[str, ModelVersion],
        catalogs: CatalogResolver,
        *,
        warehouse: Warehouse,
        confidence_threshold: float = 0.5,
        fallback_to_similar: bool = False,
        verbose: bool = False,
    ) -> None:
        self.versions = dict(versions)
        self.catalogs = catalogs
        self.warehouse = warehouse
        self.confidence_threshold = float(confidence_threshold)
        self.fallback_to_similar = fallback_to_similar
        self.verbose = verbose
        self.explainer = ShapExplainer()

    @classmethod
    def load(
        cls,
        model_path: str | Path | None = None,
        db_path: str | Path | None = None,
        *,
        warehouse: Warehouse | None = None,
        versions: dict[str, str] | None = None,
        confidence_threshold: float = 0.5,
        fallback_to_similar: bool = False,
        verbose: bool = False,
    ) -> PerformancePredictor:
        """The saved models and the published catalogs.

        ``model_path``: the artifacts directory (holding ``models/``) or the ``models/`` directory;
        default ``$PERFPREDICT_ARTIFACTS``. ``db_path`` / ``warehouse``: where the catalogs are;
        default ``$BENCHMARK_DB_PATH``. ``versions``: pin model versions by metric (version ids).
        Raises ``FileNotFoundError`` without trained models and ``WarehouseError`` without
        published catalogs.
        """
        warehouse = warehouse or (Warehouse(db_path) if db_path else Warehouse.from_env())
        return cls(
            _model_versions(_artifacts_root(model_path), versions),
            CatalogResolver.from_warehouse(warehouse),
            warehouse=warehouse,
            confidence_threshold=confidence_threshold,
            fallback_to_similar=fallback_to_similar,
            verbose=verbose,
        )

    def __repr__(self) -> str:
        versions = ", ".join(v.version for v in self.versions.values())
        return f"PerformancePredictor({self.warehouse.path}, versions=[{versions}])"

    @property
    def metrics(self) -> list[str]:
        """Metrics with figures (warehouse columns: ``throughput``, ``latency_ms``, ...): those with a trained model
        and those another one gives (a static batch's latency comes from the throughput model)."""
        return available_metrics(self.versions)

    @property
    def trained_metrics(self) -> list[Metric]:
        """The metrics with figures (``metrics``), as the vocabulary describes them."""
        return [metric(column) for column in self.metrics]

    @property
    def model_version(self) -> str:
        """Every model version used, comma-separated."""
        return ",".join(v.version for v in self.versions.values())

    @property
    def models(self) -> pd.DataFrame:
        """The model catalog (``marts.dim_models``)."""
        return self.catalogs.models

    @property
    def hardware(self) -> pd.DataFrame:
        """The device catalog (``marts.dim_hardware``)."""
        return self.catalogs.hardware

    @property
    def names(self) -> NameResolver:
        """How model and device spellings map onto the catalogs."""
        return self.catalogs.names

    def trained_metric(self, name: str) -> Metric:
        """The metric ``name`` (key or column); raises ``ValueError`` when it has no trained model."""
        wanted = metric(name)
        if wanted.column not in self.metrics:
            raise ValueError(f"no trained model for {wanted.column}: it has no measurements yet")
        return wanted

    # --- predictions -------------------------------------------------------------------------------

    def predict(
        self,
        model_name: str,
        model_type: str | None = None,
        hardware_platform: str | None = None,
        batch_size: int = 1,
        precision: str = "fp32",
        mode: str = "inference",
        *,
        hardware_name: str | None = None,
        sequence_length: int | None = None,
        image_size: int | None = None,
        num_devices: int | None = None,
        workload: str | None = None,
        task: str | None = None,
        latency_kind: str | None = None,
        power_scope: str | None = None,
        fallback_to_similar: bool | None = None,
        verbose: bool | None = None,
    ) -> Prediction:
        """Every metric for one configuration: value, ``_lower`` / ``_upper`` (80 %) and confidence.

        ``hardware_platform`` may be a platform ("cuda": its representative device, see the
        module notes) or a device name; ``hardware_name`` names the device directly.
        ``sequence_length`` / ``image_size`` default to the catalog's reference input size.
        ``workload`` / ``task`` / ``latency_kind`` / ``power_scope``: what the figures are to mean
        (module notes); ``batch_size`` may be None only for a workload whose system picks the batch.
        """
        system_batched = str(workload).strip().lower() in SYSTEM_BATCHED_WORKLOADS
        if not system_batched and (batch_size is None or (isinstance(batch_size, float) and np.isnan(batch_size))):
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        config = {
            "model_name": model_name,
            "model_type": model_type,
            "hardware_platform": hardware_platform,
            "hardware_name": hardware_name,
            "batch_size": batch_size,
            "precision": precision,
            "mode": mode,
            "sequence_length": sequence_length,
            "image_size": image_size,
            "num_devices": num_devices,
            "workload": workload,
            "task": task,
            "latency_kind": latency_kind,
            "power_scope": power_scope,
        }
        out, features = self._predict(pd.DataFrame([config]), fallback_to_similar)
        result = Prediction.from_row(out.iloc[0], self.versions, self.confidence_threshold)
        if self.verbose if verbose is None else verbose:
            result = dataclasses.replace(result, explanation=self.explainer.explain(features, self.versions, self.metrics))
        return result

    def batch_predict(
        self, configs: Sequence[dict] | pd.DataFrame, fallback_to_similar: bool | None = None
    ) -> pd.DataFrame:
        """Predict a list of configurations (dicts or a DataFrame) in one vectorised pass.

        Columns: model_name, hardware_name or hardware_platform, and optionally batch_size
        (default 1; empty for a system-batched workload), precision (fp32), mode (inference),
        num_devices, sequence_length, image_size, model_type, workload (static_batch), task,
        latency_kind (the workload's own) and power_scope (accelerators). Returns one row per
        configuration, in order: the resolved names
        (and ``*_raw`` as given), ``<metric>_pred / _lower / _upper / _confidence /
        _low_confidence`` for every metric (NaN where no model is trained), ``model_version``,
        ``hardware_measured``, ``model_measured``, ``fallback`` and ``notes``.
        """
        return self._predict(configs, fallback_to_similar)[0]

    def _predict(
        self, configs: Sequence[dict] | pd.DataFrame, fallback_to_similar: bool | None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(predictions, the feature rows they came from): one call into the models for all rows."""
        frame = self.resolve(configs, fallback_to_similar)
        return predict_resolved(frame, self.catalogs, self.versions, self.confidence_threshold)

    def resolve(self, configs: Sequence[dict] | pd.DataFrame, fallback_to_similar: bool | None = None) -> pd.DataFrame:
        """Catalog names and canonical categories for configurations; raises on unknown names.

        Adds ``notes`` (lists) and ``fallback`` (a dict per row where a similar entry was used).
        """
        fallback = self.fallback_to_similar if fallback_to_similar is None else fallback_to_similar
        return self.catalogs.resolve(configs, fallback)

    def similar(self, kind: str, name: str, within: Sequence[str] = (), n: int = 3) -> list[tuple[str, float]]:
        """Closest catalog names to ``name`` by spelling (aliases included), best first, with similarity 0-1."""
        return self.catalogs.similar(kind, name, within, n)

    def explain(self, model_name: str, metric: str = "throughput", top: int | None = 15, **config: Any) -> pd.DataFrame:
        """SHAP contributions of each feature to one prediction of ``metric``, largest first.

        ``config``: the other ``predict`` arguments (hardware_name, batch_size, ...). See
        ``predict(..., verbose=True)`` for all metrics and the sums.
        """
        wanted = self.trained_metric(metric)
        _, features = self._predict(pd.DataFrame([{"model_name": model_name, **config}]), None)
        explained = self.explainer.explain(features, self.versions, [wanted.column])
        if wanted.key not in explained:
            partition = row_partitions(features, wanted)[0]
            answered = "; it is derived from throughput: explain that" if is_derived(wanted.column, partition) else ""
            raise ValueError(f"no {wanted.column} model for {partition}: nothing to explain{answered}")
        table = explained[wanted.key]["features"]
        return table.head(top) if top else table

    # --- matrices, recommendations and reports (``prediction.views``) ------------------------------------

    def generate_prediction_matrix(
        self,
        model_name: str,
        metric: str = "throughput",
        batch_sizes: Sequence[int] = (1, 2, 4, 8, 16, 32),
        hardware_platforms: Sequence[str] | None = None,
        precision: str = "fp32",
        mode: str = "inference",
        sequence_length: int | None = None,
        model_type: str | None = None,
    ) -> pd.DataFrame:
        """One metric for a model over hardware x batch sizes, as a long frame (one row per cell).

        ``hardware_platforms`` may mix platforms (each gives its representative device) and device
        names; by default every measured device. Columns: ``hardware`` (the row label),
        hardware_name, batch_size, ``value``, ``lower``, ``upper``, ``confidence``,
        ``low_confidence``, ``hardware_measured``, plus ``metric`` and the configuration.
        """
        return views.prediction_matrix(
            self, model_name, metric=metric, batch_sizes=batch_sizes, hardware_platforms=hardware_platforms,
            precision=precision, mode=mode, sequence_length=sequence_length, model_type=model_type,
        )

    def visualize_prediction_matrix(
        self, matrix: pd.DataFrame, output_path: str | Path, title: str | None = None
    ) -> Path:
        """Heatmap PNG of a ``generate_prediction_matrix`` frame, each cell with value and confidence."""
        return views.prediction_heatmap(self, matrix, output_path, title)

    def recommend_hardware(
        self,
        model_name: str,
        metric: str = "throughput",
        batch_size: int = 1,
        power_constrained: bool = False,
        precision: str = "fp32",
        mode: str = "inference",
        hardware_platforms: Sequence[str] | None = None,
        top_k: int | None = 10,
        include_unmeasured: bool = True,
        min_confidence: float | None = None,
        sequence_length: int | None = None,
        image_size: int | None = None,
    ) -> pd.DataFrame:
        """Catalog devices ranked for a model (see ``predictive_performance.recommend``).

        ``metric``: throughput (highest), latency (lowest) or memory (lowest);
        ``power_constrained`` ranks by throughput per watt (or energy per batch for latency).
        Devices where the model cannot fit are left out. ``include_unmeasured=False`` keeps only
        measured devices; every row says whether its device was measured and how confident it is.
        With ``power_constrained``, ``watts_source`` says whether a device's power is measured,
        modelled or only its catalog TDP, and TDP guesses rank after the others.
        """
        return views.recommend_hardware(
            self, model_name, metric=metric, batch_size=batch_size, power_constrained=power_constrained,
            precision=precision, mode=mode, hardware_platforms=hardware_platforms, top_k=top_k,
            include_unmeasured=include_unmeasured, min_confidence=min_confidence, sequence_length=sequence_length,
            image_size=image_size,
        )

    def generate_comparison_report(
        self,
        model_names: Sequence[str],
        metrics: Sequence[str] | None = None,
        output_format: str = "html",
        output_path: str | Path | None = None,
        batch_sizes: Sequence[int] = (1, 8, 32),
        hardware_platforms: Sequence[str] | None = None,
        precision: str = "fp32",
        mode: str = "inference",
    ) -> str:
        """A report comparing models across hardware: tables with intervals and confidence, charts.

        ``output_format``: ``html`` (self-contained, charts embedded), ``markdown``, ``csv`` or
        ``json``. Hardware as in ``generate_prediction_matrix``. Writes ``output_path`` when given
        and returns that path (as a string); without a path returns the content.
        """
        return views.comparison_report(
            self, model_names, metrics=metrics, output_format=output_format, output_path=output_path,
            batch_sizes=batch_sizes, hardware_platforms=hardware_platforms, precision=precision, mode=mode,
        )


def _artifacts_root(model_path: str | Path | None) -> Path:
    """The artifacts directory for ``model_path`` given as it or as its ``models/`` folder."""
    if model_path is None:
        return artifacts_dir()
    path = Path(model_path).expanduser().resolve()
    if path.name == "models" and not (path / "models").is_dir():
        return path.parent
    return path


def _model_versions(artifacts: Path, pinned: dict[str, str] | None) -> dict[str, ModelVersion]:
    """The pinned versions (metric -> version id), else the newest version of every metric with one."""
    if pinned:
        versions = {metric(m).column: load_version(v, artifacts) for m, v in pinned.items()}
    else:
        versions = {m.column: v for m in metrics() if (v := latest_version(m.column, artifacts)) is not None}
    if not versions:
        raise FileNotFoundError(
            f"no trained models under {models_dir(artifacts)}: run `perfpredict run` first "
            "(or pass model_path= / set PERFPREDICT_ARTIFACTS)"
        )
    return versions
