"""Vision architectures: image classifiers with a 1000-class head."""

from __future__ import annotations

from predictive_performance.benchmark.architectures.spec import VISION, ArchitectureSpec


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


# For CNNs "positions_at_224" is chosen so that 2 x params x positions ~ the published FLOPs at 224.
VISION_SPECS: tuple[ArchitectureSpec, ...] = (
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
)
