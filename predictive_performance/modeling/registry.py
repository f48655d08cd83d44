"""Model versions on disk, their rows in ``ml.model_registry`` / ``ml.evaluation``, and prediction.

A version is a directory ``<artifacts>/models/<version>/`` holding, per partition of the metric
(``partitions``), a folder ``partition-<n>/`` with each learner in its library's own format
(XGBoost UBJSON, LightGBM text, CatBoost binary), the two quantile boosters, the neighbour
reference matrix (``.npy``) and the training rows' residuals the device corrections read
(``device_residuals.parquet``); and ``manifest.json``: the version id, metric, the partition columns
and, per partition, its values, chosen learner and target formulation, every candidate's grouped-CV
scores, hyperparameters, features, data snapshot, conformal margins, confidence calibrator and the
device corrections' priors (a version without them predicts uncorrected); then
the whole version's data snapshot (load ids and rows used from each), the evaluation summary and a
SHA-256 of every file. No pickles: a version can be read by any later version of this code, or by
hand (a version saved before partitions, ``manifest_schema`` 1, is one partition ``all``).

A directory is written under a temporary name and renamed into place, so a reader never finds a
half-written version. ``load_version`` reads only the manifest; the model files are opened the
first time the version predicts. Every prediction names the version it came from.

``publish`` replaces ``ml.model_registry`` and ``ml.evaluation`` whole inside one transaction
(previous versions' rows are carried over), so readers see either the old or the new tables.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from predictive_performance.current_models import CURRENT_VERSIONS_SQL
from predictive_performance.modeling.calibration import ConformalBands
from predictive_performance.modeling.confidence import ConfidenceModel, NeighbourIndex
from predictive_performance.modeling.config import TrainingConfig
from predictive_performance.modeling.derived import add_derived
from predictive_performance.modeling.elasticity import RateElasticity
from predictive_performance.modeling.evaluation import EVALUATION_COLUMNS, EvaluationResult, evaluate_metric
from predictive_performance.modeling.features import FeatureSpec, workload_features
from predictive_performance.modeling.learners import LEARNERS, boosting_library
from predictive_performance.modeling.overhead import StepOverhead
from predictive_performance.modeling.partitions import ALL, values_of
from predictive_performance.modeling.targets import FittedReference
from predictive_performance.modeling.training import (
    MetricEstimator,
    MetricModel,
    PartitionModel,
    load_training_frame,
    trainable_metrics,
)
from predictive_performance.modeling.tuning import MetricSettings
from predictive_performance.prediction.corrections import DeviceCorrections
from predictive_performance.progress import step
from predictive_performance.publish import transaction
from predictive_performance.settings import artifacts_dir
from predictive_performance.vocabulary import metric_columns

MANIFEST = "manifest.json"
MANIFEST_SCHEMA = 2
QUANTILE_FILES = {"lower": "quantile_lower.txt", "upper": "quantile_upper.txt"}
NEIGHBOURS_FILE = "neighbours.npy"
RESIDUALS_FILE = "device_residuals.parquet"


class ModelArtifactError(ValueError):
    """A saved model version cannot be used (a file missing, corrupt or unreadable); names the file and version."""

    def __init__(self, version: str, path: Path, problem: str) -> None:
        super().__init__(
            f"model version {version}: {path} {problem}; retrain (`perfpredict run`) or pin another version "
            "(PerformancePredictor.load(versions=...))"
        )
        self.version = version
        self.path = path


def models_dir(artifacts: str | Path | None = None) -> Path:
    return Path(artifacts).expanduser().resolve() / "models" if artifacts else artifacts_dir() / "models"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _clean(value: Any) -> Any:
    """NaN and infinities become null, so the manifest is strict JSON."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


# --- saving ------------------------------------------------------------------------------------


def save_version(
    model: MetricModel,
    config: TrainingConfig,
    evaluation: EvaluationResult | None = None,
    artifacts: str | Path | None = None,
    trained_seconds: float | None = None,
) -> ModelVersion:
    """Write a trained model (every partition) as a new version directory and return it (already loaded)."""
    trained_at = datetime.now(UTC)
    identity = json.dumps(
        _clean({"settings": {p: part.settings.to_dict() for p, part in model.partitions.items()},
                "load_ids": model.load_ids, "config": config.to_dict(), "at": trained_at.isoformat()}),
        sort_keys=True,
    )
    version = f"{model.metric}-{trained_at:%Y%m%dT%H%M%S}-{hashlib.sha256(identity.encode()).hexdigest()[:8]}"
    root = models_dir(artifacts)
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".tmp-{version}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        partitions = []
        for number, (partition, part) in enumerate(model.partitions.items()):
            folder = f"partition-{number}"
            (staging / folder).mkdir()
            _save_partition(part, staging / folder)
            partitions.append({"partition": partition, "values": values_of(partition), "directory": folder,
                               **_partition_manifest(part)})
        if evaluation is not None:
            evaluation.table.to_parquet(staging / "evaluation.parquet", index=False)
            evaluation.predictions.to_parquet(staging / "heldout_predictions.parquet", index=False)
        files = {p.relative_to(staging).as_posix(): _sha256(p) for p in sorted(staging.rglob("*")) if p.is_file()}
        manifest = _clean(
            {
                "manifest_schema": MANIFEST_SCHEMA,
                "version": version,
                "metric": model.metric,
                "partition_by": list(model.partition_by),
                "algorithm": _by_partition(partitions, "algorithm"),
                "target_formulation": _by_partition(partitions, "target_formulation"),
                "partitions": partitions,
                "untrained_partitions": model.untrained,
                "data_snapshot": {"load_ids": model.load_ids, "rows": model.n_rows},
                "evaluation": evaluation.summary() if evaluation is not None else None,
                "config": config.to_dict(),
                "trained_at": trained_at.isoformat(),
                "training_seconds": trained_seconds,
                "evaluation_seconds": evaluation.seconds if evaluation is not None else None,
                "library_versions": {name: cls.library_version() for name, cls in LEARNERS.items()},
                "files": files,
            }
        )
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=False, default=_json_default))
        os.replace(staging, root / version)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    loaded = ModelVersion(root / version, manifest)
    loaded._model = model
    return loaded


def _save_partition(part: PartitionModel, folder: Path) -> None:
    """One partition's model files: learners, quantile boosters, neighbour references, the corrections' residuals."""
    for fitted in part.learners.values():
        fitted.save(folder / fitted.file_name)
    for name, booster in part.quantiles.items():
        booster.save_model(str(folder / QUANTILE_FILES[name]))
    np.save(folder / NEIGHBOURS_FILE, part.neighbours.reference)
    if part.corrections is not None:
        part.corrections.residuals.to_parquet(folder / RESIDUALS_FILE, index=False)


def _partition_manifest(part: PartitionModel) -> dict:
    """What the manifest says about one partition's model (the fields a version had before partitions)."""
    settings = part.settings
    return {
        "algorithm": settings.algorithm,
        "members": settings.members,
        "target_formulation": settings.formulation,
        "target": f"log({part.metric})" + (
            f" - log({settings.formulation} reference {part.metric})" if settings.formulation != "direct" else ""
        ),
        "candidates": settings.candidates,
        "formulation_scores": settings.formulation_scores,
        "tuning": settings.tuning,
        "hyperparameters": settings.params,
        "rounds": settings.rounds,
        "features": part.spec.to_dict(),
        "data_snapshot": {"load_ids": part.load_ids, "rows": part.n_rows},
        "known_hardware": sorted(part.known_hardware),
        "known_models": sorted(part.known_models),
        "conformal": part.bands.to_dict(),
        "confidence": part.confidence.to_dict() if part.confidence else None,
        "neighbours": part.neighbours.to_dict(),
        "device_corrections": part.corrections.to_dict() if part.corrections else None,
        **_fitted_reference_entry(part.fitted_reference),
    }


def _fitted_reference_entry(fitted: FittedReference | None) -> dict:
    """The manifest keys of a partition's fitted reference part: ``overhead`` or ``rate_elasticity``."""
    if isinstance(fitted, RateElasticity):
        return {"overhead": None, "rate_elasticity": fitted.to_dict()}
    return {"overhead": fitted.to_dict() if fitted is not None else None}


def _fitted_reference(entry: dict) -> FittedReference | None:
    """``_fitted_reference_entry`` the other way; None for a version saved before the part existed."""
    if entry.get("overhead"):
        return StepOverhead.from_dict(entry["overhead"])
    if entry.get("rate_elasticity"):
        return RateElasticity.from_dict(entry["rate_elasticity"])
    return None


def _by_partition(partitions: list[dict], key: str) -> str:
    """One field over the partitions: the value where they agree, else ``partition: value; ...``."""
    values = [entry[key] for entry in partitions]
    if len(set(values)) == 1:
        return values[0]
    return "; ".join(f"{entry['partition']}: {entry[key]}" for entry in partitions)


def partition_entries(manifest: dict) -> list[dict]:
    """The manifest's partitions; a version saved before partitions is the one partition ``all``."""
    if "partitions" in manifest:
        return manifest["partitions"]
    return [{**manifest, "partition": ALL, "values": {}, "directory": "."}]


# --- loading (lazy) ------------------------------------------------------------------------------


@dataclass
class ModelVersion:
    """A saved version: the manifest at once, the model files on first ``predict``."""

    path: Path
    manifest: dict
    _model: MetricModel | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def version(self) -> str:
        return self.manifest["version"]

    @property
    def metric(self) -> str:
        return self.manifest["metric"]

    @property
    def is_loaded(self) -> bool:
        return self._model is not None

    @property
    def model(self) -> MetricModel:
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    def _load(self) -> MetricModel:
        m = self.manifest
        for name, digest in m["files"].items():
            file = self.path / name
            if not file.is_file():
                raise ModelArtifactError(self.version, file, "is missing")
            if _sha256(file) != digest:
                raise ModelArtifactError(self.version, file, "is corrupt (its checksum differs from the manifest's)")
        n_jobs = m["config"].get("n_jobs", 2)
        partitions = {
            entry["partition"]: _load_partition(m["metric"], entry, self.path / entry["directory"], n_jobs)
            for entry in partition_entries(m)
        }
        return MetricModel(
            metric=m["metric"],
            partition_by=tuple(m.get("partition_by", ())),
            partitions=partitions,
            untrained=dict(m.get("untrained_partitions", {})),
        )

    def predict(
        self, frame: pd.DataFrame, components: bool = False, matrices: dict[tuple[str, ...], np.ndarray] | None = None
    ) -> pd.DataFrame:
        """``<metric>_pred / _lower / _upper / _confidence`` and ``model_version``, one row per input row."""
        out = self.model.predict(frame, components=components, matrices=matrices)
        out["model_version"] = self.version
        return out


def _load_partition(metric: str, entry: dict, folder: Path, n_jobs: int) -> PartitionModel:
    """One partition's model from its manifest entry and folder."""
    settings = MetricSettings(
        metric=metric, formulation=entry["target_formulation"], algorithm=entry["algorithm"], members=entry["members"],
        params=entry["hyperparameters"], rounds=entry["rounds"], candidates=entry["candidates"],
        formulation_scores=entry["formulation_scores"], tuning=entry["tuning"],
    )
    learners = {
        name: cls.from_path(folder / cls.file_name, n_jobs)
        for name, cls in LEARNERS.items()
        if (folder / cls.file_name).exists()
    }
    lgb = boosting_library("lightgbm")  # the libraries load when a version's files are opened, not on import

    quantiles = {name: lgb.Booster(model_file=str(folder / f)) for name, f in QUANTILE_FILES.items()}
    corrections = None
    if entry.get("device_corrections"):
        corrections = DeviceCorrections.from_dict(entry["device_corrections"], pd.read_parquet(folder / RESIDUALS_FILE))
    return PartitionModel(
        metric=metric,
        settings=settings,
        spec=FeatureSpec.from_dict(entry["features"]),
        learners=learners,
        quantiles=quantiles,
        bands=ConformalBands.from_dict(entry["conformal"]),
        neighbours=NeighbourIndex.from_dict(entry["neighbours"], np.load(folder / NEIGHBOURS_FILE)),
        confidence=ConfidenceModel.from_dict(entry["confidence"]) if entry.get("confidence") else None,
        known_hardware=frozenset(entry["known_hardware"]),
        known_models=frozenset(entry["known_models"]),
        n_rows=entry["data_snapshot"]["rows"],
        load_ids=entry["data_snapshot"]["load_ids"],
        n_jobs=n_jobs,
        corrections=corrections,
        fitted_reference=_fitted_reference(entry),
    )


def load_version(version: str, artifacts: str | Path | None = None) -> ModelVersion:
    """A saved version by id; reads only its manifest."""
    path = models_dir(artifacts) / version
    if not (path / MANIFEST).exists():
        raise FileNotFoundError(f"no model version {version!r} under {models_dir(artifacts)}")
    return ModelVersion(path, _read_manifest(path))


def _read_manifest(path: Path) -> dict:
    """A version directory's manifest; a truncated or garbled one is named with its version."""
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ModelArtifactError(path.name, path / MANIFEST, f"cannot be read ({error})") from error
    if not isinstance(manifest, dict) or not {"version", "metric", "files"} <= manifest.keys():
        raise ModelArtifactError(path.name, path / MANIFEST, "is not a model manifest")
    return manifest


def list_versions(artifacts: str | Path | None = None, metric: str | None = None) -> list[dict]:
    """Manifests of every saved version (optionally of one metric), oldest first."""
    root = models_dir(artifacts)
    if not root.exists():
        return []
    manifests = []
    for path in root.iterdir():
        if path.name.startswith(".") or not (path / MANIFEST).exists():
            continue
        manifest = _read_manifest(path)
        if metric is None or manifest["metric"] == metric:
            manifests.append(manifest)
    return sorted(manifests, key=lambda m: (m["trained_at"], m["version"]))


def latest_version(metric: str, artifacts: str | Path | None = None) -> ModelVersion | None:
    """The newest saved version of a metric, or None."""
    manifests = list_versions(artifacts, metric)
    return load_version(manifests[-1]["version"], artifacts) if manifests else None


# --- prediction across metrics ---------------------------------------------------------------------


def predict(
    frame: pd.DataFrame,
    metrics: list[str] | None = None,
    versions: dict[str, ModelVersion] | None = None,
    artifacts: str | Path | None = None,
    components: bool = False,
) -> pd.DataFrame:
    """Every metric for every row of a ``training_features``-shaped frame (see ``prepare_configurations``).

    Uses ``versions`` where given, else the latest saved version of each metric. Adds
    ``<metric>_model_version`` per metric and ``model_version``, the versions used, comma-separated.
    A figure another metric's model gives (``derived``: a static batch's latency) comes from that model.
    """
    if versions is None:
        candidates = metrics or list(metric_columns())
        versions = {m: v for m in candidates if (v := latest_version(m, artifacts)) is not None}
    elif metrics:
        versions = {m: versions[m] for m in metrics}
    if not versions:
        raise FileNotFoundError(f"no trained model versions under {models_dir(artifacts)}: train first")
    parts = []
    matrices: dict[tuple[str, ...], np.ndarray] = {}  # models with the same feature layout share one model matrix
    for metric, version in versions.items():
        predicted = version.predict(frame, components=components, matrices=matrices)
        parts.append(predicted.rename(columns={"model_version": f"{metric}_model_version"}))
    out = add_derived(frame, pd.concat(parts, axis=1), versions)
    out["model_version"] = ",".join(v.version for v in versions.values())
    return out


def prepare_configurations(configs: pd.DataFrame, warehouse) -> pd.DataFrame:
    """Catalog features and roofline for configurations (``features.workload_features`` on the marts)."""
    models = warehouse.query("select * from marts.dim_models")
    hardware = warehouse.query("select * from marts.dim_hardware")
    return workload_features(configs, models, hardware)


# --- the ml schema -----------------------------------------------------------------------------------


def registry_rows(versions: list[ModelVersion]) -> pd.DataFrame:
    """One ``ml.model_registry`` row per version."""
    rows = []
    for v in versions:
        m = v.manifest
        entries = partition_entries(m)
        rows.append(
            {
                "model_version": m["version"],
                "metric": m["metric"],
                "algorithm": m["algorithm"],
                "target_formulation": m["target_formulation"],
                "trained_at": pd.Timestamp(m["trained_at"]).tz_convert(None),
                "n_rows": m["data_snapshot"]["rows"],
                "load_ids": sorted(m["data_snapshot"]["load_ids"]),
                "data_snapshot": json.dumps(m["data_snapshot"]),
                "partitions": [e["partition"] for e in entries],
                "features": list(dict.fromkeys(n for e in entries for n in e["features"]["names"])),
                "hyperparameters": _per_partition(entries, "hyperparameters"),
                "candidate_scores": _per_partition(entries, "candidates"),
                "formulation_scores": _per_partition(entries, "formulation_scores"),
                "conformal_margins": _per_partition(entries, "conformal"),
                "evaluation_summary": json.dumps(m["evaluation"]),
                "artifact_path": str(v.path),
                "manifest": json.dumps(m),
            }
        )
    return pd.DataFrame(rows)


def _per_partition(entries: list[dict], key: str) -> str:
    """One manifest field of every partition, as JSON by partition label."""
    return json.dumps({entry["partition"]: entry[key] for entry in entries})


def evaluation_rows(versions: list[ModelVersion], evaluations: dict[str, EvaluationResult]) -> pd.DataFrame:
    """``ml.evaluation`` rows: the tidy table of each version's metric, tagged with the version.

    A version without an entry in ``evaluations`` contributes the table saved with it, if any.
    """
    parts = []
    for v in versions:
        result = evaluations.get(v.version) or evaluations.get(v.metric)
        if result is not None:
            table = result.table.copy()
        elif (v.path / "evaluation.parquet").exists():
            table = pd.read_parquet(v.path / "evaluation.parquet")
        else:
            continue
        table.insert(0, "model_version", v.version)
        table["evaluated_at"] = pd.Timestamp(v.manifest["trained_at"]).tz_convert(None)
        parts.append(table)
    if not parts:
        return pd.DataFrame(columns=["model_version", *EVALUATION_COLUMNS, "evaluated_at"])
    return pd.concat(parts, ignore_index=True)


def publish(warehouse, versions: list[ModelVersion], evaluations: dict[str, EvaluationResult] | None = None) -> None:
    """Add versions to ``ml.model_registry`` and their figures to ``ml.evaluation``, atomically.

    Both tables are rebuilt as (old rows of other versions) + (new rows) and swapped in by
    ``create or replace`` inside a single transaction.
    """
    registry = registry_rows(versions)
    evaluation = evaluation_rows(versions, evaluations or {})
    with transaction(warehouse) as connection:
        connection.execute("create schema if not exists ml")
        for table, frame in (("model_registry", registry), ("evaluation", evaluation)):
            connection.register("incoming_rows", frame)
            exists = connection.execute(
                "select count(*) from information_schema.tables where table_schema = 'ml' and table_name = ?",
                [table],
            ).fetchone()[0]
            if exists and len(frame):
                connection.execute(
                    f"""
                    create or replace table ml.{table} as
                    select * from ml.{table}
                    where model_version not in (select model_version from incoming_rows)
                    union all by name
                    select * from incoming_rows
                    """
                )
            elif not exists:
                connection.execute(f"create table ml.{table} as select * from incoming_rows")
            connection.unregister("incoming_rows")


def publish_saved_versions(warehouse, versions: list[ModelVersion]) -> None:
    """``publish`` with each version's evaluation read from its own directory."""
    publish(warehouse, versions, None)


def evaluation_table(warehouse, metric: str | None = None, all_versions: bool = False) -> pd.DataFrame:
    """``ml.evaluation`` rows of the newest version of each metric (or of every version)."""
    if not warehouse.table_exists("ml.evaluation"):
        return pd.DataFrame(columns=["model_version", *EVALUATION_COLUMNS, "evaluated_at"])
    newest = "" if all_versions else f"where model_version in (select model_version from ({CURRENT_VERSIONS_SQL}))"
    table = warehouse.query(f"select * from ml.evaluation {newest} order by metric, split, stratum, stratum_value, method")
    return table if metric is None else table[table["metric"] == metric].reset_index(drop=True)


# --- the whole thing ---------------------------------------------------------------------------------


def train_and_register(
    frame: pd.DataFrame,
    config: TrainingConfig = TrainingConfig(),
    metrics: list[str] | None = None,
    artifacts: str | Path | None = None,
    evaluate: bool = True,
    warehouse=None,
) -> list[ModelVersion]:
    """Tune, fit, evaluate and save one version per metric; publish to ``warehouse`` if given."""
    versions, evaluations = [], {}
    for metric in metrics or trainable_metrics(frame, config):
        with step("training", f"{metric}: model") as advance:
            started = time.monotonic()
            estimator = MetricEstimator(config).fit(frame, metric)
            trained_seconds = round(time.monotonic() - started, 2)
            result = evaluate_metric(frame, metric, estimator.settings_, config) if evaluate else None
            version = save_version(estimator.model_, config, result, artifacts, trained_seconds)
            advance(detail=f"saved {version.version}")
        versions.append(version)
        if result is not None:
            evaluations[version.version] = result
    if warehouse is not None and versions:
        publish(warehouse, versions, evaluations)
    return versions


def train_from_warehouse(
    warehouse, config: TrainingConfig = TrainingConfig(), artifacts: str | Path | None = None, evaluate: bool = True
) -> list[ModelVersion]:
    """``train_and_register`` on ``marts.training_features`` of a warehouse, published back to it."""
    return train_and_register(load_training_frame(warehouse), config, None, artifacts, evaluate, warehouse)
