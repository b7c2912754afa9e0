"""Negative prompts: they replace CFG's null condition, never touch the positive rows, and "" is today's output."""

from __future__ import annotations

import pytest
import torch

from audiogen_hf.generation.negative_prompts import GuidanceConditions, build_guidance_conditions

LONG_NEGATIVE = "loud white noise and heavy rain and thunder and applause"


def codes(model, inputs, seed=0, **kwargs):
    out = model.generate(
        **inputs, generator=torch.Generator().manual_seed(seed), return_dict_in_generate=True, **kwargs
    )
    return out.sequences


AUDIOGEN_KNOBS = {"max_new_tokens": 10, "guidance_scale": 3.0}
MAGNET_KNOBS = {"decoding_steps": [2, 1, 1, 1], "max_cfg_coef": 3.0, "min_cfg_coef": 1.0}


def test_processor_tokenizes_the_negative_on_its_own(processor):
    plain = processor(text=["dog barks", "rain"])
    both = processor(text=["dog barks", "rain"], negative_text=LONG_NEGATIVE)
    assert torch.equal(both["input_ids"], plain["input_ids"])  # the prompts' padding is unchanged
    assert torch.equal(both["attention_mask"], plain["attention_mask"])
    assert both["negative_input_ids"].shape[0] == 1
    assert both["negative_input_ids"].shape[1] > plain["input_ids"].shape[1]
    empty = processor(text=["dog"], negative_text="")
    assert not empty["negative_attention_mask"].any()  # audiocraft's empty description: mask zeroed
    with pytest.raises(ValueError, match="one per prompt"):
        processor(text=["a", "b", "c"], negative_text=["x", "y"])
    with pytest.raises(ValueError, match="needs text prompts"):
        processor(audio=[[0.0] * 640], sampling_rate=16000, negative_text="x")


@pytest.mark.parametrize(
    "knobs",
    [
        {"max_new_tokens": 10, "guidance_scale": 3.0},
        {"max_new_tokens": 10, "guidance_scale": 3.0, "two_step_cfg": True},
        {"max_new_tokens": 10, "guidance_scale": 3.0, "num_return_sequences": 2},
    ],
)
def test_empty_negative_is_exactly_todays_audiogen_output(audiogen, processor, knobs):
    texts = ["dog barks in the rain", "wind"]
    today = codes(audiogen, processor(text=texts), **knobs)
    assert torch.equal(codes(audiogen, processor(text=texts, negative_text=""), **knobs), today)
    assert torch.equal(codes(audiogen, processor(text=texts, negative_text=["", ""]), **knobs), today)


def test_empty_negative_builds_todays_null_condition(audiogen, processor):
    """audiocraft's null rows: zeros padded to the prompts' length L, not the length of the tokenized ""."""
    inputs = processor(text=["dog barks in the rain", "wind"], negative_text="")
    positive = audiogen.encode_text(inputs["input_ids"], inputs["attention_mask"])
    guided = build_guidance_conditions(
        audiogen, positive, (inputs["negative_input_ids"], inputs["negative_attention_mask"]), True
    )
    assert guided.negative_is_null
    assert torch.equal(guided.negative, audiogen.null_condition(2, positive.shape[1]))
    assert len(guided.passes()) == 1  # batched as today


def test_empty_negative_is_exactly_todays_magnet_output(magnet, processor):
    texts = ["dog barks in the rain", "wind"]
    today = codes(magnet, processor(text=texts), **MAGNET_KNOBS, num_return_sequences=2)
    negative = codes(magnet, processor(text=texts, negative_text=""), **MAGNET_KNOBS, num_return_sequences=2)
    assert torch.equal(negative, today)


def test_positive_rows_keep_their_conditioning(audiogen, processor):
    inputs = processor(text=["dog barks", "rain"], negative_text=LONG_NEGATIVE)
    positive = audiogen.encode_text(inputs["input_ids"], inputs["attention_mask"])
    guided = build_guidance_conditions(
        audiogen, positive, (inputs["negative_input_ids"], inputs["negative_attention_mask"]), True
    )
    assert guided.positive is positive
    negative_alone = audiogen.encode_text(inputs["negative_input_ids"], inputs["negative_attention_mask"])
    assert torch.equal(guided.negative, negative_alone.expand(2, -1, -1))
    # different lengths: two decoder calls, the positive one on the positive rows exactly as without a negative
    passes = guided.passes()
    assert len(passes) == 2 and passes[0] is positive


def test_negative_rows_follow_batch_and_num_return_sequences(audiogen, processor):
    inputs = processor(text=["dog barks", "rain"], negative_text=["thunder", "bell rings"])
    positive = audiogen.encode_text(inputs["input_ids"], inputs["attention_mask"]).repeat_interleave(3, 0)
    guided = build_guidance_conditions(
        audiogen, positive, (inputs["negative_input_ids"], inputs["negative_attention_mask"]), True, 3
    )
    alone = audiogen.encode_text(inputs["negative_input_ids"], inputs["negative_attention_mask"])
    assert torch.equal(guided.negative, alone.repeat_interleave(3, 0))


def test_same_length_negative_is_batched_and_matches_separate_passes():
    positive, negative = torch.randn(2, 5, 8), torch.randn(2, 5, 8)
    guided = GuidanceConditions(positive, negative, negative_is_null=False)
    assert len(guided.passes()) == 1 and torch.equal(guided.passes()[0], torch.cat([positive, negative]))
    assert [p.shape[1] for p in guided.passes(two_step=True)] == [5, 5]  # a real negative is not cut to 1
    null = GuidanceConditions(positive, torch.zeros(2, 5, 8))
    assert [p.shape[1] for p in null.passes(two_step=True)] == [5, 1]  # audiocraft's one-token null


def test_negative_equal_to_the_prompt_cancels_guidance(audiogen, processor):
    """cond - uncond = 0 when the negative is the prompt itself: CFG at any scale is the conditional logits."""
    text = "dog barks in the rain"
    no_guidance = codes(audiogen, processor(text=[text]), max_new_tokens=10, guidance_scale=1.0)
    for knobs in ({}, {"two_step_cfg": True}):
        negated = codes(
            audiogen,
            processor(text=[text], negative_text=text),
            max_new_tokens=10,
            guidance_scale=5.0,
            **knobs,
        )
        assert torch.equal(negated, no_guidance)


def test_negative_changes_the_output_and_two_step_agrees(audiogen, processor):
    inputs = processor(text=["dog barks", "rain"], negative_text=LONG_NEGATIVE)
    guided = codes(audiogen, inputs, **AUDIOGEN_KNOBS)
    assert not torch.equal(guided, codes(audiogen, processor(text=["dog barks", "rain"]), **AUDIOGEN_KNOBS))
    # a negative of another length already runs as its own pass: two_step_cfg computes the same thing
    assert torch.equal(codes(audiogen, inputs, **AUDIOGEN_KNOBS, two_step_cfg=True), guided)


def test_magnet_negative_changes_the_output(magnet, processor):
    texts = ["dog barks", "rain"]
    plain = codes(magnet, processor(text=texts), **MAGNET_KNOBS)
    guided = codes(magnet, processor(text=texts, negative_text=LONG_NEGATIVE), **MAGNET_KNOBS)
    assert not torch.equal(guided, plain)


def test_negative_prompt_mapping_and_errors(audiogen, processor):
    inputs = processor(text=["dog barks"])
    tokenized = processor.tokenizer(["thunder"], return_tensors="pt")
    by_mapping = codes(audiogen, inputs, negative_prompt=tokenized, **AUDIOGEN_KNOBS)
    by_ids = codes(
        audiogen,
        inputs,
        negative_input_ids=tokenized["input_ids"],
        negative_attention_mask=tokenized["attention_mask"],
        **AUDIOGEN_KNOBS,
    )
    assert torch.equal(by_mapping, by_ids)
    with pytest.raises(TypeError, match="tokenized"):
        audiogen.generate(**inputs, negative_prompt="thunder", **AUDIOGEN_KNOBS)
    with pytest.raises(ValueError, match="classifier-free guidance"):
        audiogen.generate(**inputs, negative_prompt=tokenized, max_new_tokens=4, guidance_scale=1.0)
    with pytest.raises(ValueError, match="classifier-free guidance"):
        audiogen.generate(negative_prompt=tokenized, max_new_tokens=4, guidance_scale=3.0)  # unconditional
    with pytest.raises(ValueError, match="one per prompt"):
        two = processor.tokenizer(["a", "b"], return_tensors="pt", padding=True)
        audiogen.generate(**processor(text=["x", "y", "z"]), negative_prompt=two, **AUDIOGEN_KNOBS)
    with pytest.raises(ValueError, match="without negative_input_ids"):
        audiogen.generate(**inputs, negative_attention_mask=tokenized["attention_mask"], **AUDIOGEN_KNOBS)


def test_magnet_negative_without_guidance_is_an_error(magnet, processor):
    inputs = processor(text=["dog"], negative_text="rain")
    with pytest.raises(ValueError, match="classifier-free guidance"):
        magnet.generate(**inputs, decoding_steps=[1, 1, 1, 1], max_cfg_coef=1.0, min_cfg_coef=1.0)
