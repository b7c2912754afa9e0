"""MAGNeT past its window: the window arithmetic (pure) and continuity (each window prompted by the last)."""

from __future__ import annotations

import pytest
import torch

from audiogen_hf.models.magnet.long_form import default_stride_frames, magnet_windows

STEPS = [2, 1, 1, 1]
TEXTS = ["a dog barks", "rain falls"]


# ------------------------------------------------------------------------------------------------ arithmetic


def test_one_window_when_it_fits():
    assert magnet_windows(0, 50, 50, None, 3, "nonoverlap") == [(0, 50)]
    assert magnet_windows(10, 40, 50, 24, 3, "nonoverlap") == [(0, 40)]


@pytest.mark.parametrize(
    "prompt,total,window,stride,span,arrangement",
    [
        (0, 130, 50, None, 3, "nonoverlap"),
        (7, 200, 50, 24, 3, "nonoverlap"),
        (0, 101, 100, 48, 3, "nonoverlap"),
        (0, 130, 50, 10, 3, "stride1"),
        (5, 77, 20, 1, 1, "nonoverlap"),
    ],
)
def test_windows_cover_the_clip_in_whole_spans(prompt, total, window, stride, span, arrangement):
    windows = magnet_windows(prompt, total, window, stride, span, arrangement)
    unit = span if arrangement == "nonoverlap" else 1
    window_len = unit * (window // unit)
    step = default_stride_frames(window_len, unit) if stride is None else stride
    covered = unit * (total // unit)
    assert windows[0] == (0, window_len)
    assert [start for start, _ in windows] == [i * step for i in range(len(windows))]
    assert all(frames <= window_len and frames % unit == 0 for _, frames in windows)
    assert windows[-1][0] + windows[-1][1] == covered
    for (start, frames), (next_start, _) in zip(windows[:-1], windows[1:], strict=True):
        assert start + frames - next_start == window_len - step  # the next window's prompt: this one's tail
        assert start + frames < covered


def test_default_stride_is_half_a_window_in_spans():
    assert default_stride_frames(99, 3) == 48
    assert default_stride_frames(50, 1) == 25
    assert default_stride_frames(4, 3) == 3


@pytest.mark.parametrize("stride", [0, -3, 48, 60, 10])
def test_bad_strides(stride):
    with pytest.raises(ValueError, match="extend_stride must be a whole number of 3-frame spans"):
        magnet_windows(0, 130, 50, stride, 3, "nonoverlap")


# ------------------------------------------------------------------------------------------------ generate()


def generate(model, inputs, generator, **kwargs):
    return model.generate(
        **inputs, decoding_steps=STEPS, generator=generator, return_dict_in_generate=True, **kwargs
    ).sequences


def test_long_form_is_windows_prompted_by_the_previous_tail(magnet, processor):
    """Past the window, generation equals decoding window by window by hand, each with the tail as prompt."""
    inputs = processor(text=TEXTS)
    long = generate(magnet, inputs, torch.Generator().manual_seed(0), max_new_tokens=100, extend_stride=0.48)
    assert long.shape == (2, 4, 99)
    by_hand = torch.Generator().manual_seed(0)
    codes = generate(magnet, inputs, by_hand, max_length=48)
    for start in (24, 48, 72):
        tail = codes[..., start:]
        more = generate(magnet, inputs, by_hand, prompt_codes=tail, max_length=min(48, 99 - start))
        assert torch.equal(more[..., : tail.shape[-1]], tail)  # the prompt is kept verbatim
        codes = torch.cat([codes[..., :start], more], -1)
    assert torch.equal(long, codes)


def test_long_form_callback_progress_and_batches(magnet, processor, capsys):
    seen = []
    out = magnet.generate(
        **processor(text=TEXTS[:1]),
        decoding_steps=STEPS,
        max_new_tokens=75,
        num_return_sequences=2,
        callback=lambda stage, codes: seen.append((stage, codes.shape[-1])),
        progress=True,
        return_dict_in_generate=True,
    )
    assert out.sequences.shape == (2, 4, 75)
    assert out.audio.shape[-1] == 75 * 320
    # default stride 24 (half the 48-frame window): windows at 0 and 24 (48 frames each), then 48 (27 frames)
    assert seen == [(s, n) for n in (48, 72, 75) for s in range(4)]
    assert f"{3 * sum(STEPS)}/{3 * sum(STEPS)}" in capsys.readouterr().err


def test_long_form_with_an_audio_prompt_keeps_it(magnet, processor):
    prompt = torch.randint(0, 64, (2, 4, 30), generator=torch.Generator().manual_seed(4))
    out = generate(
        magnet,
        processor(text=TEXTS),
        torch.Generator().manual_seed(1),
        prompt_codes=prompt,
        max_new_tokens=60,
    )
    assert out.shape == (2, 4, 90)
    assert torch.equal(out[..., :30], prompt)


# ------------------------------------------------------------------------------------------------ prompt_codes


@pytest.mark.parametrize(
    "prompt,error,message",
    [
        (torch.zeros(2, 4, 10), TypeError, "torch.long tensor"),
        (torch.zeros(1, 4, 10, dtype=torch.long), ValueError, "one row per text prompt"),
        (torch.zeros(2, 3, 10, dtype=torch.long), ValueError, "\\[2, 4, frames\\]"),
        (torch.full((2, 4, 10), 64), ValueError, "codec codes in \\[0, 64\\)"),
        (torch.full((2, 4, 10), -1), ValueError, "codec codes in"),
        (torch.zeros(2, 4, 0, dtype=torch.long), ValueError, "holds no frame"),
        (torch.zeros(2, 4, 50, dtype=torch.long), ValueError, "must be shorter than MAGNeT's window"),
    ],
)
def test_bad_prompt_codes(magnet, processor, prompt, error, message):
    with pytest.raises(error, match=message):
        magnet.generate(**processor(text=TEXTS), decoding_steps=STEPS, prompt_codes=prompt)


def test_prompt_codes_and_audio_are_exclusive(magnet, processor):
    audio = processor(text=TEXTS, audio=[torch.zeros(3200).numpy()] * 2, sampling_rate=16000)
    with pytest.raises(ValueError, match="input_values= or as prompt_codes=, not both"):
        magnet.generate(**audio, decoding_steps=STEPS, prompt_codes=torch.zeros(2, 4, 5, dtype=torch.long))
