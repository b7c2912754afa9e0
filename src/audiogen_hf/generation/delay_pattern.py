"""Codebook interleaving (audiocraft's `DelayedPatternProvider`) as pure tensor functions.

Layout for delays `d` (AudioGen: [0, 1, 2, 3]): step 0 is an all-special step, and step `s >= 1` holds
codebook `q` at time `s - 1 - d[q]`. A clip of `T` frames therefore takes `S = T + max(d) + 1` steps.
"""

from __future__ import annotations

import torch


def num_pattern_steps(num_frames: int, delays: list[int]) -> int:
    """Number of interleaved steps `S` that hold `num_frames` frames (the leading special step included)."""
    return num_frames + max(delays) + 1


def first_step_to_generate(prompt_frames: int, delays: list[int]) -> int:
    """The first step that contains a frame at or after `prompt_frames` (audiocraft's
    `get_first_step_with_timesteps`): everything before it is known from the prompt."""
    return prompt_frames + min(delays) + 1


def pattern_time_index(num_steps: int, delays: list[int], device: torch.device | None = None) -> torch.Tensor:
    """`[K, S]` tensor: the frame index held by codebook `q` at step `s` (negative for the leading pad)."""
    steps = torch.arange(num_steps, device=device)
    delay = torch.tensor(delays, device=device)[:, None]
    return steps[None, :] - 1 - delay


def build_delay_pattern(
    codes: torch.Tensor, delays: list[int], special_token: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Interleave `codes` `[B, K, T]` into `[B, K, T + max(d) + 1]`.

    Returns the sequence (empty slots hold `special_token`) and the `[K, S]` mask of slots that hold a frame.
    """
    batch, num_codebooks, num_frames = codes.shape
    if len(delays) != num_codebooks:
        raise ValueError(f"got {num_codebooks} codebooks but {len(delays)} delays")
    time = pattern_time_index(num_pattern_steps(num_frames, delays), delays, codes.device)
    valid = (time >= 0) & (time < num_frames)
    gathered = codes.gather(2, time.clamp(0, max(num_frames - 1, 0))[None].expand(batch, -1, -1))
    sequence = torch.where(valid[None], gathered, torch.full_like(gathered, special_token))
    return sequence, valid


def revert_delay_pattern(sequence: torch.Tensor, delays: list[int], num_frames: int) -> torch.Tensor:
    """Inverse of `build_delay_pattern`: `[B, K, S]` back to `[B, K, num_frames]`."""
    batch, num_codebooks, num_steps = sequence.shape
    needed = num_pattern_steps(num_frames, delays)
    if num_steps < needed:
        raise ValueError(
            f"a pattern sequence of {num_steps} steps cannot hold {num_frames} frames ({needed} needed)"
        )
    index = (
        torch.arange(num_frames, device=sequence.device)[None, :]
        + 1
        + torch.tensor(delays, device=sequence.device)[:, None]
    )
    return sequence.gather(2, index[None].expand(batch, -1, -1))


def align_logits_to_frames(
    step_logits: torch.Tensor, delays: list[int], num_frames: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Map decoder outputs on the first `S` pattern steps back to `num_frames` frames (default `S`).

    The output at step `s` predicts step `s + 1`, so frame `t` of codebook `q` is predicted at step `t + d[q]`.
    `step_logits` is `[B, K, S, V]`; returns frame-aligned logits `[B, K, num_frames, V]` (zeros where no
    prediction exists) and the `[K, num_frames]` mask of frames that have a prediction. With `S = T` (audiocraft's
    `keep_only_valid_steps`) the last `d[q]` frames of codebook `q` have none; with `S = T + max(d)` (the pattern's
    tail included) every frame has one.
    """
    batch, num_codebooks, num_steps, vocab = step_logits.shape
    num_frames = num_steps if num_frames is None else num_frames
    if not 0 < num_frames <= num_steps:
        raise ValueError(f"num_frames must be in [1, {num_steps}] (the steps given), got {num_frames}.")
    frames = torch.arange(num_frames, device=step_logits.device)
    index = frames[None, :] + torch.tensor(delays, device=step_logits.device)[:, None]
    valid = index < num_steps
    index = index.clamp(max=num_steps - 1)
    aligned = step_logits.gather(2, index[None, :, :, None].expand(batch, -1, -1, vocab))
    aligned = aligned * valid[None, :, :, None].to(aligned.dtype)
    return aligned, valid
