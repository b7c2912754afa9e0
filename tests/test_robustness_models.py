"""Issue 30, loaded models are what they claim: NaN / inf weights refused naming the tensor (with an opt-out),
weights transformers calls "newly initialized" really initialized, broken generation_config.json /
processor_config.json / tokenizer files named, config.json fields type- and range-checked, and a processor that
does not fit its model refused when the two are paired."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForTextToWaveform, AutoProcessor, pipeline

from audiogen_hf import AudioGenProcessor
from audiogen_hf.core.pairing_checks import check_processor_fits_model
from audiogen_hf.loading import load_model_and_processor
from audiogen_hf.tiny import tiny_feature_extractor, tiny_tokenizer


@pytest.fixture
def folder(tiny_family, processor, tmp_path):
    """A freshly saved tiny model folder (model + processor), with its model class."""
    _, model = tiny_family
    path = tmp_path / "model"
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return type(model), path


def _edit_json(path: Path, **fields) -> None:
    data = json.loads(path.read_text())
    for key, value in fields.items():
        section, _, name = key.rpartition("__")
        (data[section] if section else data)[name] = value
    path.write_text(json.dumps(data))


# --------------------------------------------------------------------------------------------- non-finite weights
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused_by_name(folder, bad):
    model_class, path = folder
    state = load_file(path / "model.safetensors")
    state["decoder.lm_heads.1.weight"][0, 0] = bad
    save_file(state, path / "model.safetensors", metadata={"format": "pt"})
    for load in (model_class.from_pretrained, AutoModelForTextToWaveform.from_pretrained):
        with pytest.raises(
            ValueError, match="the weight decoder.lm_heads.1.weight holds 1 NaN or inf values"
        ):
            load(path)
    with pytest.raises(ValueError, match="allow_non_finite_weights=True"):
        pipeline("text-to-audio", model=str(path))
    model = model_class.from_pretrained(path, allow_non_finite_weights=True)  # the explicit opt-out
    assert not torch.isfinite(model.decoder.lm_heads[1].weight).all()


def test_missing_weights_are_really_initialized(folder):
    """transformers 5 reported decoder.lm_heads.0.weight as "newly initialized" but left it uninitialized
    memory (NaN on this machine); with strict_weights=False it is now PyTorch's default random init."""
    model_class, path = folder
    state = load_file(path / "model.safetensors")
    neighbour = state["decoder.layers.0.fc1.weight"].clone()
    state.pop("decoder.lm_heads.0.weight")
    save_file(state, path / "model.safetensors", metadata={"format": "pt"})
    model = model_class.from_pretrained(path, strict_weights=False)
    head = model.decoder.lm_heads[0].weight
    assert torch.isfinite(head).all() and 0 < head.std() < 1
    # neighbours of a re-initialized tensor keep their loaded values (the layers have no biases)
    assert torch.equal(model.decoder.layers[0].fc1.weight, neighbour)


# ------------------------------------------------------------------------------------------------ generation config
def test_unreadable_generation_config_is_named(folder):
    model_class, path = folder
    (path / "generation_config.json").write_text('{"temperature": 1.0,')
    with pytest.raises(OSError, match=r"generation_config.json is not valid JSON"):
        model_class.from_pretrained(path)


@pytest.mark.parametrize(
    "field,value", [("temperature", -1.0), ("top_p", 0.0), ("max_new_tokens", "10"), ("top_k", 2.5)]
)
def test_invalid_generation_config_values_are_named(folder, field, value):
    model_class, path = folder
    _edit_json(path / "generation_config.json", **{field: value})
    for load in (model_class.from_pretrained, AutoModelForTextToWaveform.from_pretrained):
        with pytest.raises(
            ValueError, match=rf"generation_config.json is invalid: {field}=.* delete the file"
        ):
            load(path)


def test_missing_generation_config_gives_the_family_defaults(folder):
    """transformers' fallback was a bare config: do_sample unset, so both families decoded greedily."""
    model_class, path = folder
    saved = model_class.from_pretrained(path).generation_config.to_diff_dict()
    (path / "generation_config.json").unlink()
    restored = model_class.from_pretrained(path).generation_config
    assert restored.do_sample and restored.to_diff_dict() == saved


# ------------------------------------------------------------------------------------------ processor files
@pytest.mark.parametrize("name", ["processor_config.json", "tokenizer_config.json", "tokenizer.json"])
def test_broken_processor_json_files_are_named(folder, name):
    _, path = folder
    if not (path / name).exists():
        pytest.skip(f"{name} not saved by this tokenizer")
    (path / name).write_text("{ not json")
    with pytest.raises(OSError, match=rf"{name} is not valid JSON .*restore it"):
        AudioGenProcessor.from_pretrained(path)
    with pytest.raises(OSError, match=rf"{name}.* (is )?not (a )?valid JSON"):  # transformers reads it first
        AutoProcessor.from_pretrained(path)


def test_tokenizer_that_cannot_be_built_names_the_folder(folder):
    _, path = folder
    (path / "tokenizer.json").write_text(json.dumps({"model": {"type": "NoSuchModel"}}))
    with pytest.raises(OSError, match=r"cannot load the processor from .*model .*save the processor again"):
        AudioGenProcessor.from_pretrained(path)


# ------------------------------------------------------------------------------------------------ config.json
@pytest.mark.parametrize(
    "field,value,named",
    [
        ("decoder__hidden_size", "64", "decoder.hidden_size='64'"),
        ("decoder__num_codebooks", 0, "decoder.num_codebooks=0"),
        ("decoder__dropout", 2.0, "decoder.dropout=2.0"),
        ("decoder__max_duration", -1.0, "decoder.max_duration=-1.0"),
        ("decoder__delays", [0, -1, 2, 3], r"decoder.delays=\[0, -1, 2, 3\]"),
        ("text_encoder__d_model", -4, "text_encoder.d_model=-4"),
        ("audio_encoder__sampling_rate", 0, "audio_encoder.sampling_rate=0"),
    ],
)
def test_config_fields_are_checked_by_name(folder, field, value, named):
    model_class, path = folder
    _edit_json(path / "config.json", **{field: value})
    with pytest.raises(
        ValueError, match=rf"config field {named} is invalid: it must be .*fix it in config.json"
    ):
        model_class.from_pretrained(path)


# ------------------------------------------------------------------------------------------------ pairing
def test_processor_of_another_rate_is_refused_when_paired(folder):
    model_class, path = folder
    _edit_json(path / "processor_config.json", feature_extractor__sampling_rate=32000)
    for load in (
        AudioGenProcessor.from_pretrained,
        AutoProcessor.from_pretrained,
        lambda p: load_model_and_processor(str(p), "cpu"),
    ):
        with pytest.raises(
            ValueError, match="its sampling rate is 32000 Hz but the model's codec runs at 16000"
        ):
            load(path)


def test_processor_checks_against_a_model(audiogen, processor):
    check_processor_fits_model(processor, audiogen)  # the matching pair passes
    stereo = AudioGenProcessor(tiny_feature_extractor(), tiny_tokenizer())
    stereo.feature_extractor.feature_size = 2
    with pytest.raises(ValueError, match="it gives 2 audio channels but the codec takes 1"):
        check_processor_fits_model(stereo, audiogen)
    big = AudioGenProcessor(tiny_feature_extractor(), tiny_tokenizer())
    big.tokenizer.add_tokens([f"extra{i}" for i in range(audiogen.config.text_encoder.vocab_size)])
    with pytest.raises(ValueError, match=r"its tokenizer has \d+ tokens but the text encoder embeds only"):
        check_processor_fits_model(big, audiogen)


def test_hub_repo_without_generation_config_gets_the_family_defaults(tmp_path):
    """Not only a local folder: a Hub repo (here a local Hub cache) without generation_config.json used to
    decode greedily with transformers' config derived from config.json."""
    from audiogen_hf import AudioGenForConditionalGeneration
    from audiogen_hf.tiny import tiny_audiogen_config

    repo = tmp_path / "models--me--tiny"
    snapshot = repo / "snapshots" / ("a" * 40)
    AudioGenForConditionalGeneration(tiny_audiogen_config()).save_pretrained(snapshot)
    (snapshot / "generation_config.json").unlink()
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    loaded = AudioGenForConditionalGeneration.from_pretrained("me/tiny", cache_dir=str(tmp_path))
    assert loaded.generation_config.do_sample is True
    assert loaded.generation_config.top_k == loaded.default_generation_config().top_k
