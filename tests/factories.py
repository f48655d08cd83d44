"""Builders shared by the prediction and active-learning tests: the dbt seed catalogs as dbt stages
them, simulated measurements of six GPUs (roofline x a smooth efficiency x noise) and the catalog
marts a predictor reads."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from predictive_performance.modeling import TrainingConfig, workload_features
from predictive_performance.settings import DBT_PROJECT_DIR

SEEDS = DBT_PROJECT_DIR / "seeds"
MEASURED = [
    "NVIDIA Tesla V100 SXM2 16GB",
    "NVIDIA A10",
    "NVIDIA A100 80GB SXM4",
    "NVIDIA H100 80GB SXM5",
    "NVIDIA GeForce RTX 3090",
    "NVIDIA RTX A6000",
]
MODELS = [
    "bert-base-uncased",
    "bert-large-uncased",
    "gpt2",
    "gpt2-medium",
    "resnet-50",
    "resnet-18",
    "t5-small",
    "t5-base",
]
CATALOG_ONLY_GPU = "NVIDIA L4"
CATALOG_ONLY_CPU = "AMD EPYC 9965"  # no CPU was measured at all: far from every training row
CONFIG = TrainingConfig.fast(
    n_jobs=1,
    n_trials=1,
    time_budget_s=2,
    n_folds=3,
    calibration_group_folds=3,
    max_rounds=150,
    algorithms=("xgboost", "lightgbm"),
)


def seed_catalogs() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The dbt seeds with long specs pivoted, as ``stg_catalog__*`` builds them."""
    models = pd.read_csv(SEEDS / "model_architectures.csv").merge(
        pd.read_csv(SEEDS / "model_specs.csv")
        .pivot_table(index="model_name", columns="spec", values="value")
        .reset_index(),
        on="model_name",
    )
    hardware = pd.read_csv(SEEDS / "hardware_devices.csv").merge(
        pd.read_csv(SEEDS / "hardware_specs.csv")
        .pivot_table(index="hardware_name", columns="spec", values="value")
        .reset_index(),
        on="hardware_name",
        how="left",
    )
    return models, hardware


def simulate(models: pd.DataFrame, hardware: pd.DataFrame) -> pd.DataFrame:
    """Roofline x a smooth efficiency x noise; memory from the weights and the batch."""
    rng = np.random.default_rng(7)
    grid = pd.MultiIndex.from_product(
        [MODELS, MEASURED, ["fp32", "fp16"], [1, 8, 32], ["inference", "training"]],
        names=["model_name", "hardware_name", "precision", "batch_size", "mode"],
    ).to_frame(index=False)
    frame = workload_features(grid, models, hardware)
    batch = frame["batch_size"].to_numpy(dtype=float)
    # devices differ in ways no spec sheet shows (drivers, clocks, cooling): an unmeasured device's
    # figures are uncertain, which is what its confidence must say
    device_effect = frame["hardware_name"].map(dict(zip(MEASURED, rng.normal(0.0, 0.25, len(MEASURED)), strict=True)))
    efficiency = 0.3 * batch / (batch + 4.0) * np.exp(device_effect + rng.normal(0.0, 0.05, len(frame)))
    frame["throughput"] = frame["roofline_throughput"] * efficiency
    frame["latency_ms"] = 1000.0 * batch / frame["throughput"]
    frame["memory_mb"] = (300.0 + 1.3 * frame["model_memory_mb"] + 2.0 * batch) * np.exp(
        rng.normal(0.0, 0.03, len(frame))
    )
    frame["load_id"] = "20260101T000000000000Z-predict-tests"
    frame["source_row"] = np.arange(len(frame))
    return frame


def write_marts(path: Path, models: pd.DataFrame, hardware: pd.DataFrame, measured: pd.DataFrame) -> None:
    """``marts.dim_models`` / ``marts.dim_hardware`` with the measurement columns dbt adds."""
    per_model = measured.groupby("model_name").size()
    per_device = measured.groupby("hardware_name").size()
    dim_models = models.assign(
        measured_rows=models["model_name"].map(per_model).fillna(0).astype("int64"),
    )
    dim_models["training_rows"] = dim_models["measured_rows"]
    dim_models["is_measured"] = dim_models["measured_rows"] > 0
    dim_hardware = hardware.assign(
        measured_rows=hardware["hardware_name"].map(per_device).fillna(0).astype("int64"),
    )
    dim_hardware["training_rows"] = dim_hardware["measured_rows"]
    dim_hardware["is_measured"] = dim_hardware["measured_rows"] > 0
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema marts")
        connection.register("m", dim_models)
        connection.register("h", dim_hardware)
        connection.execute("create table marts.dim_models as select * from m")
        connection.execute("create table marts.dim_hardware as select * from h")
