"""Loud failures for the small JSON files of a saved folder and for weights that are not numbers.

Why: transformers falls back to defaults without a word when `generation_config.json` cannot be read (the
model then samples with settings nobody chose), reports a broken `processor_config.json` or tokenizer file as
a parser error that does not name the file, and loads NaN / inf weights that then generate NaN audio. These
checks name the file or the tensor and say what to do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from transformers import GenerationConfig

from ..generation.inputs import CFG_COEF_CHECKS, KNOB_CHECKS, check_generate_kwargs

PROCESSOR_JSON_FILES = (
    "processor_config.json",
    "preprocessor_config.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "tokenizer.json",
)


def local_folder(source: Any) -> Path | None:
    """The folder `source` names, or None for a Hub id or a file."""
    if source is None:
        return None
    path = Path(str(source)).expanduser()
    return path if path.is_dir() else None


def read_json_file(path: Path) -> dict:
    """The JSON object in `path`, or an OSError naming the file and the fix."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise OSError(
            f"{path} is not valid JSON ({error}); restore it from the model's source (save_pretrained() writes it)."
        ) from error
    if not isinstance(data, dict):
        raise OSError(f"{path} must hold a JSON object, got {type(data).__name__}; restore it.")
    return data


def check_json_files(folder: Path | None, names: tuple[str, ...] = PROCESSOR_JSON_FILES) -> None:
    """Every one of `names` present in `folder` must be a readable JSON object."""
    if folder is None:
        return
    for name in names:
        if (folder / name).is_file():
            read_json_file(folder / name)


def check_generation_config_file(source: Any) -> None:
    """A folder's `generation_config.json`, when present, must load and hold valid sampling knobs (transformers
    would otherwise drop a broken one silently and sample with the model's defaults)."""
    folder = local_folder(source)
    path = None if folder is None else folder / "generation_config.json"
    if path is None or not path.is_file():
        return
    data = read_json_file(path)
    checks = KNOB_CHECKS | CFG_COEF_CHECKS
    try:
        check_generate_kwargs({name: data.get(name) for name in checks}, checks)  # names the field
        GenerationConfig.from_dict(dict(data))  # transformers' own validation, on the dict already read
    except (ValueError, TypeError, OSError) as error:
        raise ValueError(
            f"{path} is invalid: {error} Fix that field, or delete the file to use the model's defaults."
        ) from error


def restore_missing_generation_defaults(model, source: Any) -> None:
    """A checkpoint without `generation_config.json` (a local folder or a Hub repo) gets the family's audiocraft
    defaults (sampling, top-k, guidance, length), not the bare config transformers derives from config.json:
    it would otherwise decode greedily without a word."""
    folder = local_folder(source)
    missing_locally = folder is not None and not (folder / "generation_config.json").is_file()
    # a Hub repo: transformers marks the config it derived from config.json when the file was not there
    derived = folder is None and getattr(model.generation_config, "_from_model_config", False)
    if (missing_locally or derived) and hasattr(model, "default_generation_config"):
        model.generation_config = model.default_generation_config()


def tensor_is_finite(tensor: torch.Tensor) -> bool:
    """No NaN or inf: one min/max pass for real tensors (NaN propagates through both; ~13x cheaper than
    `isfinite().all()` on CPU fp16); integer, empty and meta tensors are finite."""
    if tensor.is_meta or tensor.numel() == 0 or not (tensor.is_floating_point() or tensor.is_complex()):
        return True
    if tensor.is_complex():
        return bool(torch.isfinite(tensor).all())
    low, high = torch.aminmax(tensor.detach())
    return bool(torch.isfinite(low) & torch.isfinite(high))


def check_finite_weights(model: torch.nn.Module, source: Any) -> None:
    """Refuse a model whose parameters or buffers hold NaN or inf, naming the first such tensor."""
    for name, tensor in model.state_dict().items():
        if not tensor_is_finite(tensor):
            bad = int((~torch.isfinite(tensor)).sum())
            raise ValueError(
                f"{source}: the weight {name} holds {bad} NaN or inf values, so the model would generate NaN "
                "audio: the checkpoint is corrupt or was saved after training diverged. Use another checkpoint, "
                "or pass allow_non_finite_weights=True to load it anyway."
            )
