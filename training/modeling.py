"""Building the model to train: a tiny random one (smoke runs, tests) or a saved AudioGen/MAGNeT to fine-tune,
plus a standalone copy of the frozen codec for encoding audio outside the (possibly sharded) model."""

from __future__ import annotations

import copy

import torch
from transformers import AutoModelForTextToWaveform, AutoProcessor

import audiogen_hf
from audiogen_hf import AudioGenProcessor
from audiogen_hf.tiny import spread_codebooks, tiny_audiogen_config, tiny_feature_extractor, tiny_tokenizer
from training.errors import UsageError

FAMILIES = ("audiogen", "magnet")


def tiny_magnet_config():
    """The MAGNeT analogue of `tiny_audiogen_config`: same T5 and codec, bidirectional aligned decoder."""
    from audiogen_hf.models.magnet.configuration_magnet import MagnetConfig

    base = tiny_audiogen_config()
    decoder = {
        k: v
        for k, v in base.decoder.to_dict().items()
        if k
        in (
            "vocab_size",
            "hidden_size",
            "num_hidden_layers",
            "num_attention_heads",
            "ffn_dim",
            "max_duration",
        )
    }
    return MagnetConfig(
        text_encoder=base.text_encoder.to_dict(),
        audio_encoder=base.audio_encoder.to_dict(),
        decoder=dict(decoder, is_causal=False),
    )


def _model_class(family: str):
    names = {"audiogen": "AudioGenForConditionalGeneration", "magnet": "MagnetForConditionalGeneration"}
    cls = getattr(audiogen_hf, names[family], None)
    if cls is None:
        raise ImportError(
            f"audiogen_hf has no {names[family]}; this install lacks the {family} model (update audiogen_hf)."
        )
    return cls


def load_model_and_processor(model_name_or_path: str, model_type: str | None, seed: int):
    """Returns `(model, processor, family)`. The text encoder and codec come frozen from the model."""
    if model_name_or_path == "tiny":
        family = model_type or "audiogen"
        if family not in FAMILIES:
            raise ValueError(f"model_type must be one of {FAMILIES}, got {family!r}.")
        torch.manual_seed(seed)
        config = tiny_audiogen_config() if family == "audiogen" else tiny_magnet_config()
        model = _model_class(family)(config)
        spread_codebooks(model, seed)
        processor = AudioGenProcessor(tiny_feature_extractor(), tiny_tokenizer())
        return model, processor, family
    try:
        model = AutoModelForTextToWaveform.from_pretrained(model_name_or_path)
        processor = AutoProcessor.from_pretrained(model_name_or_path)
    except OSError as error:  # not found, offline, no weights, unreadable files: the loader says which
        raise UsageError(
            f"--model_name_or_path {model_name_or_path} cannot be loaded: {' '.join(str(error).split())}"
        ) from error
    family = model.config.model_type
    if family not in FAMILIES:
        raise ValueError(
            f"{model_name_or_path} is a {family!r} model; training supports {FAMILIES}. Convert an audiocraft "
            "checkpoint with conversion/ first."
        )
    if model_type is not None and model_type != family:
        raise ValueError(
            f"--model_type {model_type} but {model_name_or_path} is a {family} model; drop --model_type."
        )
    return model, processor, family


class CodecEncoder:
    """A frozen copy of the model's codec: waveforms `[B, 1, samples]` to codes `[B, K, frames]`.

    Kept apart from the model so that encoding works the same under DDP and FSDP (where the model's own
    codec may be wrapped or sharded) and in the pre-encoding pass.
    """

    def __init__(self, model, device: torch.device):
        self.codec = copy.deepcopy(model.audio_encoder).to(device).eval().requires_grad_(False)
        self.num_codebooks = model.config.decoder.num_codebooks
        self.bandwidth = max(model.config.audio_encoder.target_bandwidths)
        self.device = device
        self.hop_length = int(model.config.sampling_rate // model.config.frame_rate)

    @torch.no_grad()
    def __call__(self, wav: torch.Tensor) -> torch.Tensor:
        codes = self.codec.encode(
            wav.to(self.device, self.codec.dtype), None, bandwidth=self.bandwidth
        ).audio_codes
        if codes.dim() == 4:  # [chunks=1, B, K, T]
            codes = codes[0]
        return codes[:, : self.num_codebooks].long()
