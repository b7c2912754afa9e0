"""MAGNeT infill (audio inpainting): which frames of a context are kept and which are decoded (pure functions).

A masked model fills its masked frames with context on both sides, so regenerating a region in the middle of a
recording is the prefix prompt generalised: every frame outside the ranges is frozen to the context's own codes
(restored after every iteration, never re-masked), and MAGNeT's schedule decodes only the rest. With nonoverlap
spans a span is frozen only when all of its frames are kept; a span that straddles a border is decoded, with
its kept frames restored (as audiocraft does for a prompt that ends inside a span).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import torch

from .masking import DONT_REMASK_SCORE


def _as_range_list(infill) -> list:
    """`(start, end)` or a list of them -> a list of pairs (shape only; values are checked by the caller)."""
    if isinstance(infill, (tuple, list)) and len(infill) == 2 and all(_is_number(v) for v in infill):
        return [infill]
    if (
        isinstance(infill, (tuple, list))
        and infill
        and all(isinstance(r, (tuple, list)) and len(r) == 2 for r in infill)
    ):
        return list(infill)
    raise ValueError(
        f"infill must be a (start_seconds, end_seconds) pair or a list of them, got {infill!r}; e.g. "
        "infill=(0.5, 0.8) or infill=[(0.2, 0.3), (1.1, 1.4)]."
    )


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def infill_frame_ranges(infill, frame_rate: int, context_frames: int) -> list[tuple[int, int]]:
    """Seconds ranges -> sorted, merged frame ranges `[start, end)` inside a context of `context_frames`.

    A range covers every frame it touches (start floored, end ceiled), so a short range still decodes a frame.
    Refuses empty or inverted ranges, ranges outside the context and ranges that leave no frame as context.
    """
    duration = context_frames / frame_rate
    frames = []
    for pair in _as_range_list(infill):
        start, end = pair
        if not (_is_number(start) and _is_number(end) and math.isfinite(start) and math.isfinite(end)):
            raise ValueError(f"infill range {tuple(pair)!r} must hold two finite numbers of seconds.")
        if end <= start:
            raise ValueError(
                f"infill range ({start}, {end}) is empty or inverted: give (start, end) seconds with start < end."
            )
        if start < 0 or end > duration + 0.5 / frame_rate:
            raise ValueError(
                f"infill range ({start}, {end}) lies outside the {duration:.2f} s context; give ranges inside "
                f"[0, {duration:.2f}] seconds."
            )
        frames.append((math.floor(start * frame_rate), min(context_frames, math.ceil(end * frame_rate))))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(frames):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    if sum(end - start for start, end in merged) >= context_frames:
        raise ValueError(
            f"the infill ranges cover the whole {duration:.2f} s context, leaving nothing to fill from; leave "
            "some context outside the ranges, or generate without infill."
        )
    return merged


def padded_length(length: int, span_len: int, span_arrangement: str) -> int:
    """nonoverlap decodes whole spans: the context is padded at the end (padding is decoded, then dropped)."""
    if span_len > 1 and span_arrangement == "nonoverlap":
        return span_len * math.ceil(length / span_len)
    return length


def keep_mask(ranges: list[tuple[int, int]], context_frames: int, length: int, device=None) -> torch.Tensor:
    """Boolean `[length]`: True on context frames outside every range (padding past the context is False)."""
    keep = torch.zeros(length, dtype=torch.bool, device=device)
    keep[:context_frames] = True
    for start, end in ranges:
        keep[start:end] = False
    return keep


@dataclass
class KeptFrames:
    """The frozen part of an infill decode: `codes` `[B, K, T]` (the context, padded) and `keep` `[T]`."""

    codes: torch.Tensor
    keep: torch.Tensor

    def initial_codes(self, mask_id: int) -> torch.Tensor:
        """Kept frames hold the context's codes in every codebook; the rest start masked."""
        return torch.where(self.keep, self.codes, torch.full_like(self.codes, mask_id))

    def restore(self, stage_codes: torch.Tensor, stage: int) -> torch.Tensor:
        """Codebook `stage` `[B, 1, T]` with the kept frames set back to the context's codes."""
        return torch.where(self.keep, self.codes[:, stage : stage + 1], stage_codes)

    def initial_scores(self, batch_size: int, span_len: int, chunked: bool) -> tuple[torch.Tensor, int]:
        """Scores before the first iteration (0: decode, DONT_REMASK_SCORE: frozen) and the number of units
        (spans when `chunked`, else frames) left to decode."""
        frozen = self.keep.reshape(-1, span_len).all(dim=-1) if chunked else self.keep
        scores = torch.zeros((batch_size, 1, frozen.shape[0]), dtype=torch.float32, device=self.keep.device)
        scores[..., frozen] = DONT_REMASK_SCORE
        return scores, int((~frozen).sum())


def build_kept_frames(
    context_codes: torch.Tensor, ranges: list[tuple[int, int]], length: int, mask_id: int
) -> KeptFrames:
    """The context `[B, K, T]` padded with the mask id to `length` frames, and its keep mask."""
    context_frames = context_codes.shape[-1]
    padding = torch.full(
        (*context_codes.shape[:2], length - context_frames),
        mask_id,
        dtype=context_codes.dtype,
        device=context_codes.device,
    )
    codes = torch.cat([context_codes, padding], dim=-1)
    return KeptFrames(codes, keep_mask(ranges, context_frames, length, context_codes.device))


def plan_infill(
    model, infill, context_codes: torch.Tensor | None, config, extend_stride, span_arrangement: str
):
    """The `KeptFrames` of `generate(..., infill=...)`, after refusing what infill cannot do."""
    if context_codes is None:
        raise ValueError(
            "infill regenerates ranges of a recording, so it needs the recording: pass it as input_values= "
            "(processor(audio=..., sampling_rate=...)) or prompt_codes=."
        )
    if config.max_new_tokens is not None or extend_stride is not None:
        raise ValueError(
            "infill keeps the context's length (only the ranges are decoded): drop max_new_tokens and "
            "extend_stride."
        )
    frame_rate, window = model.config.frame_rate, model.config.max_frames
    context_frames = context_codes.shape[-1]
    if context_frames > window:
        raise ValueError(
            f"the infill context ({context_frames / frame_rate:.2f} s) is longer than MAGNeT's window "
            f"({window / frame_rate:.2f} s); cut the recording to at most {window / frame_rate:.2f} s around the "
            "ranges."
        )
    ranges = infill_frame_ranges(infill, frame_rate, context_frames)
    decoder_config = model.config.decoder
    length = padded_length(context_frames, decoder_config.span_len, span_arrangement)
    return build_kept_frames(context_codes, ranges, length, decoder_config.special_token_id)
