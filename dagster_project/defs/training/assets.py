"""One model per metric of the vocabulary (one fit per partition inside it), tuned and judged on held-out groups,
then the registry tables."""

from collections.abc import Mapping, Sequence

import dagster as dg

from dagster_project.defs.resources import WarehouseResource
from dagster_project.defs.transform.checks import TRAINING_FEATURES_KEY
from predictive_performance.modeling import (
    TrainingConfig,
    evaluation_table,
    load_training_frame,
    load_version,
    publish_saved_versions,
    train_and_register,
    trainable_metrics,
)
from predictive_performance.modeling.registry import evaluation_rows
from predictive_performance.reports import evaluation_summary, markdown_table
from predictive_performance.settings import Settings, artifacts_dir
from predictive_performance.vocabulary import Metric, metrics

ALGORITHM_KINDS = {"python", *TrainingConfig.algorithms}  # the learners a model version may be built with
ML_TABLE_KEYS = (dg.AssetKey(["ml", "model_registry"]), dg.AssetKey(["ml", "evaluation"]))


class TrainingRunConfig(dg.Config):
    """Tuning budget per metric; a field left out comes from ``Settings`` when the run starts.

    Runs launched from the UI, the sensor or the schedule carry no run config, so the environment decides.

    ``fast`` also uses fewer folds and trees (``TrainingConfig.fast``): for smoke runs and tests.
    ``thorough`` runs the full search (``TrainingConfig.thorough``) instead of the few-minute default.
    """

    time_budget_s: float | None = None
    n_trials: int | None = None
    fast: bool | None = None
    thorough: bool | None = None

    def training(self) -> TrainingConfig:
        settings = Settings.from_env().with_overrides(
            time_budget_s=self.time_budget_s, n_trials=self.n_trials, fast_training=self.fast, thorough=self.thorough
        )
        return settings.training_config()


def model_key(metric: Metric) -> dg.AssetKey:
    """``ml/<key>_model``: the asset holding the current model version of ``metric``."""
    return dg.AssetKey(["ml", metric.asset_name])


def model_run_config(training: Mapping) -> dict[str, dict]:
    """Run config giving every model asset the same ``TrainingRunConfig`` fields, keyed by op name."""
    return {model_key(m).to_python_identifier(): {"config": dict(training)} for m in metrics()}


def train_metric_version(context: dg.AssetExecutionContext, metric: Metric, config: TrainingRunConfig, warehouse: WarehouseResource) -> dg.Output:
    """Train, evaluate and save one version of ``metric``; no version when there is no data for it."""
    frame = load_training_frame(warehouse.get())
    training = config.training()
    if metric.column not in trainable_metrics(frame, training):
        context.log.info(f"no training rows with {metric.column}: nothing to train")
        return dg.Output(None, metadata={"trained": False, "reason": f"fewer than {training.min_rows} rows with {metric.column}"})
    [version] = train_and_register(frame, training, metrics=[metric.column], artifacts=artifacts_dir())
    manifest = version.manifest
    partition_rows = {p["partition"]: p["data_snapshot"]["rows"] for p in manifest["partitions"]}
    return dg.Output(
        version.version,
        metadata={
            "trained": True,
            "model_version": version.version,
            "algorithm": manifest["algorithm"],
            "target_formulation": manifest["target_formulation"],
            "training_rows": manifest["data_snapshot"]["rows"],
            # one model per partition (latency kind, power scope, workload): its rows, and those too small for one
            "partition_rows": dg.MetadataValue.json(partition_rows),
            "untrained_partitions": dg.MetadataValue.json(manifest["untrained_partitions"]),
            "held_out_figures": dg.MetadataValue.md(markdown_table(evaluation_summary(evaluation_rows([version], {})))),
        },
    )


def model_asset(metric: Metric) -> dg.AssetsDefinition:
    """The asset that trains ``metric``: ``ml/<key>_model``, described by the vocabulary."""

    @dg.asset(key=model_key(metric), description=metric.description, kinds=ALGORITHM_KINDS, group_name="training",
              deps=[TRAINING_FEATURES_KEY])
    def _model(context: dg.AssetExecutionContext, config: TrainingRunConfig, warehouse: WarehouseResource) -> dg.Output:
        return train_metric_version(context, metric, config, warehouse)

    return _model


def model_assets() -> list[dg.AssetsDefinition]:
    """One model asset per metric of the vocabulary as it stands now."""
    return [model_asset(m) for m in metrics()]


def ml_tables(models: Sequence[dg.AssetsDefinition]) -> dg.AssetsDefinition:
    """``ml.model_registry`` and ``ml.evaluation``, fed by ``models`` (the assets of ``model_assets``)."""
    model_keys = [model.key for model in models]

    @dg.multi_asset(
        name="ml_tables",
        specs=[
            dg.AssetSpec(ML_TABLE_KEYS[0], description="Every trained version: data snapshot, features, hyperparameters, figures.",
                         group_name="training", kinds={"duckdb"}, deps=model_keys),
            dg.AssetSpec(ML_TABLE_KEYS[1], description="Held-out figures of every version, per split, stratum and method (incl. baseline).",
                         group_name="training", kinds={"duckdb"}, deps=model_keys),
        ],
        ins={key.path[-1]: dg.AssetIn(key=key) for key in model_keys},
    )
    def _ml_tables(warehouse: WarehouseResource, **versions: str | None):
        """Publish the new versions to ``ml.model_registry`` and ``ml.evaluation`` in one transaction."""
        store = warehouse.get()
        trained = [load_version(v, artifacts_dir()) for v in versions.values() if v is not None]
        if trained:
            publish_saved_versions(store, trained)
        newest = dg.MetadataValue.md(markdown_table(evaluation_summary(evaluation_table(store))))
        for key in ML_TABLE_KEYS:
            table = ".".join(key.path)
            rows = store.query(f"select count(*) as n from {table}")["n"].iloc[0] if store.table_exists(table) else 0
            yield dg.MaterializeResult(
                asset_key=key,
                metadata={"dagster/row_count": int(rows), "new_versions": dg.MetadataValue.json([v.version for v in trained]),
                          "newest_held_out_figures": newest},
            )

    return _ml_tables
