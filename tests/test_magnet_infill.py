"""MAGNeT infill: the pure frame arithmetic (models/magnet/infill.py) and generate(..., infill=...) on a tiny
random MAGNeT (offline): kept frames are the context's codes bit for bit, only the ranges are decoded."""

from __future__ import annotations

import pytest
import torch

from audiogen_hf.models.magnet import infill
from audiogen_hf.models.magnet.masking import DONT_REMASK_SCORE

from .test_magnet_generation import DecoderCalls
from .test_magnet_generation import audio_prompt as context

FAST_STEPS = [3, 2, 2, 1]
HOP = 320  # the tiny codec: 16 kHz, 50 frames/s


# ------------------------------------------------------------------------------------------------ pure functions


def test_seconds_become_merged_frame_ranges():
    assert infill.infill_frame_ranges((0.2, 0.3), 50, 50) == [(10, 15)]
    # a range covers every frame it touches; overlapping and touching ranges merge; order does not matter
    assert infill.infill_frame_ranges([(0.61, 0.62), (0.1, 0.2), (0.15, 0.3)], 50, 50) == [(5, 15), (30, 31)]
    assert infill.infill_frame_ranges([[0.0, 0.1], [0.1, 0.2]], 50, 50) == [(0, 10)]
    # the end may round up to the context's last frame
    assert infill.infill_frame_ranges((0.9, 1.005), 50, 50) == [(45, 50)]


@pytest.mark.parametrize(
    "ranges,message",
    [
        ((0.3, 0.3), "empty or inverted"),
        ((0.5, 0.2), "empty or inverted"),
        ((-0.1, 0.2), "outside the 1.00 s context"),
        ((0.5, 1.5), "outside the 1.00 s context"),
        ((0.0, 1.0), "cover the whole"),
        ([(0.0, 0.5), (0.5, 1.0)], "cover the whole"),
        ((0.1, float("nan")), "two finite numbers"),
        ((0.1, True), "pair or a list of them"),
        ("0.1-0.2", "pair or a list of them"),
        ([], "pair or a list of them"),
        ([(0.1, 0.2, 0.3)], "pair or a list of them"),
    ],
)
def test_bad_ranges_are_refused_with_the_fix(ranges, message):
    with pytest.raises(ValueError, match=message):
        infill.infill_frame_ranges(ranges, 50, 50)


def test_padding_keep_mask_and_initial_scores():
    assert infill.padded_length(50, 3, "nonoverlap") == 51
    assert infill.padded_length(50, 3, "stride1") == 50
    assert infill.padded_length(48, 3, "nonoverlap") == 48
    keep = infill.keep_mask([(4, 7)], 10, 12)
    assert keep.tolist() == [True] * 4 + [False] * 3 + [True] * 3 + [False] * 2
    context = torch.arange(2 * 2 * 10).reshape(2, 2, 10)
    kept = infill.build_kept_frames(context, [(4, 7)], 12, mask_id=99)
    assert kept.codes.shape == (2, 2, 12) and (kept.codes[..., 10:] == 99).all()
    # spans of 3: [0,3) kept, [3,6) and [6,9) straddle the range, [9,12) holds padding -> 3 spans to decode
    scores, units = kept.initial_scores(2, 3, chunked=True)
    assert units == 3 and scores.shape == (2, 1, 4)
    assert scores[0, 0].tolist() == [DONT_REMASK_SCORE, 0, 0, 0]
    scores, units = kept.initial_scores(2, 3, chunked=False)
    assert units == 5 and (scores[..., keep] == DONT_REMASK_SCORE).all() and (scores[..., ~keep] == 0).all()
    start = kept.initial_codes(99)
    assert torch.equal(start[..., keep], context[..., keep[:10]]) and (start[..., ~keep] == 99).all()
    restored = kept.restore(torch.full((2, 1, 12), 7), stage=1)
    assert torch.equal(restored[..., keep], context[:, 1:2, keep[:10]]) and (restored[..., ~keep] == 7).all()


# ------------------------------------------------------------------------------------------------ generate()


@pytest.mark.parametrize("arrangement", ["nonoverlap", "stride1"])
def test_infill_keeps_every_frame_outside_the_ranges_bit_for_bit(magnet, processor, arrangement):
    audio = context(processor, 50, batch=2)
    texts = processor(text=["dog barks", "rain"])
    codes = magnet.encode_audio(audio["input_values"], audio["padding_mask"])
    keep = infill.keep_mask([(10, 17), (30, 34)], 50, 50)
    with DecoderCalls(magnet) as calls:
        out = magnet.generate(
            **texts,
            **audio,
            infill=[(0.2, 0.33), (0.6, 0.68)],
            decoding_steps=FAST_STEPS,
            span_arrangement=arrangement,
            num_return_sequences=2,
            return_dict_in_generate=True,
        )
    expected = codes.repeat_interleave(2, dim=0)
    assert out.sequences.shape == (4, 4, 50)
    assert torch.equal(out.sequences[..., keep], expected[..., keep])
    assert (out.sequences < magnet.config.decoder.vocab_size).all()
    assert (out.sequences[..., ~keep] != expected[..., ~keep]).any()  # the ranges were decoded
    # every decoder pass saw the context outside the ranges; the first one saw the ranges (only) masked
    assert all(torch.equal(x[:4, :, :50][..., keep], expected[..., keep]) for x in calls.inputs)
    first = calls.inputs[0][:4, :, :50]
    assert (first[..., ~keep] == magnet.config.decoder.special_token_id).all()
    assert out.audio.shape == (4, 1, 50 * HOP)


def test_infill_is_seeded_text_guided_and_accepts_codes(magnet, processor):
    audio = context(processor, 40)
    codes = magnet.encode_audio(audio["input_values"], audio["padding_mask"])

    def run(text, seed, **kwargs):
        gen = torch.Generator().manual_seed(seed)
        return magnet.generate(
            **processor(text=[text]),
            infill=(0.3, 0.5),
            decoding_steps=FAST_STEPS,
            generator=gen,
            return_dict_in_generate=True,
            **kwargs,
        ).sequences

    first = run("dog barks", 0, **audio)
    assert torch.equal(first, run("dog barks", 0, prompt_codes=codes))
    assert not torch.equal(first, run("dog barks", 1, **audio))
    assert not torch.equal(first, run("heavy rain falls on the car", 0, **audio))
    negative = run(
        "dog barks", 0, negative_prompt=processor.tokenizer(["rain"], return_tensors="pt"), **audio
    )
    assert torch.equal(negative[..., :15], codes[..., :15]) and torch.equal(
        negative[..., 25:], codes[..., 25:]
    )


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"infill": (0.2, 0.4)}, "needs the recording: pass it as input_values="),
        ({"infill": (0.2, 0.4), "context_frames": 30, "max_new_tokens": 10}, "drop max_new_tokens"),
        (
            {"infill": (0.2, 0.4), "context_frames": 30, "extend_stride": 0.3},
            "drop max_new_tokens and extend",
        ),
        ({"infill": (0.4, 0.2), "context_frames": 30}, "empty or inverted"),
        ({"infill": (0.2, 0.9), "context_frames": 30}, "outside the 0.60 s context"),
        ({"infill": (0.0, 0.6), "context_frames": 30}, "cover the whole"),
        ({"infill": (0.2, 0.4), "context_frames": 60}, "longer than MAGNeT's window"),
    ],
)
def test_bad_infill_requests(magnet, processor, kwargs, message):
    frames = kwargs.pop("context_frames", None)
    audio = {} if frames is None else context(processor, frames)
    with pytest.raises(ValueError, match=message):
        magnet.generate(**processor(text=["dog barks"]), **audio, decoding_steps=FAST_STEPS, **kwargs)
