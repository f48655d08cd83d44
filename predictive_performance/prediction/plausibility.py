"""Configurations that contradict the catalogs: still predicted, but with a note and a lower confidence.

A model answers whatever it is asked, so a configuration nobody could run (a CUDA card asked for
as a CPU, 100,000 tokens for a model with 512 positions, a batch larger than the device's memory)
would otherwise get a confident figure. Three checks, each against a fact already in the project:

``platform``   a device platform (one some catalog device has as its own, e.g. ``cpu``) that is not
               the device's; runtimes such as ``onnxruntime`` run on several kinds of device and
               never contradict one.
``sequence``   a sequence longer than the model's maximum positions: the catalog's
               ``max_sequence_length`` (``marts.dim_models``) for text models, else the architecture
               registry of the local runner (``benchmark.architectures``). An audio model's catalog
               maximum counts decoder positions, not the input frames its sequence length counts.
``memory``     a batch whose estimated footprint exceeds the memory of the devices: the weights
               and activations the roofline features already estimate (``bytes_per_item`` x batch).

The rule, applied in one place (``lowered``): every metric's confidence is multiplied by the
check's factor (``FACTORS``) once per contradiction of its row. An odd configuration (a platform
or sequence that contradicts a catalog) halves it; one that cannot run at all (it does not fit in
memory) cuts it to x0.05: whatever the model answers, nobody will measure it. Meaningless inputs
(a batch size of 0) are refused earlier, by ``inputs``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictive_performance.prediction.resolution import CatalogResolver

# the confidence factor of each check, in the order ``contradictions`` returns them
FACTORS: dict[str, float] = {"platform": 0.5, "sequence": 0.5, "memory": 0.05}
MIB = 1048576.0


def max_sequence_lengths(features: pd.DataFrame) -> pd.Series:
    """Each row's maximum positions: the catalog's for a text model where the features carry it, else the
    runner's architecture registry's; NaN where neither knows it."""
    from predictive_performance.benchmark.architectures import ARCHITECTURES  # specs only, no torch

    limits = {name: spec.max_sequence_length for name, spec in ARCHITECTURES.items() if spec.max_sequence_length}
    registry = pd.to_numeric(features["model_name"].map(limits), errors="coerce")
    if not {"max_sequence_length", "modality"} <= set(features.columns):
        return registry
    catalog = pd.to_numeric(features["max_sequence_length"], errors="coerce").astype("float64")  # NaN, not NA
    text = features["modality"].astype("object").eq("text")
    return catalog.where(text & catalog.notna(), registry)


def estimated_memory_mb(features: pd.DataFrame) -> np.ndarray:
    """Weights plus the batch's activations, as the roofline's ``bytes_per_item`` counts them (x batch)."""
    bytes_per_item = pd.to_numeric(features["bytes_per_item"], errors="coerce").to_numpy(dtype=float)
    return bytes_per_item * features["batch_size"].to_numpy(dtype=float) / MIB


def contradictions(frame: pd.DataFrame, features: pd.DataFrame, catalogs: CatalogResolver) -> dict[str, np.ndarray]:
    """Per check of ``FACTORS``, its notes (empty text where a row is consistent), rows as in ``frame``."""
    frame = frame.reset_index(drop=True)
    device_platform = frame["hardware_name"].map(catalogs.hardware.set_index("hardware_name")["hardware_platform"])
    given = frame["hardware_platform"]
    platform = given.isin(set(catalogs.hardware["hardware_platform"])) & (given != device_platform)
    sequence = pd.to_numeric(features["sequence_length"], errors="coerce")
    limit = max_sequence_lengths(features)
    needed = estimated_memory_mb(features)
    capacity = (features["memory_gb"] * 1024.0 * features["num_devices"]).to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        memory = needed > capacity
    return {
        "platform": _said(platform.to_numpy(), FACTORS["platform"], lambda i: (
            f"platform {given[i]!r} contradicts {frame.at[i, 'hardware_name']}, a {device_platform[i]} device"
        )),
        "sequence": _said((sequence > limit).to_numpy(), FACTORS["sequence"], lambda i: (
            f"sequence length {int(sequence[i])} exceeds the {int(limit[i])} positions {frame.at[i, 'model_name']} takes"
        )),
        "memory": _said(memory, FACTORS["memory"], lambda i: (
            f"batch size {frame.at[i, 'batch_size']} needs about {needed[i] / 1024:,.0f} GB (weights and activations), "
            f"more than the {capacity[i] / 1024:,.0f} GB of {frame.at[i, 'hardware_name']}, so it cannot run"
        )),
    }


def _said(flagged: np.ndarray, factor: float, note) -> np.ndarray:
    """The note for each flagged row, with how the prediction was treated; empty text elsewhere."""
    out = np.full(len(flagged), "", dtype=object)
    for position in np.flatnonzero(flagged):
        out[position] = f"{note(position)}: predicted as given, confidence x{factor:g}"
    return out


def lowered(confidence: np.ndarray, notes: dict[str, np.ndarray]) -> np.ndarray:
    """Confidence multiplied by each check's factor (``FACTORS``) where the row contradicts it (the documented rule);
    ``notes`` as ``contradictions`` returns them."""
    factor = np.ones(len(confidence))
    for check, said in notes.items():
        factor = np.where(said != "", factor * FACTORS[check], factor)
    return confidence * factor
