"""Packaging a trained run with the decoder-polished codec: the recipe trains the LMs on the base codec's codes
while the polish runs beside them, so `package` puts the polished decoder into the shipped model, and refuses
a codec whose codes differ from the ones the LM learned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import EncodecModel

from training.embedded.train_codec import CodecTrainingConfig, encodec_config


def _codec(folder: Path, seed: int, hidden_size: int = 8) -> EncodecModel:
    torch.manual_seed(seed)
    model = EncodecModel(
        encodec_config(CodecTrainingConfig(num_filters=2, hidden_size=hidden_size, codebook_size=16))
    )
    model.save_pretrained(folder)
    return model


def _variant(base: Path, folder: Path, part: str) -> EncodecModel:
    """The codec in `base` with the tensors of one part (`decoder` or `encoder`) moved: a polish, or a
    different codec."""
    model = EncodecModel.from_pretrained(base)
    with torch.no_grad():
        for name, tensor in model.named_parameters():
            if name.startswith(part + "."):
                tensor.add_(0.05)
    model.save_pretrained(folder)
    return model


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    from training.embedded import embedded as recipe

    root = tmp_path_factory.mktemp("packaging")
    base = _codec(root / "codec_base", seed=0)
    text = recipe.build_text_encoder(root / "text", seed=0, d_model=16, num_layers=1)
    run = recipe.build_initial_model(
        root / "run", "audiogen", root / "codec_base", text, hidden_size=16, num_layers=1, num_heads=2
    )
    return recipe, root, base, run


def _audio_encoder(folder: Path):
    from audiogen_hf import AudioGenForConditionalGeneration

    return AudioGenForConditionalGeneration.from_pretrained(folder).audio_encoder.state_dict()


def test_package_installs_the_polished_decoder_and_keeps_the_codes(trained_run):
    recipe, root, base, run = trained_run
    polished = _variant(root / "codec_base", root / "codec", "decoder").state_dict()
    before = _audio_encoder(run)
    dest = recipe.package(run, root / "ship", "audiogen", codec=root / "codec")
    shipped = _audio_encoder(dest)
    assert all(torch.equal(shipped[k], polished[k]) for k in polished)
    assert any(not torch.equal(shipped[k], before[k]) for k in shipped if k.startswith("decoder."))
    assert all(torch.equal(shipped[k], before[k]) for k in shipped if not k.startswith("decoder."))
    assert json.loads((dest / "config.json").read_text())["audio_encoder"]["_name_or_path"] == str(
        root / "codec"
    )
    assert recipe.install_codec(dest, root / "codec") == 0  # already in: nothing rewritten
    assert all(torch.equal(before[k], v) for k, v in _audio_encoder(run).items())  # the run is not modified


def test_package_refuses_a_codec_that_encodes_differently(trained_run):
    recipe, root, base, run = trained_run
    _variant(root / "codec_base", root / "other_encoder", "encoder")
    with pytest.raises(ValueError, match="encodes audio differently"):
        recipe.package(run, root / "ship_bad", "audiogen", codec=root / "other_encoder")
    _codec(root / "other_layout", seed=0, hidden_size=16)
    with pytest.raises(ValueError, match="layout"):
        recipe.install_codec(run, root / "other_layout")
    # the run itself is untouched by the refusals
    assert all(torch.equal(v, base.state_dict()[k]) for k, v in _audio_encoder(run).items())
