"""AudioGen model API: forward/loss, save/load, Auto classes, pipeline, config checks, bad inputs."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F
from transformers import AutoConfig, AutoModelForTextToWaveform, AutoProcessor, pipeline

from audiogen_hf import AudioGenConfig, AudioGenForConditionalGeneration, AudioGenProcessor
from audiogen_hf.generation.delay_pattern import build_delay_pattern
from audiogen_hf.tiny import tiny_audiogen_config, tiny_codec_config


def test_forward_loss_is_audiocrafts_objective(audiogen, processor):
    inputs = processor(text=["a dog barks", "rain"])
    codes = torch.randint(0, 64, (2, 4, 9))
    out = audiogen(**inputs, labels=codes)
    assert out.logits.shape == (2, 4, 9, 64)
    # Independent computation: decoder on the delayed sequence (T + 1 steps, as compute_predictions),
    # per-codebook CE on the valid positions, mean over codebooks.
    dec = audiogen.config.decoder
    seq, _ = build_delay_pattern(codes, dec.delays, dec.special_token_id)
    cond = audiogen.encode_text(inputs["input_ids"], inputs["attention_mask"])
    step_logits, _ = audiogen.decoder(seq[..., :10], cond)
    losses = []
    for q in range(4):
        frames = 9 - q
        logits_q = step_logits[:, q, q : q + frames]
        assert torch.allclose(out.logits[:, q, :frames], logits_q, atol=1e-5)
        losses.append(F.cross_entropy(logits_q.reshape(-1, 64), codes[:, q, :frames].reshape(-1)))
    assert torch.allclose(out.loss, torch.stack(losses).mean(), atol=1e-5)
    assert out.logits_mask[0].sum(-1).tolist() == [9, 8, 7, 6]


def test_forward_with_pattern_tail_predicts_every_frame(audiogen, processor):
    inputs = processor(text=["a dog barks", "rain"], padding=True)
    codes = torch.randint(0, 64, (2, 4, 9))
    dec = audiogen.config.decoder
    out = audiogen(**inputs, labels=codes, include_pattern_tail=True)
    assert out.logits_mask.all() and out.logits.shape == (2, 4, 9, 64)
    seq, _ = build_delay_pattern(codes, dec.delays, dec.special_token_id)
    cond = audiogen.encode_text(inputs["input_ids"], inputs["attention_mask"])
    step_logits, _ = audiogen.decoder(seq[..., : 9 + max(dec.delays)], cond)
    losses = []
    for q in range(4):
        logits_q = step_logits[:, q, q : q + 9]
        assert torch.allclose(out.logits[:, q], logits_q, atol=1e-5)
        losses.append(F.cross_entropy(logits_q.reshape(-1, 64), codes[:, q].reshape(-1)))
    assert torch.allclose(out.loss, torch.stack(losses).mean(), atol=1e-5)
    # the frames both objectives predict get the same logits
    plain = audiogen(**inputs, labels=codes)
    assert torch.allclose(plain.logits[plain.logits_mask], out.logits[plain.logits_mask], atol=1e-5)


@pytest.mark.parametrize("tail", [False, True])
def test_training_the_pattern_tail_is_what_makes_clip_ends_right(processor, tail):
    """Memorise one code sequence, then decode it greedily: without the tail, generation's last steps (the
    special token standing in for finished codebooks, never seen in training) get the last `delay[q]` frames of
    codebook `q` wrong; with it every frame comes back."""
    from tests.conftest import make_tiny_audiogen

    model = make_tiny_audiogen(seed=0).train()
    torch.manual_seed(0)
    codes = torch.randint(0, 64, (1, 4, 8))
    inputs = processor(text=["a dog barks"])
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    for _ in range(150):
        loss = model(**inputs, labels=codes, include_pattern_tail=tail).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    out = model.generate(
        **inputs, max_new_tokens=8, do_sample=False, guidance_scale=1.0, return_dict_in_generate=True
    )
    right = (out.sequences == codes)[0]
    assert right[:, :5].all()  # frames every codebook had in training either way
    if tail:
        assert right.all()
    else:
        tail_frames = torch.arange(8)[None, :] >= 8 - torch.tensor([0, 1, 2, 3])[:, None]
        assert not right[tail_frames].all() and right[~tail_frames].all()


def test_forward_ignores_negative_labels_and_trains(processor):
    from tests.conftest import make_tiny_audiogen

    model = make_tiny_audiogen(seed=1).train()
    inputs = processor(text=["a dog barks"])
    codes = torch.randint(0, 64, (1, 4, 8))
    codes[..., -2:] = -100
    out = model(**inputs, labels=codes)
    assert out.logits_mask[0, 0].tolist() == [True] * 6 + [False] * 2
    out.loss.backward()
    assert model.decoder.lm_heads[0].weight.grad is not None
    assert all(p.grad is None for p in model.text_encoder.parameters())


def test_save_load_round_trip_gives_identical_outputs(audiogen, processor, saved_audiogen):
    loaded = AutoModelForTextToWaveform.from_pretrained(saved_audiogen).eval()
    assert isinstance(loaded, AudioGenForConditionalGeneration)
    assert isinstance(AutoProcessor.from_pretrained(saved_audiogen), AudioGenProcessor)
    for key, value in audiogen.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    inputs = processor(text=["a dog barks", "rain"])
    a = audiogen.generate(**inputs, max_new_tokens=8, do_sample=False)
    b = loaded.generate(**inputs, max_new_tokens=8, do_sample=False)
    assert torch.equal(a, b)
    assert loaded.generation_config.top_k == 250


def test_auto_config_resolves(saved_audiogen):
    config = AutoConfig.from_pretrained(saved_audiogen)
    assert isinstance(config, AudioGenConfig)
    assert (config.sampling_rate, config.frame_rate, config.max_frames) == (16000, 50, 50)


def test_pipeline_by_path_and_instance(saved_audiogen, audiogen, processor):
    pipe = pipeline("text-to-audio", model=str(saved_audiogen))
    out = pipe("a dog barks", forward_params={"max_new_tokens": 6, "do_sample": False})
    assert out["sampling_rate"] == 16000 and out["audio"].shape == (6 * 320,)
    many = pipe(["a dog barks", "rain"], generate_kwargs={"max_new_tokens": 4})
    assert len(many) == 2 and many[1]["audio"].shape == (4 * 320,)
    by_instance = pipeline("text-to-audio", model=audiogen, tokenizer=processor.tokenizer)
    direct = audiogen.generate(**processor(text=["rain"]), max_new_tokens=5, do_sample=False)
    piped = by_instance("rain", forward_params={"max_new_tokens": 5, "do_sample": False})
    assert np.allclose(piped["audio"], direct[0, 0].numpy(), atol=1e-6)


def test_min_p_one_samples_the_most_probable_code_like_greedy(processor, audiogen):
    inputs = processor(text=["rain", "wind"])
    greedy = audiogen.generate(**inputs, max_new_tokens=6, do_sample=False, return_dict_in_generate=True)
    sampled = audiogen.generate(
        **inputs, max_new_tokens=6, do_sample=True, temperature=2.0, min_p=1.0, return_dict_in_generate=True
    )
    hot = audiogen.generate(
        **inputs, max_new_tokens=6, do_sample=True, temperature=2.0, return_dict_in_generate=True
    )
    assert torch.equal(sampled.sequences, greedy.sequences)
    assert not torch.equal(hot.sequences, greedy.sequences)  # without min_p the same knobs wander


def test_batch_decode_returns_numpy(processor, audiogen):
    audio = audiogen.generate(**processor(text=["rain", "wind"]), max_new_tokens=3)
    decoded = processor.batch_decode(audio)
    assert len(decoded) == 2 and decoded[0].shape == (1, 960)


# --------------------------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"max_new_tokens": -3}, "max_new_tokens"),
        ({"top_p": 0.0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
        ({"temperature": -1.0}, "temperature"),
        ({"top_k": -1}, "top_k"),
        ({"num_return_sequences": 0}, "num_return_sequences"),
        ({"banana": 3}, "banana"),
        ({"min_p": 1.5}, "min_p"),
        ({"num_beams": 2}, r"does not implement \{'num_beams': 2\}"),
        ({"repetition_penalty": 1.3, "no_repeat_ngram_size": 2}, "repetition_penalty.*no_repeat_ngram_size"),
        ({"typical_p": 0.5}, "does not implement"),
    ],
)
def test_bad_generate_knobs(audiogen, processor, kwargs, match):
    with pytest.raises(ValueError, match=match):
        audiogen.generate(**processor(text=["rain"]), **kwargs)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda p: p(text=[]), ValueError, "empty list"),
        (lambda p: p(text=["ok", 3]), TypeError, "strings"),
        (lambda p: p(text=None), ValueError, "pass text"),
        (lambda p: p(audio=np.zeros(0, dtype=np.float32), sampling_rate=16000), ValueError, "empty"),
        (
            lambda p: p(audio=np.array([0.1, np.nan, 0.2] * 400), sampling_rate=16000),
            ValueError,
            "NaN or inf",
        ),
        (lambda p: p(audio=np.array([0.1, np.inf] * 600), sampling_rate=16000), ValueError, "NaN or inf"),
        (lambda p: p(audio=np.zeros(1600, dtype=np.float32)), ValueError, "sampling_rate"),
    ],
)
def test_bad_processor_inputs(processor, call, error, match):
    with pytest.raises(error, match=match):
        call(processor)


def test_audio_prompt_longer_than_window(audiogen, processor):
    inputs = processor(
        text=["rain"], audio=np.random.randn(16000 * 2).astype(np.float32) * 0.1, sampling_rate=16000
    )
    with pytest.raises(ValueError, match="shorter than the model's window"):
        audiogen.generate(**inputs, max_new_tokens=5)


def test_nan_input_values_rejected_by_model(audiogen):
    values = torch.zeros(1, 1, 640)
    values[0, 0, 3] = float("nan")
    with pytest.raises(ValueError, match="NaN or inf"):
        audiogen.generate(input_values=values, max_new_tokens=2)


def test_mismatched_sub_configs():
    with pytest.raises(ValueError, match="codebook_size"):
        tiny_audiogen_config(codebook_size=64, vocab_size=32)
    with pytest.raises(ValueError, match="codebooks"):
        AudioGenConfig(
            audio_encoder=dict(model_type="encodec", **tiny_codec_config(64, target_bandwidths=[0.6])),
            decoder=dict(
                vocab_size=64, hidden_size=32, num_hidden_layers=1, num_attention_heads=4, ffn_dim=64
            ),
        )
    with pytest.raises(ValueError, match="divisible"):
        AudioGenConfig(decoder=dict(hidden_size=30, num_attention_heads=4))


def test_forward_requires_labels(audiogen, processor):
    with pytest.raises(ValueError, match="labels"):
        audiogen(**processor(text=["rain"]))
    with pytest.raises(ValueError, match="labels must be codes"):
        audiogen(**processor(text=["rain"]), labels=torch.zeros(1, 3, 5, dtype=torch.long))
