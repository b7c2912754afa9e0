"""MAGNeT rescoring: the pure combination, exact equivalences (w = 0, identical probabilities) and bad input."""

from __future__ import annotations

import math

import pytest
import torch

from audiogen_hf import AudioGenForConditionalGeneration
from audiogen_hf.generation.negative_prompts import GuidanceConditions
from audiogen_hf.models.magnet import generation_magnet
from audiogen_hf.models.magnet import masking as masking
from audiogen_hf.models.magnet.rescoring import Rescorer, combine_confidence
from audiogen_hf.tiny import tiny_audiogen_config

STEPS = [3, 2, 2, 1]
TEXTS = ["a dog barks", "rain falls"]


def codes(model, inputs, seed=0, **kwargs):
    out = model.generate(
        **inputs,
        decoding_steps=STEPS,
        generator=torch.Generator().manual_seed(seed),
        return_dict_in_generate=True,
        **kwargs,
    )
    return out.sequences


# ------------------------------------------------------------------------------------------------ pure function


def test_combine_confidence_is_the_convex_combination():
    gen = torch.Generator().manual_seed(0)
    p, q = torch.rand(2, 1, 12, generator=gen), torch.rand(2, 1, 12, generator=gen)
    assert combine_confidence(p, q, 0.0) is p
    assert torch.equal(combine_confidence(p, q, 1.0), q)
    torch.testing.assert_close(combine_confidence(p, q, 0.25), 0.75 * p + 0.25 * q)
    mixed = combine_confidence(p, q, 0.6)
    assert torch.all(mixed >= torch.minimum(p, q) - 1e-7) and torch.all(mixed <= torch.maximum(p, q) + 1e-7)


@pytest.mark.parametrize("weight", [0.25, 0.5, 0.9])
@pytest.mark.parametrize("scoring", ["max", "prod"])
def test_identical_probabilities_keep_the_ranking(weight, scoring):
    p = torch.rand(3, 1, 30, generator=torch.Generator().manual_seed(1)) * 0.9 + 0.05
    before = masking.chunk_scores(p, 3, scoring).argsort(dim=-1)
    after = masking.chunk_scores(combine_confidence(p, p.clone(), weight), 3, scoring).argsort(dim=-1)
    assert torch.equal(before, after)
    assert torch.equal(
        masking.token_scores(p).argsort(-1),
        masking.token_scores(combine_confidence(p, p, weight)).argsort(-1),
    )


@pytest.mark.parametrize("weight", [-0.1, 1.5, math.nan, math.inf, True, "0.5", None])
def test_combine_confidence_refuses_bad_weights(weight):
    p = torch.rand(1, 1, 3)
    with pytest.raises(ValueError, match="rescore_weight must be a number in \\[0, 1\\]|outside \\[0, 1\\]"):
        combine_confidence(p, p, weight)


def test_combine_confidence_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        combine_confidence(torch.rand(1, 1, 3), torch.rand(1, 1, 4), 0.5)


# ------------------------------------------------------------------------------------------------ the rescorer's probabilities


def test_token_probs_are_the_teacher_forced_probabilities(paired_audiogen, processor):
    """With every codebook known, the rescorer's probability is AudioGen's own forward (pattern tail included)."""
    inputs = processor(text=TEXTS)
    known = torch.randint(0, 64, (2, 4, 20), generator=torch.Generator().manual_seed(2))
    states = paired_audiogen.encode_text(inputs["input_ids"], inputs["attention_mask"], 2)
    rescorer = Rescorer(paired_audiogen, 0.5, GuidanceConditions(states), None)
    logits = paired_audiogen(**inputs, labels=known, include_pattern_tail=True).logits
    expected = torch.softmax(logits.float(), -1).gather(3, known[..., None])[..., 0]
    for stage in range(4):
        torch.testing.assert_close(
            rescorer.token_probs(known, stage, mask_id=64), expected[:, stage : stage + 1]
        )


def test_token_probs_read_undecoded_codebooks_as_the_special_token(paired_audiogen, processor):
    inputs = processor(text=TEXTS)
    partial = torch.randint(0, 64, (2, 4, 20), generator=torch.Generator().manual_seed(3))
    partial[:, 2:, 1:] = 64  # MAGNeT's mask id: codebooks 2 and 3 not decoded (bar frame 0)
    states = paired_audiogen.encode_text(inputs["input_ids"], inputs["attention_mask"], 2)
    probs = Rescorer(paired_audiogen, 0.5, GuidanceConditions(states), None).token_probs(partial, 1, 64)
    labels = torch.where(partial == 64, -1, partial)  # forward() reads negative labels as the special token
    logits = paired_audiogen(**inputs, labels=labels, include_pattern_tail=True).logits
    expected = torch.softmax(logits[:, 1].float(), -1).gather(2, partial[:, 1, :, None])[..., 0]
    torch.testing.assert_close(probs[:, 0], expected)


# ------------------------------------------------------------------------------------------------ generate()


def test_weight_zero_gives_exactly_todays_tokens_and_skips_the_rescorer(
    magnet, paired_audiogen, processor, monkeypatch
):
    inputs = processor(text=TEXTS)
    today = codes(magnet, inputs)

    def fail(*args, **kwargs):
        raise AssertionError("the rescorer ran with rescore_weight=0")

    monkeypatch.setattr(Rescorer, "token_probs", fail)
    assert torch.equal(codes(magnet, inputs, rescorer=paired_audiogen, rescore_weight=0.0), today)


def test_identical_probabilities_give_todays_tokens(magnet, paired_audiogen, processor, monkeypatch):
    """A rescorer that agrees with MAGNeT exactly changes nothing (w = 0.5: 0.5 p + 0.5 p is exactly p)."""
    inputs = processor(text=TEXTS)
    today = codes(magnet, inputs)
    real = generation_magnet.combine_confidence
    calls = []

    def agreeing(magnet_probs, rescorer_probs, weight):
        calls.append(weight)
        return real(magnet_probs, magnet_probs.clone(), weight)

    monkeypatch.setattr(generation_magnet, "combine_confidence", agreeing)
    assert torch.equal(codes(magnet, inputs, rescorer=paired_audiogen, rescore_weight=0.5), today)
    assert calls == [0.5] * (sum(STEPS) - len(STEPS))  # every step but each stage's last


def test_rescoring_changes_the_choice_and_is_seeded(magnet, paired_audiogen, processor):
    inputs = processor(text=TEXTS)
    today = codes(magnet, inputs)
    rescored = codes(magnet, inputs, rescorer=paired_audiogen, rescore_weight=0.9)
    again = codes(magnet, inputs, rescorer=paired_audiogen, rescore_weight=0.9)
    assert torch.equal(rescored, again)
    assert not torch.equal(rescored, today)
    assert rescored.min() >= 0 and rescored.max() < 64
    # unconditional generation and a rescorer without guidance work too
    out = magnet.generate(
        decoding_steps=STEPS,
        rescorer=paired_audiogen,
        rescore_weight=0.5,
        rescore_guidance_scale=1.0,
        return_dict_in_generate=True,
    )
    assert out.sequences.shape == (1, 4, 48)


# ------------------------------------------------------------------------------------------------ bad input


def test_rescore_weight_out_of_range(magnet, paired_audiogen, processor):
    for weight in (-0.5, 1.01, math.nan):
        with pytest.raises(ValueError, match="rescore_weight"):
            codes(magnet, processor(text=TEXTS), rescorer=paired_audiogen, rescore_weight=weight)


def test_rescore_weight_without_a_rescorer(magnet, processor):
    with pytest.raises(ValueError, match="rescore_weight was given without a rescorer"):
        codes(magnet, processor(text=TEXTS), rescore_weight=0.5)


def test_a_magnet_cannot_rescore(magnet, processor):
    with pytest.raises(TypeError, match="a MAGNeT is not autoregressive"):
        codes(magnet, processor(text=TEXTS), rescorer=magnet, rescore_weight=0.5)
    with pytest.raises(TypeError, match="AudioGenForConditionalGeneration"):
        codes(magnet, processor(text=TEXTS), rescorer=torch.nn.Linear(2, 2), rescore_weight=0.5)


def test_rescorer_on_another_codec(magnet, processor):
    torch.manual_seed(5)
    other_size = AudioGenForConditionalGeneration(
        tiny_audiogen_config(len(processor.tokenizer), codebook_size=32)
    )
    with pytest.raises(ValueError, match="codebook size \\(32\\) differs"):
        codes(magnet, processor(text=TEXTS), rescorer=other_size, rescore_weight=0.5)
    other_weights = AudioGenForConditionalGeneration(tiny_audiogen_config(len(processor.tokenizer)))
    with pytest.raises(ValueError, match="codec weights differ"):
        codes(magnet, processor(text=TEXTS), rescorer=other_weights, rescore_weight=0.5)


def test_bad_rescore_guidance_scale(magnet, paired_audiogen, processor):
    with pytest.raises(ValueError, match="rescore_guidance_scale must be a number >= 0"):
        codes(magnet, processor(text=TEXTS), rescorer=paired_audiogen, rescore_guidance_scale=-1)


def test_default_weight_is_the_documented_one(magnet, paired_audiogen, processor):
    from audiogen_hf.models.magnet.rescoring import DEFAULT_RESCORE_WEIGHT

    inputs = processor(text=TEXTS)
    assert DEFAULT_RESCORE_WEIGHT == 0.3  # docs/magnet.md: chosen on dev seeds 3-5
    assert torch.equal(
        codes(magnet, inputs, rescorer=paired_audiogen),
        codes(magnet, inputs, rescorer=paired_audiogen, rescore_weight=0.3),
    )
