"""``PerformancePredictor``: the trained models behind one friendly object.

Typical use::

    from predictive_performance.predict import PerformancePredictor

    predictor = PerformancePredictor()                       # warehouse and models from the environment
    result = predictor.predict("bert-base-uncased", hardware_name="NVIDIA A100 80GB SXM4", batch_size=8)
    result["throughput"], result["throughput_lower"], result["throughput_upper"], result["confidence"]

Where things come from: the catalogs (``marts.dim_models``, ``marts.dim_hardware``) from the
warehouse (``$BENCHMARK_DB_PATH`` or ``db_path``), the newest model version of every metric from
the artifacts directory (``$PERFPREDICT_ARTIFACTS`` or ``model_path``). Every result names the
versions it came from.

Names are resolved as dbt resolves them (``predictive_performance.names``): catalog names, their
aliases, any case and spacing, and Lambda system names ("Dell 2x H100 80GB SXM5" is two H100 SXM5).

Choices worth knowing:

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
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from predictive_performance.config import artifacts_dir
from predictive_performance.ingest.lambda_csv import parse_system_name
from predictive_performance.ingest.validation import INTEGER_LIMIT
from predictive_performance.modeling import (
    UnknownEntityError,
    latest_version,
    load_version,
    workload_features,
)
from predictive_performance.modeling import (
    predict as predict_frame,
)
from predictive_performance.modeling.registry import models_dir
from predictive_performance.modeling.targets import offset
from predictive_performance.vocabulary import metric_columns
from predictive_performance.names import (
    NameResolver,
    canonical_platform,
    is_platform,
    map_distinct,
    name_key,
    unknown_categories,
)
from predictive_performance.recommend import objective_for, rank_hardware
from predictive_performance.warehouse import Warehouse, WarehouseError

# The short names results use, per metric column of the warehouse.
METRIC_KEYS: dict[str, str] = {
    "throughput": "throughput",
    "latency_ms": "latency",
    "memory_mb": "memory",
    "power_w": "power",
}
CONFIDENCE_KEYS: dict[str, str] = {
    "throughput": "confidence",
    "latency_ms": "confidence_latency",
    "memory_mb": "confidence_memory",
    "power_w": "confidence_power",
}
UNITS: dict[str, str] = {
    "throughput": "items/s",
    "latency_ms": "ms per batch",
    "memory_mb": "MB (peak)",
    "power_w": "W (average)",
}
FIGURES = ("pred", "lower", "upper", "confidence")
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
)
DEFAULTS: dict[str, Any] = {"batch_size": 1, "precision": "fp32", "mode": "inference"}
NOTE_SEPARATOR = " | "  # between the notes of one row in tables and CSV files
# Runtimes that run on a host CPU: with no measured device of their own, the CPU stands in.
CPU_RUNTIMES = frozenset({"onnxruntime", "openvino"})


def metric_column(metric: str) -> str:
    """``latency`` / ``latency_ms`` -> ``latency_ms``; the warehouse's metric name for any spelling."""
    key = str(metric).strip().lower()
    for column, short in METRIC_KEYS.items():
        if key in (column, short):
            return column
    raise ValueError(f"unknown metric {metric!r}; expected one of {', '.join(METRIC_KEYS.values())}")


class UnknownNameError(UnknownEntityError):
    """A model or device neither in the catalog nor among its aliases; names it and the closest spellings."""

    def __init__(
        self,
        kind: str,
        names: Iterable[str],
        suggestions: dict[str, list[str]] | None = None,
        message: str | None = None,
    ) -> None:
        super().__init__(kind, names)
        self.suggestions = suggestions or {}
        if message:
            self.args = (message,)
            return
        parts = []
        for name in self.names:
            close = self.suggestions.get(name)
            hint = f" (closest catalog names: {', '.join(repr(c) for c in close)})" if close else ""
            parts.append(f"{name!r}{hint}")
        catalog = (
            "dbt/seeds/hardware_devices.csv and hardware_specs.csv"
            if kind == "hardware"
            else "dbt/seeds/model_architectures.csv and model_specs.csv"
        )
        aliases = f"dbt/seeds/{'hardware' if kind == 'hardware' else 'model'}_aliases.csv"
        message = (
            f"unknown {kind}: {'; '.join(parts)}. Add it to {catalog} (or an alias to {aliases}), "
            "or pass fallback_to_similar=True (--fallback-to-similar)"
        )
        self.args = (message,)


class PerformancePredictor:
    """Predicts throughput, latency, memory and power, with calibrated intervals and confidence.

    ``model_path``: the artifacts directory (holding ``models/``) or the ``models/`` directory;
    default ``$PERFPREDICT_ARTIFACTS``. ``db_path`` / ``warehouse``: where the catalogs are;
    default ``$BENCHMARK_DB_PATH``. ``versions``: pin model versions by metric (version ids).
    ``confidence_threshold``: below it a metric is flagged ``low_confidence``.
    ``fallback_to_similar``: use the closest catalog entry for unknown names (explained in the
    result) instead of raising. ``verbose``: add SHAP explanations to every ``predict`` result.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        db_path: str | Path | None = None,
        *,
        warehouse: Warehouse | None = None,
        versions: dict[str, str] | None = None,
        confidence_threshold: float = 0.5,
        fallback_to_similar: bool = False,
        verbose: bool = False,
    ) -> None:
        self.artifacts = _artifacts_root(model_path)
        self.warehouse = warehouse or (Warehouse(db_path) if db_path else Warehouse.from_env())
        self.confidence_threshold = float(confidence_threshold)
        self.fallback_to_similar = fallback_to_similar
        self.verbose = verbose
        if versions:
            self.versions = {metric_column(m): load_version(v, self.artifacts) for m, v in versions.items()}
        else:
            self.versions = {m: v for m in metric_columns() if (v := latest_version(m, self.artifacts)) is not None}
        if not self.versions:
            raise FileNotFoundError(
                f"no trained models under {models_dir(self.artifacts)}: run `perfpredict run` first "
                "(or pass model_path= / set PERFPREDICT_ARTIFACTS)"
            )
        if self.warehouse.path.exists() and not self.warehouse.table_exists("marts.dim_models"):
            # otherwise the first catalog query fails with DuckDB's multi-line catalog error
            raise WarehouseError(
                f"warehouse {self.warehouse.path} has no published catalogs (marts.dim_models): "
                "run `perfpredict run` first"
            )
        self.models = self.warehouse.query("select * from marts.dim_models order by model_name")
        self.hardware = self.warehouse.query("select * from marts.dim_hardware order by hardware_name")
        self.names = NameResolver.from_catalogs(self.models, self.hardware)
        self._platform_devices = self._representatives()
        self._explainers: dict[tuple[str, str], Any] = {}

    def __repr__(self) -> str:
        versions = ", ".join(v.version for v in self.versions.values())
        return f"PerformancePredictor({self.warehouse.path}, versions=[{versions}])"

    @property
    def metrics(self) -> list[str]:
        """Metrics with a trained model (warehouse names: ``throughput``, ``latency_ms``, ...)."""
        return list(self.versions)

    @property
    def model_version(self) -> str:
        return ",".join(v.version for v in self.versions.values())

    # --- one configuration -------------------------------------------------------------------

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
        fallback_to_similar: bool | None = None,
        verbose: bool | None = None,
    ) -> dict[str, Any]:
        """Every metric for one configuration: value, ``_lower`` / ``_upper`` (80 %) and confidence.

        ``hardware_platform`` may be a platform ("cuda": its representative device, see the
        module notes) or a device name; ``hardware_name`` names the device directly.
        ``sequence_length`` / ``image_size`` default to the catalog's reference input size.
        """
        if batch_size is None or (isinstance(batch_size, float) and np.isnan(batch_size)):
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
        }
        out, features = self._predict(pd.DataFrame([config]), fallback_to_similar)
        result = self._as_dict(out.iloc[0])
        if self.verbose if verbose is None else verbose:
            result["explanation"] = self._explain(features, list(self.versions))
        return result

    def _as_dict(self, row: pd.Series) -> dict[str, Any]:
        result: dict[str, Any] = {
            "model_name": row["model_name"],
            "model_name_requested": row["model_name_raw"],
            "model_type": _plain(row.get("model_type")),
            "hardware_name": row["hardware_name"],
            "hardware_name_requested": _plain(row["hardware_name_raw"]),
            "hardware_platform": row["hardware_platform"],
            "num_devices": int(row["num_devices"]),
            "batch_size": int(row["batch_size"]),
            "precision": row["precision"],
            "mode": row["mode"],
            "sequence_length": _plain(row.get("sequence_length")),
            "image_size": _plain(row.get("image_size")),
        }
        low: dict[str, bool] = {}
        for metric in metric_columns():
            key, trained = METRIC_KEYS[metric], metric in self.versions
            result[key] = _plain(row[f"{metric}_pred"]) if trained else None
            result[f"{key}_lower"] = _plain(row[f"{metric}_lower"]) if trained else None
            result[f"{key}_upper"] = _plain(row[f"{metric}_upper"]) if trained else None
            result[CONFIDENCE_KEYS[metric]] = _plain(row[f"{metric}_confidence"]) if trained else None
            if trained:
                low[key] = bool(row[f"{metric}_low_confidence"])
        result["units"] = {METRIC_KEYS[m]: UNITS[m] for m in metric_columns()}
        result["low_confidence"] = low
        result["confidence_threshold"] = self.confidence_threshold
        result["hardware_measured"] = bool(row["hardware_measured"])
        result["model_measured"] = bool(row["model_measured"])
        result["model_version"] = row["model_version"]
        result["model_versions"] = {METRIC_KEYS[m]: v.version for m, v in self.versions.items()}
        result["fallback"] = row["fallback"] or None
        result["notes"] = [n for n in str(row["notes"]).split(NOTE_SEPARATOR) if n] if row["notes"] else []
        return result

    # --- many configurations -------------------------------------------------------------------

    def batch_predict(
        self, configs: Sequence[dict] | pd.DataFrame, fallback_to_similar: bool | None = None
    ) -> pd.DataFrame:
        """Predict a list of configurations (dicts or a DataFrame) in one vectorised pass.

        Columns: model_name, hardware_name or hardware_platform, and optionally batch_size
        (default 1), precision (fp32), mode (inference), num_devices, sequence_length,
        image_size, model_type. Returns one row per configuration, in order: the resolved names
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
        features = workload_features(frame, self.models, self.hardware).reset_index(drop=True)
        predicted = predict_frame(features, versions=self.versions).reset_index(drop=True)
        columns = [f"{m}_{f}" for m in metric_columns() for f in FIGURES]
        predicted = predicted.reindex(columns=[*columns, *(f"{m}_model_version" for m in metric_columns()), "model_version"])
        out = frame[[c for c in CONFIG_COLUMNS if c in frame.columns]].reset_index(drop=True)
        out["model_type"] = out["model_name"].map(self.models.set_index("model_name")["model_type"])
        out["hardware_platform"] = features["hardware_platform"].to_numpy()
        out["num_devices"] = features["num_devices"].to_numpy()
        for metric in metric_columns():
            for figure in FIGURES:
                out[f"{metric}_{figure}"] = predicted[f"{metric}_{figure}"].to_numpy(dtype=float)
            confidence = out[f"{metric}_confidence"]
            out[f"{metric}_low_confidence"] = (confidence < self.confidence_threshold).where(confidence.notna())
        out["model_version"] = predicted["model_version"].to_numpy()
        out["hardware_measured"] = out["hardware_name"].map(self.hardware.set_index("hardware_name")["is_measured"])
        out["model_measured"] = out["model_name"].map(self.models.set_index("model_name")["is_measured"])
        out["hardware_measured"] = out["hardware_measured"].fillna(False).astype(bool)
        out["model_measured"] = out["model_measured"].fillna(False).astype(bool)
        notes = [frame["notes"].reset_index(drop=True).map(NOTE_SEPARATOR.join).to_numpy(dtype=object)]
        for kind, what in (("hardware", "specs"), ("model", "facts")):
            said = map_distinct(out[f"{kind}_name"], lambda name, what=what: f"{name} has no measurements: "
                                f"predicted from its catalog {what}")
            notes.append(np.where(out[f"{kind}_measured"].to_numpy(), "", said.to_numpy(dtype=object)))
        untrained = [m for m in metric_columns() if m not in self.versions]
        if untrained:
            missing = f"no trained model for {', '.join(untrained)} (no measurements yet)"
            notes.append(np.full(len(out), missing, dtype=object))
        out["fallback"] = frame["fallback"].reset_index(drop=True).to_numpy()
        out["notes"] = _joined(notes)
        return out, features

    def resolve(self, configs: Sequence[dict] | pd.DataFrame, fallback_to_similar: bool | None = None) -> pd.DataFrame:
        """Catalog names and canonical categories for configurations; raises on unknown names.

        Adds ``notes`` (lists) and ``fallback`` (a dict per row where a similar entry was used).
        """
        fallback = self.fallback_to_similar if fallback_to_similar is None else fallback_to_similar
        frame = pd.DataFrame(list(configs)) if not isinstance(configs, pd.DataFrame) else configs.copy()
        if frame.empty:
            raise ValueError("no configurations to predict")
        if "model_name" not in frame.columns:
            raise ValueError("each configuration needs a model_name")
        if "hardware_name" not in frame.columns and "hardware_platform" not in frame.columns:
            raise ValueError("each configuration needs hardware_name or hardware_platform")
        frame = frame.reset_index(drop=True)
        problems = _parse_counts(frame, range(1, len(frame) + 1), "configuration")
        unnamed = np.flatnonzero(frame["model_name"].map(_blank).to_numpy())
        problems += [f"configuration {position + 1}, column model_name: empty" for position in unnamed]
        if problems:
            raise _input_error("", problems)
        for column, default in DEFAULTS.items():
            frame[column] = frame[column].where(frame[column].notna(), default) if column in frame else default
        if "model_type" not in frame.columns:
            frame["model_type"] = None
        frame = self.names.normalise(frame)
        frame["batch_size"] = frame["batch_size"].astype("int64")
        bad = unknown_categories(frame)
        if bad:
            raise ValueError("; ".join(f"unknown {column}: {', '.join(values)}" for column, values in bad.items()))
        frame["notes"] = [[] for _ in range(len(frame))]
        frame["fallback"] = [None] * len(frame)
        self._fill_platform_devices(frame)
        self._resolve_unknown(frame, fallback)
        catalog_type = frame["model_name"].map(self.models.set_index("model_name")["model_type"])
        given_type = map_distinct(frame["model_type"], lambda v: None if pd.isna(v) else str(v).strip().lower())
        for position in np.flatnonzero((given_type.notna() & (given_type != catalog_type)).to_numpy()):
            frame.at[position, "notes"].append(
                f"model_type {given_type[position]!r} given, but the catalog says {frame.at[position, 'model_name']} "
                f"is {catalog_type[position]!r}; the catalog's facts are used"
            )
        return frame

    def _representatives(self) -> dict[str, tuple[str, str]]:
        """platform -> (device, why): the most measured device of each platform."""
        hardware = self.hardware.sort_values(
            ["measured_rows", "release_year", "hardware_name"], ascending=[False, False, True], na_position="last"
        )
        out: dict[str, tuple[str, str]] = {}
        for platform, group in hardware.groupby("hardware_platform", sort=False):
            device = group.iloc[0]
            if device["measured_rows"] > 0:
                why = f"the most measured {platform} device ({int(device['measured_rows'])} rows)"
            else:
                why = f"the newest {platform} device in the catalog, as none is measured"
            out[str(platform)] = (device["hardware_name"], why)
        if "cpu" in out:
            for runtime in CPU_RUNTIMES:
                out.setdefault(runtime, (out["cpu"][0], f"{runtime} runs on the host CPU: {out['cpu'][1]}"))
        return out

    def _fill_platform_devices(self, frame: pd.DataFrame) -> None:
        missing = np.flatnonzero(frame["hardware_name"].isna().to_numpy())
        platforms = frame["hardware_platform"].to_numpy()[missing]
        unusable = pd.isna(platforms) | ~np.isin(platforms.astype(str), list(self._platform_devices))
        if unusable.any():
            position, platform = missing[unusable][0], platforms[unusable][0]
            if pd.isna(platform):
                raise ValueError(f"configuration {position + 1} has neither hardware_name nor hardware_platform")
            raise UnknownNameError(
                "hardware",
                [platform],
                message=f"no catalog device runs platform {platform!r}: pass hardware_name, or add a {platform} "
                "device to dbt/seeds/hardware_devices.csv",
            )
        said = {
            platform: f"only the platform {platform!r} was given: predicted for {device}, {why} "
            "(pass hardware_name for another device)"
            for platform, (device, why) in self._platform_devices.items()
        }
        frame.loc[missing, "hardware_name"] = [self._platform_devices[p][0] for p in platforms]
        frame.loc[missing, "hardware_known"] = True
        notes = frame["notes"].to_numpy()  # the row's own lists: appending here changes the frame's notes
        for position, platform in zip(missing, platforms, strict=True):
            notes[position].append(said[platform])

    def _resolve_unknown(self, frame: pd.DataFrame, fallback: bool) -> None:
        """Replace unknown names by the closest catalog entry (``fallback``), or raise naming all of them."""
        found: dict[str, dict[str, list[tuple[str, float]]]] = {}
        for kind, column, known in (
            ("model", "model_name", "model_known"),
            ("hardware", "hardware_name", "hardware_known"),
        ):
            unknown = frame.loc[~frame[known].astype(bool), column].dropna().unique()
            within = "model_type" if kind == "model" else "hardware_platform"
            found[kind] = {
                name: self.similar(kind, name, within=frame.loc[frame[column] == name, within].dropna().unique())
                for name in unknown
            }
        if not fallback and any(found.values()):
            errors = [
                UnknownNameError(kind, names, {n: [c for c, _ in close[:3]] for n, close in names.items()})
                for kind, names in found.items()
                if names
            ]
            message = " Also ".join(str(e) for e in errors)
            raise UnknownNameError(errors[0].kind, errors[0].names, errors[0].suggestions, message=message)
        for kind, names in found.items():
            column = "model_name" if kind == "model" else "hardware_name"
            for name, close in names.items():
                if not close:
                    raise UnknownNameError(kind, [name])
                used, similarity = close[0]
                explanation = {
                    "requested": name,
                    "used": used,
                    "similarity": round(similarity, 3),
                    "reason": f"{name!r} is not in the {kind} catalog, so the closest catalog {kind} by name, "
                    f"{used!r}, is used",
                }
                rows = (frame[column] == name).to_numpy()
                for position in np.flatnonzero(rows):
                    entry = dict(frame.at[position, "fallback"] or {})
                    entry[kind] = explanation
                    frame.at[position, "fallback"] = entry
                    frame.at[position, "notes"].append(
                        f"fallback: {explanation['reason']} (similarity {similarity:.2f})"
                    )
                frame.loc[rows, column] = used

    def similar(self, kind: str, name: str, within: Iterable[str] = (), n: int = 3) -> list[tuple[str, float]]:
        """Closest catalog names to ``name`` by spelling (aliases included), best first, with similarity 0-1.

        ``within``: model types (models) or platforms (devices) to prefer; used when any match them.
        """
        if kind == "model":
            catalog = self.models.set_index("model_name")["model_type"]
            spellings = self.names.spellings("model")
        else:
            catalog = self.hardware.set_index("hardware_name")["hardware_platform"]
            spellings = self.names.spellings("hardware")
        within = {canonical_platform(w) if kind == "hardware" else str(w).strip().lower() for w in within if w}
        allowed = set(catalog.index)
        if within and (catalog.isin(within)).any():
            allowed = set(catalog.index[catalog.isin(within)])
        key = name_key(name) or ""
        if kind == "hardware":  # compare the device part of a system name ("Dell 2x ...")
            key = name_key(parse_system_name(str(name))[0]) or key
        best: dict[str, float] = {}
        for spelling, canonical in spellings.items():
            if canonical in allowed:
                ratio = difflib.SequenceMatcher(None, key, spelling).ratio()
                best[canonical] = max(best.get(canonical, 0.0), ratio)
        ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))
        return ranked[:n]

    # --- explanations -----------------------------------------------------------------------------

    def explain(self, model_name: str, metric: str = "throughput", top: int | None = 15, **config: Any) -> pd.DataFrame:
        """SHAP contributions of each feature to one prediction of ``metric``, largest first.

        ``config``: the other ``predict`` arguments (hardware_name, batch_size, ...). See
        ``predict(..., verbose=True)`` for all metrics and the sums.
        """
        column = metric_column(metric)
        if column not in self.versions:
            raise ValueError(f"no trained model for {column}: it has no measurements yet")
        _, features = self._predict(pd.DataFrame([{"model_name": model_name, **config}]), None)
        table = self._explain(features, [column])[METRIC_KEYS[column]]["features"]
        return table.head(top) if top else table

    def _explain(self, features: pd.DataFrame, metrics: Iterable[str]) -> dict[str, dict]:
        """TreeSHAP contributions of the features of the first row of ``features``, per metric.

        Models are fitted to ``log(metric)`` minus a physics reference (the roofline, for the
        efficiency formulation), so contributions are in log units and add up:
        ``log(prediction) = base_value + sum(contribution) + reference_offset``. ``factor`` =
        ``exp(contribution)`` is the multiplicative effect on the metric. When the chosen model is
        the ensemble, each member (XGBoost, LightGBM, CatBoost) is explained with its own
        TreeExplainer and the contributions are averaged, as the point prediction averages them.
        """
        with warnings.catch_warnings():  # shap's colour maps use matplotlib calls it is deprecating
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            import shap  # heavy: imported only when explanations are asked for

        features = features.iloc[[0]]
        out = {}
        for metric in metrics:
            version = self.versions[metric]
            model = version.model
            X = model.spec.matrix(features)
            members = list(model.settings.members)
            values, bases = [], []
            for algorithm in members:
                explainer = self._explainers.get((version.version, algorithm))
                if explainer is None:
                    explainer = shap.TreeExplainer(model.models[algorithm])
                    self._explainers[(version.version, algorithm)] = explainer
                values.append(np.asarray(explainer.shap_values(X), dtype=float).reshape(len(X), -1)[0])
                bases.append(float(np.ravel(explainer.expected_value)[0]))
            contribution = np.mean(values, axis=0)
            base = float(np.mean(bases))
            shift = float(offset(features, metric, model.settings.formulation)[0])
            table = pd.DataFrame(
                {"feature": model.spec.names, "value": X[0].astype(float), "contribution": contribution}
            )
            for algorithm, member_values in zip(members, values, strict=True):
                if len(members) > 1:
                    table[f"contribution_{algorithm}"] = member_values
            table["factor"] = np.exp(table["contribution"])
            table = table[table["contribution"].abs() > 0].copy()
            table = table.reindex(table["contribution"].abs().sort_values(ascending=False).index).reset_index(drop=True)
            explained = (
                f"ensemble: mean of TreeSHAP values of {', '.join(members)}"
                if len(members) > 1
                else f"{members[0]} (the chosen learner), TreeSHAP"
            )
            out[METRIC_KEYS[metric]] = {
                "metric": metric,
                "model_version": version.version,
                "explained": explained,
                "target": version.manifest.get("target"),
                "base_value": base,
                "reference_offset": shift if np.isfinite(shift) else 0.0,
                "log_prediction": base + float(contribution.sum()) + (shift if np.isfinite(shift) else 0.0),
                "features": table,
            }
        return out

    # --- matrices, recommendations and reports --------------------------------------------------------

    def _hardware_entry(self, entry: str) -> dict[str, str]:
        """A platform ("cuda") or a device name, as configuration columns."""
        if is_platform(entry) and self.names.device(entry) is None:
            return {"hardware_platform": canonical_platform(entry)}
        return {"hardware_name": entry}

    def _measured_devices(self) -> list[str]:
        """Every measured device (all catalog devices when none is measured yet)."""
        measured = self.hardware.loc[self.hardware["is_measured"].astype(bool), "hardware_name"]
        return sorted(measured) or list(self.hardware["hardware_name"])

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
        column = metric_column(metric)
        if column not in self.versions:
            raise ValueError(f"no trained model for {column}: it has no measurements yet")
        entries = list(hardware_platforms) if hardware_platforms else self._measured_devices()
        configs = []
        for entry in entries:
            device = self._hardware_entry(entry)
            for batch in batch_sizes:
                configs.append(
                    {
                        "model_name": model_name,
                        "model_type": model_type,
                        **device,
                        "batch_size": int(batch),
                        "precision": precision,
                        "mode": mode,
                        "sequence_length": sequence_length,
                        "label": entry,
                    }
                )
        frame = pd.DataFrame(configs)
        predicted = self.batch_predict(frame.drop(columns="label"))
        labels = [
            f"{label} ({device})" if is_platform(label) and label != device else device
            for label, device in zip(frame["label"], predicted["hardware_name"], strict=True)
        ]
        matrix = predicted[
            ["model_name", "hardware_name", "hardware_platform", "num_devices", "batch_size", "precision", "mode"]
        ].copy()
        matrix.insert(1, "hardware", labels)
        matrix["metric"] = column
        matrix["unit"] = UNITS[column]
        for figure in ("pred", "lower", "upper", "confidence", "low_confidence"):
            matrix["value" if figure == "pred" else figure] = predicted[f"{column}_{figure}"]
        matrix["hardware_measured"] = predicted["hardware_measured"]
        matrix["model_version"] = self.versions[column].version
        matrix["notes"] = predicted["notes"]
        return matrix

    def visualize_prediction_matrix(
        self, matrix: pd.DataFrame, output_path: str | Path, title: str | None = None
    ) -> Path:
        """Heatmap PNG of a ``generate_prediction_matrix`` frame, each cell with value and confidence."""
        from predictive_performance.reports import prediction_heatmap

        return prediction_heatmap(matrix, output_path, confidence_threshold=self.confidence_threshold, title=title)

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
    ) -> pd.DataFrame:
        """Catalog devices ranked for a model (see ``predictive_performance.recommend``).

        ``metric``: throughput (highest), latency (lowest) or memory (lowest);
        ``power_constrained`` ranks by throughput per watt (or energy per batch for latency).
        Devices where the model cannot fit are left out. ``include_unmeasured=False`` keeps only
        measured devices; every row says whether its device was measured and how confident it is.
        """
        try:
            metric = metric_column(metric)
        except ValueError:
            pass  # an objective name such as "throughput_per_watt"
        objective = objective_for(metric, power_constrained)
        if objective.metric not in self.versions:
            raise ValueError(f"no trained model for {objective.metric}: it has no measurements yet")
        hardware = self.hardware
        if hardware_platforms:
            platforms = {canonical_platform(p) for p in hardware_platforms}
            hardware = hardware[hardware["hardware_platform"].isin(platforms)]
        if not include_unmeasured:
            hardware = hardware[hardware["is_measured"].astype(bool)]
        if hardware.empty:
            raise ValueError("no catalog device matches the platforms / measured filter given")
        configs = pd.DataFrame(
            {
                "model_name": model_name,
                "hardware_name": hardware["hardware_name"].to_numpy(),
                "batch_size": batch_size,
                "precision": precision,
                "mode": mode,
                "sequence_length": sequence_length,
            }
        )
        predicted = self.batch_predict(configs)
        return rank_hardware(
            predicted,
            self.hardware,
            objective,
            models=self.models,
            top_k=top_k,
            confidence_threshold=self.confidence_threshold,
            min_confidence=min_confidence,
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
        from predictive_performance.reports import comparison_report

        wanted = [metric_column(m) for m in metrics] if metrics else list(self.versions)
        skipped = [m for m in wanted if m not in self.versions]
        entries = list(hardware_platforms) if hardware_platforms else self._measured_devices()
        configs = []
        for model in model_names:
            for entry in entries:
                device = self._hardware_entry(entry)
                for batch in batch_sizes:
                    configs.append(
                        {"model_name": model, **device, "batch_size": int(batch), "precision": precision, "mode": mode}
                    )
        predictions = self.batch_predict(pd.DataFrame(configs))
        notes = [f"{m}: no trained model (no measurements yet), left out" for m in skipped]
        return comparison_report(
            predictions,
            [m for m in wanted if m in self.versions],
            output_format=output_format,
            output_path=output_path,
            confidence_threshold=self.confidence_threshold,
            model_versions={m: v.version for m, v in self.versions.items()},
            notes=notes,
        )


def _artifacts_root(model_path: str | Path | None) -> Path:
    """The artifacts directory for ``model_path`` given as it or as its ``models/`` folder."""
    if model_path is None:
        return artifacts_dir()
    path = Path(model_path).expanduser().resolve()
    if path.name == "models" and not (path / "models").is_dir():
        return path.parent
    return path


def _joined(notes: list[np.ndarray]) -> np.ndarray:
    """Row-wise ``NOTE_SEPARATOR.join`` of the non-empty notes of each array, without a Python loop over rows."""
    joined = notes[0]
    for more in notes[1:]:
        joined = joined + np.where((joined != "") & (more != ""), NOTE_SEPARATOR, "").astype(object) + more
    return joined


def _plain(value: Any) -> Any:
    """Plain Python values for result dicts: floats, ints, None for missing."""
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


REQUIRED_INPUT = ("model_name", "batch_size", "precision", "mode")
NUMERIC_INPUT = ("batch_size", "num_devices", "sequence_length", "image_size")


def read_configurations(path: str | Path, require_settings: bool = True) -> pd.DataFrame:
    """Configurations from a CSV, Parquet or JSON file in the canonical columns (no metrics needed).

    Needs model_name, hardware_name or hardware_platform and (with ``require_settings``)
    batch_size, precision and mode. Empty cells are missing values; a number that is not one is
    reported with its row (first data row = 1) and column. Raises ``ValueError``.
    """
    from predictive_performance.ingest.canonical import read_canonical

    frame = read_canonical(Path(path))
    frame = frame.replace({"": None}).rename(columns={"source_row": "input_row"})
    needed = REQUIRED_INPUT if require_settings else ("model_name",)
    missing = [c for c in needed if c not in frame.columns]
    if "hardware_name" not in frame.columns and "hardware_platform" not in frame.columns:
        missing.append("hardware_name or hardware_platform")
    if missing:
        raise ValueError(f"{path}: missing column(s): {', '.join(missing)}")
    problems = _parse_counts(frame, frame["input_row"], "row")
    for column in needed:
        empty = frame[column].isna()
        problems += [f"row {row}, column {column}: empty" for row in frame.loc[empty, "input_row"]]
    if problems:
        raise _input_error(f"{path}: ", problems)
    return frame


def _blank(value: Any) -> bool:
    """An empty cell: None, NaN or blank text."""
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)) or (
        isinstance(value, str) and not value.strip()
    )


def _parse_counts(frame: pd.DataFrame, rows: Iterable, label: str) -> list[str]:
    """Parse ``NUMERIC_INPUT`` columns in place as positive integers (None where empty).

    Returns one problem per bad cell, naming the row (``label`` and number) and the column:
    text, booleans, fractions, infinities, zero, negatives and counts beyond 32 bits are refused.
    """
    rows = list(rows)
    problems = []
    for column in NUMERIC_INPUT:
        if column not in frame.columns:
            continue
        values = frame[column]
        present, numbers = _present_numbers(values)
        whole = np.isfinite(numbers) & (numbers % 1 == 0) & (numbers > 0)
        fits = whole & (numbers <= INTEGER_LIMIT)
        for position in np.flatnonzero((present & ~fits).to_numpy()):
            value = values.iloc[position]
            value = value.item() if isinstance(value, np.generic) else value  # 2.5, not np.float64(2.5)
            too_big = whole.iloc[position]
            reason = f"{value!r} exceeds {INTEGER_LIMIT}" if too_big else f"not a positive integer {value!r}"
            problems.append(f"{label} {rows[position]}, column {column}: {reason}")
        frame[column] = numbers.where(fits).astype("Int64").astype(object).where(fits, None)
    return problems


def _present_numbers(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(which cells hold something, their number: NaN for text and booleans).

    A numeric column (what ``batch_predict`` gets from Python ints or a parsed CSV) is converted
    whole; only object columns, which may hold text or booleans, are looked at cell by cell.
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype(float)
        return numbers.notna(), numbers
    given = values.astype(object).map(lambda v: None if _blank(v) else v)
    numbers = pd.to_numeric(
        given.map(lambda v: np.nan if v is None or isinstance(v, bool | np.bool_) else v), errors="coerce"
    ).astype(float)
    return given.notna(), numbers


def _input_error(prefix: str, problems: list[str], shown: int = 20) -> ValueError:
    more = f" (and {len(problems) - shown} more)" if len(problems) > shown else ""
    return ValueError(prefix + "; ".join(problems[:shown]) + more)
