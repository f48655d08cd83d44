"""Building an architecture's torch module and random inputs of the right shapes.

Weights are random (seeded): timing and memory depend on the shapes, not on the trained values.
``torch`` and ``transformers`` are imported inside the functions, so importing this module stays
light.
"""

from __future__ import annotations

from collections.abc import Callable

from predictive_performance.benchmark.architectures.spec import (
    MULTIMODAL,
    VISION,
    WHISPER_DECODER_PROMPT,
    ArchitectureSpec,
)


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
