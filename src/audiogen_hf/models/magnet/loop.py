"""Seamless loops with MAGNeT: decoding over a circular context, and a circular codec decode (pure functions).

MAGNeT fills masked frames from context on both sides, so it can make a clip whose end flows into its start
without retraining (LoopGen, 2025): the first frame is treated as the neighbour of the last.

- The restricted attention of codebooks > 0 (frames within `subcodes_context` of each other) wraps around:
  the last frames see the first ones (`masking.band_attention_mask(..., circular=True)`).
- The decoder's positions are absolute, so the sequence is rolled between iterations (`seam_shift`): each
  iteration sees the seam somewhere else, and the frames on both sides of it are decoded side by side, with
  ordinary positions, in most iterations. Sampling and re-masking stay in the clip's own frame order, so the
  random draws are those of a plain decode.
- MAGNeT's codebooks are aligned (no delay pattern), so every codebook wraps at the same frame.
- The codec decodes the codes tiled three times and keeps the middle copy, so its convolutions and LSTM see
  the wrapped context; the clip's first frame of audio is then cross-faded from the third copy's start (the
  exact continuation of the clip's last sample), so playing the clip twice has no jump at the seam.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def seam_shift(step_index: int, num_steps: int, length: int) -> int:
    """How far to roll the sequence at iteration `step_index` of a stage: the seam visits evenly spaced
    places, starting at the middle of the window (where both of its sides have the most context)."""
    return (length // 2 + (step_index * length) // num_steps) % length


def rolled_logits(
    logits_fn: Callable[..., torch.Tensor], codes: torch.Tensor, shift: int, *args
) -> torch.Tensor:
    """Logits `[B, 1, T, V]` = `logits_fn(codes, *args)` computed on `codes` `[B, K, T]` rolled left by `shift`
    frames, returned in the clip's own frame order (shift 0: the plain call)."""
    if shift == 0:
        return logits_fn(codes, *args)
    return logits_fn(codes.roll(-shift, dims=-1), *args).roll(shift, dims=2)


def crossfade_seam(tiled: torch.Tensor, clip_samples: int, fade_samples: int) -> torch.Tensor:
    """The middle copy of `tiled` (three copies of a clip's decode, `[..., 3 * clip_samples]`), its first
    `fade_samples` faded in from the third copy's start, so its last sample runs on into its first."""
    middle = tiled[..., clip_samples : 2 * clip_samples].clone()
    after = tiled[..., 2 * clip_samples : 2 * clip_samples + fade_samples]
    fade = min(fade_samples, clip_samples)
    weight = torch.linspace(1.0, 0.0, fade + 1, dtype=middle.dtype, device=middle.device)[:fade]
    middle[..., :fade] = weight * after[..., :fade] + (1 - weight) * middle[..., :fade]
    return middle


def circular_decode(decode: Callable[[torch.Tensor], torch.Tensor], codes: torch.Tensor) -> torch.Tensor:
    """Waveform of `codes` `[B, K, T]` decoded as one period of an endless loop (`decode`: codes -> audio)."""
    tiled = decode(torch.cat([codes, codes, codes], dim=-1))
    clip_samples = tiled.shape[-1] // 3
    return crossfade_seam(tiled, clip_samples, clip_samples // codes.shape[-1])
