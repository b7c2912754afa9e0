"""Input preparation and knob validation shared by AudioGen's and MAGNeT's `generate()`."""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import torch
from transformers import GenerationConfig

from .audio_input_checks import check_audio_inputs
from .knob_values import normalize_scalars


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


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


# Sampling bounds that keep every probability finite: below MIN_TEMPERATURE, `logits / temperature` overflows
# float32 (1e-300 becomes 0 and the division inf), and guidance past MAX_GUIDANCE multiplies logit gaps into
# overflow. Both are far outside any useful setting (greedy is temperature 0; audiocraft guides at 3 to 10).
MIN_TEMPERATURE = 1e-4
MAX_GUIDANCE = 1000.0


def _is_temperature(v) -> bool:
    return _is_real(v) and (v == 0 or MIN_TEMPERATURE <= v)


def _is_guidance(v) -> bool:
    return _is_real(v) and abs(v) <= MAX_GUIDANCE


# name: (accepts a value (None always passes), what a valid value is)
KNOB_CHECKS: dict[str, tuple[Callable[[object], bool], str]] = {
    "max_new_tokens": (lambda v: _is_int(v) and v > 0, "must be a positive integer number of frames"),
    "max_length": (
        lambda v: _is_int(v) and v > 0,
        "must be a positive integer number of frames (the prompt included)",
    ),
    "do_sample": (lambda v: isinstance(v, bool), "must be True or False"),
    "temperature": (
        _is_temperature,
        f"must be a finite number >= 0: 0 (greedy) or at least {MIN_TEMPERATURE:g} (smaller overflows the "
        "probabilities)",
    ),
    "top_k": (lambda v: _is_int(v) and v >= 0, "must be an integer >= 0 (0 disables top-k)"),
    "top_p": (
        lambda v: _is_real(v) and 0 < v <= 1,
        "must be a number in (0, 1] (1.0 disables nucleus sampling)",
    ),
    "min_p": (
        lambda v: _is_real(v) and 0 <= v <= 1,
        "must be a number in [0, 1] (0 disables min-p sampling)",
    ),
    "guidance_scale": (
        lambda v: _is_guidance(v) and v >= 0,
        f"must be a finite number in [0, {MAX_GUIDANCE:g}] (1.0 disables guidance)",
    ),
    "num_return_sequences": (lambda v: _is_int(v) and v >= 1, "must be an integer >= 1"),
    "extend_stride": (lambda v: _is_real(v) and v > 0, "must be a positive number of seconds"),
}

# MAGNeT's guidance bounds, checked once resolved (`resolve_magnet_settings` names a non-number first).
CFG_COEF_CHECKS: dict[str, tuple[Callable[[object], bool], str]] = {
    "max_cfg_coef": (
        _is_guidance,
        f"must be a finite number in [-{MAX_GUIDANCE:g}, {MAX_GUIDANCE:g}] (MAGNeT's guidance at the first step)",
    ),
    "min_cfg_coef": (
        _is_guidance,
        f"must be a finite number in [-{MAX_GUIDANCE:g}, {MAX_GUIDANCE:g}] (MAGNeT's guidance at the last step)",
    ),
}


def check_generate_kwargs(kwargs: dict, checks: dict = KNOB_CHECKS) -> None:
    """Validate user-given knobs before transformers merges them, so errors name our semantics. numpy and 0-d
    tensor values are first replaced (in `kwargs`) by the Python numbers they hold (`knob_values.py`)."""
    normalize_scalars(kwargs)
    for name, (ok, why) in checks.items():
        value = kwargs.get(name)
        if value is not None and not ok(value):
            raise ValueError(f"{name}={value!r} is invalid: it {why}.")


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
    # MusicGen habits: per-step scores / logits / attentions / hidden states are not collected here.
    "output_scores": False,
    "output_logits": False,
    "output_attentions": False,
    "output_hidden_states": False,
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
            "search or logits processors, and return no per-step scores, logits, attentions or hidden states. "
            "Unset them (in your arguments or the model's generation_config)."
        )


def resolve_sampling(config: GenerationConfig) -> SamplingSettings:
    checks = KNOB_CHECKS | CFG_COEF_CHECKS
    check_generate_kwargs({name: getattr(config, name, None) for name in checks}, checks)
    reject_unimplemented_fields(config)
    top_p = config.top_p if config.top_p is not None else 1.0
    return SamplingSettings(
        do_sample=bool(config.do_sample),
        temperature=float(config.temperature if config.temperature is not None else 1.0),
        top_k=int(config.top_k or 0),
        top_p=0.0 if top_p >= 1.0 else float(top_p),
        min_p=float(getattr(config, "min_p", None) or 0.0),
    )


# Keyword arguments our generate() functions take besides GenerationConfig fields (for typo suggestions).
GENERATE_ARGUMENTS = (
    "input_ids attention_mask input_values padding_mask generation_config generator progress streamer callback "
    "compile compile_config two_step_cfg extend_stride negative_input_ids negative_attention_mask "
    "negative_prompt max_generation_seconds max_batch_size max_text_tokens decoding_steps span_arrangement span_scoring "
    "max_cfg_coef min_cfg_coef anneal_temp rescorer rescore_weight rescore_guidance_scale prompt_codes infill loop"
).split()


def reject_unused_kwargs(model_kwargs: dict, allowed: set[str] = frozenset()) -> None:
    """Refuse arguments generate() would ignore, suggesting the closest known name (a typo such as
    `temprature=` would otherwise be silently dropped)."""
    unused = sorted(k for k, v in model_kwargs.items() if k not in allowed and v is not None)
    if unused:
        known = list(GenerationConfig().to_dict()) + GENERATE_ARGUMENTS
        hints = []
        for name in unused:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
            if (
                name in GENERATE_ARGUMENTS
            ):  # the other family's option (MAGNeT's infill / loop for AudioGen...)
                hints.append(
                    f"{name!r} is an option of the other model family, not of this model's generate()."
                )
            elif close:
                hints.append(f"{name!r} -> did you mean {close[0]!r}?")
        hint = f" {' '.join(hints)}" if hints else ""
        raise ValueError(
            f"generate() got arguments it does not use: {unused}.{hint} Pass the processor's outputs "
            "(input_ids, attention_mask, input_values, padding_mask) and GenerationConfig fields only."
        )


def check_token_ids(model, input_ids, attention_mask, prefix: str = "") -> None:
    """Refuse token ids and masks T5 would fail on deep in torch (or silently misread): not tensors, not int32 /
    int64, not `[batch, tokens]`, no tokens, ids outside the vocabulary, a mask of another shape or with values
    other than 0 and 1 (`prefix`: "negative_" for a negative prompt's ids)."""
    for name, tensor in ((f"{prefix}input_ids", input_ids), (f"{prefix}attention_mask", attention_mask)):
        if tensor is not None and not isinstance(tensor, torch.Tensor):
            raise TypeError(
                f"{name} must be a torch.Tensor, got {type(tensor).__name__}; tokenize with the processor "
                "(processor(text=...)) and pass its outputs."
            )
    if input_ids is None:
        if attention_mask is not None:
            raise ValueError(
                f"{prefix}attention_mask was given without {prefix}input_ids; pass both or neither."
            )
        return
    if input_ids.dtype not in (torch.int64, torch.int32):
        raise TypeError(
            f"{prefix}input_ids must hold integer token ids, got dtype {input_ids.dtype} (torch.long or "
            f"torch.int32 needed); use the processor's {prefix}input_ids (or cast with .long())."
        )
    if input_ids.dim() != 2:
        raise ValueError(
            f"{prefix}input_ids must be [batch, tokens], got shape {tuple(input_ids.shape)}; use the processor's "
            f"{prefix}input_ids (or add a batch dimension with {prefix}input_ids[None])."
        )
    if input_ids.shape[0] == 0 or input_ids.shape[1] == 0:
        raise ValueError(
            f"{prefix}input_ids {tuple(input_ids.shape)} holds no prompt or no token; tokenize at least one text "
            "with the processor (an empty text '' is the unconditional prompt and still has its </s> token)."
        )
    vocab = model.config.text_encoder.vocab_size
    if input_ids.min() < 0 or input_ids.max() >= vocab:
        raise ValueError(
            f"{prefix}input_ids holds ids outside the text encoder's vocabulary [0, {vocab}) (min "
            f"{int(input_ids.min())}, max {int(input_ids.max())}); tokenize with this model's processor."
        )
    if attention_mask is None:
        return
    if attention_mask.shape != input_ids.shape:
        raise ValueError(
            f"{prefix}attention_mask {tuple(attention_mask.shape)} must have {prefix}input_ids' shape "
            f"{tuple(input_ids.shape)}; pass both from the same processor call."
        )
    if attention_mask.is_complex() or not ((attention_mask == 0) | (attention_mask == 1)).all():
        raise ValueError(
            f"{prefix}attention_mask must hold only 0 (padding) and 1 (token); pass the processor's "
            f"{prefix}attention_mask."
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
    check_token_ids(model, input_ids, attention_mask)
    check_audio_inputs(input_values, padding_mask)
    batch_size = 1
    if input_ids is not None:
        batch_size = input_ids.shape[0]
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
