"""`from_audiocraft()`: an audiocraft AudioGen / MAGNeT export -> a transformers model + processor."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from transformers import AutoTokenizer, EncodecFeatureExtractor, EncodecModel, T5EncoderModel

from ..hub.folder import upload_folder
from ..hub.releases import RELEASES
from .audiocraft_checkpoint import CheckpointError, load_export, parse_xp_cfg, resolve_checkpoint_files
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
from .key_mapping import convert_codec_state, convert_lm_state
from .model_card import write_model_card


def _family_classes(family: str):
    if family == "audiogen":
        from ..models.audiogen.configuration_audiogen import AudioGenConfig
        from ..models.audiogen.modeling_audiogen import AudioGenForConditionalGeneration

        return AudioGenConfig, AudioGenForConditionalGeneration
    from ..models.magnet.configuration_magnet import MagnetConfig
    from ..models.magnet.modeling_magnet import MagnetForConditionalGeneration

    return MagnetConfig, MagnetForConditionalGeneration


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
    lm_file, codec_file = resolve_checkpoint_files(checkpoint)
    lm_package, codec_package = load_export(lm_file), load_export(codec_file)
    lm_cfg, codec_cfg = parse_xp_cfg(lm_package["xp.cfg"]), parse_xp_cfg(codec_package["xp.cfg"])
    lm_state, codec_state = lm_package["best_state"], codec_package["best_state"]
    family = lm_family(lm_cfg)

    check_release_family(str(checkpoint), family)
    t5_name = text_encoder_name(lm_cfg)
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

    config_class, model_class = _family_classes(family)
    config = config_class(
        text_encoder=t5.config.to_dict(),
        audio_encoder={"model_type": "encodec", **codec_config(codec_cfg, codec_state)},
        decoder=decoder_config(lm_cfg, lm_state),
    )
    model = model_class(config)
    state = {k: v.float() for k, v in convert_lm_state(lm_state).items()}
    codec_keys = set(EncodecModel(config.audio_encoder).state_dict())
    state.update(
        {f"audio_encoder.{k}": v.float() for k, v in convert_codec_state(codec_state, codec_keys).items()}
    )
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
    check_writable(output, overwrite)
    model, processor, info = from_audiocraft(checkpoint, text_encoder, dtype)
    model.save_pretrained(output)
    processor.save_pretrained(output)
    write_model_card(output, info, license=license, license_name=license_name)
    if push_to_hub:
        upload_folder(output, push_to_hub, commit_message=f"audiogen-hf conversion of {checkpoint}")
    return output
