"""Tiny random models and tokenizers for tests, smoke training runs and offline demos (no download)."""

from __future__ import annotations

import torch
from transformers import EncodecFeatureExtractor, T5Tokenizer

from .models.audiogen.configuration_audiogen import ENCODEC_16KHZ_DEFAULTS

CAPTION_WORDS = (
    "a an the and of in on with then dog dogs barks barking cat meows rain falls heavy light car engine "
    "starts idles bird birds sing sings chirp wind blows door slams people talk crowd applause water "
    "running stream footsteps bell rings high low middle tone tones beep beeps beeping rising falling chirp "
    "white pink brown noise silence quiet loud slow fast pulse pulses steady siren thunder"
).split()


def tiny_tokenizer(words: tuple[str, ...] | list[str] = CAPTION_WORDS) -> T5Tokenizer:
    """A T5 (unigram) tokenizer with whole-word pieces plus single letters as fallback."""
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)]
    pieces += [("\u2581" + w, -1.0) for w in dict.fromkeys(words)]
    pieces += [(c, -5.0) for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
    return T5Tokenizer(vocab=pieces, extra_ids=0)


def tiny_codec_config(codebook_size: int = 64, **overrides) -> dict:
    """A 16 kHz, 50 frames/s, 4-codebook EnCodec with small channel counts."""
    config = dict(ENCODEC_16KHZ_DEFAULTS)
    config.update(
        num_filters=4, hidden_size=16, codebook_dim=16, codebook_size=codebook_size, num_lstm_layers=1
    )
    # 4 codebooks of `codebook_size` entries at 50 Hz.
    config["target_bandwidths"] = [4 * 50 * (codebook_size.bit_length() - 1) / 1000]
    config.update(overrides)
    return config


def tiny_config(
    config_class=None,
    text_vocab_size: int = 128,
    codebook_size: int = 64,
    max_duration: float = 1.0,
    **decoder,
):
    """A tiny composite config (T5 width 24, decoder width 32) of `config_class` (AudioGen by default)."""
    from .models.audiogen.configuration_audiogen import AudioGenConfig

    decoder_config = dict(
        vocab_size=codebook_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        ffn_dim=64,
        max_duration=max_duration,
    )
    decoder_config.update(decoder)
    return (config_class or AudioGenConfig)(
        text_encoder=dict(
            model_type="t5",
            vocab_size=text_vocab_size,
            d_model=24,
            d_kv=8,
            d_ff=32,
            num_layers=1,
            num_heads=2,
        ),
        audio_encoder=dict(model_type="encodec", **tiny_codec_config(codebook_size)),
        decoder=decoder_config,
    )


def tiny_audiogen_config(
    text_vocab_size: int = 128, codebook_size: int = 64, max_duration: float = 1.0, **decoder
):
    return tiny_config(None, text_vocab_size, codebook_size, max_duration, **decoder)


def tiny_magnet_config(
    text_vocab_size: int = 128, codebook_size: int = 64, max_duration: float = 1.0, **decoder
):
    from .models.magnet.configuration_magnet import MagnetConfig

    return tiny_config(MagnetConfig, text_vocab_size, codebook_size, max_duration, **decoder)


def benchmark_config(family: str, hidden: int, layers: int, codebook_size: int = 2048, seconds: float = 10.0):
    """A tiny-codec config whose decoder has a real model's shape (heads of 64, FFN 4x): speed measurements
    depend on the shape, not on the weights. `family` is "audiogen" or "magnet"."""
    from .models.magnet.configuration_magnet import MagnetConfig

    if family not in ("audiogen", "magnet"):
        raise ValueError(f"family must be 'audiogen' or 'magnet', got {family!r}")
    return tiny_config(
        MagnetConfig if family == "magnet" else None,
        codebook_size=codebook_size,
        max_duration=seconds,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=max(1, hidden // 64),
        ffn_dim=4 * hidden,
    )


def tiny_feature_extractor(sampling_rate: int = 16000) -> EncodecFeatureExtractor:
    return EncodecFeatureExtractor(feature_size=1, sampling_rate=sampling_rate, padding_value=0.0)


@torch.no_grad()
def spread_codebooks(model, seed: int = 0) -> None:
    """Give a random codec distinct codebook entries (a fresh EnCodec quantizer is all zeros, so every frame
    would get code 0) by sampling them from encoder outputs on noise, as a k-means init would."""
    codec = model.audio_encoder
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn(1, 1, 16000, generator=gen) * 0.3
    embeddings = codec.encoder(noise)[0].transpose(0, 1)  # [frames, dim]
    residual = embeddings
    for layer in codec.quantizer.layers:
        book = layer.codebook
        index = torch.randint(0, residual.shape[0], (book.embed.shape[0],), generator=gen)
        jitter = torch.randn(book.embed.shape, generator=gen) * residual.std() * 0.5
        book.embed.copy_(residual[index] + jitter)
        book.embed_avg.copy_(book.embed)
        book.inited.fill_(1)
        residual = residual - book.embed[torch.cdist(residual, book.embed).argmin(-1)]
