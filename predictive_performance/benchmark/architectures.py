"""Model architectures the local runner can build, with random weights and no download.

Every architecture is built from a ``transformers`` configuration class with the published
hyper-parameters of the checkpoint it stands for (``BertConfig()`` is bert-base-uncased, and so
on) and randomly initialised weights: timing and memory depend on the shapes, not on the trained
values, so nothing is fetched from a hub.

What one forward pass ("one iteration", one batch) computes, per modality:

- text encoders (bert, distilbert, roberta, albert, electra): the base model on
  ``sequence_length`` tokens, output ``last_hidden_state``;
- decoder-only models (gpt2, opt): the base model on ``sequence_length`` tokens (a prefill
  without the vocabulary projection);
- encoder-decoder text models (t5, bart): the base model with ``sequence_length`` tokens on the
  encoder and on the decoder (teacher-forced scoring), output the decoder's last hidden state;
- vision models: image classification with a 1000-class head on ``image_size`` x ``image_size``
  RGB images;
- whisper: the base model on ``sequence_length`` log-mel frames (3000 = the 30 s window whisper
  always pads to) with a 4-token decoder prompt;
- wav2vec2: the base model on ``sequence_length`` raw 16 kHz samples;
- clip: text and image towers and the similarity logits, ``sequence_length`` text tokens and
  ``image_size`` images.

The ``tiny-*`` entries are 2-layer, hidden-size-32 versions for tests; plans never pick them.

``torch`` and ``transformers`` are imported inside the functions, so importing this module
stays light.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TEXT = "text"
VISION = "vision"
AUDIO = "audio"
MULTIMODAL = "multimodal"

WHISPER_DECODER_PROMPT = 4  # <|startoftranscript|><|en|><|transcribe|><|notimestamps|>


class UnknownArchitectureError(KeyError):
    """A model name the runner has no builder for."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0])


@dataclass(frozen=True)
class ArchitectureSpec:
    """How to build one architecture and feed it."""

    name: str
    family: str
    model_type: str
    modality: str
    config_class: str  # name of the transformers configuration class
    config_kwargs: dict[str, Any]
    model_class: str = "AutoModel"  # transformers auto class used with from_config
    # Inputs the planner sweeps; the first of each is the default.
    sequence_lengths: tuple[int, ...] = ()
    image_sizes: tuple[int, ...] = ()
    max_sequence_length: int | None = None
    decoder: str | None = None  # None, "same" (decoder gets the same length) or "prompt"
    approx_params_m: float = 0.0  # millions of parameters, for cost estimates before building
    test_only: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def uses_sequence_length(self) -> bool:
        return self.modality in (TEXT, AUDIO, MULTIMODAL)

    @property
    def uses_image_size(self) -> bool:
        return self.modality in (VISION, MULTIMODAL)

    @property
    def image_size_agnostic(self) -> bool:
        """A convolutional network: one built model (and one exported graph) takes any image size."""
        return self.modality == VISION and self.config_class not in ("ViTConfig", "DeiTConfig")

    def default_sequence_length(self) -> int | None:
        return self.sequence_lengths[0] if self.uses_sequence_length and self.sequence_lengths else None

    def default_image_size(self) -> int | None:
        return self.image_sizes[0] if self.uses_image_size and self.image_sizes else None

    def check_shape(self, sequence_length: int | None, image_size: int | None) -> None:
        """Raise ``ValueError`` for an input the architecture cannot take."""
        if self.uses_sequence_length:
            if sequence_length is None or sequence_length <= 0:
                raise ValueError(f"{self.name} needs a positive sequence_length")
            if self.max_sequence_length is not None and sequence_length > self.max_sequence_length:
                raise ValueError(
                    f"{self.name} takes at most {self.max_sequence_length} positions, got sequence_length={sequence_length}"
                )
            fixed = self.extra.get("fixed_sequence_length")
            if fixed is not None and sequence_length != fixed:
                raise ValueError(f"{self.name} always takes sequence_length={fixed} (got {sequence_length})")
        if self.uses_image_size:
            if image_size is None or image_size <= 0:
                raise ValueError(f"{self.name} needs a positive image_size")
            patch = self.extra.get("patch_size")
            if patch and image_size % patch:
                raise ValueError(f"{self.name} needs an image_size divisible by its patch size {patch}")
            fixed = self.extra.get("fixed_image_size")
            if fixed is not None and image_size != fixed:
                raise ValueError(f"{self.name} always takes image_size={fixed} (got {image_size})")

    def approx_gflops(self, batch_size: int, sequence_length: int | None, image_size: int | None) -> float:
        """A rough forward-pass cost (2 x params x positions), used only to order and cap plans."""
        per_item = 2.0 * self.approx_params_m * 1e6 * self.positions(sequence_length, image_size)
        return batch_size * per_item / 1e9

    def positions(self, sequence_length: int | None, image_size: int | None) -> float:
        """How many 'tokens' the weights are applied to per item (a cost proxy)."""
        if self.modality == TEXT:
            length = float(sequence_length or 128)
            return 2 * length if self.decoder == "same" else length
        if self.modality == VISION:
            size = float(image_size or 224)
            per_224 = float(self.extra.get("positions_at_224", 197))
            return per_224 * (size / 224.0) ** 2
        if self.modality == AUDIO:
            length = float(sequence_length or 16000)
            return length / float(self.extra.get("samples_per_position", 320))
        size = float(image_size or 224)
        return float(sequence_length or 77) + float(self.extra.get("positions_at_224", 50)) * (size / 224.0) ** 2


def _text(
    name,
    family,
    model_type,
    config_class,
    kwargs,
    params_m,
    max_len=512,
    decoder=None,
    lengths=(128, 32, 64, 256),
    **extra,
):
    return ArchitectureSpec(
        name=name,
        family=family,
        model_type=model_type,
        modality=TEXT,
        config_class=config_class,
        config_kwargs=kwargs,
        sequence_lengths=lengths,
        max_sequence_length=max_len,
        decoder=decoder,
        approx_params_m=params_m,
        extra=extra,
    )


def _vision(
    name,
    family,
    config_class,
    kwargs,
    params_m,
    positions_at_224,
    sizes=(224, 160),
    model_class="AutoModelForImageClassification",
    **extra,
):
    return ArchitectureSpec(
        name=name,
        family=family,
        model_type="vision",
        modality=VISION,
        config_class=config_class,
        config_kwargs=kwargs,
        model_class=model_class,
        image_sizes=sizes,
        approx_params_m=params_m,
        extra={"positions_at_224": positions_at_224, **extra},
    )


_BERT_BASE = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)
_TINY_TEXT = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, vocab_size=1000)

# For CNNs "positions_at_224" is chosen so that 2 x params x positions ~ the published FLOPs at 224.
_SPECS: tuple[ArchitectureSpec, ...] = (
    _text("bert-base-uncased", "bert", "text_embedding", "BertConfig", dict(_BERT_BASE, vocab_size=30522), 86.0),
    _text(
        "bert-large-uncased",
        "bert",
        "text_embedding",
        "BertConfig",
        dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096, vocab_size=30522),
        303.0,
    ),
    _text(
        "distilbert-base-uncased",
        "distilbert",
        "text_embedding",
        "DistilBertConfig",
        dict(dim=768, n_layers=6, n_heads=12, hidden_dim=3072, vocab_size=30522),
        43.0,
    ),
    _text(
        "roberta-base",
        "roberta",
        "text_embedding",
        "RobertaConfig",
        dict(_BERT_BASE, vocab_size=50265, max_position_embeddings=514, type_vocab_size=1, pad_token_id=1),
        86.0,
    ),
    _text(
        "albert-base-v2",
        "albert",
        "text_embedding",
        "AlbertConfig",
        dict(_BERT_BASE, embedding_size=128, vocab_size=30000, hidden_act="gelu_new"),
        86.0,  # weights are shared across layers, the compute is bert-base's
    ),
    _text(
        "electra-small",
        "electra",
        "text_embedding",
        "ElectraConfig",
        dict(
            hidden_size=256,
            embedding_size=128,
            num_hidden_layers=12,
            num_attention_heads=4,
            intermediate_size=1024,
            vocab_size=30522,
        ),
        9.5,
    ),
    _text(
        "t5-small",
        "t5",
        "text2text_generation",
        "T5Config",
        dict(d_model=512, d_ff=2048, num_layers=6, num_decoder_layers=6, num_heads=8, d_kv=64, vocab_size=32128),
        35.0,
        decoder="same",
    ),
    _text(
        "gpt2",
        "gpt2",
        "text_generation",
        "GPT2Config",
        dict(n_embd=768, n_layer=12, n_head=12, n_positions=1024, vocab_size=50257),
        85.0,
        max_len=1024,
    ),
    _text(
        "opt-125m",
        "opt",
        "text_generation",
        "OPTConfig",
        dict(
            hidden_size=768,
            num_hidden_layers=12,
            num_attention_heads=12,
            ffn_dim=3072,
            vocab_size=50272,
            max_position_embeddings=2048,
        ),
        85.0,
        max_len=2048,
    ),
    _text(
        "bart-base",
        "bart",
        "text2text_generation",
        "BartConfig",
        dict(
            d_model=768,
            encoder_layers=6,
            decoder_layers=6,
            encoder_attention_heads=12,
            decoder_attention_heads=12,
            encoder_ffn_dim=3072,
            decoder_ffn_dim=3072,
            vocab_size=50265,
            max_position_embeddings=1024,
        ),
        99.0,
        max_len=1024,
        decoder="same",
    ),
    _vision("vit-base-patch16-224", "vit", "ViTConfig", dict(patch_size=16, num_labels=1000), 86.0, 197, patch_size=16),
    _vision(
        "deit-small-patch16-224",
        "deit",
        "DeiTConfig",
        dict(
            hidden_size=384,
            num_hidden_layers=12,
            num_attention_heads=6,
            intermediate_size=1536,
            patch_size=16,
            num_labels=1000,
        ),
        22.0,
        198,
        model_class="DeiTForImageClassification",  # the auto class maps DeiT to two heads
        patch_size=16,
    ),
    _vision(
        "convnext-tiny-224",
        "convnext",
        "ConvNextConfig",
        dict(depths=[3, 3, 9, 3], hidden_sizes=[96, 192, 384, 768], num_labels=1000),
        28.6,
        78,  # 4.5 GFLOPs
    ),
    _vision(
        "resnet-18",
        "resnet",
        "ResNetConfig",
        dict(layer_type="basic", depths=[2, 2, 2, 2], hidden_sizes=[64, 128, 256, 512], num_labels=1000),
        11.7,
        156,  # 1.8 GFLOPs
    ),
    _vision(
        "resnet-50",
        "resnet",
        "ResNetConfig",
        dict(layer_type="bottleneck", depths=[3, 4, 6, 3], hidden_sizes=[256, 512, 1024, 2048], num_labels=1000),
        25.6,
        80,  # 4.1 GFLOPs
    ),
    _vision(
        "mobilenet-v2", "mobilenet", "MobileNetV2Config", dict(depth_multiplier=1.0, num_labels=1000), 3.5, 43
    ),  # 0.3 GFLOPs
    _vision(
        "efficientnet-b0",
        "efficientnet",
        "EfficientNetConfig",
        dict(
            width_coefficient=1.0,
            depth_coefficient=1.0,
            image_size=224,
            hidden_dim=1280,
            dropout_rate=0.2,
            num_labels=1000,
        ),
        5.3,
        38,  # 0.4 GFLOPs
    ),
    ArchitectureSpec(
        name="whisper-tiny",
        family="whisper",
        model_type="audio",
        modality=AUDIO,
        config_class="WhisperConfig",
        config_kwargs=dict(
            d_model=384,
            encoder_layers=4,
            decoder_layers=4,
            encoder_attention_heads=6,
            decoder_attention_heads=6,
            encoder_ffn_dim=1536,
            decoder_ffn_dim=1536,
            num_mel_bins=80,
            vocab_size=51865,
            max_source_positions=1500,
        ),
        sequence_lengths=(3000,),
        max_sequence_length=3000,
        decoder="prompt",
        approx_params_m=7.0,  # ~40 GFLOPs per 30 s window: ~8 M encoder weights over 1500 positions + attention
        extra={"fixed_sequence_length": 3000, "samples_per_position": 1.0},
    ),
    ArchitectureSpec(
        name="wav2vec2-base",
        family="wav2vec2",
        model_type="audio",
        modality=AUDIO,
        config_class="Wav2Vec2Config",
        config_kwargs=dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
        sequence_lengths=(16000, 32000, 80000, 160000),
        max_sequence_length=480000,
        approx_params_m=95.0,
        extra={"samples_per_position": 160.0},  # 50 frames/s plus the convolutional feature encoder
    ),
    ArchitectureSpec(
        name="clip-vit-base-patch32",
        family="clip",
        model_type="multimodal",
        modality=MULTIMODAL,
        config_class="CLIPConfig",
        config_kwargs=dict(projection_dim=512),
        sequence_lengths=(77, 32),
        image_sizes=(224,),
        max_sequence_length=77,
        approx_params_m=88.0,
        extra={"positions_at_224": 50, "fixed_image_size": 224, "patch_size": 32},
    ),
    # --- tiny versions for tests: a few layers, hidden size 32 ---------------------------------
    ArchitectureSpec(
        name="tiny-bert",
        family="bert",
        model_type="text_embedding",
        modality=TEXT,
        config_class="BertConfig",
        config_kwargs=dict(_TINY_TEXT, max_position_embeddings=128),
        sequence_lengths=(16, 32),
        max_sequence_length=128,
        approx_params_m=0.05,
        test_only=True,
    ),
    ArchitectureSpec(
        name="tiny-gpt2",
        family="gpt2",
        model_type="text_generation",
        modality=TEXT,
        config_class="GPT2Config",
        config_kwargs=dict(n_embd=32, n_layer=2, n_head=2, n_positions=128, vocab_size=1000),
        sequence_lengths=(16, 32),
        max_sequence_length=128,
        approx_params_m=0.05,
        test_only=True,
    ),
    ArchitectureSpec(
        name="tiny-t5",
        family="t5",
        model_type="text2text_generation",
        modality=TEXT,
        config_class="T5Config",
        config_kwargs=dict(
            d_model=32, d_ff=64, num_layers=2, num_decoder_layers=2, num_heads=2, d_kv=16, vocab_size=1000
        ),
        sequence_lengths=(16, 32),
        max_sequence_length=128,
        decoder="same",
        approx_params_m=0.05,
        test_only=True,
    ),
    ArchitectureSpec(
        name="tiny-vit",
        family="vit",
        model_type="vision",
        modality=VISION,
        config_class="ViTConfig",
        config_kwargs=dict(
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            patch_size=8,
            num_labels=10,
        ),
        model_class="AutoModelForImageClassification",
        image_sizes=(32, 64),
        approx_params_m=0.05,
        test_only=True,
        extra={"positions_at_224": 785, "patch_size": 8},
    ),
    ArchitectureSpec(
        name="tiny-resnet",
        family="resnet",
        model_type="vision",
        modality=VISION,
        config_class="ResNetConfig",
        config_kwargs=dict(layer_type="basic", depths=[1, 1], hidden_sizes=[16, 32], embedding_size=16, num_labels=10),
        model_class="AutoModelForImageClassification",
        image_sizes=(32, 64),
        approx_params_m=0.03,
        test_only=True,
        extra={"positions_at_224": 1000},
    ),
    ArchitectureSpec(
        name="tiny-whisper",
        family="whisper",
        model_type="audio",
        modality=AUDIO,
        config_class="WhisperConfig",
        config_kwargs=dict(
            d_model=32,
            encoder_layers=2,
            decoder_layers=2,
            encoder_attention_heads=2,
            decoder_attention_heads=2,
            encoder_ffn_dim=64,
            decoder_ffn_dim=64,
            num_mel_bins=16,
            vocab_size=1000,
            max_source_positions=50,
            max_target_positions=64,
            pad_token_id=0,
            bos_token_id=1,
            eos_token_id=2,
            decoder_start_token_id=1,
        ),
        sequence_lengths=(100,),
        max_sequence_length=100,
        decoder="prompt",
        approx_params_m=0.05,
        test_only=True,
        extra={"fixed_sequence_length": 100, "samples_per_position": 1.0},
    ),
)

ARCHITECTURES: dict[str, ArchitectureSpec] = {spec.name: spec for spec in _SPECS}

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


# --------------------------------------------------------------------------------------------
# Building the torch module and its inputs
# --------------------------------------------------------------------------------------------


def build_config(spec: ArchitectureSpec, image_size: int | None = None):
    """The transformers configuration object for ``spec`` (with the image size where it matters)."""
    import transformers

    config_class = getattr(transformers, spec.config_class)
    kwargs = dict(spec.config_kwargs)
    if spec.modality == VISION and spec.config_class in ("ViTConfig", "DeiTConfig") and image_size:
        kwargs["image_size"] = image_size
    config = config_class(**kwargs)
    return config


def build_module(spec: ArchitectureSpec, image_size: int | None = None, seed: int = 0):
    """A ``torch.nn.Module`` in eval mode whose ``forward(*inputs)`` returns one tensor.

    Weights are random (seeded). Positional tensor inputs keep ONNX export simple.
    """
    import torch
    import transformers

    torch.manual_seed(seed)
    config = build_config(spec, image_size)
    model_class = getattr(transformers, spec.model_class)
    if spec.model_class.startswith("Auto"):
        model = model_class.from_config(config)
    else:
        model = model_class(config)
    if spec.family == "efficientnet":
        # transformers pools with AvgPool2d(kernel=hidden_dim=1280, ceil_mode=True): a global
        # average whose kernel is larger than the 7x7 map, which OpenVINO's shape inference
        # refuses. AdaptiveAvgPool2d(1) computes the same average and exports as GlobalAveragePool.
        model.efficientnet.pooler = torch.nn.AdaptiveAvgPool2d(1)
    model.eval()
    wrapper = _wrapper_for(spec)(model)
    wrapper.eval()
    return wrapper


def input_names(spec: ArchitectureSpec) -> list[str]:
    return list(_INPUT_NAMES[_input_kind(spec)])


def dynamic_axes(spec: ArchitectureSpec) -> dict[str, dict[int, str]]:
    """Which input axes vary between runs of one exported graph."""
    kind = _input_kind(spec)
    if kind == "text":
        return {"input_ids": {0: "batch", 1: "sequence"}}
    if kind == "seq2seq":
        return {"input_ids": {0: "batch", 1: "sequence"}, "decoder_input_ids": {0: "batch", 1: "decoder_sequence"}}
    if kind == "vision":
        if spec.image_size_agnostic:
            return {"pixel_values": {0: "batch", 2: "height", 3: "width"}}
        return {"pixel_values": {0: "batch"}}
    if kind == "whisper":
        return {"input_features": {0: "batch"}, "decoder_input_ids": {0: "batch"}}
    if kind == "wav2vec2":
        return {"input_values": {0: "batch", 1: "samples"}}
    return {"input_ids": {0: "batch", 1: "sequence"}, "pixel_values": {0: "batch"}}


def make_inputs(
    spec: ArchitectureSpec, batch_size: int, sequence_length: int | None, image_size: int | None, seed: int = 0
):
    """Random inputs of the right shapes, as a tuple of CPU torch tensors in ``input_names`` order."""
    import torch

    spec.check_shape(sequence_length, image_size)
    generator = torch.Generator().manual_seed(seed)
    kind = _input_kind(spec)
    config_kwargs = spec.config_kwargs
    vocab = int(config_kwargs.get("vocab_size", 1000))
    if kind == "text":
        return (torch.randint(3, min(vocab, 30000), (batch_size, sequence_length), generator=generator),)
    if kind == "seq2seq":
        ids = torch.randint(3, min(vocab, 30000), (batch_size, sequence_length), generator=generator)
        return (ids, ids.clone())
    if kind == "vision":
        return (torch.randn(batch_size, 3, image_size, image_size, generator=generator),)
    if kind == "whisper":
        mels = int(config_kwargs.get("num_mel_bins", 80))
        features = torch.randn(batch_size, mels, sequence_length, generator=generator)
        prompt = torch.randint(3, min(vocab, 30000), (batch_size, WHISPER_DECODER_PROMPT), generator=generator)
        return (features, prompt)
    if kind == "wav2vec2":
        return (torch.randn(batch_size, sequence_length, generator=generator),)
    ids = torch.randint(3, 49000, (batch_size, sequence_length), generator=generator)
    return (ids, torch.randn(batch_size, 3, image_size, image_size, generator=generator))


_INPUT_NAMES = {
    "text": ("input_ids",),
    "seq2seq": ("input_ids", "decoder_input_ids"),
    "vision": ("pixel_values",),
    "whisper": ("input_features", "decoder_input_ids"),
    "wav2vec2": ("input_values",),
    "clip": ("input_ids", "pixel_values"),
}


def _input_kind(spec: ArchitectureSpec) -> str:
    if spec.family == "whisper":
        return "whisper"
    if spec.family == "wav2vec2":
        return "wav2vec2"
    if spec.modality == MULTIMODAL:
        return "clip"
    if spec.modality == VISION:
        return "vision"
    return "seq2seq" if spec.decoder == "same" else "text"


def _wrapper_for(spec: ArchitectureSpec) -> Callable:
    import torch

    kind = _input_kind(spec)

    class _Wrapper(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

    class TextWrapper(_Wrapper):
        def forward(self, input_ids):
            return self.model(input_ids=input_ids).last_hidden_state

    class Seq2SeqWrapper(_Wrapper):
        def forward(self, input_ids, decoder_input_ids):
            return self.model(input_ids=input_ids, decoder_input_ids=decoder_input_ids).last_hidden_state

    class VisionWrapper(_Wrapper):
        def forward(self, pixel_values):
            return self.model(pixel_values=pixel_values).logits

    class WhisperWrapper(_Wrapper):
        def forward(self, input_features, decoder_input_ids):
            return self.model(input_features=input_features, decoder_input_ids=decoder_input_ids).last_hidden_state

    class Wav2Vec2Wrapper(_Wrapper):
        def forward(self, input_values):
            return self.model(input_values=input_values).last_hidden_state

    class ClipWrapper(_Wrapper):
        def forward(self, input_ids, pixel_values):
            return self.model(input_ids=input_ids, pixel_values=pixel_values).logits_per_image

    return {
        "text": TextWrapper,
        "seq2seq": Seq2SeqWrapper,
        "vision": VisionWrapper,
        "whisper": WhisperWrapper,
        "wav2vec2": Wav2Vec2Wrapper,
        "clip": ClipWrapper,
    }[kind]
