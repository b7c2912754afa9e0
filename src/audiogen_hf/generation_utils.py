"""Input preparation and knob validation shared by AudioGen's and MAGNeT's `generate()`."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import GenerationConfig


@dataclass
class SamplingSettings:
    """The resolved sampling knobs in audiocraft's terms (`top_p = 0` means off), plus `min_p` (0: off)."""

    do_sample: bool
    temperature: float
    top_k: int
    top_p: float
    min_p: float = 0.0


@dataclass
class GenerationInputs:
    """Conditioning and prompt for a batch, already expanded by `num_return_sequences`."""

    conditions: torch.Tensor  # [B, L, D] projected T5 states, padded positions zeroed
    prompt_codes: torch.Tensor | None  # [B, K, P]
    is_conditional: bool

    @property
    def batch_size(self) -> int:
        return self.conditions.shape[0]

    @property
    def prompt_frames(self) -> int:
        return 0 if self.prompt_codes is None else self.prompt_codes.shape[-1]


def check_generate_kwargs(kwargs: dict) -> None:
    """Validate user-given knobs before transformers merges them, so errors name our semantics."""
    checks = {
        "max_new_tokens": (
            lambda v: v is None or (isinstance(v, int) and v > 0),
            "must be a positive number of frames",
        ),
        "temperature": (lambda v: v is None or v >= 0, "must be >= 0 (0 means greedy)"),
        "top_k": (
            lambda v: v is None or (isinstance(v, int) and v >= 0),
            "must be an integer >= 0 (0 disables top-k)",
        ),
        "top_p": (lambda v: v is None or 0 < v <= 1, "must be in (0, 1] (1.0 disables nucleus sampling)"),
        "min_p": (lambda v: v is None or 0 <= v <= 1, "must be in [0, 1] (0 disables min-p sampling)"),
        "guidance_scale": (lambda v: v is None or v >= 0, "must be >= 0 (1.0 disables guidance)"),
        "num_return_sequences": (
            lambda v: v is None or (isinstance(v, int) and v >= 1),
            "must be an integer >= 1",
        ),
    }
    for name, (ok, why) in checks.items():
        if name in kwargs and not ok(kwargs[name]):
            raise ValueError(f"{name}={kwargs[name]!r} is invalid: it {why}.")


# GenerationConfig fields this package's decoding does not implement, with the value that means "off".
# transformers would apply them through its logits processors and beam search; our generate() samples the
# codebooks itself (audiocraft's arithmetic), so a set value would otherwise be ignored without a word.
UNIMPLEMENTED_GENERATION_FIELDS: dict[str, object] = {
    "num_beams": 1,
    "num_beam_groups": 1,
    "penalty_alpha": None,
    "typical_p": 1.0,
    "epsilon_cutoff": 0.0,
    "eta_cutoff": 0.0,
    "top_h": None,
    "repetition_penalty": 1.0,
    "encoder_repetition_penalty": 1.0,
    "diversity_penalty": 0.0,
    "no_repeat_ngram_size": 0,
    "encoder_no_repeat_ngram_size": 0,
    "bad_words_ids": None,
    "sequence_bias": None,
    "suppress_tokens": None,
    "begin_suppress_tokens": None,
    "forced_bos_token_id": None,
    "forced_eos_token_id": None,
    "exponential_decay_length_penalty": None,
    "min_new_tokens": None,
    "watermarking_config": None,
}


def reject_unimplemented_fields(config: GenerationConfig) -> None:
    """Refuse GenerationConfig fields set away from "off" that our decoding would silently ignore."""
    set_fields = {
        name: getattr(config, name)
        for name, off in UNIMPLEMENTED_GENERATION_FIELDS.items()
        if getattr(config, name, off) not in (off, None)
    }
    if set_fields:
        raise ValueError(
            f"generate() does not implement {set_fields}: these models sample codec codes with "
            "do_sample, temperature, top_k, top_p and min_p (plus their guidance settings), with no beam "
            "search or logits processors. Unset them (in your arguments or the model's generation_config)."
        )


def resolve_sampling(config: GenerationConfig) -> SamplingSettings:
    check_generate_kwargs(
        {
            name: getattr(config, name, None)
            for name in ("temperature", "top_k", "top_p", "min_p", "max_new_tokens")
        }
    )
    reject_unimplemented_fields(config)
    top_p = config.top_p if config.top_p is not None else 1.0
    return SamplingSettings(
        do_sample=bool(config.do_sample),
        temperature=float(config.temperature if config.temperature is not None else 1.0),
        top_k=int(config.top_k or 0),
        top_p=0.0 if top_p >= 1.0 else float(top_p),
        min_p=float(getattr(config, "min_p", None) or 0.0),
    )


def reject_unused_kwargs(model_kwargs: dict, allowed: set[str] = frozenset()) -> None:
    unused = sorted(k for k, v in model_kwargs.items() if k not in allowed and v is not None)
    if unused:
        raise ValueError(
            f"generate() got arguments it does not use: {unused}. Pass the processor's outputs "
            "(input_ids, attention_mask, input_values, padding_mask) and GenerationConfig fields only."
        )


def prepare_generation_inputs(
    model,
    input_ids: torch.Tensor | None,
    attention_mask: torch.Tensor | None,
    input_values: torch.Tensor | None,
    padding_mask: torch.Tensor | None,
    num_return_sequences: int,
) -> GenerationInputs:
    """Run T5 once and the codec on the audio prompt; repeat each item `num_return_sequences` times."""
    batch_size = 1
    if input_ids is not None:
        batch_size = input_ids.shape[0]
        if batch_size == 0:
            raise ValueError("input_ids holds no prompt; pass at least one text.")
    if input_values is not None:
        if input_ids is not None and input_values.shape[0] != batch_size:
            raise ValueError(
                f"{batch_size} texts but {input_values.shape[0]} audio prompts; give one audio prompt per text."
            )
        batch_size = input_values.shape[0]
    device = model.enc_to_dec_proj.weight.device
    if input_ids is not None:
        input_ids = input_ids.to(device)
        attention_mask = attention_mask.to(device) if attention_mask is not None else None
    conditions = model.encode_text(input_ids, attention_mask, batch_size)
    prompt_codes = None
    if input_values is not None:
        padding_mask = padding_mask.to(device) if padding_mask is not None else None
        prompt_codes = model.encode_audio(input_values.to(device), padding_mask)
    if num_return_sequences > 1:
        conditions = conditions.repeat_interleave(num_return_sequences, dim=0)
        if prompt_codes is not None:
            prompt_codes = prompt_codes.repeat_interleave(num_return_sequences, dim=0)
    return GenerationInputs(conditions, prompt_codes, is_conditional=input_ids is not None)
