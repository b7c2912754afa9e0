"""Reading audiocraft exports safely: `state_dict.bin` / `compression_state_dict.bin` and their `xp.cfg`."""

from __future__ import annotations

import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import torch

from ..core.file_checks import tensor_is_finite
from .errors import CheckpointError
from .xp_config import get, parse_xp_cfg

__all__ = ["CheckpointError", "get", "load_export", "parse_xp_cfg", "resolve_checkpoint_files"]

LM_FILE = "state_dict.bin"
CODEC_FILE = "compression_state_dict.bin"


def resolve_checkpoint_files(source: str | Path) -> tuple[Path, Path]:
    """A local folder, or a Hub repo id (downloaded through huggingface_hub), holding both exports."""
    path = Path(source)
    if path.exists():
        if not path.is_dir():
            raise CheckpointError(f"--checkpoint must be a folder holding {LM_FILE} and {CODEC_FILE}: {path}")
        files = path / LM_FILE, path / CODEC_FILE
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise CheckpointError(
                f"{path} lacks {', '.join(missing)}; an audiocraft export ships both files."
            )
        return files
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", str(source)):
        raise CheckpointError(
            f"checkpoint '{source}' is neither an existing folder nor a Hub repo id (org/name)."
        )
    from huggingface_hub import hf_hub_download

    try:
        return tuple(Path(hf_hub_download(str(source), name)) for name in (LM_FILE, CODEC_FILE))
    except Exception as error:  # network, auth, missing file: all reported the same way
        raise CheckpointError(
            f"could not download {LM_FILE}/{CODEC_FILE} from the Hub repo '{source}': {error}. "
            "Download them and pass the local folder instead."
        ) from error


def load_export(path: Path) -> dict[str, Any]:
    """`torch.load(weights_only=True)` of an audiocraft export, with errors that say what is wrong."""
    if not path.is_file():
        raise CheckpointError(f"missing checkpoint file: {path}")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path} is empty; download it again.")
    try:
        package = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise CheckpointError(
            f"{path} needs arbitrary pickle code to load, which is refused for safety (weights_only=True). "
            f"Only plain audiocraft exports (tensors, dicts, strings) are converted. Details: {error}"
        ) from error
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as error:
        raise CheckpointError(
            f"{path} is truncated or not a PyTorch checkpoint ({error}); download it again."
        ) from error
    if not isinstance(package, dict) or "best_state" not in package or "xp.cfg" not in package:
        if isinstance(package, dict) and "pretrained" in package:
            raise CheckpointError(
                f"{path} only points at '{package['pretrained']}'; convert from a repo that ships the full codec."
            )
        raise CheckpointError(
            f"{path} is not an audiocraft export (expected a dict with 'best_state' and 'xp.cfg')."
        )
    check_state(package["best_state"], path)
    return package


def check_state(state: Any, path: Path) -> None:
    """`best_state` must map tensor names to tensors (anything else would fail deep inside the conversion)."""
    if not isinstance(state, dict) or not state:
        raise CheckpointError(
            f"{path}: 'best_state' is {type(state).__name__ if state else 'empty'}, not a mapping of tensor "
            "names to tensors; the export is corrupt: download it again."
        )
    bad = [repr(k) for k, v in state.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(
            f"{path}: 'best_state' entries {', '.join(bad[:3])} are not named tensors; the export is corrupt: "
            "download it again."
        )
    non_finite = [k for k, v in state.items() if not tensor_is_finite(v)]
    if non_finite:
        raise CheckpointError(
            f"{path}: tensor(s) {', '.join(non_finite[:3])} hold NaN or inf values, which would give NaN audio; "
            "the export is corrupt: download it again."
        )
