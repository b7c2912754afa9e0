"""Issue 30, limits that hold: every count knob accepts any integer type (Python, numpy, 0-d tensor) and is
bounded the same way, `max_length` is bounded like `max_new_tokens` in both families, text prompts have a
token limit, and sampling knobs that pass validation never give NaN / inf probabilities."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audiogen_hf.generation.inputs import MAX_GUIDANCE, MIN_TEMPERATURE
from audiogen_hf.generation.knob_values import as_python_scalar, normalize_config_scalars
from audiogen_hf.generation.sampling import sample_next_token

SHORT = {"audiogen": {"max_new_tokens": 6}, "magnet": {"max_new_tokens": 9, "decoding_steps": [2, 1, 1, 1]}}
INTEGER_TYPES = [int, np.int64, np.int32, np.uint16, lambda v: torch.tensor(v)]
INTEGER_IDS = ["int", "np.int64", "np.int32", "np.uint16", "0-d tensor"]


def generate(tiny_family, inputs, **kwargs):
    name, model = tiny_family
    return model.generate(**inputs, **{**SHORT[name], **kwargs}, generator=torch.Generator().manual_seed(0))


def test_scalars_become_python_numbers():
    assert as_python_scalar(np.int64(7)) == 7 and type(as_python_scalar(np.int64(7))) is int
    assert type(as_python_scalar(torch.tensor(0.5))) is float
    assert as_python_scalar([np.int32(2), 1]) == [2, 1]
    big = torch.zeros(3)
    assert as_python_scalar(big) is big  # only 0-d tensors are numbers


@pytest.mark.parametrize("make", INTEGER_TYPES, ids=INTEGER_IDS)
@pytest.mark.parametrize("knob", ["max_new_tokens", "max_length"])
def test_frame_counts_of_every_integer_type_are_bounded(tiny_family, dog_barks, make, knob):
    """np.int64(10**6) used to pass the `isinstance(v, int)` size check and start hours of decoding."""
    kwargs = {knob: make(60_000)} | ({"max_new_tokens": None} if knob == "max_length" else {})
    with pytest.raises(ValueError, match=f"{knob}=60000 .*more than max_generation_seconds=600"):
        generate(tiny_family, dog_barks, **kwargs)


@pytest.mark.parametrize("make", INTEGER_TYPES, ids=INTEGER_IDS)
def test_row_counts_of_every_integer_type_are_bounded(tiny_family, dog_barks, make):
    with pytest.raises(ValueError, match="num_return_sequences=2000 is 2000 rows, more than max_batch_size"):
        generate(tiny_family, dog_barks, num_return_sequences=make(2000))


@pytest.mark.parametrize("make", INTEGER_TYPES, ids=INTEGER_IDS)
def test_valid_counts_of_every_integer_type_work(tiny_family, dog_barks, make):
    name, _ = tiny_family
    audio = generate(
        tiny_family, dog_barks, max_new_tokens=make(SHORT[name]["max_new_tokens"]), top_k=make(5)
    )
    assert audio.shape[0] == 1 and torch.isfinite(audio).all()


def test_numpy_limits_and_decoding_steps_are_accepted(magnet, dog_barks):
    steps = [np.int64(2), np.int32(1), torch.tensor(1), 1]
    audio = generate(("magnet", magnet), dog_barks, decoding_steps=steps, max_batch_size=np.int64(8))
    assert torch.isfinite(audio).all()


def test_numpy_values_on_a_generation_config_are_bounded(tiny_family, dog_barks):
    name, model = tiny_family
    config = model.generation_config.__class__.from_dict(model.generation_config.to_dict())
    config.max_new_tokens = np.int64(60_000)
    with pytest.raises(ValueError, match="max_new_tokens=60000 .*max_generation_seconds"):
        model.generate(
            **dog_barks,
            generation_config=config,
            **{k: v for k, v in SHORT[name].items() if k != "max_new_tokens"},
        )
    assert type(normalize_config_scalars(config).max_new_tokens) is int


@pytest.mark.parametrize(
    "value,message",
    [(0, "max_length=0 is invalid"), (2.5, "max_length=2.5 is invalid"), ("9", "max_length='9' is invalid")],
)
def test_bad_max_length_is_named(tiny_family, dog_barks, value, message):
    with pytest.raises(ValueError, match=message):
        generate(tiny_family, dog_barks, max_new_tokens=None, max_length=value)


def test_audiogen_honours_max_length(audiogen, dog_barks, processor):
    """AudioGen used to ignore `max_length` (its generation config's max_new_tokens won silently)."""
    audio = audiogen.generate(**dog_barks, max_length=7)
    assert audio.shape[-1] == 7 * audiogen.config.audio_encoder.hop_length
    prompt = dict(processor(text=["dog"], audio=np.zeros(3200, np.float32), sampling_rate=16000))
    with pytest.raises(ValueError, match=r"max_length \(5\) leaves no frame to generate after the 10-frame"):
        audiogen.generate(**prompt, max_length=5)


def test_text_token_limit_in_processor_and_generate(tiny_family, processor):
    long_text = " ".join(["dog"] * 40)
    with pytest.raises(ValueError, match="text 1 has 41 tokens, more than max_text_tokens=16"):
        processor(text=["dog", long_text], max_text_tokens=16)
    with pytest.raises(ValueError, match="text 0 has 41 tokens, more than max_text_tokens=16"):
        processor(text=["dog"], negative_text=long_text, max_text_tokens=16)
    inputs = dict(processor(text=long_text))
    with pytest.raises(ValueError, match="41 tokens, more than max_text_tokens=16: shorten"):
        generate(tiny_family, inputs, max_text_tokens=16)
    assert torch.isfinite(generate(tiny_family, inputs, max_text_tokens=np.int64(64))).all()
    with pytest.raises(ValueError, match="max_text_tokens=0 is invalid"):
        generate(tiny_family, inputs, max_text_tokens=0)


@pytest.mark.parametrize("temperature", [1e-300, 1e-30, MIN_TEMPERATURE / 2])
def test_temperatures_that_overflow_are_refused(tiny_family, dog_barks, temperature):
    with pytest.raises(ValueError, match=f"temperature={temperature!r} is invalid.*at least"):
        generate(tiny_family, dog_barks, temperature=temperature)


def test_guidance_past_the_bound_is_refused(audiogen, magnet, dog_barks):
    with pytest.raises(ValueError, match="guidance_scale=1e\\+30 is invalid"):
        generate(("audiogen", audiogen), dog_barks, guidance_scale=1e30)
    with pytest.raises(ValueError, match="max_cfg_coef=1e\\+30 is invalid"):
        generate(("magnet", magnet), dog_barks, max_cfg_coef=1e30)


@pytest.mark.parametrize(
    "knobs",
    [
        {"temperature": MIN_TEMPERATURE},
        {"temperature": 1e6},
        {"top_p": 1e-12},
        {"min_p": 1.0},
        {"top_k": 1},
        {"temperature": MIN_TEMPERATURE, "min_p": 1.0, "top_p": 1e-12},
    ],
)
def test_extreme_valid_knobs_give_finite_audio(tiny_family, dog_barks, knobs):
    name, _ = tiny_family
    guidance = {"guidance_scale": MAX_GUIDANCE} if name == "audiogen" else {"max_cfg_coef": MAX_GUIDANCE}
    audio = generate(tiny_family, dog_barks, **knobs, **guidance)
    assert torch.isfinite(audio).all()


def test_smallest_temperature_keeps_probabilities_finite():
    """The bound itself: float32 logits spanning +-1e4 at the smallest temperature still sample."""
    logits = torch.linspace(-1e4, 1e4, 64).repeat(3, 1)
    tokens = sample_next_token(logits, True, MIN_TEMPERATURE, generator=torch.Generator().manual_seed(0))
    assert (tokens == 63).all()


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"max_text_tokens": "2"}, "max_text_tokens='2' is invalid: pass a positive integer"),
        ({"max_text_tokens": 0}, "max_text_tokens=0 is invalid"),
        ({"max_audio_seconds": "5"}, "max_audio_seconds='5' is invalid: pass a positive number"),
        ({"max_audio_seconds": float("nan")}, "max_audio_seconds=nan is invalid"),
    ],
)
def test_processor_limits_are_checked(processor, kwargs, message):
    with pytest.raises(ValueError, match=message):
        processor(text=["dog"], **kwargs)
    processor(
        text=["dog"], max_text_tokens=np.int64(8), max_audio_seconds=torch.tensor(5.0)
    )  # any numeric type
