"""MAGNeT's masking arithmetic as pure functions (audiocraft's `lm_magnet.py`, reproduced to the bit).

Every float here follows audiocraft's dtype and operation order on purpose: the masking rate is a float32
tensor (so it is -4.37e-8, not 0, at the last step), the masked count truncates `mask_p * n` in float32, and
ties in `topk` / `argsort` are broken by the same calls, so seeded runs pick the same positions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

# Score given to positions that must not be re-masked (prompt, and tokens fixed in an earlier iteration).
DONT_REMASK_SCORE = -1e4
# audiocraft clamps the annealed temperature from below before the softmax.
MIN_TEMPERATURE = 1e-2
SPAN_ARRANGEMENTS = ("nonoverlap", "stride1")
SPAN_SCORINGS = ("max", "prod")


def band_attention_mask(
    stage: int,
    length: int,
    subcodes_context: int,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
    circular: bool = False,
) -> torch.Tensor | None:
    """Additive self-attention mask `[1, 1, length, length]` for decoding codebook `stage`.

    Stage 0 attends everywhere (None). Later stages see only frames with |i - j| <= `subcodes_context`
    (0 inside the band, -inf outside); `subcodes_context=-1` lifts the restriction. `circular` (loops, `loop.py`)
    measures the distance around the circle, `min(|i - j|, length - |i - j|)`, so the band wraps.
    """
    if stage == 0 or subcodes_context < 0:
        return None
    positions = torch.arange(length, device=device)
    distance = (positions[:, None] - positions[None, :]).abs()
    if circular:
        distance = torch.minimum(distance, length - distance)
    inside = distance <= subcodes_context
    zero = torch.zeros([], dtype=dtype, device=device)
    blocked = torch.full([], float("-inf"), dtype=dtype, device=device)
    return torch.where(inside, zero, blocked)[None, None]


@dataclass(frozen=True)
class DecodingStep:
    """One iteration of a stage: the float32 masking rate and the iterations left after this one."""

    mask_p: torch.Tensor  # 0-dim float32
    steps_left: int


def cosine_schedule(num_steps: int, device: torch.device | str | None = None) -> list[DecodingStep]:
    """`mask_p = cos(pi/2 * t)` for `t` in `linspace(0, 1, num_steps)`, computed one 0-dim tensor at a time as
    audiocraft does (a vectorised cos could differ in the last bit)."""
    if num_steps < 1:
        raise ValueError(f"a stage needs at least 1 decoding step, got {num_steps}.")
    timesteps = torch.linspace(0, 1, num_steps, device=device)
    return [
        DecodingStep(mask_p=torch.cos(t * math.pi * 0.5), steps_left=num_steps - 1 - i)
        for i, t in enumerate(timesteps)
    ]


def num_to_mask(mask_p: torch.Tensor, num_units: int) -> int:
    """How many chunks (nonoverlap) or tokens (stride1) to mask: `max(int(mask_p * n), 1)` in float32."""
    return max(int((mask_p * num_units).item()), 1)


def annealed_temperature(temperature: float, steps_left: int, num_steps: int, anneal: bool = True) -> float:
    """Softmax temperature of an iteration: linear decay from `temperature` towards 0, floored at 0.01."""
    current = temperature * (steps_left / num_steps) if anneal else temperature
    return max(current, MIN_TEMPERATURE)


def cfg_coefficient(mask_p: torch.Tensor | float, max_coef: float, min_coef: float) -> float:
    """CFG scale of an iteration: `max_coef` while everything is masked, `min_coef` once nothing is."""
    rate = float(mask_p)
    return rate * max_coef + (1 - rate) * min_coef


def trimmed_length(length: int, span_len: int, span_arrangement: str) -> int:
    """nonoverlap chunks the sequence into whole spans and drops the remainder (500 -> 498 frames)."""
    if span_len > 1 and span_arrangement == "nonoverlap":
        return span_len * (length // span_len)
    return length


def initial_scores(
    batch_size: int, length: int, prompt_frames: int, span_len: int, chunked: bool, device=None
) -> torch.Tensor:
    """Scores before the first iteration: 0 to generate, DONT_REMASK_SCORE on the prompt.

    Chunked (nonoverlap) scores are per span; only spans entirely inside the prompt are frozen.
    """
    if chunked:
        scores = torch.zeros((batch_size, 1, length // span_len), dtype=torch.float32, device=device)
        scores[..., : prompt_frames // span_len] = DONT_REMASK_SCORE
    else:
        scores = torch.zeros((batch_size, 1, length), dtype=torch.float32, device=device)
        scores[..., :prompt_frames] = DONT_REMASK_SCORE
    return scores


def chunk_mask(scores: torch.Tensor, num_masked: int) -> torch.Tensor:
    """Boolean `[B, 1, chunks]`: the `num_masked` chunks with the highest scores (least confident)."""
    chosen = scores.topk(num_masked, dim=-1).indices
    return torch.zeros_like(scores, dtype=torch.bool).scatter(2, chosen, True)


def expand_chunks(chunks: torch.Tensor, span_len: int) -> torch.Tensor:
    """Chunk mask `[B, 1, C]` to token mask `[B, 1, C * span_len]`."""
    return torch.repeat_interleave(chunks, span_len, dim=-1)


def token_mask(scores: torch.Tensor, num_masked: int) -> torch.Tensor:
    """Boolean `[B, 1, T]` of the `num_masked` highest-scoring tokens (span_len 1)."""
    return chunk_mask(scores, num_masked)


def spans_mask(starts: torch.Tensor, length: int, span_len: int) -> torch.Tensor:
    """Boolean `[1, 1, length]`: the union of the spans `[s, s + span_len)` for each start `s`."""
    mask = torch.zeros((1, 1, length), dtype=torch.bool, device=starts.device)
    mask[..., starts] = True
    covered = mask.clone()
    for shift in range(1, span_len):
        covered[..., shift:] |= mask[..., :-shift]
    return covered


def least_probable_spans_mask(scores: torch.Tensor, num_masked: int, span_len: int) -> torch.Tensor:
    """stride1 masking for one sequence: the union of the `u` least probable overlapping spans whose size is
    closest to `max(num_masked, span_len)` tokens, `u` found by audiocraft's binary search.

    `scores` is `[1, 1, T]` of per-token `-log p` (frozen tokens at DONT_REMASK_SCORE); returns `[1, 1, T]`.
    """
    length = scores.shape[-1]
    span_scores = scores.unfold(2, span_len, 1).sum(dim=-1)
    ranked = torch.argsort(span_scores[0, 0], descending=True)
    target = max(num_masked, span_len)
    low, high = target // span_len, target - span_len + 1
    count = round(0.5 * (low + high))
    mask = spans_mask(ranked[:count], length, span_len)
    while low < count < high:
        mask = spans_mask(ranked[:count], length, span_len)
        if mask.sum() > target:
            high = count
        else:
            low = count
        count = round(0.5 * (low + high))
    return mask


def stride1_mask(scores: torch.Tensor, num_masked: int, span_len: int) -> torch.Tensor:
    """`least_probable_spans_mask` for each batch item of `scores` `[B, 1, T]` (audiocraft loops, so do we)."""
    return torch.cat(
        [least_probable_spans_mask(scores[i : i + 1], num_masked, span_len) for i in range(scores.shape[0])],
        dim=0,
    )


def chunk_scores(sampled_probs: torch.Tensor, span_len: int, span_scoring: str) -> torch.Tensor:
    """Per-chunk re-masking scores from the sampled tokens' probabilities `[B, 1, T]` (higher = re-mask first).

    'max': 1 - the most confident token of the chunk; 'prod': the chunk's negative log-likelihood.
    """
    batch_size = sampled_probs.shape[0]
    if span_scoring == "max":
        return 1 - torch.max(sampled_probs.reshape((batch_size, 1, -1, span_len)), dim=-1)[0]
    if span_scoring == "prod":
        return torch.sum(-torch.log(sampled_probs).reshape((batch_size, 1, -1, span_len)), dim=-1)
    raise ValueError(f"span_scoring must be one of {SPAN_SCORINGS}, got {span_scoring!r}.")


def token_scores(sampled_probs: torch.Tensor) -> torch.Tensor:
    """Per-token re-masking scores (stride1 and span_len 1): `-log p`."""
    return -torch.log(sampled_probs)


def freeze_unmasked(scores: torch.Tensor, masked: torch.Tensor) -> torch.Tensor:
    """Tokens (or chunks) not masked in this iteration keep their value: give them DONT_REMASK_SCORE."""
    return scores.masked_fill(~masked, DONT_REMASK_SCORE)
