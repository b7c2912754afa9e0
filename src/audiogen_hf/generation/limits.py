"""Size limits on one `generate()` call, checked before anything is encoded or allocated.

Why: a typo such as `max_new_tokens=10**6` or `num_return_sequences=5000` would otherwise allocate the codes
(and, for AudioGen, start hours of sliding-window decoding) before failing or finishing. The limits are
generous defaults; raise them per call with `max_generation_seconds=` / `max_batch_size=`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from transformers import GenerationConfig

DEFAULT_MAX_GENERATION_SECONDS = 600.0
DEFAULT_MAX_BATCH_SIZE = 1024


@dataclass(frozen=True)
class GenerationLimits:
    max_generation_seconds: float = DEFAULT_MAX_GENERATION_SECONDS
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE


def pop_generation_limits(kwargs: dict) -> GenerationLimits:
    """Take `max_generation_seconds` and `max_batch_size` out of `generate()`'s kwargs, validated."""
    seconds = kwargs.pop("max_generation_seconds", None)
    batch = kwargs.pop("max_batch_size", None)
    if seconds is None:
        seconds = DEFAULT_MAX_GENERATION_SECONDS
    elif isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
        raise ValueError(f"max_generation_seconds={seconds!r} is invalid: pass a positive number of seconds.")
    if batch is None:
        batch = DEFAULT_MAX_BATCH_SIZE
    elif isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"max_batch_size={batch!r} is invalid: pass an integer >= 1 (rows per call).")
    return GenerationLimits(float(seconds), batch)


def _prompt_seconds(input_values: torch.Tensor | None, sampling_rate: int) -> float:
    if not isinstance(input_values, torch.Tensor) or input_values.dim() == 0:
        return 0.0
    return input_values.shape[-1] / sampling_rate


def check_generation_size(
    model,
    config: GenerationConfig,
    input_ids: torch.Tensor | None,
    input_values: torch.Tensor | None,
    limits: GenerationLimits,
) -> None:
    """Refuse a call whose output (prompt + new frames) is longer than `max_generation_seconds` or whose
    rows (prompts x `num_return_sequences`) exceed `max_batch_size`, naming both values and the override."""
    new_frames = config.max_new_tokens
    if isinstance(new_frames, int) and not isinstance(new_frames, bool):
        frame_rate = model.config.frame_rate
        prompt = _prompt_seconds(input_values, model.config.audio_encoder.sampling_rate)
        seconds = prompt + new_frames / frame_rate
        if not math.isfinite(seconds) or seconds > limits.max_generation_seconds:
            raise ValueError(
                f"max_new_tokens={new_frames} (+ a {prompt:g} s prompt) asks for {seconds:g} s of audio at "
                f"{frame_rate:g} frames/s, more than max_generation_seconds={limits.max_generation_seconds:g}: "
                "ask for fewer frames or raise max_generation_seconds."
            )
    rows = 1
    for tensor in (input_ids, input_values):
        if isinstance(tensor, torch.Tensor) and tensor.dim() > 0:
            rows = max(rows, tensor.shape[0])
    per_prompt = config.num_return_sequences
    if isinstance(per_prompt, int) and not isinstance(per_prompt, bool) and per_prompt > 0:
        if rows * per_prompt > limits.max_batch_size:
            raise ValueError(
                f"{rows} prompts x num_return_sequences={per_prompt} is {rows * per_prompt} rows, more than "
                f"max_batch_size={limits.max_batch_size}: generate in smaller batches or raise max_batch_size."
            )
