"""AudioGen generate(): cache equivalence, CFG, padding behaviour, continuation, long form, seeding."""

import math

import pytest
import torch

from audiogen_hf.core.modeling_decoder import sinusoidal_embedding
from audiogen_hf.generation.delay_pattern import build_delay_pattern, revert_delay_pattern
from audiogen_hf.generation.windows import sliding_windows


def naive_greedy(model, conditions, num_frames, guidance=None, prompt=None):
    """audiocraft's decode loop written the slow way: full recompute of the prefix at every step, no cache."""
    dec = model.config.decoder
    batch = conditions.shape[0]
    codes = torch.full((batch, 4, num_frames), -1, dtype=torch.long)
    if prompt is not None:
        codes[..., : prompt.shape[-1]] = prompt
    seq, valid = build_delay_pattern(codes, dec.delays, dec.special_token_id)
    start = (0 if prompt is None else prompt.shape[-1]) + 1
    cond = conditions if guidance is None else torch.cat([conditions, torch.zeros_like(conditions)])
    for step in range(start, seq.shape[-1]):
        inp = seq[..., :step] if guidance is None else torch.cat([seq[..., :step]] * 2)
        logits, _ = model.decoder(inp, cond)
        logits = logits[:, :, -1]
        if guidance is not None:
            c, u = logits.chunk(2)
            logits = u + (c - u) * guidance
        nxt = logits.argmax(-1)
        nxt = torch.where(valid[:, step][None], nxt, dec.special_token_id)
        seq[..., step] = torch.where(seq[..., step] == -1, nxt, seq[..., step])
    return revert_delay_pattern(seq, dec.delays, num_frames)


def test_sinusoidal_embedding_is_audiocrafts_formula():
    pos = torch.arange(7.0)
    emb = sinusoidal_embedding(pos, 8, 10000.0)
    half = 4
    i = torch.arange(half, dtype=torch.float32)
    phase = pos[:, None] / (10000.0 ** (i / (half - 1)))
    assert torch.allclose(emb, torch.cat([phase.cos(), phase.sin()], -1))
    assert emb[3, 0] == math.cos(3.0)


@pytest.mark.parametrize("guidance", [None, 3.0])
def test_cached_generate_equals_full_recompute(audiogen, processor, guidance):
    inputs = processor(text=["a dog barks in the rain", "wind"])
    out = audiogen.generate(
        **inputs,
        max_new_tokens=12,
        do_sample=False,
        guidance_scale=guidance or 1.0,
        return_dict_in_generate=True,
    )
    conditions = audiogen.encode_text(inputs["input_ids"], inputs["attention_mask"])
    assert torch.equal(out.sequences, naive_greedy(audiogen, conditions, 12, guidance))


def test_output_shapes_and_audio_matches_codes(audiogen, processor):
    out = audiogen.generate(
        **processor(text=["a dog barks"]), max_new_tokens=10, return_dict_in_generate=True
    )
    assert out.sequences.shape == (1, 4, 10)
    assert out.audio.shape == (1, 1, 10 * 320)
    assert torch.allclose(out.audio, audiogen.decode_audio(out.sequences))
    plain = audiogen.generate(**processor(text=["a dog barks"]), max_new_tokens=10, do_sample=False)
    assert isinstance(plain, torch.Tensor) and plain.shape == (1, 1, 3200)


def test_padded_conditions_are_zeroed_not_masked(audiogen, processor):
    """audiocraft parity trap 1: a prompt's output depends on the batch's padding length."""
    alone = processor(text=["rain"])
    batched = processor(text=["rain", "a dog barks in the rain then a car engine starts"])
    cond_alone = audiogen.encode_text(alone["input_ids"], alone["attention_mask"])
    cond_batched = audiogen.encode_text(batched["input_ids"], batched["attention_mask"])
    n = cond_alone.shape[1]
    assert torch.allclose(cond_batched[0, :n], cond_alone[0], atol=1e-6)
    assert (cond_batched[0, n:] == 0).all()
    seq = torch.randint(0, 64, (1, 4, 6))
    logits_alone, _ = audiogen.decoder(seq, cond_alone)
    logits_padded, _ = audiogen.decoder(seq, cond_batched[:1])
    assert (logits_alone - logits_padded).abs().max() > 1e-4  # zero vectors still dilute the softmax


def test_empty_text_is_the_null_condition(audiogen, processor):
    inputs = processor(text=["", "rain"])
    assert inputs["attention_mask"][0].sum() == 0
    cond = audiogen.encode_text(inputs["input_ids"], inputs["attention_mask"])
    assert (cond[0] == 0).all()


def test_unconditional_generation(audiogen):
    out = audiogen.generate(max_new_tokens=6, num_return_sequences=2, return_dict_in_generate=True)
    assert out.sequences.shape == (2, 4, 6)
    greedy = audiogen.generate(max_new_tokens=6, do_sample=False, return_dict_in_generate=True)
    assert torch.equal(greedy.sequences, naive_greedy(audiogen, audiogen.null_condition(1, 1), 6))


def test_continuation_keeps_prompt_codes(audiogen, processor):
    wav = torch.sin(torch.arange(3200) / 8.0) * 0.3
    inputs = processor(text=["a dog barks"], audio=wav.numpy(), sampling_rate=16000)
    prompt_codes = audiogen.encode_audio(inputs["input_values"])
    out = audiogen.generate(**inputs, max_new_tokens=5, do_sample=False, return_dict_in_generate=True)
    assert out.sequences.shape == (1, 4, prompt_codes.shape[-1] + 5)
    assert torch.equal(out.sequences[..., : prompt_codes.shape[-1]], prompt_codes)
    cond = audiogen.encode_text(inputs["input_ids"], inputs["attention_mask"])
    assert torch.equal(out.sequences, naive_greedy(audiogen, cond, 15, guidance=3.0, prompt=prompt_codes))


def test_two_step_cfg_runs_two_passes_and_matches_batched_cfg(audiogen, processor, monkeypatch):
    """audiocraft's two_step_cfg: the conditional rows and a one-token null condition as separate passes
    (half the peak batch); the codes are those of batched CFG, greedy or seeded, with a prompt and past the
    window."""
    wav = torch.sin(torch.arange(3200) / 8.0) * 0.3
    inputs = processor(text=["a dog barks in the rain", "wind"], audio=[wav.numpy()] * 2, sampling_rate=16000)
    calls = []
    decoder_forward = type(audiogen.decoder).forward

    def recording(self, codes, conditions, *args, **kwargs):
        calls.append((codes.shape[0], conditions.shape[1]))
        return decoder_forward(self, codes, conditions, *args, **kwargs)

    knobs = dict(max_new_tokens=60, extend_stride=0.5, guidance_scale=3.0, return_dict_in_generate=True)
    for sampled in (False, True):
        runs = {}
        for two_step in (False, True):
            calls.clear()
            with monkeypatch.context() as patch:
                patch.setattr(type(audiogen.decoder), "forward", recording)
                runs[two_step] = audiogen.generate(
                    **inputs,
                    do_sample=sampled,
                    two_step_cfg=two_step,
                    generator=torch.Generator().manual_seed(3),
                    **knobs,
                ).sequences
            if two_step:  # never the doubled batch; every other pass is the null on one token
                assert {b for b, _ in calls} == {2} and calls[1::2] == [(2, 1)] * (len(calls) // 2)
            else:
                assert {b for b, _ in calls} == {4}
        assert runs[True].shape == (2, 4, 70) and torch.equal(runs[True], runs[False])
    with pytest.raises(ValueError, match="two_step_cfg must be True or False"):
        audiogen.generate(**processor(text=["wind"]), max_new_tokens=2, two_step_cfg="yes")


def test_processor_resamples_and_downmixes(processor):
    import julius

    stereo = torch.randn(2, 4410) * 0.1
    inputs = processor(audio=stereo.numpy(), sampling_rate=44100)
    assert inputs["input_values"].shape == (1, 1, 1600)
    # audiocraft's convert_audio: julius resampling, then the channel mean.
    expected = julius.resample_frac(stereo, 44100, 16000).mean(0)
    assert torch.allclose(inputs["input_values"][0, 0], expected, atol=1e-6)


def test_sliding_window_schedule_matches_audiocraft():
    # 10 s window, 2 s stride at 50 Hz, 25 s asked: windows start every 100 frames.
    windows = sliding_windows(0, 1250, 500, 100)
    assert windows[0] == (0, 500) and windows[1] == (100, 500)
    assert windows[-1] == (800, 450)
    assert len(windows) == 9
    assert sliding_windows(0, 400, 500, 100) == [(0, 400)]
    assert sliding_windows(120, 700, 500, 100)[0] == (0, 500)


def test_long_generation_chains_windows(audiogen, processor):
    inputs = processor(text=["rain"])
    window = audiogen.config.max_frames  # 50 frames
    out = audiogen.generate(
        **inputs, max_new_tokens=80, do_sample=False, extend_stride=0.5, return_dict_in_generate=True
    )
    assert out.sequences.shape == (1, 4, 80)
    cond = audiogen.encode_text(inputs["input_ids"], inputs["attention_mask"])
    first = naive_greedy(audiogen, cond, window, guidance=3.0)
    assert torch.equal(out.sequences[..., :window], first)
    second = naive_greedy(audiogen, cond, 50, guidance=3.0, prompt=first[..., 25:])
    assert torch.equal(out.sequences[..., 25:75], second)


def test_num_return_sequences_and_seeding(audiogen, processor):
    inputs = processor(text=["a dog barks", "rain"])
    a = audiogen.generate(
        **inputs,
        max_new_tokens=6,
        num_return_sequences=3,
        return_dict_in_generate=True,
        generator=torch.Generator().manual_seed(0),
    )
    b = audiogen.generate(
        **inputs,
        max_new_tokens=6,
        num_return_sequences=3,
        return_dict_in_generate=True,
        generator=torch.Generator().manual_seed(0),
    )
    c = audiogen.generate(
        **inputs,
        max_new_tokens=6,
        num_return_sequences=3,
        return_dict_in_generate=True,
        generator=torch.Generator().manual_seed(1),
    )
    assert a.sequences.shape == (6, 4, 6)
    assert torch.equal(a.sequences, b.sequences) and not torch.equal(a.sequences, c.sequences)


def test_generation_config_defaults(audiogen):
    gc = audiogen.generation_config
    assert (gc.do_sample, gc.top_k, gc.guidance_scale, gc.max_new_tokens) == (True, 250, 3.0, 250)
    assert gc.pad_token_id == audiogen.config.decoder.vocab_size


def test_decoder_can_run_a_subset_of_heads(audiogen):
    codes, cond = torch.randint(0, 65, (2, 4, 5)), torch.randn(2, 3, 32)
    full, _ = audiogen.decoder(codes, cond)
    one, _ = audiogen.decoder(codes, cond, codebooks=[2])
    assert one.shape == (2, 1, 5, 64) and torch.equal(one, full[:, 2:3])
