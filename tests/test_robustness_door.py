"""Issue 30, inputs checked at the door: token ids (dtype, shape, emptiness), masks against their inputs,
every integer PCM dtype scaled or refused, empty and degenerate batches; all refused by name before torch
fails deep inside T5 or EnCodec."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

SHORT = {"audiogen": {"max_new_tokens": 6}, "magnet": {"max_new_tokens": 9, "decoding_steps": [2, 1, 1, 1]}}


@pytest.fixture
def prompted(processor):
    return dict(processor(text=["dog"], audio=np.zeros(1600, np.float32), sampling_rate=16000))


def generate(tiny_family, **inputs):
    name, model = tiny_family
    return model.generate(**inputs, **SHORT[name], generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("dtype", [torch.int8, torch.uint8, torch.int16, torch.float16, torch.bool])
def test_token_ids_of_other_dtypes_are_refused(tiny_family, dog_barks, dtype):
    with pytest.raises(TypeError, match=f"input_ids must hold integer token ids, got dtype {dtype}"):
        generate(tiny_family, input_ids=dog_barks["input_ids"].to(dtype))


def test_int32_token_ids_work(tiny_family, dog_barks):
    audio = generate(
        tiny_family, input_ids=dog_barks["input_ids"].int(), attention_mask=dog_barks["attention_mask"].int()
    )
    assert torch.isfinite(audio).all()


@pytest.mark.parametrize("shape", [(1, 0), (0, 3)], ids=["no-token", "no-prompt"])
def test_empty_token_ids_are_refused(tiny_family, shape):
    with pytest.raises(ValueError, match=re.escape(f"input_ids {shape} holds no prompt or no token")):
        generate(tiny_family, input_ids=torch.zeros(shape, dtype=torch.long))


def test_negative_ids_get_the_same_checks(tiny_family, dog_barks):
    with pytest.raises(
        TypeError, match="negative_input_ids must hold integer token ids, got dtype torch.int8"
    ):
        generate(tiny_family, **dog_barks, negative_input_ids=dog_barks["input_ids"].to(torch.int8))


@pytest.mark.parametrize("scale", [2, 0.5, -1])
def test_attention_mask_values_other_than_0_and_1_are_refused(tiny_family, dog_barks, scale):
    with pytest.raises(ValueError, match="attention_mask must hold only 0 .padding. and 1"):
        generate(
            tiny_family, input_ids=dog_barks["input_ids"], attention_mask=dog_barks["attention_mask"] * scale
        )


def test_attention_mask_without_ids_is_refused(tiny_family, dog_barks):
    with pytest.raises(ValueError, match="attention_mask was given without input_ids"):
        generate(tiny_family, attention_mask=dog_barks["attention_mask"])


def test_float_and_bool_masks_of_0_and_1_work(tiny_family, dog_barks):
    for mask in (dog_barks["attention_mask"].float(), dog_barks["attention_mask"].bool()):
        assert torch.isfinite(
            generate(tiny_family, input_ids=dog_barks["input_ids"], attention_mask=mask)
        ).all()


@pytest.mark.parametrize("shape", [(1, 7), (2, 1600), (1, 1, 1601)])
def test_padding_mask_of_another_shape_is_refused(tiny_family, prompted, shape):
    with pytest.raises(ValueError, match=r"padding_mask \(.*\) does not fit input_values \(1, 1, 1600\)"):
        generate(tiny_family, **{**prompted, "padding_mask": torch.ones(shape, dtype=torch.long)})


def test_padding_mask_values_and_orphans_are_refused(tiny_family, prompted):
    with pytest.raises(ValueError, match="padding_mask must hold only 0 .padding. and 1"):
        generate(tiny_family, **{**prompted, "padding_mask": prompted["padding_mask"] * 3})
    with pytest.raises(ValueError, match="padding_mask was given without input_values"):
        generate(tiny_family, input_ids=prompted["input_ids"], padding_mask=prompted["padding_mask"])


@pytest.mark.parametrize("dtype", [torch.int16, torch.int64, torch.uint8])
def test_integer_input_values_are_refused_in_generate(tiny_family, prompted, dtype):
    """generate() has no way to know their full scale; the processor does."""
    with pytest.raises(
        TypeError, match=f"input_values must be a float waveform in .-1, 1., got dtype {dtype}"
    ):
        generate(
            tiny_family, input_ids=prompted["input_ids"], input_values=prompted["input_values"].to(dtype)
        )


def test_empty_audio_batches_are_refused(tiny_family, processor):
    with pytest.raises(ValueError, match="input_values holds no audio prompt .batch of 0."):
        generate(tiny_family, input_values=torch.zeros(0, 1, 1600))
    with pytest.raises(ValueError, match="audio is a batch of 0 clips"):
        processor(audio=np.zeros((0, 1, 1600), np.float32), sampling_rate=16000)


@pytest.mark.parametrize(
    "dtype,full_scale,offset",
    [
        (np.int8, 2**7, 0),
        (np.int16, 2**15, 0),
        (np.int32, 2**31, 0),
        (np.uint8, 2**7, 2**7),
        (np.uint16, 2**15, 2**15),
        (np.uint32, 2**31, 2**31),
    ],
)
def test_every_integer_pcm_dtype_is_scaled(processor, dtype, full_scale, offset):
    info = np.iinfo(dtype)
    clip = np.array([info.min, offset, info.max] * 200, dtype=dtype)
    values = processor(audio=clip, sampling_rate=16000)["input_values"][0, 0, :3].double()
    expected = (torch.tensor([info.min, offset, info.max], dtype=torch.float64) - offset) / full_scale
    torch.testing.assert_close(values, expected, atol=1e-6, rtol=0)
    tensor = torch.from_numpy(clip.astype(np.int16)) if dtype == np.int16 else None
    if tensor is not None:  # torch integer tensors take the same path
        torch.testing.assert_close(
            processor(audio=tensor, sampling_rate=16000)["input_values"][0, 0, :3].double(),
            expected,
            atol=1e-6,
            rtol=0,
        )


@pytest.mark.parametrize(
    "audio",
    [np.zeros(1600, np.int64), np.zeros(1600, np.uint64), torch.zeros(1600, dtype=torch.int64), [0] * 1600],
    ids=["int64", "uint64", "torch-int64", "python-ints"],
)
def test_64_bit_integers_are_refused(processor, audio):
    with pytest.raises(TypeError, match="which is no PCM format .*8 / 16 / 32-bit integer PCM"):
        processor(audio=audio, sampling_rate=16000)


def test_bool_audio_is_refused(processor):
    with pytest.raises(TypeError, match="has dtype bool; pass float waveforms"):
        processor(audio=np.zeros(1600, bool), sampling_rate=16000)
