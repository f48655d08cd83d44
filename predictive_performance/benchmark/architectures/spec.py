"""What an architecture is: its shapes, its inputs and a rough cost, before anything is built.

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
"""

from __future__ import annotations

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
