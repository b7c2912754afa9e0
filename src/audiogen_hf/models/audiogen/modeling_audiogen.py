"""AudioGen: text-conditioned autoregressive generation over delayed EnCodec codebooks."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from ...core.modeling_base import TextToCodesPreTrainedModel
from ...core.modeling_outputs import CodebookLMOutput
from ...generation.delay_pattern import align_logits_to_frames, build_delay_pattern
from .configuration_audiogen import AudioGenConfig
from .generation_audiogen import AudioGenGenerationMixin


def codebook_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """audiocraft's AudioGen loss: per-codebook mean CE over `mask`, averaged over codebooks.

    `logits` `[B, K, T, V]`, `labels` `[B, K, T]`, `mask` `[B, K, T]` (bool).
    """
    per_codebook = []
    for k in range(logits.shape[1]):
        keep = mask[:, k]
        if not keep.any():
            raise ValueError(f"codebook {k} has no valid position in this batch; use longer clips.")
        per_codebook.append(F.cross_entropy(logits[:, k][keep].float(), labels[:, k][keep]))
    return torch.stack(per_codebook).mean()


class AudioGenForConditionalGeneration(TextToCodesPreTrainedModel, AudioGenGenerationMixin):
    """AudioGen (Kreuk et al., 2023) as a transformers model: T5 text encoder, EnCodec codec, causal decoder.

    `forward(input_ids, attention_mask, labels=codes)` is the training objective; `generate()` makes audio.
    """

    config: AudioGenConfig
    config_class = AudioGenConfig
    generation_defaults = {
        "do_sample": True,
        "top_k": 250,
        "top_p": 1.0,
        "temperature": 1.0,
        "guidance_scale": 3.0,
        "max_new_tokens": 250,
        "extend_stride": 2.0,
    }

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        return_dict: bool | None = None,
        include_pattern_tail: bool = False,
        **kwargs,
    ) -> CodebookLMOutput | tuple:
        """Teacher-forced logits and loss for codec codes `labels` `[B, K, T]` (not delayed: the model applies the
        delay pattern). Negative label ids are ignored by the loss. The returned logits are aligned with
        `labels`; the last `delay[k]` frames of codebook `k` have no prediction (`logits_mask` is False there),
        as in audiocraft's `compute_predictions`.

        `include_pattern_tail=True` also runs the last `max(delay)` pattern steps, so every frame is predicted.
        Why: `generate()` always reaches those steps at the end of a clip, with the special token standing in for
        the finished early codebooks; audiocraft never trains them, and a small model trained that way emitted
        random late-codebook codes there (a -40 dB click in the last 40 ms that broke "then silence").

        `encoder_hidden_states` may replace `input_ids` (projected, zeroed conditioning `[B, L, hidden]`).
        """
        if labels is None:
            raise ValueError(
                "forward() needs labels=codes [batch, codebooks, frames] (the codec's codes); "
                "use generate() to make audio."
            )
        decoder_config = self.config.decoder
        if labels.dim() != 3 or labels.shape[1] != decoder_config.num_codebooks:
            raise ValueError(
                f"labels must be codes [batch, {decoder_config.num_codebooks}, frames], got {tuple(labels.shape)}."
            )
        batch, _, frames = labels.shape
        if encoder_hidden_states is None:
            encoder_hidden_states = self.encode_text(input_ids, attention_mask, batch)
        special = decoder_config.special_token_id
        known = labels >= 0
        sequence, _ = build_delay_pattern(torch.where(known, labels, special), decoder_config.delays, special)
        steps = frames + max(decoder_config.delays) if include_pattern_tail else frames
        step_logits, _ = self.decoder(sequence[..., :steps], encoder_hidden_states)
        logits, valid = align_logits_to_frames(step_logits, decoder_config.delays, frames)
        mask = valid[None] & known
        loss = codebook_cross_entropy(logits, labels.clamp(min=0), mask)
        output = CodebookLMOutput(
            loss=loss, logits=logits, logits_mask=mask, encoder_hidden_states=encoder_hidden_states
        )
        return output if return_dict is not False else output.to_tuple()
