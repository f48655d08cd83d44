"""Text architectures: encoders, decoder-only models and encoder-decoder models."""

from __future__ import annotations

from predictive_performance.benchmark.architectures.spec import TEXT, ArchitectureSpec


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


_BERT_BASE = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)

TEXT_SPECS: tuple[ArchitectureSpec, ...] = (
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
)
