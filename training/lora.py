"""LoRA fine-tuning with peft: low-rank adapters on the decoder's attention and FFN projections, everything else
frozen, so a 1.5B model trains without full-weight optimizer state. The result is a standard PEFT adapter in
`output_dir` (`PeftModel.from_pretrained(base_model, output_dir)`), optionally also merged into a full model.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from peft import LoraConfig, PeftModel, get_peft_model

logger = logging.getLogger("audiogen_hf.training")

DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "fc1", "fc2")
MERGED_DIR = "merged"


def target_pattern(names: list[str] | None) -> str:
    """A peft regex that reaches the named modules inside the decoder layers only (T5 and the codec have
    their own projections, which stay frozen and untouched)."""
    names = list(names or DEFAULT_TARGETS)
    bad = [n for n in names if not re.fullmatch(r"[A-Za-z_][\w.]*", n)]
    if bad:
        raise ValueError(f"lora_target_modules takes module names such as q_proj or fc1, got {bad}.")
    alternatives = "|".join(re.escape(n) for n in names)
    return rf"decoder\.layers\.\d+\.(?:.*\.)?(?:{alternatives})"


def check_lora_options(model_args) -> None:
    if model_args.lora_r < 0:
        raise ValueError(f"lora_r must be >= 0 (0 = full fine-tuning), got {model_args.lora_r}.")
    if model_args.lora_r == 0 and (model_args.lora_save_merged or model_args.lora_target_modules):
        raise ValueError("lora_save_merged / lora_target_modules need LoRA on: set --lora_r (e.g. 16).")
    if not 0 <= model_args.lora_dropout < 1:
        raise ValueError(f"lora_dropout must be in [0, 1), got {model_args.lora_dropout}.")


def add_lora(model, model_args) -> PeftModel:
    """Wrap `model` with LoRA adapters; only they train. A target that matches nothing is an error."""
    config = LoraConfig(
        r=model_args.lora_r,
        lora_alpha=model_args.lora_alpha,
        lora_dropout=model_args.lora_dropout,
        target_modules=target_pattern(model_args.lora_target_modules),
        bias="none",
    )
    try:
        peft_model = get_peft_model(model, config)
    except ValueError as err:
        raise ValueError(
            f"lora_target_modules {model_args.lora_target_modules} match no decoder layer module ({err}); "
            f"use names such as {list(DEFAULT_TARGETS)}."
        ) from err
    return peft_model


def is_lora(model) -> bool:
    return isinstance(model, PeftModel)


def save_lora(model: PeftModel, processor, output_dir: str, state_dict: dict, merged: bool) -> None:
    """The adapter (and processor) in `output_dir`; with `merged`, the base with the adapters folded in, ready
    for `from_pretrained`, in `output_dir/merged`. Main process only."""
    model.save_pretrained(output_dir, state_dict=state_dict)
    processor.save_pretrained(output_dir)
    if merged:
        folder = Path(output_dir) / MERGED_DIR
        model.merge_and_unload().save_pretrained(folder)
        processor.save_pretrained(folder)
        logger.info(f"LoRA: merged model saved to {folder}")
