"""Model architectures the local runner can build, with random weights and no download: the registry.

Every architecture is built from a ``transformers`` configuration class with the published
hyper-parameters of the checkpoint it stands for (``BertConfig()`` is bert-base-uncased, and so
on) and randomly initialised weights: timing and memory depend on the shapes, not on the trained
values, so nothing is fetched from a hub.

The entries live by modality (``text``, ``vision``, ``audio``, ``multimodal``, and ``tiny`` for
tests); what a spec is lives in ``spec``, how its torch module is built in ``torch_modules``. This
module puts them in one registry, in the order plans and tables list them, with the other
spellings people use.
"""

from __future__ import annotations

from predictive_performance.benchmark.architectures.audio import AUDIO_SPECS
from predictive_performance.benchmark.architectures.multimodal import MULTIMODAL_SPECS
from predictive_performance.benchmark.architectures.spec import ArchitectureSpec, UnknownArchitectureError
from predictive_performance.benchmark.architectures.text import TEXT_SPECS
from predictive_performance.benchmark.architectures.tiny import TINY_SPECS
from predictive_performance.benchmark.architectures.vision import VISION_SPECS

ARCHITECTURES: dict[str, ArchitectureSpec] = {
    spec.name: spec for spec in (*TEXT_SPECS, *VISION_SPECS, *AUDIO_SPECS, *MULTIMODAL_SPECS, *TINY_SPECS)
}

# Other spellings people use for the same checkpoints.
ALIASES: dict[str, str] = {
    "bert-base": "bert-base-uncased",
    "bert-large": "bert-large-uncased",
    "distilbert": "distilbert-base-uncased",
    "distilbert-base": "distilbert-base-uncased",
    "roberta": "roberta-base",
    "albert-base": "albert-base-v2",
    "electra-small-discriminator": "electra-small",
    "t5": "t5-small",
    "opt": "opt-125m",
    "bart": "bart-base",
    "vit-base": "vit-base-patch16-224",
    "vit": "vit-base-patch16-224",
    "deit-small": "deit-small-patch16-224",
    "convnext-tiny": "convnext-tiny-224",
    "resnet18": "resnet-18",
    "resnet50": "resnet-50",
    "mobilenetv2": "mobilenet-v2",
    "mobilenet_v2": "mobilenet-v2",
    "efficientnet_b0": "efficientnet-b0",
    "whisper": "whisper-tiny",
    "wav2vec2": "wav2vec2-base",
    "clip": "clip-vit-base-patch32",
    "clip-vit-base": "clip-vit-base-patch32",
}


def canonical_model_name(name: str) -> str:
    """The catalog name for ``name`` (case-insensitive, organisation prefixes dropped)."""
    key = str(name).strip().lower()
    if "/" in key:
        key = key.rsplit("/", 1)[1]
    return ALIASES.get(key, key)


def get_architecture(name: str) -> ArchitectureSpec:
    key = canonical_model_name(name)
    try:
        return ARCHITECTURES[key]
    except KeyError:
        known = ", ".join(sorted(n for n, s in ARCHITECTURES.items() if not s.test_only))
        raise UnknownArchitectureError(f"unknown model {name!r}: the runner can build {known}") from None


def list_architectures(include_test: bool = False) -> list[str]:
    return [name for name, spec in ARCHITECTURES.items() if include_test or not spec.test_only]


__all__ = [
    "ALIASES",
    "ARCHITECTURES",
    "ArchitectureSpec",
    "UnknownArchitectureError",
    "canonical_model_name",
    "get_architecture",
    "list_architectures",
]
