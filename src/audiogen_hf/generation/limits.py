"""Size limits on one `generate()` call, checked before anything is encoded or allocated.

Why: a typo such as `max_new_tokens=10**6` (or `max_length=`, given as a numpy integer or not) or
`num_return_sequences=5000` would otherwise allocate the codes (and start hours of decoding) before failing or
finishing, and a pasted document as a prompt makes T5's attention quadratic in its length. The limits are
generous defaults; raise them per call with `max_generation_seconds=` / `max_batch_size=` / `max_text_tokens=`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from transformers import GenerationConfig

from .knob_values import as_python_scalar, normalize_config_scalars

DEFAULT_MAX_GENERATION_SECONDS = 600.0
DEFAULT_MAX_BATCH_SIZE = 1024
# T5 has relative positions, so any length runs, but attention memory grows with its square: 8192 tokens (about
# 6000 words) is far past any sound description and still fits in memory.
DEFAULT_MAX_TEXT_TOKENS = 8192


@dataclass(frozen=True)
class GenerationLimits:
    max_generation_seconds: float = DEFAULT_MAX_GENERATION_SECONDS
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE
    max_text_tokens: int = DEFAULT_MAX_TEXT_TOKENS


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def pop_generation_limits(kwargs: dict) -> GenerationLimits:
    """Take `max_generation_seconds`, `max_batch_size` and `max_text_tokens` out of `generate()`'s kwargs,
    validated (numpy and 0-d tensor values as the Python numbers they hold)."""
    seconds = as_python_scalar(kwargs.pop("max_generation_seconds", None))
    batch = as_python_scalar(kwargs.pop("max_batch_size", None))
    tokens = as_python_scalar(kwargs.pop("max_text_tokens", None))
    if seconds is None:
        seconds = DEFAULT_MAX_GENERATION_SECONDS
    elif isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
        raise ValueError(f"max_generation_seconds={seconds!r} is invalid: pass a positive number of seconds.")
    if batch is None:
        batch = DEFAULT_MAX_BATCH_SIZE
    elif not _is_int(batch) or batch < 1:
        raise ValueError(f"max_batch_size={batch!r} is invalid: pass an integer >= 1 (rows per call).")
    if tokens is None:
        tokens = DEFAULT_MAX_TEXT_TOKENS
    elif not _is_int(tokens) or tokens < 1:
        raise ValueError(f"max_text_tokens={tokens!r} is invalid: pass an integer >= 1 (tokens per prompt).")
    return GenerationLimits(float(seconds), batch, tokens)


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
    """Refuse a call whose output (prompt + new frames, or `max_length` frames) is longer than
    `max_generation_seconds`, whose rows (prompts x `num_return_sequences`) exceed `max_batch_size` or whose
    prompts are longer than `max_text_tokens`, naming the values and the override. The config's numpy / 0-d
    tensor values are made Python numbers first, so the bounds hold for every integer type."""
    normalize_config_scalars(config)
    frame_rate = model.config.frame_rate
    prompt = _prompt_seconds(input_values, model.config.audio_encoder.sampling_rate)
    lengths = {"max_new_tokens": (config.max_new_tokens, prompt), "max_length": (config.max_length, 0.0)}
    for name, (frames, before) in lengths.items():
        if not _is_int(frames):
            continue
        seconds = before + frames / frame_rate
        if not math.isfinite(seconds) or seconds > limits.max_generation_seconds:
            raise ValueError(
                f"{name}={frames}{f' (+ a {before:g} s prompt)' if before else ''} asks for {seconds:g} s of "
                f"audio at {frame_rate:g} frames/s, more than max_generation_seconds={limits.max_generation_seconds:g}: ask for fewer "
                "frames or raise max_generation_seconds."
            )
    if (
        isinstance(input_ids, torch.Tensor)
        and input_ids.dim() == 2
        and input_ids.shape[1] > limits.max_text_tokens
    ):
        raise ValueError(
            f"the text prompt has {input_ids.shape[1]} tokens, more than max_text_tokens={limits.max_text_tokens}: "
            "shorten the description or raise max_text_tokens."
        )
    rows = 1
    for tensor in (input_ids, input_values):
        if isinstance(tensor, torch.Tensor) and tensor.dim() > 0:
            rows = max(rows, tensor.shape[0])
    per_prompt = config.num_return_sequences
    if _is_int(per_prompt) and per_prompt > 0:
        if rows * per_prompt > limits.max_batch_size:
            raise ValueError(
                f"{rows} prompts x num_return_sequences={per_prompt} is {rows * per_prompt} rows, more than "
                f"max_batch_size={limits.max_batch_size}: generate in smaller batches or raise max_batch_size."
            )
