"""Registration with transformers' Auto classes (idempotent)."""

from __future__ import annotations

from transformers import AutoConfig, AutoModel, AutoModelForTextToWaveform, AutoProcessor


def _families() -> list[tuple]:
    from .configuration_audiogen import AudioGenConfig, AudioGenDecoderConfig
    from .configuration_magnet import MagnetConfig, MagnetDecoderConfig
    from .modeling_audiogen import AudioGenForConditionalGeneration
    from .modeling_decoder import AudioGenDecoder
    from .modeling_magnet import MagnetDecoder, MagnetForConditionalGeneration
    from .processing_audiogen import AudioGenProcessor

    return [
        (
            AudioGenConfig,
            AudioGenDecoderConfig,
            AudioGenForConditionalGeneration,
            AudioGenDecoder,
            AudioGenProcessor,
        ),
        (
            MagnetConfig,
            MagnetDecoderConfig,
            MagnetForConditionalGeneration,
            MagnetDecoder,
            AudioGenProcessor,
        ),
    ]


def register() -> None:
    """Make `AutoConfig`, `AutoModel`, `AutoModelForTextToWaveform` and `AutoProcessor` resolve our types."""
    for config, decoder_config, model, decoder, processor in _families():
        AutoConfig.register(config.model_type, config, exist_ok=True)
        AutoConfig.register(decoder_config.model_type, decoder_config, exist_ok=True)
        AutoModel.register(config, model, exist_ok=True)
        AutoModel.register(decoder_config, decoder, exist_ok=True)
        AutoModelForTextToWaveform.register(config, model, exist_ok=True)
        AutoProcessor.register(config, processor, exist_ok=True)
