"""Performance models: one per metric, honest evaluation, calibrated intervals, a file-based registry.

Typical use::

    from predictive_performance.modeling import TrainingConfig, train_from_warehouse, predict

    versions = train_from_warehouse(warehouse)            # tune, fit, evaluate, save, publish
    frame = prepare_configurations(configs, warehouse)    # catalog features + roofline
    predictions = predict(frame)                          # latest version of every metric

Modules: ``features`` (model matrix), ``targets`` (what the learners fit), ``learners`` (one class
per boosting library), ``config`` (``TrainingConfig``), ``folds`` (shared fold assignments),
``crossval`` (grouped CV), ``tuning`` (screen, search, choice), ``partitions`` (which rows one
model may see: per latency kind, power scope, workload), ``training`` (``MetricEstimator``, the
final fit and the partitioned ``MetricModel``), ``calibration`` (quantile models + conformal margins), ``confidence`` (the 0-1
score), ``evaluation`` (splits, figures, baseline), ``registry`` (versions, ``ml`` tables).
"""

from predictive_performance.modeling.calibration import ConformalBands
from predictive_performance.modeling.confidence import ConfidenceModel, NeighbourIndex
from predictive_performance.modeling.config import TrainingConfig
from predictive_performance.modeling.evaluation import (
    SPLITS,
    EvaluationResult,
    baseline_predict,
    evaluate,
    evaluate_metric,
    score,
    split_folds,
)
from predictive_performance.modeling.features import FeatureSpec, UnknownEntityError, add_roofline, workload_features
from predictive_performance.modeling.learners import ALGORITHMS, LEARNERS, Learner, learner
from predictive_performance.modeling.registry import (
    ModelVersion,
    evaluation_table,
    latest_version,
    list_versions,
    load_version,
    predict,
    prepare_configurations,
    publish,
    publish_saved_versions,
    save_version,
    train_and_register,
    train_from_warehouse,
)
from predictive_performance.modeling.training import (
    MetricEstimator,
    MetricModel,
    PartitionModel,
    fit_metric_model,
    load_training_frame,
    metric_partitions,
    train,
    train_metric,
    trainable_metrics,
    trainable_partitions,
)
from predictive_performance.modeling.tuning import MetricSettings, tune_metric

__all__ = [
    "ALGORITHMS",
    "LEARNERS",
    "SPLITS",
    "ConfidenceModel",
    "ConformalBands",
    "EvaluationResult",
    "FeatureSpec",
    "Learner",
    "MetricEstimator",
    "MetricModel",
    "MetricSettings",
    "ModelVersion",
    "NeighbourIndex",
    "PartitionModel",
    "TrainingConfig",
    "UnknownEntityError",
    "add_roofline",
    "baseline_predict",
    "evaluate",
    "evaluate_metric",
    "evaluation_table",
    "fit_metric_model",
    "latest_version",
    "learner",
    "list_versions",
    "load_training_frame",
    "load_version",
    "metric_partitions",
    "predict",
    "prepare_configurations",
    "publish",
    "publish_saved_versions",
    "save_version",
    "score",
    "split_folds",
    "train",
    "train_and_register",
    "train_from_warehouse",
    "train_metric",
    "trainable_metrics",
    "trainable_partitions",
    "tune_metric",
    "workload_features",
]
