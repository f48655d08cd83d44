"""One model per metric, tuned and judged on held-out groups, then the registry tables."""

import dagster as dg

from dagster_project.defs.resources import WarehouseResource, env_default
from dagster_project.defs.transform.checks import TRAINING_FEATURES_KEY
from predictive_performance.config import artifacts_dir
from predictive_performance.modeling import TrainingConfig, evaluation_table, load_training_frame, load_version, publish_saved_versions, train_and_register, trainable_metrics
from predictive_performance.modeling.registry import evaluation_rows
from predictive_performance.reports import evaluation_summary, markdown_table

ALGORITHM_KINDS = {"python", "xgboost", "lightgbm", "catboost"}


TIME_BUDGET_VARIABLE = "PERFPREDICT_TIME_BUDGET_S"
TRIALS_VARIABLE = "PERFPREDICT_TRIALS"
FAST_VARIABLE = "PERFPREDICT_FAST_TRAINING"


class TrainingRunConfig(dg.Config):
    """Tuning budget per metric; without run config (the UI, the sensor, the schedule) the environment says.

    ``fast`` also uses fewer folds and trees (``TrainingConfig.fast``): for smoke runs and tests.
    """

    time_budget_s: float = env_default(TIME_BUDGET_VARIABLE, TrainingConfig.time_budget_s)
    n_trials: int = env_default(TRIALS_VARIABLE, TrainingConfig.n_trials)
    fast: bool = env_default(FAST_VARIABLE, False)

    def training(self) -> TrainingConfig:
        build = TrainingConfig.fast if self.fast else TrainingConfig
        return build(time_budget_s=self.time_budget_s, n_trials=self.n_trials)


def train_metric_version(context: dg.AssetExecutionContext, metric: str, config: TrainingRunConfig, warehouse: WarehouseResource) -> dg.Output:
    """Train, evaluate and save one version of ``metric``; no version when there is no data for it."""
    frame = load_training_frame(warehouse.get())
    training = config.training()
    if metric not in trainable_metrics(frame, training):
        context.log.info(f"no training rows with {metric}: nothing to train")
        return dg.Output(None, metadata={"trained": False, "reason": f"fewer than {training.min_rows} rows with {metric}"})
    [version] = train_and_register(frame, training, metrics=[metric], artifacts=artifacts_dir())
    manifest = version.manifest
    return dg.Output(
        version.version,
        metadata={
            "trained": True,
            "model_version": version.version,
            "algorithm": manifest["algorithm"],
            "target_formulation": manifest["target_formulation"],
            "training_rows": manifest["data_snapshot"]["rows"],
            "held_out_figures": dg.MetadataValue.md(markdown_table(evaluation_summary(evaluation_rows([version], {})))),
        },
    )


MODEL_ASSET = {"kinds": ALGORITHM_KINDS, "key_prefix": "ml", "group_name": "training", "deps": [TRAINING_FEATURES_KEY]}


@dg.asset(**MODEL_ASSET)
def throughput_model(context: dg.AssetExecutionContext, config: TrainingRunConfig, warehouse: WarehouseResource) -> dg.Output:
    """The current throughput model version (items per second)."""
    return train_metric_version(context, "throughput", config, warehouse)


@dg.asset(**MODEL_ASSET)
def latency_model(context: dg.AssetExecutionContext, config: TrainingRunConfig, warehouse: WarehouseResource) -> dg.Output:
    """The current latency model version (milliseconds per batch)."""
    return train_metric_version(context, "latency_ms", config, warehouse)


@dg.asset(**MODEL_ASSET)
def memory_model(context: dg.AssetExecutionContext, config: TrainingRunConfig, warehouse: WarehouseResource) -> dg.Output:
    """The current peak-memory model version (MB)."""
    return train_metric_version(context, "memory_mb", config, warehouse)


@dg.asset(**MODEL_ASSET)
def power_model(context: dg.AssetExecutionContext, config: TrainingRunConfig, warehouse: WarehouseResource) -> dg.Output:
    """The current power model version (W); empty until power has been measured."""
    return train_metric_version(context, "power_w", config, warehouse)


MODEL_ASSETS = [throughput_model, latency_model, memory_model, power_model]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["ml", "model_registry"], description="Every trained version: data snapshot, features, hyperparameters, figures.",
                     group_name="training", kinds={"duckdb"}, deps=[a.key for a in MODEL_ASSETS]),
        dg.AssetSpec(["ml", "evaluation"], description="Held-out figures of every version, per split, stratum and method (incl. baseline).",
                     group_name="training", kinds={"duckdb"}, deps=[a.key for a in MODEL_ASSETS]),
    ],
    ins={a.key.path[-1]: dg.AssetIn(key=a.key) for a in MODEL_ASSETS},
)
def ml_tables(warehouse: WarehouseResource, **versions: str | None):
    """Publish the new versions to ``ml.model_registry`` and ``ml.evaluation`` in one transaction."""
    store = warehouse.get()
    trained = [load_version(v, artifacts_dir()) for v in versions.values() if v is not None]
    if trained:
        publish_saved_versions(store, trained)
    newest = dg.MetadataValue.md(markdown_table(evaluation_summary(evaluation_table(store))))
    for table in ("model_registry", "evaluation"):
        rows = store.query(f"select count(*) as n from ml.{table}")["n"].iloc[0] if store.table_exists(f"ml.{table}") else 0
        yield dg.MaterializeResult(
            asset_key=["ml", table],
            metadata={"dagster/row_count": int(rows), "new_versions": dg.MetadataValue.json([v.version for v in trained]),
                      "newest_held_out_figures": newest},
        )
