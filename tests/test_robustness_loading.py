"""Broken model and processor folders fail loudly (never a silently random-initialized model), through our
classes, the Auto classes and pipeline("text-to-audio")."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForTextToWaveform, AutoProcessor, pipeline

from audiogen_hf import AudioGenForConditionalGeneration, AudioGenProcessor, MagnetForConditionalGeneration


@pytest.fixture(scope="module")
def saved_magnet(tmp_path_factory, magnet, processor) -> Path:
    path = tmp_path_factory.mktemp("tiny-magnet")
    magnet.save_pretrained(path)
    processor.save_pretrained(path)
    return path


@pytest.fixture(params=["audiogen", "magnet"])
def family(request, saved_audiogen, saved_magnet):
    if request.param == "audiogen":
        return AudioGenForConditionalGeneration, saved_audiogen
    return MagnetForConditionalGeneration, saved_magnet


def _copy(source: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(source, tmp_path / "copy"))


def _loaders(model_class):
    return [
        model_class.from_pretrained,
        AutoModelForTextToWaveform.from_pretrained,
        lambda path: pipeline("text-to-audio", model=str(path)),
    ]


def test_intact_folder_loads_the_same_weights(family):
    model_class, folder = family
    model = model_class.from_pretrained(folder)
    saved = load_file(folder / "model.safetensors")
    assert all(torch.equal(model.state_dict()[k], v) for k, v in saved.items())


def test_truncated_safetensors(family, tmp_path):
    model_class, folder = family
    folder = _copy(folder, tmp_path)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    for load in _loaders(model_class):
        with pytest.raises((OSError, ValueError)) as caught:
            load(folder)
        assert "truncated or corrupt" in str(caught.value) and "save the model again" in str(caught.value)


def test_config_sizes_that_mismatch_the_weights(family, tmp_path):
    model_class, folder = family
    folder = _copy(folder, tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["decoder"].update(hidden_size=48, ffn_dim=96)
    (folder / "config.json").write_text(json.dumps(config))
    for load in _loaders(model_class):
        with pytest.raises(ValueError) as caught:
            load(folder)
        message = str(caught.value)
        assert "config.json does not match the saved weights" in message
        assert re.search(r"decoder\.\S+ \([\d, ]+\) in the weights vs \([\d, ]+\) from config.json", message)
        assert "restore the config.json" in message and "ignore_mismatched_sizes=True" in message
    model = model_class.from_pretrained(folder, ignore_mismatched_sizes=True)  # the explicit opt-in
    assert model.config.decoder.hidden_size == 48


def test_missing_and_unexpected_weights(family, tmp_path):
    model_class, folder = family
    folder = _copy(folder, tmp_path)
    state = load_file(folder / "model.safetensors")
    state.pop("decoder.lm_heads.0.weight")
    state["extra_head.weight"] = torch.zeros(2)
    save_file(state, folder / "model.safetensors", metadata={"format": "pt"})
    for load in _loaders(model_class):
        with pytest.raises(ValueError) as caught:
            load(folder)
        message = str(caught.value)
        assert "1 weights are missing (decoder.lm_heads.0.weight)" in message
        assert "1 are not used by the model (extra_head.weight)" in message
        assert "strict_weights=False" in message
    model, info = model_class.from_pretrained(folder, strict_weights=False, output_loading_info=True)
    assert info["missing_keys"] == {"decoder.lm_heads.0.weight"}


def test_unused_weight_under_a_submodule(family, tmp_path):
    """transformers drops a key under `decoder.` without listing it as unexpected; the file's keys catch it."""
    model_class, folder = family
    folder = _copy(folder, tmp_path)
    state = load_file(folder / "model.safetensors")
    state["decoder.extra_head.weight"] = torch.zeros(2)
    save_file(state, folder / "model.safetensors", metadata={"format": "pt"})
    for load in _loaders(model_class):
        with pytest.raises(ValueError, match=r"1 are not used by the model \(decoder.extra_head.weight\)"):
            load(folder)


class _WritesMarker:
    """A pickle payload that would create `path` if it were ever unpickled with code execution."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def test_code_running_pickle_is_refused(family, tmp_path):
    model_class, folder = family
    folder = _copy(folder, tmp_path)
    marker = tmp_path / "pickle-code-ran"
    state = load_file(folder / "model.safetensors")
    (folder / "model.safetensors").unlink()
    torch.save({**state, "payload": _WritesMarker(marker)}, folder / "pytorch_model.bin")
    for load in _loaders(model_class):
        with pytest.raises((OSError, ValueError)) as caught:
            load(folder)
        assert "arbitrary pickle code" in str(caught.value) and "model.safetensors" in str(caught.value)
        assert not marker.exists()


def test_empty_folder(tmp_path):
    with pytest.raises(OSError, match=r"holds no model weights .* save the model weights there"):
        AudioGenForConditionalGeneration.from_pretrained(tmp_path)
    with pytest.raises(OSError, match="holds no tokenizer files"):
        AudioGenProcessor.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="config.json"):  # transformers' own AutoConfig message
        AutoModelForTextToWaveform.from_pretrained(tmp_path)


def test_missing_path_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    missing = tmp_path / "not-saved-yet"
    for load in (AudioGenForConditionalGeneration.from_pretrained, AudioGenProcessor.from_pretrained):
        with pytest.raises(OSError, match=r"not an existing folder \(HF_HUB_OFFLINE=1.*save_pretrained"):
            load(missing)
        with pytest.raises(OSError, match="not an existing folder"):
            load(str(missing))
    with pytest.raises(OSError):  # AutoConfig fails first, before our classes: never a random model
        AutoModelForTextToWaveform.from_pretrained(missing)
    with pytest.raises(OSError):  # an uncached Hub id offline
        AudioGenForConditionalGeneration.from_pretrained("nobody-here/no-such-model")


def test_processor_folder_without_tokenizer(saved_audiogen, tmp_path):
    folder = _copy(saved_audiogen, tmp_path)
    for name in os.listdir(folder):
        if name.startswith("tokenizer") or name == "spiece.model":
            (folder / name).unlink()
    for load in (AudioGenProcessor.from_pretrained, AutoProcessor.from_pretrained):
        with pytest.raises(OSError) as caught:
            load(folder)
        assert "holds no tokenizer files (looked for tokenizer.json, spiece.model" in str(caught.value)
        assert "save_pretrained()" in str(caught.value)
    assert AudioGenProcessor.from_pretrained(saved_audiogen).tokenizer is not None
