"""Registration with transformers' Auto classes (idempotent)."""

from __future__ import annotations

from transformers import AutoConfig, AutoModel, AutoModelForTextToWaveform, AutoProcessor


def _families() -> list[tuple]:
    from .core.modeling_decoder import AudioGenDecoder
    from .core.processing_audiogen import AudioGenProcessor
    from .models.audiogen.configuration_audiogen import AudioGenConfig, AudioGenDecoderConfig
    from .models.audiogen.modeling_audiogen import AudioGenForConditionalGeneration
    from .models.magnet.configuration_magnet import MagnetConfig, MagnetDecoderConfig
    from .models.magnet.modeling_magnet import MagnetDecoder, MagnetForConditionalGeneration

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
