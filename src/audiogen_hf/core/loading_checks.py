"""Loud failures for broken model and processor folders.

transformers loads a folder whose weights do not fit the config with only a logged report (missing keys are
randomly initialized, unexpected ones dropped), and reports truncated files, unsafe pickles, missing paths and
missing tokenizer files with messages that do not say which file is wrong or what to do. A randomly
initialized AudioGen generates noise that looks like a model working badly, so these checks refuse instead.
"""

from __future__ import annotations

import copy
import os
import pickle
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open

from .file_checks import (
    check_finite_weights,
    check_generation_config_file,
    restore_missing_generation_defaults,
)

WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
TOKENIZER_FILES = ("tokenizer.json", "spiece.model")
_HUB_ID = re.compile(r"[\w.-]+(/[\w.-]+)?")


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on")


def check_source(source: str | os.PathLike | None, needs: tuple[str, ...], what: str) -> Path | None:
    """The local folder `source` names (None for a Hub id), refusing missing paths and folders lacking all of
    `needs` with a message that names the folder and how to fill it."""
    if source is None:
        return None
    path = Path(source).expanduser()
    if path.is_dir():
        if not any((path / name).is_file() for name in needs):
            present = sorted(p.name for p in path.iterdir())[:10]
            raise OSError(
                f"{path} holds no {what} (looked for {', '.join(needs)}; found {present or 'nothing'}): save "
                f"the {what} there with save_pretrained(), or point at the folder that holds them."
            )
        return path
    looks_local = isinstance(source, os.PathLike) or str(source).startswith(("/", ".", "~"))
    if path.exists() or looks_local or not _HUB_ID.fullmatch(str(source)):
        offline = " (HF_HUB_OFFLINE=1, so it is not looked up on the Hub either)" if _offline() else ""
        raise OSError(
            f"{source} is not an existing folder{offline}; pass a folder written by save_pretrained() or a "
            "Hub repo id (org/name)."
        )
    return None


class HubLoadError(OSError):
    """A Hub id that could not be loaded, already worded for the user (never wrapped a second time)."""


def hub_load_error(source: Any, error: BaseException) -> OSError:
    """Our message for a Hub id that could not be loaded (instead of transformers' "Repo id must be in the form
    ..." or "couldn't connect"), naming the id and what to check."""
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    where = (
        "offline (HF_HUB_OFFLINE=1) and not in the local Hub cache"
        if _offline()
        else "from the Hugging Face Hub"
    )
    return HubLoadError(
        f"model '{source}' could not be loaded {where} ({reason[:200]}). Check the repo id (org/name, e.g. a "
        "repo written by conversion/convert_audiocraft.py), your connection and token, or pass a local folder "
        "written by save_pretrained()."
    )


def load_checked_source(load: Callable, source: Any, needs: tuple[str, ...], what: str, *args, **kwargs):
    """`load(source, ...)` after `check_source`; a Hub id that fails to load gets `hub_load_error`."""
    if check_source(source, needs, what) is not None:
        return load(source, *args, **kwargs)
    try:
        return load(source, *args, **kwargs)
    except HubLoadError:  # our classes' from_pretrained already worded it
        raise
    except OSError as error:
        raise hub_load_error(source, error) from error


def _describe(keys, limit: int = 5) -> str:
    keys = sorted(keys)
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(str(k) for k in keys[:limit]) + more


def check_loading_info(source: Any, info: dict, ignore_mismatched_sizes: bool, strict_weights: bool) -> None:
    """Raise unless every weight of the checkpoint found its parameter (or the caller opted out)."""
    mismatched = info.get("mismatched_keys") or set()
    if mismatched and not ignore_mismatched_sizes:
        shapes = [
            f"{key} {tuple(ckpt)} in the weights vs {tuple(model)} from config.json"
            for key, ckpt, model in mismatched
        ]
        raise ValueError(
            f"{source}: config.json does not match the saved weights ({_describe(shapes, 3)}): restore the "
            "config.json saved with these weights, or pass ignore_mismatched_sizes=True to re-initialize "
            "those weights randomly."
        )
    missing, unexpected = info.get("missing_keys") or set(), info.get("unexpected_keys") or set()
    if strict_weights and (missing or unexpected):
        parts = []
        if missing:
            parts.append(f"{len(missing)} weights are missing ({_describe(missing)})")
        if unexpected:
            parts.append(f"{len(unexpected)} are not used by the model ({_describe(unexpected)})")
        raise ValueError(
            f"{source}: the weights do not fit this model: {'; '.join(parts)}. Point at the folder saved with "
            "this model's save_pretrained(), or pass strict_weights=False to load anyway (missing weights are "
            "then randomly initialized)."
        )


def unused_file_weights(source: Any, model) -> set[str]:
    """Weights in a local folder's safetensors files that the model has no place for.

    Why our own look: transformers 5 does not report every such key (one under `decoder.`, e.g.
    `decoder.extra_head.weight`, was dropped without appearing in `unexpected_keys`), so the file's own key list
    is compared with the model's state dict. Reads only the files' headers.
    """
    if source is None or not Path(str(source)).is_dir():
        return set()
    keys: set[str] = set()
    for file in sorted(Path(str(source)).glob("*.safetensors")):
        with safe_open(str(file), framework="pt") as handle:
            keys.update(handle.keys())
    return keys - set(model.state_dict())


@torch.no_grad()
def initialize_missing_weights(model, keys) -> None:
    """Give weights the checkpoint did not fill (missing, or re-sized with `ignore_mismatched_sizes`) PyTorch's
    default random init. Why: transformers 5 announces them as "newly initialized" but leaves some (a decoder
    head) as uninitialized memory, NaN included; only these tensors are touched, never a loaded one."""
    for key in sorted(keys):
        module_name, _, tensor_name = key.rpartition(".")
        try:
            module = model.get_submodule(module_name)
        except AttributeError:
            continue
        target = getattr(module, tensor_name, None)
        if not isinstance(target, torch.Tensor) or not target.is_floating_point() or target.is_meta:
            continue
        fresh = copy.deepcopy(module)
        if hasattr(fresh, "reset_parameters"):
            fresh.reset_parameters()
            target.copy_(getattr(fresh, tensor_name))
        elif tensor_name == "bias":
            target.zero_()
        else:
            target.normal_(0.0, 0.02)


def checked_from_pretrained(load: Callable, source: Any, *model_args, **kwargs):
    """`PreTrainedModel.from_pretrained` (`load`) that refuses broken folders and weights that do not fit.

    `strict_weights=False` accepts missing / unexpected weights; `ignore_mismatched_sizes=True` (transformers'
    own flag) accepts shape mismatches; `.bin` pickles are read with `weights_only=True` unless the caller
    explicitly passes `weights_only=False`; NaN / inf weights and a broken `generation_config.json` are refused
    (`allow_non_finite_weights=True` loads non-finite weights anyway).
    """
    strict_weights = kwargs.pop("strict_weights", True)
    allow_non_finite = kwargs.pop("allow_non_finite_weights", False)
    wants_info = kwargs.pop("output_loading_info", False)
    ignore_mismatched_sizes = kwargs.pop("ignore_mismatched_sizes", False)
    kwargs.setdefault("weights_only", True)
    check_generation_config_file(source)
    try:
        model, info = load_checked_source(
            load,
            source,
            WEIGHT_FILES,
            "model weights",
            *model_args,
            output_loading_info=True,
            ignore_mismatched_sizes=True,
            **kwargs,
        )
    except SafetensorError as error:
        raise OSError(
            f"the safetensors weights of {source} are truncated or corrupt ({error}); download or save the "
            "model again."
        ) from error
    except pickle.UnpicklingError as error:
        raise OSError(
            f"the pytorch_model.bin of {source} needs arbitrary pickle code to load, which is refused for "
            "safety (weights_only=True); get a model.safetensors from a source you trust instead."
        ) from error
    info["unexpected_keys"] = set(info.get("unexpected_keys") or ()) | unused_file_weights(source, model)
    check_loading_info(source, info, ignore_mismatched_sizes, strict_weights)
    mismatched = {key for key, *_ in info.get("mismatched_keys") or ()}
    initialize_missing_weights(model, set(info.get("missing_keys") or ()) | mismatched)
    if not allow_non_finite:
        check_finite_weights(model, source)
    restore_missing_generation_defaults(model, source)
    return (model, info) if wants_info else model


def check_processor_folder(source: Any) -> None:
    """A local processor folder must hold the T5 tokenizer (`tokenizer.json` or `spiece.model`)."""
    check_source(source, TOKENIZER_FILES, "tokenizer files")
