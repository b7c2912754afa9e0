"""Output containers for the forward pass and for `generate()`."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers.utils import ModelOutput


@dataclass
class AudioGenerationOutput(ModelOutput):
    """What `generate(..., return_dict_in_generate=True)` returns.

    The `audio` field is what lets the text-to-audio pipeline use the waveform directly.
    """

    audio: torch.FloatTensor | None = None  # [batch, channels, samples]
    sequences: torch.LongTensor | None = None  # codec codes [batch, codebooks, frames], prompt included


@dataclass
class CodebookLMOutput(ModelOutput):
    """Forward output: frame-aligned logits `[batch, codebooks, frames, card]` and the training loss."""

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    logits_mask: torch.BoolTensor | None = (
        None  # [batch, codebooks, frames]: positions that carry a prediction
    )
    encoder_hidden_states: torch.FloatTensor | None = None
