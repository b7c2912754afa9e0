"""Configurations for AudioGen: a decoder config and the composite (T5 + EnCodec + decoder) config."""

from __future__ import annotations

from typing import ClassVar

from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

from .config_fields import AUDIO_ENCODER_FIELDS, DECODER_FIELDS, TEXT_ENCODER_FIELDS, check_fields

# audiocraft's 16 kHz EnCodec (AudioGen, audio-MAGNeT): `encodec_large_nq4_s320`.
ENCODEC_16KHZ_DEFAULTS: dict = {
    "sampling_rate": 16000,
    "audio_channels": 1,
    "upsampling_ratios": [8, 5, 4, 2],
    "num_filters": 64,
    "hidden_size": 128,
    "codebook_size": 2048,
    "codebook_dim": 128,
    "target_bandwidths": [2.2],
    "num_lstm_layers": 2,
    "num_residual_layers": 1,
    "compress": 2,
    "use_conv_shortcut": False,
    "use_causal_conv": False,
    "normalize": False,
    "norm_type": "weight_norm",
    "pad_mode": "constant",
    "trim_right_ratio": 1.0,
}

# t5-large encoder (AudioGen's text2sound conditioner).
T5_LARGE_DEFAULTS: dict = {
    "d_model": 1024,
    "d_ff": 4096,
    "d_kv": 64,
    "num_layers": 24,
    "num_heads": 16,
    "vocab_size": 32128,
}


class AudioGenDecoderConfig(PreTrainedConfig):
    """The multi-codebook transformer shared by AudioGen and MAGNeT (audiocraft's `LMModel`).

    `vocab_size` is the codec's codebook size (card); id `vocab_size` is the special token (delay pad for
    AudioGen, mask for MAGNeT), so the embeddings have `vocab_size + 1` rows and the heads `vocab_size` outputs.
    """

    model_type: ClassVar[str] = "audiogen_decoder"
    base_config_key: ClassVar[str] = "decoder_config"
    keys_to_ignore_at_inference: ClassVar[list[str]] = ["past_key_values"]

    vocab_size: int = 2048
    hidden_size: int = 1536
    num_hidden_layers: int = 48
    num_attention_heads: int = 24
    ffn_dim: int = 6144
    num_codebooks: int = 4
    activation_function: str = "gelu"
    layer_norm_eps: float = 1e-5
    dropout: float = 0.0
    attention_dropout: float = 0.0
    max_period: float = 10000.0
    positional_scale: float = 1.0
    max_duration: float = 10.0
    is_causal: bool = True
    delays: list[int] | None = None
    initializer_range: float = 0.02
    use_cache: bool = True
    pad_token_id: int | None = None
    bos_token_id: int | None = None
    tie_word_embeddings: bool = False

    def __post_init__(self, **kwargs):
        if self.delays is None:
            self.delays = list(range(self.num_codebooks)) if self.is_causal else [0] * self.num_codebooks
        super().__post_init__(**kwargs)
        self._check_decoder()

    @property
    def special_token_id(self) -> int:
        """The id that fills empty delay steps (AudioGen) or masked positions (MAGNeT)."""
        return self.vocab_size

    def _check_decoder(self) -> None:
        check_fields(self, DECODER_FIELDS, "decoder.")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be divisible by num_attention_heads "
                f"({self.num_attention_heads}); change one of them."
            )
        if len(self.delays) != self.num_codebooks:
            raise ValueError(
                f"delays has {len(self.delays)} entries but num_codebooks is {self.num_codebooks}; "
                "give one delay per codebook."
            )
        if self.hidden_size % 2:
            raise ValueError(f"hidden_size must be even for sinusoidal positions, got {self.hidden_size}.")


class AudioGenConfig(PreTrainedConfig):
    """Composite config: `text_encoder` (T5), `audio_encoder` (EnCodec) and `decoder` (AudioGenDecoderConfig)."""

    model_type: ClassVar[str] = "audiogen"
    sub_configs_defaults = {
        "text_encoder": SubConfigSpec(
            config_class=AutoConfig, model_type="t5", init_kwargs=T5_LARGE_DEFAULTS
        ),
        "audio_encoder": SubConfigSpec(
            config_class=AutoConfig, model_type="encodec", init_kwargs=ENCODEC_16KHZ_DEFAULTS
        ),
        "decoder": AudioGenDecoderConfig,
    }

    text_encoder: dict | PreTrainedConfig | None = None
    audio_encoder: dict | PreTrainedConfig | None = None
    decoder: dict | PreTrainedConfig | None = None
    initializer_factor: float = 0.02

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        self.is_encoder_decoder = True
        self._check_sub_configs()

    def to_dict(self) -> dict:
        """Without `auto_map`: it names the code exported next to a saved folder (written by `audiogen_hf.hub`
        at save time), not a property of the model, so a config compares equal however it was loaded."""
        output = super().to_dict()
        output.pop("auto_map", None)
        return output

    @property
    def sampling_rate(self) -> int:
        return self.audio_encoder.sampling_rate

    @property
    def frame_rate(self) -> int:
        """Codec frames per second (50 for audiocraft's 16 and 32 kHz EnCodec)."""
        return self.audio_encoder.frame_rate

    @property
    def audio_channels(self) -> int:
        return self.audio_encoder.audio_channels

    @property
    def max_frames(self) -> int:
        """The decoder's window in frames (audiocraft: `int(segment_duration * frame_rate)`)."""
        return int(self.decoder.max_duration * self.frame_rate)

    def _check_sub_configs(self) -> None:
        codec, dec = self.audio_encoder, self.decoder
        check_fields(self.text_encoder, TEXT_ENCODER_FIELDS, "text_encoder.")
        check_fields(codec, AUDIO_ENCODER_FIELDS, "audio_encoder.")
        if codec.codebook_size != dec.vocab_size:
            raise ValueError(
                f"decoder.vocab_size ({dec.vocab_size}) must equal the codec's codebook_size "
                f"({codec.codebook_size}); set decoder vocab_size={codec.codebook_size}."
            )
        n_q = codec.num_quantizers
        if n_q < dec.num_codebooks:
            raise ValueError(
                f"the codec gives {n_q} codebooks at its largest bandwidth ({codec.target_bandwidths[-1]} kbps) "
                f"but decoder.num_codebooks is {dec.num_codebooks}; raise the codec's target_bandwidths or "
                "lower num_codebooks."
            )
        if codec.audio_channels != 1:
            raise ValueError(
                f"only mono codecs are supported (audio_encoder.audio_channels={codec.audio_channels})."
            )
