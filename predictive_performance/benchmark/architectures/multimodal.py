"""Multimodal architectures: text and image towers together."""

from __future__ import annotations

from predictive_performance.benchmark.architectures.spec import MULTIMODAL, ArchitectureSpec

MULTIMODAL_SPECS: tuple[ArchitectureSpec, ...] = (
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
)
