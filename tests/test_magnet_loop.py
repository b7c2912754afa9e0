"""MAGNeT loops: the circular pieces (models/magnet/loop.py) and generate(..., loop=True) on a tiny random MAGNeT."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audiogen_hf.evaluation.seams import wrap_step
from audiogen_hf.models.magnet import loop, masking

from .test_magnet_generation import DecoderCalls

FAST_STEPS = [3, 2, 2, 1]
HOP = 320


# ------------------------------------------------------------------------------------------------ pure functions


def test_circular_band_wraps_around_and_matches_the_band_inside():
    band = masking.band_attention_mask(1, 12, 2, circular=True)
    plain = masking.band_attention_mask(1, 12, 2)
    assert band.shape == (1, 1, 12, 12)
    assert band[0, 0, 0, 11] == 0 and band[0, 0, 11, 1] == 0 and band[0, 0, 0, 3] == float("-inf")
    assert plain[0, 0, 0, 11] == float("-inf")
    assert torch.equal(band[..., 3:9, 3:9], plain[..., 3:9, 3:9])  # far from the seam: the usual band
    assert torch.equal(band, band.transpose(-1, -2))
    assert masking.band_attention_mask(0, 12, 2, circular=True) is None
    assert masking.band_attention_mask(2, 12, -1, circular=True) is None


def test_seam_visits_spread_places():
    shifts = [loop.seam_shift(i, 10, 99) for i in range(10)]
    assert shifts[0] == 49 and len(set(shifts)) == 10 and all(0 <= s < 99 for s in shifts)
    assert loop.seam_shift(0, 1, 6) == 3


def test_rolled_logits_returns_the_clips_own_order():
    codes = torch.arange(2 * 3 * 7).reshape(2, 3, 7)

    def per_frame(c, scale):  # a position-wise "model": logits [B, 1, T, 1] of codebook 0
        return (c[:, :1, :, None] * scale).float()

    for shift in (0, 1, 5):
        assert torch.equal(loop.rolled_logits(per_frame, codes, shift, 2), per_frame(codes, 2))
    calls = []
    loop.rolled_logits(lambda c: calls.append(c) or c[:, :1, :, None], codes, 3)
    assert torch.equal(calls[0], codes.roll(-3, dims=-1))


def test_circular_decode_runs_the_end_into_the_start():
    t = torch.arange(3 * 100, dtype=torch.float32)

    def decode(codes):  # a "codec" whose tiled output is one smooth wave that is not periodic in the clip
        assert codes.shape[-1] == 30
        return torch.sin(0.05 * t + 0.0001 * t**2)[None, None]

    clip = loop.circular_decode(decode, torch.zeros(1, 4, 10, dtype=torch.long))
    tiled = decode(torch.zeros(1, 4, 30))
    assert clip.shape == (1, 1, 100)
    assert clip[..., 0] == tiled[..., 200]  # the exact sample after the clip's last one
    assert torch.equal(clip[..., 10:], tiled[..., 110:200])  # only the first frame is cross-faded
    assert wrap_step(clip[0].numpy())["percentile"] < 100


# ------------------------------------------------------------------------------------------------ generate()


def test_loop_false_is_plain_generation(magnet, processor):
    texts = processor(text=["dog barks"])
    plain = magnet.generate(**texts, decoding_steps=FAST_STEPS, generator=torch.Generator().manual_seed(0))
    same = magnet.generate(
        **texts, loop=False, decoding_steps=FAST_STEPS, generator=torch.Generator().manual_seed(0)
    )
    assert torch.equal(plain, same)


def test_loop_decodes_over_a_circular_window(magnet, processor):
    """With a prompt, every decoder pass sees the prompt rolled to where the seam schedule puts it, codebooks
    above 0 attend through the circular band, and the audio is the codes' circular decode."""
    gen = torch.Generator().manual_seed(0)
    prompt = processor(audio=(torch.randn(12 * HOP, generator=gen) * 0.3).numpy(), sampling_rate=16000)
    prompt_codes = magnet.encode_audio(prompt["input_values"], prompt["padding_mask"])
    with DecoderCalls(magnet) as calls:
        out = magnet.generate(
            **processor(text=["dog barks", "rain"]),
            input_values=prompt["input_values"].repeat(2, 1, 1),
            loop=True,
            decoding_steps=FAST_STEPS,
            generator=torch.Generator().manual_seed(1),
            return_dict_in_generate=True,
        )
    inputs, masks = calls.inputs, calls.masks
    length = out.sequences.shape[-1]
    assert length == 48 and torch.equal(out.sequences[..., :12], prompt_codes.expand(2, -1, -1))
    steps = [(stage, i, n) for stage, n in enumerate(FAST_STEPS) for i in range(n)]
    assert len(inputs) == len(steps)
    for codes, mask, (stage, i, n) in zip(inputs, masks, steps, strict=True):
        unrolled = codes.roll(loop.seam_shift(i, n, length), dims=-1)
        assert torch.equal(unrolled[:2, :, :12], prompt_codes.expand(2, -1, -1))
        expected = masking.band_attention_mask(
            stage, length, magnet.config.decoder.subcodes_context, circular=True
        )
        assert (mask is None) if expected is None else torch.equal(mask, expected)
    assert torch.equal(out.audio, loop.circular_decode(magnet.decode_audio, out.sequences))
    assert out.audio.shape == (2, 1, 48 * HOP)


def test_loop_refuses_long_form_windows_and_non_bools(magnet, processor):
    texts = processor(text=["dog barks"])
    with pytest.raises(ValueError, match="loop=True decodes one circular window.*drop loop"):
        magnet.generate(**texts, loop=True, max_new_tokens=80, decoding_steps=FAST_STEPS)
    with pytest.raises(TypeError, match="loop must be True or False"):
        magnet.generate(**texts, loop="yes", decoding_steps=FAST_STEPS)


def test_loop_and_infill_together_keep_the_context(magnet, processor):
    gen = torch.Generator().manual_seed(2)
    audio = processor(audio=(torch.randn(45 * HOP, generator=gen) * 0.3).numpy(), sampling_rate=16000)
    codes = magnet.encode_audio(audio["input_values"], audio["padding_mask"])
    out = magnet.generate(
        **processor(text=["rain"]),
        **audio,
        infill=(0.7, 0.9),
        loop=True,
        decoding_steps=FAST_STEPS,
        return_dict_in_generate=True,
    )
    assert torch.equal(out.sequences[..., :35], codes[..., :35])
    assert np.isfinite(out.audio.numpy()).all() and out.audio.shape[-1] == 45 * HOP
