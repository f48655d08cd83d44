"""Configurations that contradict the catalogs: still predicted, but with a note and a lower confidence.

A model answers whatever it is asked, so a configuration nobody could run (a CUDA card asked for
as a CPU, 100,000 tokens for a model with 512 positions, a batch larger than the device's memory)
would otherwise get a confident figure. Three checks, each against a fact already in the project:

``platform``   a device platform (one some catalog device has as its own, e.g. ``cpu``) that is not
               the device's; runtimes such as ``onnxruntime`` run on several kinds of device and
               never contradict one.
``sequence``   a sequence longer than the model's maximum positions, where the architecture
               registry of the local runner knows it (``benchmark.architectures``).
``memory``     a batch whose estimated footprint exceeds the memory of the devices: the weights
               and activations the roofline features already estimate (``bytes_per_item`` x batch).

The rule, applied in one place (``lowered``): every metric's confidence is multiplied by
``CONTRADICTION_FACTOR`` once per contradiction of its row, so one contradiction halves it and
two quarter it. Meaningless inputs (a batch size of 0) are refused earlier, by ``inputs``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictive_performance.prediction.resolution import CatalogResolver

CONTRADICTION_FACTOR = 0.5
MIB = 1048576.0


def max_sequence_lengths(model_names: pd.Series) -> pd.Series:
    """Each model's maximum positions from the runner's architecture registry; NaN where it has none."""
    from predictive_performance.benchmark.architectures import ARCHITECTURES  # specs only, no torch

    limits = {name: spec.max_sequence_length for name, spec in ARCHITECTURES.items() if spec.max_sequence_length}
    return pd.to_numeric(model_names.map(limits), errors="coerce")


def estimated_memory_mb(features: pd.DataFrame) -> np.ndarray:
    """Weights plus the batch's activations, as the roofline's ``bytes_per_item`` counts them (x batch)."""
    bytes_per_item = pd.to_numeric(features["bytes_per_item"], errors="coerce").to_numpy(dtype=float)
    return bytes_per_item * features["batch_size"].to_numpy(dtype=float) / MIB


def contradictions(frame: pd.DataFrame, features: pd.DataFrame, catalogs: CatalogResolver) -> list[np.ndarray]:
    """One array of notes per check (empty text where a row is consistent), rows as in ``frame``."""
    frame = frame.reset_index(drop=True)
    device_platform = frame["hardware_name"].map(catalogs.hardware.set_index("hardware_name")["hardware_platform"])
    given = frame["hardware_platform"]
    platform = given.isin(set(catalogs.hardware["hardware_platform"])) & (given != device_platform)
    sequence = pd.to_numeric(features["sequence_length"], errors="coerce")
    limit = max_sequence_lengths(frame["model_name"])
    needed = estimated_memory_mb(features)
    capacity = (features["memory_gb"] * 1024.0 * features["num_devices"]).to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        memory = needed > capacity
    return [
        _said(platform.to_numpy(), lambda i: (
            f"platform {given[i]!r} contradicts {frame.at[i, 'hardware_name']}, a {device_platform[i]} device"
        )),
        _said((sequence > limit).to_numpy(), lambda i: (
            f"sequence length {int(sequence[i])} exceeds the {int(limit[i])} positions {frame.at[i, 'model_name']} takes"
        )),
        _said(memory, lambda i: (
            f"batch size {frame.at[i, 'batch_size']} needs about {needed[i] / 1024:,.0f} GB (weights and activations), "
            f"more than the {capacity[i] / 1024:,.0f} GB of {frame.at[i, 'hardware_name']}"
        )),
    ]


def _said(flagged: np.ndarray, note) -> np.ndarray:
    """The note for each flagged row, with how the prediction was treated; empty text elsewhere."""
    out = np.full(len(flagged), "", dtype=object)
    for position in np.flatnonzero(flagged):
        out[position] = f"{note(position)}: predicted as given, confidence x{CONTRADICTION_FACTOR:g}"
    return out


def lowered(confidence: np.ndarray, notes: list[np.ndarray]) -> np.ndarray:
    """Confidence multiplied by ``CONTRADICTION_FACTOR`` per contradiction of the row (the documented rule)."""
    count = sum((n != "").astype(int) for n in notes) if notes else 0
    return confidence * CONTRADICTION_FACTOR ** np.asarray(count, dtype=float)
