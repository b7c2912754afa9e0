"""Checks of a run's settings that need no model and no data, run before anything is loaded, so a mistake costs
nothing: value ranges the trainer's own `check_args` does not cover, data paths, and the model to start from.
Each problem is a `UsageError` naming the argument and the fix.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import fields
from pathlib import Path

from audiogen_hf.core.hub_access import push_problem
from training.errors import UsageError
from training.modeling import FAMILIES
from training.run_dir import check_output_dir

_HUB_ID = re.compile(r"^[\w.-]+(/[\w.-]+)?$")


def _range_problems(model_args, data_args, args) -> list[str]:
    rules = [
        ("learning_rate", args.learning_rate > 0, "> 0"),
        ("weight_decay", args.weight_decay >= 0, ">= 0"),
        ("adam_beta1", 0 <= args.adam_beta1 < 1, "in [0, 1)"),
        ("adam_beta2", 0 <= args.adam_beta2 < 1, "in [0, 1)"),
        ("adam_epsilon", args.adam_epsilon > 0, "> 0"),
        ("max_grad_norm", args.max_grad_norm >= 0, ">= 0 (0 = no clipping)"),
        ("warmup_steps", args.warmup_steps >= 0, ">= 0"),
        ("min_lr_ratio", 0 <= args.min_lr_ratio <= 1, "in [0, 1]"),
        ("ema_decay", 0 < args.ema_decay < 1, "in (0, 1)"),
        ("ema_update_every", args.ema_update_every >= 1, ">= 1"),
        (
            "save_total_limit",
            args.save_total_limit is None or args.save_total_limit >= 1,
            ">= 1 (null keeps all)",
        ),
        ("eval_steps", args.eval_steps >= 0, ">= 0 (0 = end only)"),
        ("eval_max_new_tokens", args.eval_max_new_tokens >= 1, ">= 1"),
        ("seed", 0 <= args.seed < 2**32, "in [0, 2**32)"),
        ("synthetic_examples", data_args.synthetic_examples >= 0, ">= 0"),
        (
            "max_train_samples",
            data_args.max_train_samples is None or data_args.max_train_samples >= 1,
            ">= 1",
        ),
        ("max_clip_seconds", data_args.max_clip_seconds > 0, "> 0"),
        ("encode_chunk_size", data_args.encode_chunk_size >= 1, ">= 1"),
        ("aug_p", 0 <= data_args.aug_p <= 1, "in [0, 1]"),
        ("mix_snr_high", data_args.mix_snr_low < data_args.mix_snr_high, "> mix_snr_low"),
        ("mix_min_overlap", 0 <= data_args.mix_min_overlap <= 1, "in [0, 1]"),
        ("dataloader_num_workers", data_args.dataloader_num_workers >= 0, ">= 0"),
        ("span_len", model_args.span_len is None or model_args.span_len >= 1, ">= 1"),
        ("model_type", model_args.model_type in (None, *FAMILIES), f"one of {FAMILIES}"),
    ]
    problems = [
        f"--{name} must be {rule} (got {_value(name, model_args, data_args, args)!r})"
        for name, ok, rule in rules
        if not ok
    ]
    weights = model_args.magnet_stage_weights
    if weights is not None and (not all(math.isfinite(w) and w >= 0 for w in weights) or sum(weights) <= 0):
        problems.append(f"--magnet_stage_weights must be finite, >= 0 and not all 0 (got {weights})")
    if any(not isinstance(p, str) or not p.strip() for p in args.eval_prompts):
        problems.append(f"--eval_prompts must be non-empty texts (got {args.eval_prompts!r})")
    return problems


def _value(name: str, *groups):
    return next(getattr(g, name) for g in groups if hasattr(g, name))


def _non_finite(*groups) -> list[str]:
    """Float fields set to nan / inf (a command-line flag takes them)."""
    return [
        f"--{f.name} must be a finite number (got {getattr(g, f.name)})"
        for g in groups
        for f in fields(g)
        if isinstance(getattr(g, f.name), float) and not math.isfinite(getattr(g, f.name))
    ]


def _path_problems(data_args) -> list[str]:
    checks = [
        ("dataset_path", Path.is_dir, "a folder written by `save_to_disk`"),
        ("audio_folder", Path.is_dir, "a folder of audio files"),
        ("manifest", Path.is_file, "an audiocraft data.jsonl[.gz] file"),
        ("metadata_file", Path.is_file, "a CSV or JSONL file"),
    ]
    problems = []
    for name, exists, what in checks:
        value = getattr(data_args, name)
        if value is not None and not exists(Path(value)):
            state = "does not exist" if not Path(value).exists() else "is not " + what
            problems.append(f"--{name} {value} {state}; give {what}")
    cache = data_args.encode_cache_dir
    if cache is not None and Path(cache).exists() and not Path(cache).is_dir():
        problems.append(f"--encode_cache_dir {cache} is a file; give a folder")
    return problems


def check_model_source(model_name_or_path: str, model_type: str | None) -> None:
    """'tiny', a local model folder whose config.json names a trainable family (matching --model_type), or
    something shaped like a Hub id; refused before any download or load."""
    if model_name_or_path == "tiny":
        return
    path = Path(model_name_or_path).expanduser()
    if not path.exists():
        looks_local = model_name_or_path.startswith((".", "/", "~")) or not _HUB_ID.match(model_name_or_path)
        if looks_local:
            raise UsageError(
                f"--model_name_or_path {model_name_or_path}: no such folder; give a saved AudioGen/MAGNeT "
                "folder, a Hub id (org/name) or 'tiny'."
            )
        return  # a Hub id: the loader reports a failed download
    config_file = path / "config.json"
    if not config_file.is_file():
        raise UsageError(
            f"--model_name_or_path {path} has no config.json; give a folder written by save_pretrained "
            "(convert an audiocraft checkpoint with conversion/convert_audiocraft.py first)."
        )
    try:
        family = json.loads(config_file.read_text()).get("model_type")
    except (OSError, ValueError, AttributeError) as error:
        raise UsageError(
            f"{config_file} is not a readable JSON config ({error}); save the model again."
        ) from error
    if family not in FAMILIES:
        raise UsageError(
            f"--model_name_or_path {path} is a {family!r} model; training supports {FAMILIES}. Convert an "
            "audiocraft checkpoint with conversion/ first."
        )
    if model_type is not None and model_type != family:
        raise UsageError(f"--model_type {model_type} but {path} is a {family} model; drop --model_type.")


def _hub_problems(args) -> list[str]:
    """--push_to_hub happens after training: a push that cannot work is refused before it starts."""
    problem = push_problem(args.push_to_hub, "--push_to_hub") if args.push_to_hub else None
    return [problem] if problem else []


def _check_output_dir_writable(output_dir: str) -> None:
    if not str(output_dir).strip():
        raise UsageError("--output_dir is empty; give the folder for checkpoints and the final model.")
    try:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(
            f"--output_dir {output_dir} cannot be created ({error.strerror or error}); choose another folder."
        ) from error


def check_settings(model_args, data_args, args) -> None:
    """Everything checkable before loading: one `UsageError` listing every bad value or path, then the model
    to start from and the output_dir (another run in it; `encode_only` writes only the codes cache)."""
    problems = _non_finite(model_args, data_args, args)
    if not problems:
        problems = _range_problems(model_args, data_args, args)
    problems += _path_problems(data_args) + _hub_problems(args)
    if problems:
        raise UsageError("; ".join(problems) + ".")
    check_model_source(model_args.model_name_or_path, model_args.model_type)
    _check_output_dir_writable(args.output_dir)
    if not data_args.encode_only:
        inputs = {
            "model_name_or_path": model_args.model_name_or_path,
            "dataset_path": data_args.dataset_path,
            "audio_folder": data_args.audio_folder,
        }
        check_output_dir(args.output_dir, args.resume, args.overwrite_output_dir, inputs)
