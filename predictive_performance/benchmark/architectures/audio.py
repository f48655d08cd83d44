"""Audio architectures: whisper on log-mel frames, wav2vec2 on raw samples."""

from __future__ import annotations

from predictive_performance.benchmark.architectures.spec import AUDIO, ArchitectureSpec

AUDIO_SPECS: tuple[ArchitectureSpec, ...] = (
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
)
