"""Checks on an audio prompt given to `generate()` directly (`input_values`, `padding_mask`).

Why: the processor scales integer PCM and builds a matching mask, but a caller who bypasses it can pass an
int16 waveform (encoded at 32768x full scale without a word), an empty batch (a ZeroDivisionError deep in the
batching) or a mask of another length (a broadcasting error inside EnCodec). These are refused at the door.
"""

from __future__ import annotations

import torch


def check_audio_inputs(input_values, padding_mask) -> None:
    """Refuse an audio prompt that is not a float `[batch, channels, samples]` tensor with at least one clip,
    and a `padding_mask` that is not 0/1 values shaped like it (`[batch, samples]` or its full shape)."""
    if input_values is None:
        if padding_mask is not None:
            raise ValueError("padding_mask was given without input_values; pass both or neither.")
        return
    if not isinstance(input_values, torch.Tensor):
        raise TypeError(
            f"input_values must be a torch.Tensor [batch, channels, samples], got {type(input_values).__name__}; "
            "pass the processor's outputs (processor(audio=..., sampling_rate=...))."
        )
    if not input_values.is_floating_point():
        raise TypeError(
            f"input_values must be a float waveform in [-1, 1], got dtype {input_values.dtype}; pass integer PCM "
            "through the processor (processor(audio=..., sampling_rate=...)), which scales it."
        )
    if input_values.dim() >= 1 and input_values.shape[0] == 0:
        raise ValueError(
            "input_values holds no audio prompt (batch of 0); pass at least one clip or none at all."
        )
    if padding_mask is None or input_values.dim() != 3:
        return
    if not isinstance(padding_mask, torch.Tensor):
        raise TypeError(
            f"padding_mask must be a torch.Tensor, got {type(padding_mask).__name__}; pass the processor's."
        )
    batch, _, samples = input_values.shape
    if tuple(padding_mask.shape) not in ((batch, samples), tuple(input_values.shape)):
        raise ValueError(
            f"padding_mask {tuple(padding_mask.shape)} does not fit input_values {tuple(input_values.shape)}: it "
            f"must be [batch, samples] = ({batch}, {samples}); pass both from the same processor call."
        )
    if padding_mask.is_complex() or not ((padding_mask == 0) | (padding_mask == 1)).all():
        raise ValueError(
            "padding_mask must hold only 0 (padding) and 1 (audio); pass the processor's padding_mask."
        )
