"""The one code path every writer (save_pretrained of both families and of the processor, push_to_hub, the
converter, the trainer) goes through to make a folder the Hub can use on its own: the flat model code with
`auto_map` (so `trust_remote_code=True` works without this package), and a model card."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..output_files import publish, temporary_path, write_text
from .code_export import GENERATED_MARK, CodeExportError, auto_map_entry, exported_sources
from .model_card import CardFacts, is_generated_card, render_model_card

README = "README.md"
MODEL_AUTO_CLASSES = ("AutoConfig", "AutoModel", "AutoModelForTextToWaveform")
PROCESSOR_CONFIGS = ("processor_config.json", "tokenizer_config.json", "preprocessor_config.json")
# What a Hub repo of a model needs (no checkpoints, logs or caches).
HUB_FILE_PATTERNS = ["*.json", "*.safetensors", "*.py", "*.model", "*.txt", README]
# The keyword arguments of transformers' push_to_hub that `upload_folder` honours.
UPLOAD_OPTIONS = ("private", "commit_message", "create_pr", "revision", "commit_description")


def _check_code_files(folder: Path, sources: dict[str, str]) -> None:
    """Refuse to replace a `.py` file in the folder that this package did not write."""
    for name in sources:
        path = folder / name
        if path.is_file() and not path.read_text(encoding="utf-8").startswith(GENERATED_MARK):
            raise CodeExportError(
                f"{path} exists and was not written by audiogen-hf; saving would replace it with the model code "
                "the folder needs. Move that file, or save into another folder."
            )


def _write_code(folder: Path, sources: dict[str, str]) -> None:
    """Each file under a temporary name, then renamed (`output_files`), but without one fsync per file: the
    code is regenerated at every save (as transformers writes its own files), and 30 fsyncs made a save of a
    small model several times slower. Unchanged files are left alone."""
    for name, source in sorted(sources.items()):
        path = folder / name
        if path.is_file() and path.read_text(encoding="utf-8") == source:
            continue
        temporary = temporary_path(path)
        try:
            temporary.write_text(source, encoding="utf-8")
            publish(temporary, path, overwrite=True)
        finally:
            temporary.unlink(missing_ok=True)


def _add_auto_map(path: Path, entries: dict[str, str]) -> None:
    if not path.is_file():
        return
    data = json.loads(path.read_text(encoding="utf-8"))
    data["auto_map"] = {**data.get("auto_map", {}), **entries}
    write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n", overwrite=True)


def default_card_facts(config: Any) -> CardFacts:
    """What every saved model's card can state: its family, and the Hub id it was loaded from (its base). The
    licence is unknown here (`other` / `unspecified`): the converter and the trainer write it."""
    family = "magnet" if config.model_type.startswith("magnet") else "audiogen"
    origin = str(getattr(config, "_name_or_path", "") or "")
    base = origin if origin.count("/") == 1 and not Path(origin).exists() else None
    return CardFacts(family, base_model=base)


def write_card(folder: str | os.PathLike, facts: CardFacts, *, replace: bool = False) -> Path | None:
    """Write README.md unless a user's card is there (a card this package generated is always replaced;
    a user's one only with `replace`). Returns the path written, or None."""
    path = Path(folder) / README
    if path.is_file() and not replace and not is_generated_card(path.read_text(encoding="utf-8")):
        return None
    return write_text(path, render_model_card(facts), overwrite=True)


def model_folder_writer(model: Any, processor_class: type, folder: str | os.PathLike) -> Callable[[], None]:
    """Export the code now (an export error, or a user's .py file in the way, stops before anything is
    written); the returned function writes the code, `auto_map` in config.json (model, config and processor
    classes) and a default card once transformers has saved the folder."""
    folder = Path(folder)
    sources = exported_sources([type(model.config), type(model), processor_class])
    _check_code_files(folder, sources)

    def finish() -> None:
        _write_code(folder, sources)
        entries = {auto: auto_map_entry(type(model)) for auto in MODEL_AUTO_CLASSES[1:]}
        entries["AutoConfig"] = auto_map_entry(type(model.config))
        entries["AutoProcessor"] = auto_map_entry(processor_class)
        _add_auto_map(folder / "config.json", entries)
        write_card(folder, default_card_facts(model.config))

    return finish


def processor_folder_writer(processor: Any, folder: str | os.PathLike) -> Callable[[], None]:
    """Like `model_folder_writer` for a processor: its code and `auto_map` in its configs, so `AutoProcessor`
    returns it (not a bare tokenizer) with `trust_remote_code=True`."""
    folder = Path(folder)
    sources = exported_sources([type(processor)])
    _check_code_files(folder, sources)

    def finish() -> None:
        _write_code(folder, sources)
        for name in PROCESSOR_CONFIGS:
            _add_auto_map(folder / name, {"AutoProcessor": auto_map_entry(type(processor))})

    return finish


def _keep_remote_card(api: Any, repo_id: str, revision: str | None) -> bool:
    """True when the repo already holds a README.md that this package did not write (never replaced)."""
    if not api.file_exists(repo_id, README, revision=revision):
        return False
    card = Path(api.hf_hub_download(repo_id, README, revision=revision)).read_text(encoding="utf-8")
    return not is_generated_card(card)


def upload_folder(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    private: bool | None = None,
    token: str | bool | None = None,
    commit_message: str = "Upload with audiogen-hf",
    create_pr: bool = False,
    revision: str | None = None,
    commit_description: str | None = None,
) -> str:
    """Create `repo_id` if needed and upload the model files of `folder` (weights, code, card, configs); a card
    already on the Hub that this package did not write is kept."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)
    patterns = list(HUB_FILE_PATTERNS)
    if (Path(folder) / README).is_file() and _keep_remote_card(api, repo_id, revision):
        patterns.remove(README)
    info = api.upload_folder(
        repo_id=repo_id,
        folder_path=str(folder),
        allow_patterns=patterns,
        commit_message=commit_message,
        commit_description=commit_description,
        create_pr=create_pr,
        revision=revision,
    )
    return str(info)


def push_to_hub(obj: Any, repo_id: str, *, max_shard_size: int | str | None = None, **upload_kwargs) -> str:
    """`obj.save_pretrained` into a temporary folder, then `upload_folder`: the repo gets the weights, the flat
    code and the card (transformers' own push would replace the card with a generic one)."""
    import tempfile

    unknown = set(upload_kwargs) - {"token", *UPLOAD_OPTIONS}
    if unknown:
        raise TypeError(
            f"push_to_hub() does not support {sorted(unknown)} here; save_pretrained() the folder and upload it "
            "with huggingface_hub if you need them."
        )
    with tempfile.TemporaryDirectory() as tmp:
        save_kwargs = {"max_shard_size": max_shard_size} if max_shard_size is not None else {}
        obj.save_pretrained(tmp, **save_kwargs)
        return upload_folder(tmp, repo_id, **upload_kwargs)


def save_with_hub_files(
    save: Callable[..., Any], writer: Callable[[Path], Callable[[], None]], save_directory, *args, **kwargs
) -> Any:
    """`save(save_directory, ...)` (transformers' save_pretrained) between `writer(folder)` (checks) and its
    finisher (code, auto_map, card), on the main process only; `push_to_hub=True` uploads the finished folder
    (transformers' own push would run before the code and card are written)."""
    push = kwargs.pop("push_to_hub", False)
    hub_kwargs = {key: kwargs.pop(key) for key in ("repo_id", *UPLOAD_OPTIONS) if key in kwargs}
    is_main = kwargs.get("is_main_process", True)
    finish = writer(Path(save_directory)) if is_main else None
    result = save(save_directory, *args, **kwargs)
    if finish is not None:
        finish()
        if push:
            repo_id = hub_kwargs.pop("repo_id", None) or Path(save_directory).name
            upload_folder(save_directory, repo_id, token=kwargs.get("token"), **hub_kwargs)
    return result
