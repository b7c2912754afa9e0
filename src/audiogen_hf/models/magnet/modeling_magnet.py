"""MAGNeT: text-conditioned masked non-autoregressive generation over aligned EnCodec codebooks."""

from __future__ import annotations

import copy

import torch
from torch.nn import functional as F
from transformers import GenerationConfig

from ...core.modeling_base import TextToCodesPreTrainedModel
from ...core.modeling_decoder import AudioGenDecoder
from ...core.modeling_outputs import CodebookLMOutput
from .configuration_magnet import MagnetConfig, MagnetDecoderConfig
from .generation_magnet import MagnetGenerationMixin, default_decoding_steps
from .masking import band_attention_mask


class MagnetDecoder(AudioGenDecoder):
    """The shared decoder run bidirectionally; codebooks > 0 attend within a band (`stage_attention_mask`)."""

    config: MagnetDecoderConfig
    config_class = MagnetDecoderConfig

    def stage_attention_mask(self, stage: int, length: int, device: torch.device | None = None):
        """The additive self-attention mask used while decoding (or training) codebook `stage`."""
        return band_attention_mask(
            stage, length, self.config.subcodes_context, self.dtype, device or self.device
        )


class MagnetForConditionalGeneration(TextToCodesPreTrainedModel, MagnetGenerationMixin):
    """MAGNeT (Ziv et al., 2024) as a transformers model: T5 text encoder, EnCodec codec, bidirectional decoder.

    `forward(..., labels=codes, decoder_input_ids=masked codes, stage=k)` is the training objective of codebook
    `k`; `generate()` makes audio with audiocraft's iterative decoding.
    """

    config: MagnetConfig
    config_class = MagnetConfig
    unconditional_guidance_scale = None  # MAGNeT's CFG is max_cfg_coef / min_cfg_coef, not guidance_scale
    decoder_class = MagnetDecoder
    # audiocraft's `MAGNeT.set_generation_params` / `_generate_magnet` defaults (`max_length`, the window, and
    # `decoding_steps` for other codebook counts are filled per model).
    generation_defaults = {
        "do_sample": True,
        "temperature": 3.0,
        "top_p": 0.9,
        "top_k": 0,
        "decoding_steps": [20, 10, 10, 10],
        "span_arrangement": "nonoverlap",
        "span_scoring": "max",
        "max_cfg_coef": 10.0,
        "min_cfg_coef": 1.0,
        "anneal_temp": True,
        "use_cache": False,
    }

    def default_generation_config(self) -> GenerationConfig:
        config = super().default_generation_config()
        config.max_length = self.config.max_frames
        num_codebooks = self.config.decoder.num_codebooks
        steps = copy.deepcopy(config.decoding_steps)
        config.decoding_steps = (
            steps if len(steps) == num_codebooks else default_decoding_steps(num_codebooks)
        )
        return config

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        decoder_input_ids: torch.Tensor | None = None,
        stage: int | torch.Tensor = 0,
        encoder_hidden_states: torch.Tensor | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> CodebookLMOutput | tuple:
        """Logits of all codebooks and the loss of codebook `stage` (audiocraft's `solvers/magnet.py`).

        `labels` are the codec's codes `[B, K, T]` (negative ids: padding, ignored). `decoder_input_ids` are the
        same codes with the masked positions set to the mask id (`decoder.vocab_size`): in audiocraft, codebooks
        below `stage` are kept, `stage` is span-masked and those above are fully masked. The decoder runs with
        `stage`'s attention (the band for stages > 0). The loss is the mean cross-entropy over the masked,
        non-padded positions of codebook `stage` only; `logits_mask` is True exactly there. `stage` may also give
        one stage per clip (`[B]`): each clip then runs with its own stage's attention and counts toward the
        loss on its own stage's codebook (the loss stays a mean over every masked token of the batch).
        """
        decoder_config = self.config.decoder
        self._check_codes(labels, decoder_input_ids)
        batch_size, num_codebooks, length = labels.shape
        stages = self._check_stage(stage, batch_size)
        if encoder_hidden_states is None:
            encoder_hidden_states = self.encode_text(input_ids, attention_mask, batch_size)
        band = self._stages_attention_mask(stages, length, decoder_input_ids.device)
        logits, _ = self.decoder(decoder_input_ids, encoder_hidden_states, attention_mask=band)
        trained = (
            torch.arange(num_codebooks, device=labels.device)[None, :, None]
            == stages.to(labels.device)[:, None, None]
        )
        logits_mask = trained & (decoder_input_ids == decoder_config.special_token_id) & (labels >= 0)
        if not logits_mask.any():
            raise ValueError(
                f"no position of codebook {stage} is both masked in decoder_input_ids (id "
                f"{decoder_config.special_token_id}) and a valid label; mask at least one non-padded frame."
            )
        loss = F.cross_entropy(logits[logits_mask].float(), labels[logits_mask])
        output = CodebookLMOutput(
            loss=loss, logits=logits, logits_mask=logits_mask, encoder_hidden_states=encoder_hidden_states
        )
        return output if return_dict is not False else output.to_tuple()

    def _check_stage(self, stage, batch_size: int) -> torch.Tensor:
        """The stage of every clip, `[B]` (an int applies to the whole batch)."""
        num_codebooks = self.config.decoder.num_codebooks
        valid = isinstance(stage, int) and not isinstance(stage, bool)
        if isinstance(stage, torch.Tensor) and not stage.is_floating_point() and stage.dtype != torch.bool:
            valid = stage.numel() == 1 or tuple(stage.shape) == (batch_size,)
        stages = torch.as_tensor(stage).reshape(-1).expand(batch_size) if valid else None
        if stages is None or ((stages < 0) | (stages >= num_codebooks)).any():
            raise ValueError(
                f"stage must be the index of the codebook being trained, an integer in [0, {num_codebooks}) or "
                f"one such integer per clip (a tensor of shape [{batch_size}]), got {stage!r}."
            )
        return stages

    def _stages_attention_mask(self, stages: torch.Tensor, length: int, device) -> torch.Tensor | None:
        """One stage for the batch: its mask as in generation; one per clip: `[B, 1, T, T]`."""
        distinct = stages.unique().tolist()
        if len(distinct) == 1:
            return self.decoder.stage_attention_mask(distinct[0], length, device)
        per_stage = {}
        for s in distinct:  # stage 0 attends everywhere: a zero mask stands in for its None
            band = self.decoder.stage_attention_mask(s, length, device)
            per_stage[s] = (
                torch.zeros(1, 1, length, length, dtype=self.dtype, device=device) if band is None else band
            )
        return torch.cat([per_stage[s] for s in stages.tolist()])

    def _check_codes(self, labels: torch.Tensor | None, decoder_input_ids: torch.Tensor | None) -> None:
        decoder_config = self.config.decoder
        num_codebooks = decoder_config.num_codebooks
        if labels is None or decoder_input_ids is None:
            raise ValueError(
                "forward() needs labels=codes [batch, codebooks, frames] and decoder_input_ids=the same codes with "
                f"masked positions set to {decoder_config.special_token_id}; use generate() to make audio."
            )
        if labels.dim() != 3 or labels.shape[1] != num_codebooks:
            raise ValueError(
                f"labels must be codes [batch, {num_codebooks}, frames], got {tuple(labels.shape)}."
            )
        if decoder_input_ids.shape != labels.shape:
            raise ValueError(
                f"decoder_input_ids {tuple(decoder_input_ids.shape)} must have the shape of labels "
                f"{tuple(labels.shape)}."
            )
        if (decoder_input_ids < 0).any() or (decoder_input_ids > decoder_config.special_token_id).any():
            raise ValueError(
                f"decoder_input_ids must be codes in [0, {decoder_config.vocab_size}) or the mask id "
                f"{decoder_config.special_token_id}; replace padding with the mask id."
            )
