"""Confidence falls where the model knows little (issue #15): each case on models fitted for real.

The factory world (six measured CUDA GPUs, ``tests.factories``) plus one fictional catalog device with
ten times the H100's compute and bandwidth. Every case compares a row the models know little about
with the same configuration on a measured device, through ``PerformancePredictor.batch_predict``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predictive_performance.modeling import predict, prepare_configurations, train_and_register
from predictive_performance.predict import PerformancePredictor
from predictive_performance.prediction.resolution import STAND_IN_CONFIDENCE
from tests.factories import CATALOG_ONLY_CPU, CONFIG, seed_catalogs, simulate, write_marts

FAR_DEVICE = "Test Accelerator 10x"
MEASURED_GPU = "NVIDIA A100 80GB SXM4"
METRICS = ("throughput", "memory_mb")  # a static batch's latency follows from its throughput
BASE = {"model_name": "bert-base-uncased", "batch_size": 8, "precision": "fp16"}


def far_device(hardware: pd.DataFrame) -> pd.DataFrame:
    """The H100 SXM5 with ten times its compute and bandwidth: beyond every measured device."""
    device = hardware[hardware["hardware_name"] == "NVIDIA H100 80GB SXM5"].copy()
    scaled = [c for c in device.columns if c.startswith("peak_")] + ["memory_bandwidth_gbs"]
    device[scaled] = device[scaled] * 10.0
    return device.assign(hardware_name=FAR_DEVICE)


def build_world(folder: Path) -> dict:
    """The factory world's warehouse and models (throughput, memory), the far device in its catalog."""
    models, hardware = seed_catalogs()
    hardware = pd.concat([hardware, far_device(hardware)], ignore_index=True)
    frame = simulate(models, hardware)
    db_path = folder / "benchmarks.duckdb"
    write_marts(db_path, models, hardware, frame)
    artifacts = folder / "artifacts"
    train_and_register(frame, CONFIG, list(METRICS), artifacts, evaluate=False)
    return {"db_path": db_path, "artifacts": artifacts}


@pytest.fixture(scope="module")
def predictor(tmp_path_factory) -> PerformancePredictor:
    world = build_world(tmp_path_factory.mktemp("confidence_cases"))
    return PerformancePredictor.load(model_path=world["artifacts"], db_path=world["db_path"])


def predicted(predictor: PerformancePredictor, *changes: dict) -> pd.DataFrame:
    """The measured A100 row first, then one row per change of ``BASE``, with fallback allowed."""
    configs = [{**BASE, "hardware_name": MEASURED_GPU}, *({**BASE, **change} for change in changes)]
    return predictor.batch_predict(configs, fallback_to_similar=True)


def notes_of(row: pd.Series) -> list[str]:
    return str(row["notes"]).split(" | ")


def test_a_platform_without_measurements_gets_clearly_lower_confidence(predictor):
    rows = predicted(predictor, {"hardware_name": "Apple M2 Max"}, {"hardware_name": "Qualcomm Snapdragon X Elite NPU"})

    for position in (1, 2):
        for metric in METRICS:
            assert rows.loc[position, f"{metric}_confidence"] < 0.2 * rows.loc[0, f"{metric}_confidence"]
    assert any(note.startswith("throughput model never saw a device of platform mps") for note in notes_of(rows.loc[1]))


def test_a_metric_trained_on_one_platform_is_unsure_on_another_and_says_so(predictor):
    rows = predicted(predictor, {"hardware_name": "Qualcomm Snapdragon X Elite NPU"}, {"hardware_name": CATALOG_ONLY_CPU})

    for position, platform in ((1, "qnn"), (2, "cpu")):
        assert rows.loc[position, "memory_mb_confidence"] < 0.2
        assert any(
            note.startswith(f"memory_mb model never saw a device of platform {platform}") and "confidence x0.1" in note
            for note in notes_of(rows.loc[position])
        )
    assert not any("never saw" in note for note in notes_of(rows.loc[0]))
    # the cut is the model's own: the published prediction matrix, which asks the models directly, has it too
    asked = {**BASE, "hardware_name": CATALOG_ONLY_CPU, "mode": "inference"}
    features = prepare_configurations(pd.DataFrame([asked]), predictor.warehouse)
    assert predict(features, versions=predictor.versions).loc[0, "memory_mb_confidence"] < 0.2


def test_a_batch_that_cannot_fit_in_memory_has_next_to_no_confidence(predictor):
    rows = predicted(predictor, {"hardware_name": "NVIDIA A10", "batch_size": 10**9})

    for metric in METRICS:
        assert rows.loc[1, f"{metric}_confidence"] <= 0.05
    assert any("so it cannot run" in note and "confidence x0.05" in note for note in notes_of(rows.loc[1]))


def test_a_sequence_beyond_the_catalog_maximum_lowers_confidence(predictor):
    # gpt2-medium's 1024 positions are in the catalog only, not in the local runner's architecture registry
    text = {"model_name": "gpt2-medium", "hardware_name": "NVIDIA A10", "batch_size": 1}
    rows = predicted(predictor, {**text, "sequence_length": 1024}, {**text, "sequence_length": 4096})

    for metric in METRICS:
        assert rows.loc[2, f"{metric}_confidence"] < 0.6 * rows.loc[1, f"{metric}_confidence"]
    assert any("exceeds the 1024 positions gpt2-medium takes" in note for note in notes_of(rows.loc[2]))


def test_a_device_far_beyond_the_measured_range_gets_lower_confidence(predictor):
    rows = predicted(predictor, {"hardware_name": FAR_DEVICE}, {"hardware_name": "NVIDIA H100 80GB SXM5"})

    for metric in METRICS:
        assert rows.loc[1, f"{metric}_confidence"] < rows.loc[2, f"{metric}_confidence"] - 0.1


def test_a_stand_in_lowers_confidence_by_how_close_it_is_and_widens_the_intervals(predictor):
    rows = predicted(
        predictor,
        {"hardware_name": "NVIDIA H100 80GB SXM5"},
        {"hardware_name": "NVIDIA H100 80GB SXM6"},  # the SXM5 stands in, spelt alike
        {"hardware_name": "NVIDIA H100 80GB SXM9 Max"},  # the SXM5 again, a poorer match
    )
    by_name, close, poor = rows.loc[1], rows.loc[2], rows.loc[3]

    assert close["hardware_name"] == poor["hardware_name"] == by_name["hardware_name"]
    similarity = [row["fallback"]["hardware"]["similarity"] for row in (close, poor)]
    assert similarity[0] > similarity[1]
    for metric in METRICS:
        for row, s in zip((close, poor), similarity, strict=True):
            assert row[f"{metric}_pred"] == pytest.approx(by_name[f"{metric}_pred"], rel=1e-9)  # figures as asked
            expected = by_name[f"{metric}_confidence"] * STAND_IN_CONFIDENCE * s
            assert row[f"{metric}_confidence"] == pytest.approx(expected, rel=1e-6)
            width, known = (np.log(r[f"{metric}_upper"] / r[f"{metric}_lower"]) for r in (row, by_name))
            assert width > known + 2 * np.log(2.0)  # each side wider by at least a factor of 2
        assert poor[f"{metric}_confidence"] < close[f"{metric}_confidence"]
    assert any("confidence x0.4" in note and "wider" in note for note in notes_of(close))
