"""Importer for NeuSight's measured latencies and the device and model configs they come with.

The source (sitar-lab/NeuSight @ 6945927d, ``scripts/asplos/label/``) keeps one JSON per
measurement under ``label/<device folder>/<model>-<inf|train>-<sequence length>-<batch>[-<variant>].json``:
``e2e_latency`` is the milliseconds one batch takes (mean of the 5 fastest of 25 timed runs) of a
Hugging Face model built from its config (random weights, fp32, eager attention); ``inf`` is the
forward pass under no_grad, ``train`` forward + backward without an optimizer step. ``fw_latency`` and
``bwall_latency`` (the split of a training step; zero where not measured) have no canonical column and
are not kept; ``num_layer`` describes the model, not the run.

Variants: ``-fusion`` is a fused (compiled) graph on the same single device. ``-dp4``, ``-tp4`` and
``-pp4_1`` are data-, tensor- and pipeline-parallel runs over 4 devices whose file name gives the
global batch: the rows keep num_devices 4 and the parallelism. batch_size is what one device sees:
under data and pipeline parallelism the global batch over the devices (batch x devices is the global
batch, as for every data-parallel row), under tensor parallelism the whole batch, since every device
works on every item (as ML.ENERGY's sequence-parallel rows store it; ``modeling.layers`` splits such a
batch's work, ``SPLIT_PARALLELISMS``). The ``_1`` of ``pp4_1`` is not interpreted.

``device_configs/<folder>.json`` names each device folder's device (its ``Device`` field) and states
the specs the paper used; ``model_configs/<model>.json`` are the models' Hugging Face configs. When the
whole source folder is read, both become catalog facts (``raw.catalog_*``): one load holds the labels
and the configs. A device or label folder, or one label file, is read without catalog facts. A config
that repeats another device's ``Device`` name under a different file name (``NVIDIA_H100_80GB_HBM3_TP``:
a tensor-parallel pair's summed figures) describes no single device and is left out of the catalog.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from predictive_performance.ingest.canonical import UnreadableFileError
from predictive_performance.ingest.sources import SourceFormat, SourceTables, file_label
from predictive_performance.ingest.validation import Reject
from predictive_performance.warehouse import CatalogFacts

SOURCE = "neusight"
PROVENANCE = "sitar-lab/NeuSight @ 6945927d"
FRAMEWORK = "pytorch (Hugging Face transformers, eager attention)"
LABELS, DEVICE_CONFIGS, MODEL_CONFIGS = "label", "device_configs", "model_configs"
LABEL_NAME = re.compile(
    r"^(?P<model>[A-Za-z0-9_.]+)-(?P<mode>inf|train)-(?P<sequence_length>\d+)-(?P<batch>\d+)"
    r"(?:-(?:(?P<fusion>fusion)|(?P<parallelism>dp|tp|pp)(?P<devices>\d+)(?:_\d+)?))?\.json$"
)
MODES = {"inf": "inference", "train": "training"}
PARALLELISMS = {"dp": "data", "tp": "tensor", "pp": "pipeline"}
VENDORS: tuple[tuple[str, str, str], ...] = (  # a word of the device name -> vendor, platform
    ("amd", "AMD", "rocm"),
    ("nvidia", "NVIDIA", "cuda"),
    ("tesla", "NVIDIA", "cuda"),
    ("geforce", "NVIDIA", "cuda"),
    ("titan", "NVIDIA", "cuda"),
    ("quadro", "NVIDIA", "cuda"),
)

# Device config field -> (catalog spec, factor). NVIDIA configs state SingleFLOPs (GFLOPS); AMD ones
# state the vector (SingleFLOPsVEC) and matrix figures, and the catalog's peak_fp32_tflops is the vector one.
DEVICE_SPECS: tuple[tuple[str, str, float], ...] = (
    ("Dev_Mem", "memory_gb", 1.0),
    ("Mem_Bw", "memory_bandwidth_gbs", 1.0),
    ("SingleFLOPs", "peak_fp32_tflops", 1e-3),
    ("SingleFLOPsVEC", "peak_fp32_tflops", 1e-3),
    ("Num_Sm", "compute_units", 1.0),
    ("L2Cache", "l2_cache_mb", 1.0),
    ("Freq", "clock_mhz", 1.0),
    ("Core_Per_SM", "cores_per_compute_unit", 1.0),
)

# Hugging Face config keys of each model spec, by architecture family.
MODEL_SPEC_KEYS: dict[str, tuple[str, ...]] = {
    "hidden_size": ("hidden_size", "n_embd", "d_model"),
    "num_heads": ("num_attention_heads", "n_head", "num_heads"),
    "intermediate_size": ("intermediate_size", "n_inner", "ffn_dim", "d_ff"),
    "vocab_size": ("vocab_size",),
    "max_sequence_length": ("max_position_embeddings", "n_positions"),
    "num_experts": ("num_experts",),
}
MODEL_TYPES = {
    "bert": "text_embedding",
    "gpt2": "text_generation",
    "opt": "text_generation",
    "switch_transformers": "text2text_generation",  # encoder-decoder, like the catalog's T5
}


class ConfigError(ValueError):
    """A config field is missing or not a number; ``field`` names it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


# --- recognising the layout -------------------------------------------------------------------------


def is_label_file(path: Path) -> bool:
    return path.is_file() and bool(LABEL_NAME.match(path.name))


def is_device_folder(path: Path) -> bool:
    return path.is_dir() and any(is_label_file(p) for p in path.iterdir())


def is_labels_folder(path: Path) -> bool:
    return path.is_dir() and any(is_device_folder(p) for p in path.iterdir())


def is_source_folder(path: Path) -> bool:
    return is_labels_folder(path / LABELS)


def is_neusight(path: Path) -> bool:
    """The source folder, its ``label/`` folder, one device folder or one label file."""
    return is_label_file(path) or is_device_folder(path) or is_labels_folder(path) or is_source_folder(path)


def label_files(path: Path) -> list[Path]:
    """Every JSON at its place in the label layout under ``path``; their names are parsed when read."""
    if path.is_file():
        return [path]
    if is_source_folder(path):
        path = path / LABELS
    depth = "*/*.json" if is_labels_folder(path) else "*.json"
    files = sorted(path.glob(depth))
    if not files:
        raise UnreadableFileError(f"{path}: no NeuSight label file (<model>-<inf|train>-<seq>-<batch>.json) found")
    return files


# --- reading ----------------------------------------------------------------------------------------


def read_neusight(path: Path) -> SourceTables:
    """One canonical row per label file, plus the configs' catalog facts when ``path`` is the source folder."""
    frames, rejects = {}, []
    for label in label_files(path):
        # named as the load names its files: by the path within the load's folder (names repeat per device)
        row, problems = _label_row(label, file_label(label, path))
        rejects += problems
        if row is not None:
            frames[str(label)] = pd.DataFrame([row])
    catalog = None
    if is_source_folder(path):
        catalog, problems = _catalog(path)
        rejects += problems
    return SourceTables(SOURCE, frames, rejects=list(dict.fromkeys(rejects)), catalog=catalog)


def _label_row(label: Path, shown: str) -> tuple[dict[str, Any] | None, list[Reject]]:
    """The canonical row of one label file, or the rejects (naming it ``shown``) that keep it out."""
    name = LABEL_NAME.match(label.name)
    if name is None:
        return None, [Reject(shown, 1, "file name", "does not read as <model>-<inf|train>-<sequence length>-<batch>"
                             "[-fusion|-dp<N>|-tp<N>|-pp<N>_<M>].json")]
    record, problem = _json_object(label)
    if problem is not None:
        return None, [Reject(shown, 1, "file", problem)]
    if "e2e_latency" not in record:
        return None, [Reject(shown, 1, "e2e_latency", "missing field")]
    hardware_name, rejects = _device_name(label.parent)
    platform = _vendor(hardware_name)[1]
    if platform is None and not rejects:  # a broken config is reason enough
        rejects.append(Reject(shown, 1, "hardware_platform", f"cannot tell the vendor of device {hardware_name!r}"))
    devices = int(name["devices"] or 1)
    batch = int(name["batch"])
    split = name["parallelism"] == "tp"
    if batch % devices and not split:
        rejects.append(Reject(shown, 1, "batch_size", f"global batch {batch} does not divide over {devices} devices"))
    if rejects:
        return None, rejects
    return {
        "source_row": 1,
        "model_name": name["model"],
        "hardware_platform": platform,
        "hardware_name": hardware_name,
        "num_devices": devices,
        "batch_size": batch if split else batch // devices,
        "precision": "fp32",
        "mode": MODES[name["mode"]],
        "workload": "static_batch",
        "sequence_length": name["sequence_length"],
        "latency_ms": _raw(record["e2e_latency"]),
        "latency_kind": "batch",
        "parallelism": PARALLELISMS.get(name["parallelism"] or ""),
        "compiled": name["fusion"] is not None,
        "framework": FRAMEWORK,
        "source": SOURCE,
    }, []


def _device_name(folder: Path) -> tuple[str, list[Reject]]:
    """The ``Device`` of the folder's config; without a config, the folder name with spaces for underscores."""
    config = folder.parent.parent / DEVICE_CONFIGS / f"{folder.name}.json"
    if not config.is_file():
        return folder.name.replace("_", " "), []
    record, rejects = _device_record(config)
    return (record["Device"] if record else folder.name), rejects


def _device_record(config: Path) -> tuple[dict[str, Any] | None, list[Reject]]:
    """A device config with its ``Device`` name stripped, or the rejects of a config without one."""
    record, problem = _json_object(config)
    if problem is not None:
        return None, [Reject(_config_label(config), 1, "file", problem)]
    device = record.get("Device")
    if not isinstance(device, str) or not device.strip():
        return None, [Reject(_config_label(config), 1, "Device", f"missing or not a name: {device!r}")]
    return {**record, "Device": device.strip()}, []


def _config_label(config: Path) -> str:
    """A config as rejects and sources name it: its path within the source folder, e.g. ``device_configs/Tesla_T4.json``."""
    return f"{config.parent.name}/{config.name}"


def _vendor(hardware_name: str) -> tuple[str | None, str | None]:
    words = hardware_name.lower().replace("-", " ").split()
    return next(((vendor, platform) for word, vendor, platform in VENDORS if word in words), (None, None))


def _json_object(path: Path) -> tuple[dict[str, Any], str | None]:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as error:
        return {}, f"not valid JSON: {error}"
    return (record, None) if isinstance(record, dict) else ({}, "not a JSON object")


def _raw(value: Any) -> Any:
    """Scalars as they are (validation types them); anything else as text, so the reject shows it."""
    return value if value is None or isinstance(value, str | int | float | bool) else json.dumps(value)


# --- catalog facts ----------------------------------------------------------------------------------


def _catalog(root: Path) -> tuple[CatalogFacts, list[Reject]]:
    hardware, hardware_specs, rejects = _device_facts(sorted((root / DEVICE_CONFIGS).glob("*.json")))
    models, model_specs, model_rejects = _model_facts(sorted((root / MODEL_CONFIGS).glob("*.json")))
    facts = CatalogFacts(
        hardware=pd.DataFrame(hardware, columns=["hardware_name", "vendor", "hardware_platform", "source"]),
        hardware_specs=pd.DataFrame(hardware_specs, columns=["hardware_name", "spec", "value", "source"]),
        models=pd.DataFrame(models, columns=["model_name", "model_family", "model_type", "modality", "source"]),
        model_specs=pd.DataFrame(model_specs, columns=["model_name", "spec", "value", "source"]),
    )
    return facts, rejects + model_rejects


def _device_facts(configs: list[Path]) -> tuple[list[tuple], list[tuple], list[Reject]]:
    """One catalog device and its specs per config that describes a single device."""
    records, rejects = {}, []
    for config in configs:
        record, problems = _device_record(config)
        rejects += problems
        if record is not None:
            records[config] = record
    names = [record["Device"] for record in records.values()]
    hardware, specs = [], []
    for config, record in records.items():
        name = record["Device"]
        if names.count(name) > 1 and config.stem.replace("_", " ") != name:
            continue  # a repeat of another device's name: not a single device (module docstring)
        source = f"NeuSight {_config_label(config)} ({PROVENANCE})"
        hardware.append((name, *_vendor(name), source))
        for field, spec, factor in DEVICE_SPECS:
            if field not in record:
                continue
            try:
                specs.append((name, spec, _field(record, field) * factor, source))
            except ConfigError as error:
                rejects.append(Reject(_config_label(config), 1, error.field, str(error)))
    return hardware, specs, rejects


def _model_facts(configs: list[Path]) -> tuple[list[tuple], list[tuple], list[Reject]]:
    models, specs, rejects = [], [], []
    for config in configs:
        record, problem = _json_object(config)
        if problem is not None:
            rejects.append(Reject(_config_label(config), 1, "file", problem))
            continue
        family = record.get("model_type")
        source = f"NeuSight {_config_label(config)} ({PROVENANCE})"
        models.append((config.stem, family, MODEL_TYPES.get(family), "text", source))
        try:
            specs += [(config.stem, spec, value, note or source) for spec, value, note in _model_specs(record, _config_label(config))]
        except ConfigError as error:
            rejects.append(Reject(_config_label(config), 1, error.field, str(error)))
    return models, specs, rejects


def _model_specs(record: dict[str, Any], config_label: str) -> list[tuple[str, float, str | None]]:
    """(spec, value, source note or None for the plain config source) for one model config."""
    found = []
    layers = _layers(record)
    if layers is not None:
        found.append(("num_layers", layers, None))
    for spec, keys in MODEL_SPEC_KEYS.items():
        key = next((k for k in keys if record.get(k) is not None), None)
        if key is not None:
            found.append((spec, _field(record, key), None))
    if record.get("model_type") == "gpt2" and record.get("n_inner") is None:
        found.append(("intermediate_size", 4 * _field(record, "n_embd"), "derived: 4 x n_embd (GPT-2 default for n_inner null)"))
    counter = PARAMETER_COUNTS.get(record.get("model_type"))
    if counter is not None:
        formula, count = counter
        derived = f"derived: {formula}, from NeuSight {config_label} ({PROVENANCE})"
        found.append(("parameters_million", count(record, False) / 1e6, derived))
        if record.get("num_experts"):
            found.append(("active_parameters_million", count(record, True) / 1e6, derived + "; one expert per token"))
    return found


def _layers(record: dict[str, Any]) -> float | None:
    if "num_decoder_layers" in record:  # encoder-decoder: both stacks, as the catalog counts T5
        return _field(record, "num_layers") + _field(record, "num_decoder_layers")
    key = next((k for k in ("num_hidden_layers", "n_layer", "num_layers") if k in record), None)
    return None if key is None else _field(record, key)


def _field(record: dict[str, Any], key: str, default: float | None = None) -> float:
    """A numeric config field; ``default`` where the config may leave it out (or null)."""
    value = record.get(key)
    if value is None and default is not None:
        return default
    if key not in record:
        raise ConfigError(key, "missing field")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(key, f"not a number: {value!r}")
    return float(value)


# Parameter counts of the Hugging Face model each config builds (embeddings tied to the LM head are
# counted once), term by term with weights and biases; they equal transformers' own counts.


def _bert_parameters(c: dict[str, Any], _active: bool) -> float:
    h, f, layers = _field(c, "hidden_size"), _field(c, "intermediate_size"), _field(c, "num_hidden_layers")
    embeddings = (_field(c, "vocab_size") + _field(c, "max_position_embeddings") + _field(c, "type_vocab_size", 2)) * h + 2 * h
    layer = 4 * (h * h + h) + 2 * h + (h * f + f) + (f * h + h) + 2 * h
    return embeddings + layers * layer + (h * h + h)


def _gpt2_parameters(c: dict[str, Any], _active: bool) -> float:
    h, layers = _field(c, "n_embd"), _field(c, "n_layer")
    f = _field(c, "n_inner", 4 * h)
    embeddings = (_field(c, "vocab_size") + _field(c, "n_positions")) * h
    layer = 2 * h + (3 * h * h + 3 * h) + (h * h + h) + 2 * h + (h * f + f) + (f * h + h)
    return embeddings + layers * layer + 2 * h


def _opt_parameters(c: dict[str, Any], _active: bool) -> float:
    h, f, layers = _field(c, "hidden_size"), _field(c, "ffn_dim"), _field(c, "num_hidden_layers")
    projection = _field(c, "word_embed_proj_dim", h)
    embeddings = _field(c, "vocab_size") * projection + (_field(c, "max_position_embeddings") + 2) * h
    projections = 2 * projection * h if projection != h else 0
    final_norm = 2 * h if c.get("do_layer_norm_before", True) and not c.get("_remove_final_layer_norm", False) else 0
    layer = 4 * (h * h + h) + 2 * h + (h * f + f) + (f * h + h) + 2 * h
    return embeddings + projections + layers * layer + final_norm


def _switch_parameters(c: dict[str, Any], active: bool) -> float:
    d, f, experts = _field(c, "d_model"), _field(c, "d_ff"), _field(c, "num_experts")
    inner = _field(c, "num_heads") * _field(c, "d_kv")
    attention = 4 * d * inner + d  # q, k, v, o without bias, and its RMS norm
    dense = 2 * d * f + d
    sparse = d * experts + (1 if active else experts) * 2 * d * f + d  # router, experts, norm
    relative = _field(c, "relative_attention_num_buckets") * _field(c, "num_heads")

    def stack(layers: float, sparse_layers: float, attentions: int) -> float:
        return layers * attentions * attention + sparse_layers * sparse + (layers - sparse_layers) * dense + relative + d

    encoder = stack(_field(c, "num_layers"), _field(c, "num_sparse_encoder_layers"), 1)
    decoder = stack(_field(c, "num_decoder_layers"), _field(c, "num_sparse_decoder_layers"), 2)
    return _field(c, "vocab_size") * d + encoder + decoder


PARAMETER_COUNTS: dict[str, tuple[str, Callable[[dict[str, Any], bool], float]]] = {
    "bert": (
        ("BertModel parameters = (vocab + positions + token types) x h + 2h + layers x (4(h^2+h) + (h x ffn + ffn)"
        " + (ffn x h + h) + 4h) + pooler (h^2 + h)"),
        _bert_parameters,
    ),
    "gpt2": (
        ("GPT2LMHeadModel parameters (LM head tied) = (vocab + positions) x h + layers x (4(h^2+h) + (h x ffn + ffn)"
        " + (ffn x h + h) + 4h) + 2h"),
        _gpt2_parameters,
    ),
    "opt": (
        ("OPTForCausalLM parameters (LM head tied) = vocab x proj + (positions + 2) x h + 2 proj x h if proj != h"
        " + layers x (4(h^2+h) + (h x ffn + ffn) + (ffn x h + h) + 4h) + 2h"),
        _opt_parameters,
    ),
    "switch_transformers": (
        ("SwitchTransformersForConditionalGeneration parameters (LM head tied) = vocab x d + per stack: attention"
        " 4 d x heads x d_kv + d per attention (decoder: self + cross), dense MLP 2 d x d_ff + d, sparse MLP"
        " d x experts + experts x 2 d x d_ff + d, relative bias buckets x heads, final norm d"),
        _switch_parameters,
    ),
}


# Whatever the path (the source folder with its configs, a label or device folder, one file), it is one load.
FORMAT = SourceFormat("neusight", detect=is_neusight, read=read_neusight)
