"""`from_audiocraft()`: an audiocraft AudioGen / MAGNeT export -> a transformers model + processor."""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoTokenizer,
    EncodecConfig,
    EncodecFeatureExtractor,
    EncodecModel,
    T5EncoderModel,
)

from ..core.hub_access import push_problem
from ..hub.folder import upload_folder
from ..hub.releases import RELEASES
from ..output_files import publish
from .audiocraft_checkpoint import load_export, resolve_checkpoint_files
from .config_mapping import (
    T5_HUB_IDS,
    as_dtype,
    check_text_encoder_width,
    codec_config,
    decoder_config,
    generation_defaults,
    lm_family,
    text_encoder_name,
)
from .errors import CheckpointError
from .key_mapping import convert_codec_state, convert_lm_state
from .model_card import write_model_card
from .xp_config import parse_xp_cfg


def _family_classes(family: str):
    """The family's (config, decoder config, model) classes."""
    if family == "audiogen":
        from ..models.audiogen.configuration_audiogen import AudioGenConfig, AudioGenDecoderConfig
        from ..models.audiogen.modeling_audiogen import AudioGenForConditionalGeneration

        return AudioGenConfig, AudioGenDecoderConfig, AudioGenForConditionalGeneration
    from ..models.magnet.configuration_magnet import MagnetConfig, MagnetDecoderConfig
    from ..models.magnet.modeling_magnet import MagnetForConditionalGeneration

    return MagnetConfig, MagnetDecoderConfig, MagnetForConditionalGeneration


def default_text_encoder(checkpoint: str, t5_name: str) -> str:
    """The T5 a released checkpoint was trained with, else the Hub id of the one its xp.cfg names."""
    release = RELEASES.get(checkpoint)
    return release.text_encoder if release else T5_HUB_IDS.get(t5_name, t5_name)


def check_release_family(checkpoint: str, family: str) -> None:
    release = RELEASES.get(checkpoint)
    if release and release.family != family:
        raise CheckpointError(
            f"{checkpoint} is a {release.family} release but its xp.cfg describes a {family} model; the download "
            "is not that checkpoint: remove it from the Hub cache and download it again."
        )


def from_audiocraft(checkpoint: str | Path, text_encoder: str | Path | None = None, dtype: str = "float32"):
    """Build `(model, processor, info)` from an audiocraft export (local folder or Hub repo id).

    The family and every architecture field come from the stored `xp.cfg` and are checked against the
    tensors. The LM's fp16 weights are upcast exactly; the codec is EnCodec with `pad_mode` from its xp.cfg.
    `text_encoder` defaults to the T5 named in `xp.cfg` (its Hub id); a local folder works offline.
    """
    from ..core.processing_audiogen import AudioGenProcessor

    target_dtype = as_dtype(dtype)
    check_text_encoder_source(text_encoder)
    lm_file, codec_file = resolve_checkpoint_files(checkpoint)
    lm_package, codec_package = load_export(lm_file), load_export(codec_file)
    lm_state, codec_state = lm_package["best_state"], codec_package["best_state"]
    # Every field is read and checked against the tensors before the text encoder is downloaded or loaded.
    with _naming(lm_file):
        lm_cfg = parse_xp_cfg(lm_package["xp.cfg"])
        family = lm_family(lm_cfg)
        config_class, decoder_class, model_class = _family_classes(family)
        t5_name = text_encoder_name(lm_cfg)
        decoder_fields = decoder_config(lm_cfg, lm_state)
        _check_model_config(lambda: decoder_class(**decoder_fields))
        lm_converted = convert_lm_state(lm_state)
    with _naming(codec_file):
        codec_fields = codec_config(parse_xp_cfg(codec_package["xp.cfg"]), codec_state)
        codec = convert_checked_codec(codec_fields, codec_state)

    check_release_family(str(checkpoint), family)
    t5_source = (
        str(text_encoder) if text_encoder is not None else default_text_encoder(str(checkpoint), t5_name)
    )
    try:
        t5 = T5EncoderModel.from_pretrained(t5_source, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(t5_source)
    except OSError as error:
        raise CheckpointError(
            f"could not load the text encoder '{t5_source}' ({error}); pass --text-encoder with a local T5 folder."
        ) from error
    check_text_encoder_width(lm_cfg, lm_state, t5.config.d_model, t5_source)

    with _naming(lm_file):
        config = _check_model_config(
            lambda: config_class(
                text_encoder=t5.config.to_dict(),
                audio_encoder={"model_type": "encodec", **codec_fields},
                decoder=decoder_fields,
            )
        )
    model = model_class(config)
    state = {k: v.float() for k, v in lm_converted.items()}
    state.update({f"audio_encoder.{k}": v.float() for k, v in codec.items()})
    state.update({f"text_encoder.{k}": v for k, v in t5.state_dict().items()})
    expected = model.state_dict()
    for key, value in state.items():
        if key in expected and value.shape != expected[key].shape:
            raise CheckpointError(
                f"weight '{key}' has shape {tuple(value.shape)} but the architecture in xp.cfg needs "
                f"{tuple(expected[key].shape)}: the export is truncated or its xp.cfg does not belong to it; "
                "download both files again."
            )
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise CheckpointError(
            f"converted weights do not fit the model: missing {missing[:5]}, unexpected {unexpected[:5]}; "
            "the export is incomplete or from another architecture: download both files again."
        )
    model.generation_config.update(**generation_defaults(lm_cfg, family, config.frame_rate))
    model = model.to(target_dtype).eval()

    feature_extractor = EncodecFeatureExtractor(
        feature_size=config.audio_channels, sampling_rate=config.sampling_rate, padding_value=0.0
    )
    processor = AudioGenProcessor(feature_extractor, tokenizer)
    info = {
        "source": str(checkpoint),
        "family": family,
        "text_encoder": t5_source,
        "text_encoder_name": t5_name,
        "audiocraft_version": lm_package.get("version"),
        "dtype": dtype,
        "pad_mode": config.audio_encoder.pad_mode,
    }
    return model, processor, info


@contextlib.contextmanager
def _naming(path: Path) -> Iterator[None]:
    """Prefix the converter's errors raised inside with the file they are about."""
    try:
        yield
    except CheckpointError as error:
        raise CheckpointError(f"{path}: {error}") from error


def _check_model_config(build: Callable[[], Any]) -> Any:
    """`build()`, with the config classes' own checks (a ValueError) reported as the converter's error."""
    try:
        return build()
    except ValueError as error:
        raise CheckpointError(
            f"xp.cfg describes an invalid model ({error}); the export is corrupt."
        ) from error


def convert_checked_codec(codec_fields: dict, codec_state: dict) -> dict:
    """The codec tensors under transformers' names, checked against the EnCodec that `codec_fields` describe,
    built on the meta device (no memory: a hostile xp.cfg cannot make it huge) before any real model is."""
    codec_config = _check_model_config(lambda: EncodecConfig(**codec_fields))
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in EncodecModel(codec_config).state_dict().items()}
    converted = convert_codec_state(codec_state, set(expected))
    for key, tensor in converted.items():
        if tuple(tensor.shape) != expected[key]:
            raise CheckpointError(
                f"codec weight '{key}' has shape {tuple(tensor.shape)} but the EnCodec in its xp.cfg needs "
                f"{expected[key]}: the export is corrupt or its xp.cfg does not belong to it."
            )
    return converted


def check_text_encoder_source(text_encoder: str | Path | None) -> None:
    """A given --text-encoder must be a model folder or shaped like a Hub id, checked before any download."""
    if text_encoder is None:
        return
    path = Path(text_encoder).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise CheckpointError(
                f"--text-encoder {path} has no config.json; give a T5 model folder or Hub id."
            )
        return
    if not re.fullmatch(r"[\w.-]+(/[\w.-]+)?", str(text_encoder)) or str(text_encoder).startswith("."):
        raise CheckpointError(
            f"--text-encoder {text_encoder}: no such folder, and not a Hub id (org/name); give a T5 folder."
        )


def check_writable(output: Path, overwrite: bool = False) -> None:
    """Fail before converting if the output folder cannot be written, or already holds files (never
    overwritten, let alone deleted, unless `overwrite`)."""
    if output.is_dir() and any(output.iterdir()) and not overwrite:
        raise CheckpointError(
            f"output folder {output} is not empty; choose a new --output, or pass --overwrite to write the "
            "converted files over it (other files there are kept)."
        )
    try:
        output.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=output):
            pass
    except OSError as error:
        raise CheckpointError(
            f"output folder {output} is not writable ({error}); choose another --output."
        ) from error


def save_converted(output: Path, model, processor, info: dict, overwrite: bool, **license_kwargs) -> None:
    """Write everything into a hidden folder inside `output`, then give each file its real name (atomic): an
    interrupted conversion leaves no half-written model under a real name."""
    staging = Path(tempfile.mkdtemp(prefix=".converting-", dir=output))
    try:
        model.save_pretrained(staging)
        processor.save_pretrained(staging)
        write_model_card(staging, info, **license_kwargs)
        for file in sorted(staging.iterdir()):
            publish(file, output / file.name, overwrite=overwrite)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def convert_and_save(
    checkpoint: str | Path,
    output: str | Path,
    text_encoder: str | Path | None = None,
    dtype: str = "float32",
    push_to_hub: str | None = None,
    overwrite: bool = False,
    license: str | None = None,
    license_name: str | None = None,
) -> Path:
    """Convert, then write safetensors weights, config, generation_config, processor, the flat model code and
    a model card; `push_to_hub` uploads that complete folder."""
    output = Path(output)
    problem = push_problem(push_to_hub, "--push-to-hub") if push_to_hub else None
    if problem:
        raise CheckpointError(problem + ".")
    check_writable(output, overwrite)
    model, processor, info = from_audiocraft(checkpoint, text_encoder, dtype)
    save_converted(output, model, processor, info, overwrite, license=license, license_name=license_name)
    if push_to_hub:
        upload_folder(output, push_to_hub, commit_message=f"audiogen-hf conversion of {checkpoint}")
    return output
