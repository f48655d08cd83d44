"""Leave-one-device-out on one source's rows (``modeling.anchors``), on the simulated workloads: real fits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from predictive_performance.modeling import MetricEstimator
from predictive_performance.modeling.anchors import BATCH_LATENCY, TOKEN_LATENCY, Anchor, anchor_predictions, anchor_table
from tests.factories import CONFIG, MEASURED, seed_catalogs, simulate_workloads

STATIC = Anchor("sim-static", ("sim-static",), "latency_ms", BATCH_LATENCY, tuple(MEASURED[:2]), "none")
SERVING = Anchor("sim-serving", ("sim-serving",), "latency_ms", TOKEN_LATENCY, (), "none")


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    models, hardware = seed_catalogs()
    rows = simulate_workloads(models, hardware)
    rows["latency_imputed"] = False
    return rows


def test_a_static_batch_anchor_holds_each_device_out_and_answers_in_latency(frame):
    settings = MetricEstimator(CONFIG).fit(frame, "throughput").settings_["workload=static_batch"]
    held = anchor_predictions(frame, STATIC, settings, CONFIG)
    static = frame[frame["workload"] == "static_batch"]
    assert set(held["hardware_name"]) == set(MEASURED[:2])
    assert len(held) == static["hardware_name"].isin(MEASURED[:2]).sum()
    # latency per batch, from the throughput model: bounds swapped, roofline far below every measurement
    assert (held["lower"] <= held["pred"]).all() and (held["pred"] <= held["upper"]).all()
    assert np.median(held["pred"] / held["actual"]) == pytest.approx(1.0, abs=0.3)
    assert (held["roofline"] < held["actual"]).all()
    table = anchor_table(held, STATIC).set_index(["held_out", "method"])
    assert set(table.index.get_level_values("held_out")) == {"all", *MEASURED[:2]}
    assert table.loc[("all", "model"), "mape"] < table.loc[("all", "roofline"), "mape"]
    assert table.loc[("all", "model"), "n_rows"] == len(held)


def test_a_serving_anchor_uses_the_per_token_latency_model_and_every_device_of_its_source(frame):
    settings = MetricEstimator(CONFIG).fit(frame, "latency").settings_[TOKEN_LATENCY]
    held = anchor_predictions(frame, SERVING, settings, CONFIG)
    serving = frame[frame["latency_kind"] == "token"]
    assert set(held["hardware_name"]) == set(serving["hardware_name"]) and len(held) == len(serving)
    assert np.median(held["pred"] / held["actual"]) == pytest.approx(1.0, abs=0.3)
