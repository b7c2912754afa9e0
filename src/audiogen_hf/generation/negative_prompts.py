"""Negative prompts: classifier-free guidance away from a text instead of away from the null condition.

CFG computes `uncond + (cond - uncond) * scale`; a negative prompt only replaces what produces `uncond`.

Why it is run as its own pass: the cross-attention has no padding mask (audiocraft parity), and padded text
positions are zero vectors that still take a share of the softmax. Tokenizing the negative with the positive
prompts would pad the positive rows to the negative's length and so change the conditional logits. The
negative is therefore encoded on its own; its rows join the positive rows in one batched decoder call only
when both have the same length, and otherwise (or with `two_step_cfg`) run as a second pass.

An empty negative prompt ("") is the null condition: the processor zeroes the mask of an empty text (as
audiocraft's T5 conditioner does), so its conditioning is all zeros, which is exactly how audiocraft builds
the null condition. When every negative row is empty, the null condition is used as today: zeros with the
positive rows' length, batched (or one zero token with `two_step_cfg`), so the tokens are bit-identical to
generating without a negative prompt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch

from .inputs import check_token_ids


@dataclass
class GuidanceConditions:
    """The conditional rows and what CFG guides away from (`negative=None`: no CFG)."""

    positive: torch.Tensor  # [B, L, D]
    negative: torch.Tensor | None = None  # [B, L', D]
    negative_is_null: bool = True  # all zeros: any length attends alike

    @property
    def batch_size(self) -> int:
        return self.positive.shape[0]

    def passes(self, two_step: bool = False) -> list[torch.Tensor]:
        """The condition tensors of one guided step, one decoder call each; their rows are `[cond; uncond]`."""
        if self.negative is None:
            return [self.positive]
        if two_step:
            return [self.positive, self.negative[:, :1] if self.negative_is_null else self.negative]
        if self.negative.shape[1] != self.positive.shape[1]:
            return [self.positive, self.negative]
        return [torch.cat([self.positive, self.negative], dim=0)]


def pop_negative_prompt(kwargs: dict) -> tuple[torch.Tensor, torch.Tensor | None] | None:
    """Take the negative text out of `generate()`'s kwargs: `negative_input_ids` / `negative_attention_mask`
    (the processor's `negative_text=` outputs), or `negative_prompt=` a tokenizer output with both."""
    ids = kwargs.pop("negative_input_ids", None)
    mask = kwargs.pop("negative_attention_mask", None)
    prompt = kwargs.pop("negative_prompt", None)
    if prompt is not None:
        if ids is not None:
            raise ValueError("pass negative_prompt= or negative_input_ids=, not both.")
        if isinstance(prompt, str) or not isinstance(prompt, Mapping) or "input_ids" not in prompt:
            raise TypeError(
                "negative_prompt must be tokenized text (a mapping with input_ids and attention_mask); models "
                "have no tokenizer: use processor(text=..., negative_text=...) or processor.tokenizer(...)."
            )
        ids, mask = prompt["input_ids"], prompt.get("attention_mask")
    if ids is None:
        if mask is not None:
            raise ValueError("negative_attention_mask was given without negative_input_ids.")
        return None
    return ids, mask


def build_guidance_conditions(
    model,
    positive: torch.Tensor,
    negative: tuple[torch.Tensor, torch.Tensor | None] | None,
    use_cfg: bool,
    num_return_sequences: int = 1,
) -> GuidanceConditions:
    """Encode the negative text (if any) separately from the positive rows `[B * num_return_sequences, L, D]`,
    expanded like them: one negative per prompt, or a single one for all."""
    if not use_cfg:
        if negative is not None:
            raise ValueError(
                "a negative prompt steers classifier-free guidance, which this call does not run: pass text "
                "prompts and guidance (AudioGen: guidance_scale != 1; MAGNeT: max_cfg_coef/min_cfg_coef != 1)."
            )
        return GuidanceConditions(positive)
    if negative is None:
        return GuidanceConditions(positive, model.null_condition(*positive.shape[:2]))
    ids, mask = negative
    check_token_ids(model, ids, mask, prefix="negative_")
    batch_size = positive.shape[0] // num_return_sequences
    if ids.dim() != 2 or ids.shape[0] not in (1, batch_size):
        raise ValueError(
            f"negative_input_ids must be [1 or {batch_size} (one per prompt), tokens], got {tuple(ids.shape)}."
        )
    device = model.enc_to_dec_proj.weight.device
    mask = torch.ones_like(ids) if mask is None else mask
    ids, mask = ids.to(device), mask.to(device)
    if not mask.any():  # every negative text is empty: the null condition itself
        return GuidanceConditions(positive, model.null_condition(*positive.shape[:2]))
    states = model.encode_text(ids, mask)
    states = states.expand(batch_size, -1, -1) if states.shape[0] == 1 else states
    states = states.repeat_interleave(num_return_sequences, dim=0)
    return GuidanceConditions(positive, states, negative_is_null=False)
