"""What AudioGen and MAGNeT share around the decoder: the frozen T5 conditioning, the EnCodec codec and the
input checks. Subclasses add the objective (`forward`) and the decoding algorithm (`generate`)."""

from __future__ import annotations

import torch
from torch import nn
from transformers import AutoModel, AutoModelForTextEncoding, GenerationConfig, PreTrainedModel

from ..models.audiogen.configuration_audiogen import AudioGenConfig
from .loading_checks import checked_from_pretrained
from .modeling_decoder import AudioGenDecoder
from .modeling_outputs import AudioGenerationOutput
from .musicgen_compat import MusicgenCompatMixin


class TextToCodesPreTrainedModel(MusicgenCompatMixin, PreTrainedModel):
    """T5 (`text_encoder`) -> `enc_to_dec_proj` -> `decoder` over EnCodec (`audio_encoder`) codes.

    Submodule names follow transformers' MusicGen. `enc_to_dec_proj` is always applied (audiocraft's
    `output_proj`), even when the T5 width equals the decoder width.
    """

    config: AudioGenConfig
    config_class = AudioGenConfig
    base_model_prefix = "encoder_decoder"
    main_input_name = "input_ids"
    input_modalities = "text"
    output_modalities = ("audio",)
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _supports_flash_attn = False
    _supports_flex_attn = False
    decoder_class: type[AudioGenDecoder] = AudioGenDecoder

    def __init__(self, config: AudioGenConfig):
        super().__init__(config)
        self.text_encoder = AutoModelForTextEncoding.from_config(config.text_encoder)
        self.audio_encoder = AutoModel.from_config(config.audio_encoder)
        self.decoder = self.decoder_class(config.decoder)
        self.enc_to_dec_proj = nn.Linear(config.text_encoder.d_model, config.decoder.hidden_size)
        self.post_init()
        self.generation_config = self.default_generation_config()
        self.freeze_text_encoder()
        self.freeze_audio_encoder()

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, **kwargs):
        """transformers' loader, refusing truncated files, unsafe pickles and weights that do not fit the config
        (see `loading_checks`; opt out with `strict_weights=False` / `ignore_mismatched_sizes=True`)."""
        return checked_from_pretrained(
            super().from_pretrained, pretrained_model_name_or_path, *model_args, **kwargs
        )

    def save_pretrained(self, save_directory, *args, **kwargs):
        """transformers' save, plus the flat model code, `auto_map` and a model card (see `audiogen_hf.hub`), so
        the folder also loads with `trust_remote_code=True` where this package is not installed."""
        from ..hub.folder import model_folder_writer, save_with_hub_files
        from .processing_audiogen import AudioGenProcessor

        def writer(folder):
            return model_folder_writer(self, AudioGenProcessor, folder)

        return save_with_hub_files(super().save_pretrained, writer, save_directory, *args, **kwargs)

    def push_to_hub(self, repo_id: str, **kwargs) -> str:
        """Upload what `save_pretrained` writes (weights, code, card); see `audiogen_hf.hub.folder.push_to_hub`."""
        from ..hub.folder import push_to_hub

        return push_to_hub(self, repo_id, **kwargs)

    # The family's audiocraft defaults (saved as generation_config.json); subclasses fill it.
    generation_defaults: dict = {}

    def default_generation_config(self) -> GenerationConfig:
        special = self.config.decoder.vocab_size
        return GenerationConfig(
            pad_token_id=special,
            bos_token_id=special,
            decoder_start_token_id=special,
            **self.generation_defaults,
        )

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        # The projection keeps PyTorch's default Linear init, as audiocraft's `output_proj` does.
        if module is getattr(self, "enc_to_dec_proj", None):
            module.reset_parameters()

    def freeze_text_encoder(self) -> None:
        """T5 is frozen in audiocraft (`finetune=False`)."""
        for param in self.text_encoder.parameters():
            param.requires_grad_(False)

    def freeze_audio_encoder(self) -> None:
        for param in self.audio_encoder.parameters():
            param.requires_grad_(False)

    # ----------------------------------------------------------------------------------------------- text
    def encode_text(
        self, input_ids: torch.Tensor | None, attention_mask: torch.Tensor | None, batch_size: int = 1
    ) -> torch.Tensor:
        """T5 states projected to the decoder width, padded positions zeroed (not masked: audiocraft parity).

        Without `input_ids` (unconditional generation) this is audiocraft's empty description: one zero vector.
        """
        if input_ids is None:
            return self.null_condition(batch_size, 1)
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if input_ids.dim() != 2 or attention_mask.shape != input_ids.shape:
            raise ValueError(
                f"input_ids must be [batch, tokens] with an attention_mask of the same shape, got "
                f"{tuple(input_ids.shape)} and {tuple(attention_mask.shape)}; use the processor to tokenize."
            )
        states = self.text_encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        states = self.enc_to_dec_proj(states.to(self.enc_to_dec_proj.weight.dtype))
        keep = attention_mask[..., None].to(torch.bool)
        return torch.where(keep, states, torch.zeros_like(states))

    def null_condition(self, batch_size: int, length: int) -> torch.Tensor:
        """audiocraft's CFG null condition: all-zero states (the empty description, mask zeroed)."""
        weight = self.enc_to_dec_proj.weight
        return torch.zeros(batch_size, length, weight.shape[0], dtype=weight.dtype, device=weight.device)

    # ----------------------------------------------------------------------------------------------- audio
    @property
    def num_codebooks(self) -> int:
        return self.config.decoder.num_codebooks

    @torch.no_grad()
    def encode_audio(
        self, input_values: torch.Tensor, padding_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Waveform `[B, channels, samples]` at the codec's rate to codes `[B, K, frames]`."""
        if input_values.dim() != 3:
            raise ValueError(
                f"input_values must be [batch, channels, samples], got {tuple(input_values.shape)}; "
                "use the processor (audio=..., sampling_rate=...)."
            )
        if input_values.shape[-1] == 0:
            raise ValueError("the audio prompt is empty (0 samples); pass at least one codec frame of audio.")
        if not torch.isfinite(input_values).all():
            raise ValueError(
                "the audio prompt contains NaN or inf samples; clean or clip it before generating."
            )
        codec = self.audio_encoder
        encoded = codec.encode(
            input_values.to(codec.dtype),
            padding_mask,
            bandwidth=max(self.config.audio_encoder.target_bandwidths),
        )
        codes = encoded.audio_codes
        if codes.dim() == 4:  # [chunks=1, B, K, T]
            codes = codes[0]
        return codes[:, : self.num_codebooks].long()

    @torch.no_grad()
    def decode_audio(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes `[B, K, frames]` to waveform `[B, channels, frames * hop]` (no trimming, as audiocraft)."""
        if codes.shape[-1] == 0:
            return torch.zeros(codes.shape[0], self.config.audio_channels, 0, device=codes.device)
        if (codes < 0).any() or (codes >= self.config.decoder.vocab_size).any():
            raise ValueError("codes to decode must lie in [0, codebook_size); special or unknown ids remain.")
        decoded = self.audio_encoder.decode(codes[None], [None] * codes.shape[0])
        return decoded.audio_values

    def _decode_or_return_codes(self, codes: torch.Tensor, return_dict: bool, decode=None) -> torch.Tensor:
        """The waveform (`decode`, default `decode_audio`), or with `return_dict` the output with the codes."""
        audio = (decode or self.decode_audio)(codes)
        if return_dict:
            return AudioGenerationOutput(audio=audio, sequences=codes)
        return audio
