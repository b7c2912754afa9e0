"""The two training objectives as pure tensor functions, plus the per-batch CFG dropout.

AudioGen: the model's own `forward(labels=codes)` is audiocraft's delayed-pattern cross-entropy.
MAGNeT: this module builds the masked decoder inputs exactly as audiocraft's `MagnetSolver.run_step`
(one stage per batch, cosine rate per sample, span masking through the look-up table).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


def mask_rate_to_num_spans_lut(num_frames: int, span_len: int) -> list[int]:
    """audiocraft's `_calc_mean_maskrate_to_u_LUT`: for each masking percentage 0..100, the number of span
    starts `u` whose expected mask rate `1 - C(T - L, u) / C(T, u)` first reaches that percentage.

    The ratio of binomials is accumulated as a running product so it never overflows.
    """
    if num_frames < 1 or span_len < 1:
        raise ValueError(f"num_frames and span_len must be >= 1, got {num_frames} and {span_len}.")
    expected_rate = [0.0]
    ratio = (num_frames - span_len) / float(num_frames)
    for u in range(1, num_frames):
        expected_rate.append(1 - ratio)
        ratio *= (num_frames - span_len - u) / (num_frames - u)
    rates = torch.tensor(expected_rate, dtype=torch.float64)
    percents = torch.arange(101, dtype=torch.float64) / 100.0
    # `searchsorted(..., side="left")` is numpy's default, which audiocraft uses.
    return torch.searchsorted(rates, percents).tolist()


def cosine_mask_rates(batch_size: int, generator: torch.Generator, device=None) -> torch.Tensor:
    """Per-sample masking rate `cos(u * pi / 2)`, `u ~ U(0, 1)` (MaskGIT's cosine schedule)."""
    u = torch.rand(batch_size, generator=generator, dtype=torch.float32)
    return torch.cos(u * math.pi * 0.5).to(device)


def span_mask(
    rates: torch.Tensor, num_frames: int, span_len: int, lut: list[int], generator: torch.Generator
) -> torch.Tensor:
    """Boolean `[B, T]` mask with about `rates[b]` of the frames masked.

    `span_len > 1`: `lut[round(100 * rate)]` (at least 1) random span starts, each extended `span_len - 1`
    frames to the right (truncated at the end). `span_len <= 1`: `round(T * rate)` (at least 1) random frames.
    """
    batch = rates.shape[0]
    order = torch.rand(batch, num_frames, generator=generator).argsort(dim=-1).to(rates.device)
    if span_len <= 1:
        count = (num_frames * rates).round().clamp(min=1)
        return order < count[:, None]
    table = torch.tensor(lut, device=rates.device)
    starts = table[torch.round(100 * rates).long()].clamp(min=1)
    mask = order < starts[:, None]
    shifted = mask
    for _ in range(span_len - 1):
        shifted = torch.nn.functional.pad(shifted[:, :-1], (1, 0), value=False)
        mask = mask | shifted
    return mask


def magnet_masked_inputs(
    codes: torch.Tensor, stage: int | torch.Tensor, stage_mask: torch.Tensor, mask_id: int
) -> torch.Tensor:
    """Decoder inputs for training stage `stage` (an int, or one per clip `[B]`): codebooks below it kept,
    the stage masked where `stage_mask` (`[B, T]`) is True, and codebooks above it fully masked (they are
    unknown when this stage is decoded)."""
    batch, num_codebooks, num_frames = codes.shape
    stages = torch.as_tensor(stage, device=codes.device).reshape(-1).expand(batch)
    if ((stages < 0) | (stages >= num_codebooks)).any():
        raise ValueError(f"stage must be in [0, {num_codebooks - 1}], got {stage}.")
    codebook = torch.arange(num_codebooks, device=codes.device)[None, :, None]
    stages = stages[:, None, None]
    mask = (codebook > stages) | ((codebook == stages) & stage_mask[:, None, :].bool())
    return torch.where(mask, torch.full_like(codes, mask_id), codes)


def cfg_dropout(attention_mask: torch.Tensor, probability: float, generator: torch.Generator) -> torch.Tensor:
    """audiocraft's `ClassifierFreeGuidanceDropout`: decided once per batch, it drops the conditioning of
    every sample. A zeroed attention mask is the null condition (zero vectors), so the model learns the
    unconditional distribution that CFG needs at inference."""
    if probability <= 0:
        return attention_mask
    drop = torch.rand(1, generator=generator).item() < probability
    return torch.zeros_like(attention_mask) if drop else attention_mask


@dataclass
class MagnetMasking:
    """MAGNeT masking settings: `span_len` 3 frames (60 ms) and the LUT for `num_frames` frames.

    `stage_weights` (one per codebook; None: uniform, as audiocraft) skews which codebook a batch trains. Why:
    one stage per batch gives each codebook a quarter of the updates, where AudioGen trains all four on every
    batch; the first codebook carries the envelope and pitch track. `stage_per_sample` draws the stage per
    clip instead of per batch (audiocraft: per batch), so every update trains every codebook: the same
    objective in expectation, with less variance between updates."""

    num_frames: int
    span_len: int = 3
    stage_weights: tuple[float, ...] | None = None
    stage_per_sample: bool = False

    def __post_init__(self) -> None:
        self.lut = mask_rate_to_num_spans_lut(self.num_frames, self.span_len)
        if self.stage_weights is not None:
            weights = [float(w) for w in self.stage_weights]
            if not weights or any(w < 0 for w in weights) or sum(weights) <= 0:
                raise ValueError(
                    f"stage_weights must be non-negative with a positive sum (one per codebook), got {weights}."
                )
            self.stage_weights = tuple(weights)

    def __call__(
        self, codes: torch.Tensor, mask_id: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, int | torch.Tensor]:
        """Pick one stage for the whole batch (or one per clip) and return `(decoder_input_ids, stage)`."""
        batch, num_codebooks, num_frames = codes.shape
        if num_frames != self.num_frames:
            raise ValueError(
                f"the masking LUT was built for {self.num_frames} frames but the batch has {num_frames}; "
                "all training clips must be cropped or padded to the same segment length."
            )
        draws = batch if self.stage_per_sample else 1
        if self.stage_weights is None:
            stages = torch.randint(0, num_codebooks, (draws,), generator=generator)
        elif len(self.stage_weights) != num_codebooks:
            raise ValueError(
                f"stage_weights has {len(self.stage_weights)} values but the codes have {num_codebooks} codebooks; "
                "give one weight per codebook."
            )
        else:
            weights = torch.tensor(self.stage_weights)
            stages = torch.multinomial(weights, draws, replacement=draws > 1, generator=generator)
        stage = stages.to(codes.device) if self.stage_per_sample else int(stages.item())
        rates = cosine_mask_rates(batch, generator)
        mask = span_mask(rates, num_frames, self.span_len, self.lut, generator).to(codes.device)
        return magnet_masked_inputs(codes, stage, mask, mask_id), stage


def compute_loss(
    model,
    batch: dict,
    generator: torch.Generator,
    masking: MagnetMasking | None = None,
    pattern_tail: bool = False,
) -> torch.Tensor:
    """One training loss for either family. `batch` holds `input_ids`, `attention_mask` and `labels`
    (codes `[B, K, T]`); `masking` is set for MAGNeT and None for AudioGen, whose `pattern_tail` also trains
    the delay pattern's last steps (`include_pattern_tail` of its forward)."""
    if masking is None:
        return model(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            labels=batch["labels"],
            include_pattern_tail=pattern_tail,
        ).loss
    if pattern_tail:
        raise ValueError(
            "pattern_tail is an AudioGen option (MAGNeT has no delay pattern); drop it for MAGNeT."
        )
    mask_id = _unwrap(model).config.decoder.vocab_size
    decoder_input_ids, stage = masking(batch["labels"], mask_id, generator)
    return model(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        labels=batch["labels"],
        decoder_input_ids=decoder_input_ids,
        stage=stage,
    ).loss


def _unwrap(model):
    """The wrapped module under DDP/FSDP wrappers (which expose `.module`)."""
    while hasattr(model, "module"):
        model = model.module
    return model
