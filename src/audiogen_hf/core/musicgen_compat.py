"""What a transformers MusicGen user reaches for, where it makes sense here (docs/migrating-from-musicgen.md):
`get_unconditional_inputs()` and MusicGen's attribute names. What is not supported is refused by `generate()`
(`generation.inputs.UNIMPLEMENTED_GENERATION_FIELDS`: beams, output_scores, output_attentions, ...)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers.utils import ModelOutput


@dataclass
class UnconditionalInputs(ModelOutput):
    """`model.generate(**inputs)` arguments for unconditional samples (audiocraft's empty description: every
    text position masked). Unlike MusicGen's, it holds token ids, not encoder outputs, so it also works
    through the processor-free path of every generate() option."""

    input_ids: torch.LongTensor | None = None
    attention_mask: torch.LongTensor | None = None
    guidance_scale: float | None = None


class MusicgenCompatMixin:
    """MusicGen's names on our composite models."""

    # CFG between two identical (empty) conditions changes nothing, so MusicGen turns it off; AudioGen does too.
    unconditional_guidance_scale: float | None = 1.0

    def get_unconditional_inputs(self, num_samples: int = 1) -> UnconditionalInputs:
        """Inputs for `num_samples` unconditional generations, as MusicGen's method of the same name:
        `model.generate(**model.get_unconditional_inputs(2), max_new_tokens=50)`."""
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
            raise ValueError(f"num_samples must be a positive integer, got {num_samples!r}.")
        eos = self.config.text_encoder.eos_token_id
        eos = 1 if eos is None else eos
        device = self.enc_to_dec_proj.weight.device
        return UnconditionalInputs(
            input_ids=torch.full((num_samples, 1), eos, dtype=torch.long, device=device),
            attention_mask=torch.zeros(num_samples, 1, dtype=torch.long, device=device),
            guidance_scale=self.unconditional_guidance_scale,
        )
