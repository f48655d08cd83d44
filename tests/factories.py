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


LLMS = ["gpt2", "gpt2-medium", "t5-small", "t5-base"]
SERVING_CAPS = [8, 32, 128]  # concurrency caps (max_num_seqs) per replica
HOST_POWER_W = 450.0  # what the wall adds to the accelerators in the simulated system-power rows


def simulate_workloads(models: pd.DataFrame, hardware: pd.DataFrame) -> pd.DataFrame:
    """``simulate``'s static batches plus rows whose figures mean something else under the same columns.

    - static batches: per-batch latency, accelerator power (``tdp x load``), source ``sim-static``;
    - serving (LLMs under a concurrency cap, task lm-arena-chat): output tokens/s, a per-token latency
      (one decode step: ``1000 x cap / tokens/s per device``, tens of ms) and accelerator power, ``sim-serving``;
    - MLPerf-like offline runs: the system chose the batch (empty), throughput and wall power, which adds
      ``HOST_POWER_W`` to the accelerators' and so lies well above them, ``sim-offline``.
    """
    rng = np.random.default_rng(11)
    static = simulate(models, hardware)
    batch = static["batch_size"].to_numpy(dtype=float)
    static = static.assign(
        workload="static_batch", task=None, latency_kind="batch", power_scope="accelerators", source="sim-static",
        power_w=static["tdp_w"] * (0.35 + 0.5 * batch / (batch + 4.0)) * np.exp(rng.normal(0.0, 0.04, len(static))),
    )
    serving = _llm_grid(models, hardware, SERVING_CAPS, ["bf16"], "serving")
    cap = serving["batch_size"].to_numpy(dtype=float)
    tokens = 0.02 * serving["roofline_throughput"] * cap / (cap + 16.0) * np.exp(rng.normal(0.0, 0.05, len(serving)))
    serving = serving.assign(
        task="lm-arena-chat", latency_kind="token", power_scope="accelerators",
        source="sim-serving", throughput=tokens, latency_ms=1000.0 * cap / tokens,
        power_w=serving["tdp_w"] * (0.5 + 0.4 * cap / (cap + 16.0)) * np.exp(rng.normal(0.0, 0.04, len(serving))),
    )
    offline = _llm_grid(models, hardware, [None], ["fp16", "bf16"], "offline")
    offline = offline.assign(
        task="llama2-70b-99", latency_kind=None, power_scope="system", source="sim-offline",
        throughput=0.25 * offline["roofline_throughput"] * np.exp(rng.normal(0.0, 0.05, len(offline))),
        power_w=(0.85 * offline["tdp_w"] + HOST_POWER_W) * np.exp(rng.normal(0.0, 0.03, len(offline))),
    )
    frame = pd.concat([static, serving, offline], ignore_index=True)
    frame["source_row"] = np.arange(len(frame))
    return frame


def _llm_grid(
    models: pd.DataFrame, hardware: pd.DataFrame, batches: list, precisions: list[str], workload: str
) -> pd.DataFrame:
    """LLM configurations under ``workload``, with the roofline dbt gives them (an item is a generated token)."""
    grid = pd.MultiIndex.from_product(
        [LLMS, MEASURED, precisions, batches, ["inference"]],
        names=["model_name", "hardware_name", "precision", "batch_size", "mode"],
    ).to_frame(index=False)
    grid["batch_size"] = pd.to_numeric(grid["batch_size"])
    grid["workload"] = workload
    frame = workload_features(grid, models, hardware)
    frame["load_id"] = "20260101T000000000000Z-workload-tests"
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
