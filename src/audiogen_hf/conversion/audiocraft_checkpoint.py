"""Reading audiocraft exports safely: `state_dict.bin` / `compression_state_dict.bin` and their `xp.cfg`."""

from __future__ import annotations

import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import torch
import yaml

LM_FILE = "state_dict.bin"
CODEC_FILE = "compression_state_dict.bin"


class CheckpointError(ValueError):
    """An audiocraft export that cannot be converted; the message says why and what to do."""


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
    return package


def parse_xp_cfg(text: str) -> dict:
    """The exported Hydra config (YAML) with `${a.b}` interpolations resolved."""
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise CheckpointError(f"the checkpoint's xp.cfg is not valid YAML: {error}") from error
    if not isinstance(config, dict):
        raise CheckpointError("the checkpoint's xp.cfg is not a mapping.")
    return _resolve(config, config)


_REFERENCE = re.compile(r"\$\{([\w.]+)\}")


def _lookup(root: dict, dotted: str) -> Any:
    node: Any = root
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return _resolve(node, root)


def _resolve(node: Any, root: dict) -> Any:
    if isinstance(node, dict):
        return {k: _resolve(v, root) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, root) for v in node]
    if isinstance(node, str):
        whole = _REFERENCE.fullmatch(node)
        if whole:
            return _lookup(root, whole.group(1))
        return _REFERENCE.sub(lambda m: str(_lookup(root, m.group(1))), node)
    return node


def get(config: dict, dotted: str, default: Any = None) -> Any:
    value = _lookup(config, dotted)
    return default if value is None else value
