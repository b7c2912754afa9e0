"""Configurations for MAGNeT: the bidirectional decoder config and the composite (T5 + EnCodec + decoder) config."""

from __future__ import annotations

from typing import ClassVar

from transformers import PreTrainedConfig

from ..audiogen.configuration_audiogen import (
    AudioGenConfig,
    AudioGenDecoderConfig,
)


class MagnetDecoderConfig(AudioGenDecoderConfig):
    """The shared multi-codebook transformer run as audiocraft's `MagnetLMModel`.

    Attention is bidirectional and all codebooks are aligned (no delays). `max_duration` is the fixed segment
    the model was trained on: generation always works on (at most) that window. `subcodes_context` is the
    half-width of the band every layer attends to while decoding codebooks > 0 (-1: unrestricted), and
    `span_len` the length of the masked spans, both in frames.
    """

    model_type: ClassVar[str] = "magnet_decoder"

    is_causal: bool = False
    subcodes_context: int = 5
    span_len: int = 3

    def _check_decoder(self) -> None:
        super()._check_decoder()
        if self.is_causal:
            raise ValueError("MAGNeT's decoder is bidirectional: set is_causal=False.")
        if any(self.delays):
            raise ValueError(
                f"MAGNeT decodes aligned codebooks: delays must all be 0, got {self.delays}; leave delays unset."
            )
        if self.span_len < 1:
            raise ValueError(f"span_len must be >= 1 frame, got {self.span_len}.")
        if self.subcodes_context < -1:
            raise ValueError(
                f"subcodes_context must be >= 0 frames, or -1 for unrestricted attention, got {self.subcodes_context}."
            )


class MagnetConfig(AudioGenConfig):
    """Composite config: `text_encoder` (T5), `audio_encoder` (EnCodec) and `decoder` (MagnetDecoderConfig)."""

    model_type: ClassVar[str] = "magnet"
    sub_configs_defaults = {**AudioGenConfig.sub_configs_defaults, "decoder": MagnetDecoderConfig}

    def __post_init__(self, **kwargs):
        if isinstance(self.decoder, PreTrainedConfig) and not isinstance(self.decoder, MagnetDecoderConfig):
            raise ValueError(
                f"MagnetConfig needs a MagnetDecoderConfig (or a dict) as decoder, got {type(self.decoder).__name__}."
            )
        super().__post_init__(**kwargs)

    def _check_sub_configs(self) -> None:
        super()._check_sub_configs()
        if self.max_frames < self.decoder.span_len:
            raise ValueError(
                f"the window ({self.max_frames} frames = {self.decoder.max_duration} s) is shorter than one span "
                f"({self.decoder.span_len} frames); raise decoder.max_duration."
            )
