"""Hybrid-MAGNeT: AudioGen's prefix kept verbatim, MAGNeT continuing it; batches, seeds, long form, bad input."""

from __future__ import annotations

import math

import pytest
import torch

from audiogen_hf import AudioGenForConditionalGeneration, HybridMagnet
from audiogen_hf.tiny import tiny_audiogen_config

TEXTS = ["a dog barks", "rain falls"]
MAGNET = {"decoding_steps": [2, 1, 1, 1]}


@pytest.fixture(scope="module")
def hybrid(paired_audiogen, magnet):
    return HybridMagnet(paired_audiogen, magnet)


def run(hybrid, inputs, seed=0, **kwargs):
    return hybrid.generate(
        **inputs,
        generator=torch.Generator().manual_seed(seed),
        return_dict_in_generate=True,
        magnet_kwargs=kwargs.pop("magnet_kwargs", MAGNET),
        **kwargs,
    )


def test_prefix_is_audiogens_codes_verbatim(hybrid, paired_audiogen, processor):
    inputs = processor(text=TEXTS)
    out = run(hybrid, inputs, ar_seconds=0.2)
    assert out.sequences.shape == (2, 4, 48)  # the 50-frame window, in whole 3-frame spans
    ar = paired_audiogen.generate(
        **inputs, max_new_tokens=10, generator=torch.Generator().manual_seed(0), return_dict_in_generate=True
    )
    assert torch.equal(out.sequences[..., :10], ar.sequences)
    assert out.audio.shape == (2, 1, 48 * 320)
    assert torch.isfinite(out.audio).all()


def test_seeded_batches_and_return_sequences(hybrid, processor):
    inputs = processor(text=TEXTS)
    first = run(hybrid, inputs, seed=3, ar_seconds=0.1, num_return_sequences=2, max_new_tokens=30)
    again = run(hybrid, inputs, seed=3, ar_seconds=0.1, num_return_sequences=2, max_new_tokens=30)
    other = run(hybrid, inputs, seed=4, ar_seconds=0.1, num_return_sequences=2, max_new_tokens=30)
    assert first.sequences.shape == (4, 4, 30)
    assert torch.equal(first.sequences, again.sequences)
    assert not torch.equal(first.sequences, other.sequences)


def test_the_continuation_is_magnet_prompted_with_the_prefix(hybrid, paired_audiogen, magnet, processor):
    inputs = processor(text=TEXTS, negative_text="rain")
    out = run(hybrid, inputs, seed=2, ar_seconds=0.2, max_new_tokens=36)
    gen = torch.Generator().manual_seed(2)
    ar = paired_audiogen.generate(**inputs, max_new_tokens=10, generator=gen, return_dict_in_generate=True)
    rest = magnet.generate(
        **inputs,
        prompt_codes=ar.sequences,
        max_new_tokens=26,
        generator=gen,
        return_dict_in_generate=True,
        **MAGNET,
    )
    assert torch.equal(out.sequences, rest.sequences)


def test_hybrid_past_the_window_and_with_a_rescorer(hybrid, paired_audiogen, processor):
    out = run(
        hybrid,
        processor(text=TEXTS[:1]),
        ar_seconds=0.5,
        max_new_tokens=90,
        magnet_kwargs={**MAGNET, "rescorer": paired_audiogen, "rescore_weight": 0.5},
    )
    assert out.sequences.shape == (1, 4, 90)
    plain = hybrid.generate(**processor(text=TEXTS[:1]), ar_seconds=0.5, magnet_kwargs=MAGNET)
    assert plain.shape == (1, 1, 48 * 320)


# ------------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("seconds", [1.0, 2.5])
def test_ar_seconds_must_leave_magnet_part_of_its_window(hybrid, processor, seconds):
    with pytest.raises(ValueError, match="must be shorter than MAGNeT's 1.0 s window"):
        run(hybrid, processor(text=TEXTS), ar_seconds=seconds)


@pytest.mark.parametrize("seconds", [0, -0.5, math.nan, True, "0.5"])
def test_bad_ar_seconds(hybrid, processor, seconds):
    with pytest.raises(ValueError, match="ar_seconds must be a number of seconds > 0"):
        run(hybrid, processor(text=TEXTS), ar_seconds=seconds)


def test_bad_lengths_and_kwargs(hybrid, processor):
    inputs = processor(text=TEXTS)
    with pytest.raises(ValueError, match="longer than the 25-frame AR prefix"):
        run(hybrid, inputs, ar_seconds=0.5, max_new_tokens=25)
    with pytest.raises(ValueError, match="pass one model's knobs in audiogen_kwargs"):
        run(hybrid, inputs, guidance_scale=3.0)
    with pytest.raises(ValueError, match="magnet_kwargs must not set \\['max_new_tokens'\\]"):
        run(hybrid, inputs, magnet_kwargs={"max_new_tokens": 10})
    with pytest.raises(ValueError, match="audiogen_kwargs must not set"):
        run(hybrid, inputs, audiogen_kwargs={"generator": None})


def test_models_must_share_codec_and_roles(paired_audiogen, magnet, processor):
    with pytest.raises(TypeError, match="audiogen must be an AudioGenForConditionalGeneration"):
        HybridMagnet(magnet, magnet)
    with pytest.raises(TypeError, match="magnet must be a MagnetForConditionalGeneration"):
        HybridMagnet(paired_audiogen, paired_audiogen)
    torch.manual_seed(7)
    stranger = AudioGenForConditionalGeneration(tiny_audiogen_config(len(processor.tokenizer)))
    with pytest.raises(ValueError, match="codec weights differ"):
        HybridMagnet(stranger, magnet)
    other_text = AudioGenForConditionalGeneration(tiny_audiogen_config(len(processor.tokenizer) + 5))
    other_text.audio_encoder.load_state_dict(magnet.audio_encoder.state_dict())
    with pytest.raises(ValueError, match="different vocabularies"):
        HybridMagnet(other_text, magnet)


def test_from_pretrained_loads_both(tmp_path, paired_audiogen, magnet):
    paired_audiogen.save_pretrained(tmp_path / "ar")
    magnet.save_pretrained(tmp_path / "nar")
    loaded = HybridMagnet.from_pretrained(str(tmp_path / "ar"), str(tmp_path / "nar"))
    assert type(loaded.audiogen) is type(paired_audiogen) and type(loaded.magnet) is type(magnet)
    assert not loaded.magnet.training
    with pytest.raises(TypeError, match="audiogen must be an AudioGenForConditionalGeneration"):
        HybridMagnet.from_pretrained(str(tmp_path / "nar"), str(tmp_path / "nar"))
