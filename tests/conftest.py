"""Shared fixtures: tiny random AudioGen models and processors, built offline."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402

# Tiny models gain nothing from intra-op threads; on a busy 2-core machine they make them much slower.
torch.set_num_threads(1)

import audiogen_hf  # noqa: E402,F401  (registers the Auto classes)
from audiogen_hf import (  # noqa: E402
    AudioGenForConditionalGeneration,
    AudioGenProcessor,
    MagnetForConditionalGeneration,
)
from audiogen_hf.tiny import (  # noqa: E402
    spread_codebooks,
    tiny_audiogen_config,
    tiny_feature_extractor,
    tiny_magnet_config,
    tiny_tokenizer,
)


def make_tiny_audiogen(seed: int = 0, **decoder) -> AudioGenForConditionalGeneration:
    torch.manual_seed(seed)
    model = AudioGenForConditionalGeneration(tiny_audiogen_config(**decoder)).eval()
    spread_codebooks(model, seed)
    return model


@pytest.fixture(scope="session")
def processor() -> AudioGenProcessor:
    return AudioGenProcessor(tiny_feature_extractor(), tiny_tokenizer())


@pytest.fixture(scope="session")
def audiogen() -> AudioGenForConditionalGeneration:
    return make_tiny_audiogen()


@pytest.fixture(scope="session")
def magnet(processor) -> MagnetForConditionalGeneration:
    """A tiny random MAGNeT sharing the tiny processor's vocabulary."""
    torch.manual_seed(0)
    model = MagnetForConditionalGeneration(tiny_magnet_config(len(processor.tokenizer))).eval()
    spread_codebooks(model)
    return model


@pytest.fixture(scope="session")
def saved_audiogen(tmp_path_factory, audiogen, processor):
    path = tmp_path_factory.mktemp("tiny-audiogen")
    audiogen.save_pretrained(path)
    processor.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def paired_audiogen(processor, magnet) -> AudioGenForConditionalGeneration:
    """A tiny AudioGen reading the same codes as the `magnet` fixture (its codec weights copied): a rescorer and
    the autoregressive half of Hybrid-MAGNeT."""
    torch.manual_seed(1)
    model = AudioGenForConditionalGeneration(tiny_audiogen_config(len(processor.tokenizer))).eval()
    model.audio_encoder.load_state_dict(magnet.audio_encoder.state_dict())
    return model


@pytest.fixture(params=["audiogen", "magnet"])
def tiny_family(request, audiogen, magnet):
    """(name, model) for each family: checks that must hold for AudioGen and MAGNeT alike."""
    return request.param, audiogen if request.param == "audiogen" else magnet


@pytest.fixture
def dog_barks(processor) -> dict:
    """The processor's outputs for one short text prompt."""
    return dict(processor(text=["dog barks"]))
