"""The report renderers on hand-made prediction rows: directions, units and columns from the vocabulary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from predictive_performance import reports, vocabulary

TOY = vocabulary.Metric("energy_j", "energy", "J per batch", "confidence_energy", False, "rated_power", "Toy metric.")


def predictions(values: dict[str, list[float]]) -> pd.DataFrame:
    """One model at batch 1 on three devices; ``values`` gives each metric column's predictions."""
    frame = pd.DataFrame(
        {
            "model_name": "bert-base-uncased",
            "hardware_name": ["A", "B", "C"],
            "batch_size": 1,
            "precision": "fp32",
            "mode": "inference",
            "hardware_measured": [True, False, False],
        }
    )
    for column, predicted in values.items():
        m = vocabulary.metric(column)
        frame[m.figure("pred")] = predicted
        frame[m.figure("lower")] = np.asarray(predicted) * 0.8
        frame[m.figure("upper")] = np.asarray(predicted) * 1.2
        frame[m.figure("confidence")] = [0.9, 0.6, 0.3]
    return frame


@pytest.mark.parametrize(("column", "best"), [("throughput", "B"), ("latency_ms", "C"), ("memory_mb", "C")])
def test_best_device_follows_the_metric_direction(column, best):
    rows = predictions({column: [10.0, 30.0, 5.0]})
    assert reports.best_per_model(rows, column)["best hardware"].tolist() == [best]


@pytest.mark.parametrize(("column", "cmap"), [("throughput", "viridis"), ("latency_ms", "viridis_r")])
def test_heatmap_is_bright_where_the_metric_is_better(column, cmap):
    figure = reports.heatmap_figure(reports.heatmap_frame(predictions({column: [10.0, 30.0, 5.0]}), column))
    image = figure.axes[0].get_images()[0]
    assert image.get_cmap().name == cmap
    assert figure.axes[1].get_ylabel() == f"predicted {column} ({vocabulary.metric(column).unit})"


def test_a_registered_metric_gets_a_report_row_without_touching_the_renderers(monkeypatch):
    monkeypatch.setattr(vocabulary, "METRICS", (*vocabulary.METRICS, TOY))
    rows = predictions({"throughput": [10.0, 30.0, 5.0], "energy_j": [4.0, 2.0, 8.0]})
    assert reports.predicted_metrics(rows) == ["throughput", "energy_j"]
    assert reports.best_per_model(rows, "energy")["best hardware"].tolist() == ["B"]  # lower is better
    markdown = reports.comparison_report(rows, ["throughput", "energy"], output_format="markdown")
    assert "## energy_j (J per batch)" in markdown and "## throughput (items/s)" in markdown
    assert "| bert-base-uncased | B | 1 | fp32 | inference | 2 | 1.6 – 2.4 | 0.60 | False | False |" in markdown
