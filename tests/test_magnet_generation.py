"""MAGNeT end to end on tiny random models (offline): config, generate(), knobs, pipeline, training hook."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F
from transformers import AutoModelForTextToWaveform, AutoProcessor, pipeline

import audiogen_hf  # noqa: F401  (registers the Auto classes)
from audiogen_hf import (
    AudioGenProcessor,
    MagnetConfig,
    MagnetDecoderConfig,
    MagnetForConditionalGeneration,
)
from audiogen_hf.models.magnet import masking as masking
from audiogen_hf.tiny import spread_codebooks, tiny_magnet_config

CODEBOOK_SIZE = 64
FRAMES_PER_SECOND = 50
HOP = 16000 // FRAMES_PER_SECOND
FAST_STEPS = [3, 2, 2, 1]


def build_model(
    tokenizer, max_duration: float = 1.0, seed: int = 0, **decoder
) -> MagnetForConditionalGeneration:
    torch.manual_seed(seed)
    model = MagnetForConditionalGeneration(
        tiny_magnet_config(len(tokenizer), CODEBOOK_SIZE, max_duration, **decoder)
    ).eval()
    spread_codebooks(model, seed)
    return model


@pytest.fixture(scope="module")
def model(processor):
    return build_model(processor.tokenizer)


@pytest.fixture(scope="module")
def texts(processor):
    return processor(text=["dog barks", "heavy rain falls on the car"])


@pytest.fixture(scope="module")
def saved(tmp_path_factory, model, processor):
    path = tmp_path_factory.mktemp("magnet")
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path


def audio_prompt(processor, frames: int, batch: int = 1, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    clips = [(torch.randn(frames * HOP, generator=gen) * 0.3).numpy() for _ in range(batch)]
    return processor(audio=clips if batch > 1 else clips[0], sampling_rate=16000)


class DecoderCalls:
    """Records every decoder call of a generate(): batch size, stage codebook inputs and attention mask."""

    def __init__(self, model):
        self.inputs, self.masks = [], []
        self.handle = model.decoder.register_forward_pre_hook(self._record, with_kwargs=True)

    def _record(self, module, args, kwargs):
        self.inputs.append(args[0].clone())
        self.masks.append(kwargs.get("attention_mask"))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.remove()


# ------------------------------------------------------------------------------------------------ config


def test_config_defaults_and_checks():
    decoder = MagnetDecoderConfig()
    assert decoder.model_type == "magnet_decoder"
    assert decoder.is_causal is False and decoder.delays == [0, 0, 0, 0]
    assert decoder.subcodes_context == 5 and decoder.span_len == 3
    with pytest.raises(ValueError, match="bidirectional"):
        MagnetDecoderConfig(is_causal=True)
    with pytest.raises(ValueError, match="delays must all be 0"):
        MagnetDecoderConfig(delays=[0, 1, 2, 3])
    with pytest.raises(ValueError, match="span_len"):
        MagnetDecoderConfig(span_len=0)
    with pytest.raises(ValueError, match="subcodes_context"):
        MagnetDecoderConfig(subcodes_context=-2)
    with pytest.raises(ValueError, match="MagnetDecoderConfig"):
        MagnetConfig(decoder=audiogen_hf.AudioGenDecoderConfig())
    with pytest.raises(ValueError, match="codebook_size"):
        tiny_magnet_config(32, vocab_size=32)


def test_generation_config_has_audiocraft_defaults(model):
    config = model.generation_config
    assert config.decoding_steps == [20, 10, 10, 10]
    assert (config.temperature, config.top_p, config.top_k, config.do_sample) == (3.0, 0.9, 0, True)
    assert (config.max_cfg_coef, config.min_cfg_coef) == (10.0, 1.0)
    assert (config.span_arrangement, config.span_scoring, config.anneal_temp) == ("nonoverlap", "max", True)
    assert config.max_length == model.config.max_frames == 50
    assert config.pad_token_id == CODEBOOK_SIZE


# ------------------------------------------------------------------------------------------------ generate


def test_default_generate_shapes_and_forward_count(model, texts):
    with DecoderCalls(model) as calls:
        out = model.generate(
            **texts, return_dict_in_generate=True, generator=torch.Generator().manual_seed(0)
        )
    assert len(calls.inputs) == sum([20, 10, 10, 10])
    assert {x.shape[0] for x in calls.inputs} == {4}  # batched [cond; null] CFG
    assert out.sequences.shape == (2, 4, 48)  # nonoverlap: 50 -> 48 frames
    assert out.audio.shape == (2, 1, 48 * HOP)
    assert out.sequences.min() >= 0 and out.sequences.max() < CODEBOOK_SIZE


@pytest.mark.parametrize("steps", [[1, 1, 1, 1], [4, 3, 2, 1], [2, 5, 1, 3]])
def test_forward_passes_equal_sum_of_decoding_steps(model, texts, steps):
    with DecoderCalls(model) as calls:
        model.generate(**texts, decoding_steps=steps)
    assert len(calls.inputs) == sum(steps)


def test_band_mask_only_after_the_first_stage(model, texts):
    with DecoderCalls(model) as calls:
        model.generate(**texts, decoding_steps=FAST_STEPS, span_arrangement="stride1")
    stages = [0] * 3 + [1] * 2 + [2] * 2 + [3]
    for stage, mask in zip(stages, calls.masks, strict=True):
        expected = masking.band_attention_mask(stage, 50, 5)
        if stage == 0:
            assert mask is None
        else:
            assert torch.equal(mask, expected)


def test_stage_inputs_follow_the_masking_schedule(model, texts):
    """Before every forward: earlier codebooks final, later ones all masked, and the current one masked
    exactly as audiocraft's schedule says (nonoverlap: whole chunks of 3)."""
    mask_id = CODEBOOK_SIZE
    steps = [6, 4, 3, 2]
    with DecoderCalls(model) as calls:
        model.generate(**texts, decoding_steps=steps)
    index = 0
    for stage, num_steps in enumerate(steps):
        for step in masking.cosine_schedule(num_steps):
            codes = calls.inputs[index][:2]
            index += 1
            assert (codes[:, :stage] != mask_id).all()
            assert (codes[:, stage + 1 :] == mask_id).all()
            masked = codes[:, stage] == mask_id
            expected_chunks = max(int((step.mask_p * 16).item()), 1)
            assert masked.sum(-1).tolist() == [3 * expected_chunks] * 2
            assert torch.equal(masked.reshape(2, 16, 3).all(-1), masked.reshape(2, 16, 3).any(-1))


def test_stride1_inputs_mask_whole_spans(model, texts):
    mask_id = CODEBOOK_SIZE
    with DecoderCalls(model) as calls:
        out = model.generate(
            **texts, decoding_steps=[8, 2, 2, 2], span_arrangement="stride1", return_dict_in_generate=True
        )
    assert out.sequences.shape == (2, 4, 50)
    first = calls.inputs[0][:2, 0]
    assert (first == mask_id).all()
    for codes in calls.inputs[1:8]:
        for row in (codes[:2, 0] == mask_id).int().tolist():
            runs = [len(r) for r in "".join(map(str, row)).split("0") if r]
            assert runs and min(runs) >= 3  # unions of overlapping 3-frame spans


def test_greedy_is_deterministic_and_leaves_no_mask(model, texts):
    for arrangement in ("nonoverlap", "stride1"):
        first = model.generate(
            **texts,
            do_sample=False,
            decoding_steps=FAST_STEPS,
            span_arrangement=arrangement,
            return_dict_in_generate=True,
        ).sequences
        second = model.generate(
            **texts,
            do_sample=False,
            decoding_steps=FAST_STEPS,
            span_arrangement=arrangement,
            return_dict_in_generate=True,
        ).sequences
        assert torch.equal(first, second)
        assert (first != CODEBOOK_SIZE).all() and (first >= 0).all()


def test_min_p_one_decodes_like_greedy(model, texts):
    """min_p 1 keeps only each position's most probable code, and the confidences see unfiltered
    probabilities: the same spans are kept as greedily, so the codes are the greedy ones."""
    kwargs = dict(decoding_steps=FAST_STEPS, return_dict_in_generate=True, temperature=3.0)
    greedy = model.generate(**texts, do_sample=False, **kwargs).sequences
    sampled = model.generate(**texts, do_sample=True, min_p=1.0, **kwargs).sequences
    hot = model.generate(**texts, do_sample=True, **kwargs).sequences
    assert torch.equal(sampled, greedy) and not torch.equal(hot, greedy)


def test_generator_seeds_sampling(model, texts):
    def run(seed, **kwargs):
        return model.generate(
            **texts,
            decoding_steps=FAST_STEPS,
            generator=torch.Generator().manual_seed(seed),
            return_dict_in_generate=True,
            **kwargs,
        ).sequences

    assert torch.equal(run(1), run(1))
    assert not torch.equal(run(1), run(2))
    assert torch.equal(run(3, top_k=5, top_p=1.0), run(3, top_k=5, top_p=1.0))


def test_sampling_consumes_rng_for_every_position(model, texts, monkeypatch):
    """audiocraft draws a token for all T positions at every iteration, masked or not."""
    drawn = []
    original = torch.multinomial

    def spy(probs, *args, **kwargs):
        drawn.append(probs.shape[0])
        return original(probs, *args, **kwargs)

    monkeypatch.setattr(torch, "multinomial", spy)
    model.generate(**texts, decoding_steps=FAST_STEPS)
    assert drawn == [2 * 48] * sum(FAST_STEPS)


def test_temperature_and_cfg_annealing_per_step(model, texts, monkeypatch):
    temperatures, coefficients = [], []
    annealed, cfg = masking.annealed_temperature, masking.cfg_coefficient
    monkeypatch.setattr(
        masking, "annealed_temperature", lambda *a: temperatures.append(annealed(*a)) or temperatures[-1]
    )
    monkeypatch.setattr(
        masking, "cfg_coefficient", lambda *a: coefficients.append(cfg(*a)) or coefficients[-1]
    )
    steps = [5, 2, 2, 1]
    model.generate(**texts, decoding_steps=steps, temperature=2.0, max_cfg_coef=6.0, min_cfg_coef=2.0)
    expected_t, expected_c = [], []
    for n in steps:
        for step in masking.cosine_schedule(n):
            expected_t.append(max(2.0 * (step.steps_left / n), 0.01))
            p = float(step.mask_p)
            expected_c.append(p * 6.0 + (1 - p) * 2.0)
    assert temperatures == expected_t
    assert coefficients == expected_c
    assert temperatures[:5] == [1.6, 1.2, 0.8, 0.4, 0.01] and coefficients[0] == 6.0


def test_output_length_nonoverlap_trims_to_spans(processor):
    model = build_model(processor.tokenizer, max_duration=2.0)
    texts = processor(text=["bird sings"])
    steps = [1, 1, 1, 1]
    nonoverlap = model.generate(**texts, decoding_steps=steps, return_dict_in_generate=True)
    assert nonoverlap.sequences.shape == (1, 4, 99)  # 100 frames -> 33 spans of 3
    assert nonoverlap.audio.shape[-1] == 99 * HOP
    stride1 = model.generate(
        **texts, decoding_steps=steps, span_arrangement="stride1", return_dict_in_generate=True
    )
    assert stride1.sequences.shape == (1, 4, 100)
    short = model.generate(**texts, decoding_steps=steps, max_new_tokens=20, return_dict_in_generate=True)
    assert short.sequences.shape == (1, 4, 18)


def test_waveform_by_default_and_num_return_sequences(model, texts):
    audio = model.generate(**texts, decoding_steps=FAST_STEPS, num_return_sequences=3)
    assert isinstance(audio, torch.Tensor) and audio.shape == (6, 1, 48 * HOP)


def test_unconditional_generation_skips_cfg(model):
    with DecoderCalls(model) as calls:
        out = model.generate(decoding_steps=FAST_STEPS, return_dict_in_generate=True)
    assert out.sequences.shape == (1, 4, 48)
    assert {x.shape[0] for x in calls.inputs} == {1}


def test_guidance_fixed_at_one_skips_the_null_pass_and_keeps_the_tokens(model, texts):
    """cfg 1 -> 1 is the conditional logits alone: one decoder pass per step, the same tokens as the batched
    [cond; null] path gives (up to float rounding of uncond + (cond - uncond))."""
    knobs = {"decoding_steps": FAST_STEPS, "max_cfg_coef": 1.0, "min_cfg_coef": 1.0, "temperature": 0.0}
    with DecoderCalls(model) as calls:
        fast = model.generate(**texts, **knobs, return_dict_in_generate=True)
    assert {x.shape[0] for x in calls.inputs} == {2}
    with DecoderCalls(model) as calls:
        guided = model.generate(
            **texts, **{**knobs, "max_cfg_coef": 1.0 + 1e-9}, return_dict_in_generate=True
        )
    assert {x.shape[0] for x in calls.inputs} == {4}
    assert torch.equal(fast.sequences, guided.sequences)


@pytest.mark.parametrize("arrangement", ["nonoverlap", "stride1"])
@pytest.mark.parametrize("prompt_frames", [15, 16])
def test_audio_prompt_is_a_frozen_prefix(model, processor, arrangement, prompt_frames):
    prompt = audio_prompt(processor, prompt_frames, batch=2)
    texts = processor(text=["dog barks", "rain"])
    codes = model.encode_audio(prompt["input_values"], prompt["padding_mask"])
    assert codes.shape[-1] == prompt_frames
    with DecoderCalls(model) as calls:
        out = model.generate(
            **texts,
            **prompt,
            decoding_steps=FAST_STEPS,
            span_arrangement=arrangement,
            return_dict_in_generate=True,
        )
    assert torch.equal(out.sequences[..., :prompt_frames], codes)
    assert all(torch.equal(x[:2, :, :prompt_frames], codes) for x in calls.inputs)
    assert out.sequences.shape[-1] == (48 if arrangement == "nonoverlap" else 50)
    assert (out.sequences < CODEBOOK_SIZE).all()


def test_audio_prompt_with_max_new_tokens(model, processor):
    prompt = audio_prompt(processor, 10)
    out = model.generate(**prompt, decoding_steps=FAST_STEPS, max_new_tokens=20, return_dict_in_generate=True)
    assert out.sequences.shape == (1, 4, 30)


def test_progress_bar_counts_decoding_steps(model, texts, capsys):
    model.generate(**texts, decoding_steps=FAST_STEPS, progress=True)
    assert f"{sum(FAST_STEPS)}/{sum(FAST_STEPS)}" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------ bad inputs


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"decoding_steps": [1, 1, 1]}, "decoding_steps must list one number of steps per codebook"),
        ({"decoding_steps": 5}, "decoding_steps must list"),
        ({"decoding_steps": [1, 0, 1, 1]}, "integers >= 1"),
        ({"decoding_steps": [1, 1.5, 1, 1]}, "integers >= 1"),
        ({"span_arrangement": "overlap"}, "span_arrangement must be one of"),
        ({"span_scoring": "mean"}, "span_scoring must be one of"),
        ({"min_cfg_coef": 5.0, "max_cfg_coef": 2.0}, "min_cfg_coef .* must not exceed max_cfg_coef"),
        ({"max_cfg_coef": "high"}, "max_cfg_coef must be a number"),
        ({"max_new_tokens": 80, "extend_stride": 0.0}, "extend_stride=0.0 is invalid: it must be a positive"),
        ({"max_new_tokens": 80, "extend_stride": 1.0}, "shorter than the 48-frame window"),
        ({"max_new_tokens": 80, "extend_stride": 0.5}, "extend_stride must be a whole number of 3-frame"),
        ({"max_new_tokens": 80, "extend_stride": "1s"}, "extend_stride='1s' is invalid"),
        ({"max_new_tokens": 80, "extend_stride": 0.02}, "extend_stride must be a whole number of 3-frame"),
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"guidance_scale": 3.0}, "max_cfg_coef and min_cfg_coef instead of guidance_scale"),
        ({"temperature": -1.0}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
        ({"not_a_knob": 1}, "does not use"),
        ({"min_p": -0.1}, "min_p"),
        ({"num_beams": 3}, "does not implement"),
        ({"repetition_penalty": 1.2}, "does not implement"),
    ],
)
def test_bad_generate_arguments(model, texts, kwargs, message):
    with pytest.raises(ValueError, match=message):
        model.generate(**texts, **kwargs)


@pytest.mark.parametrize(
    "frames,message", [(50, "must be shorter than MAGNeT's window"), (60, "must be shorter")]
)
def test_prompt_as_long_as_the_window(model, processor, frames, message):
    with pytest.raises(ValueError, match=message):
        model.generate(**audio_prompt(processor, frames), decoding_steps=FAST_STEPS)


def test_prompt_leaving_no_span(model, processor):
    prompt = audio_prompt(processor, 48)
    with pytest.raises(ValueError, match="leaves none to generate"):
        model.generate(**prompt, decoding_steps=FAST_STEPS)
    with pytest.raises(ValueError, match="leaves no frame to generate"):
        model.generate(**audio_prompt(processor, 20), max_length=20, decoding_steps=FAST_STEPS)
    # stride1 does not trim, so the last 2 frames can still be generated.
    out = model.generate(
        **prompt, decoding_steps=FAST_STEPS, span_arrangement="stride1", return_dict_in_generate=True
    )
    assert out.sequences.shape == (1, 4, 50)


# ------------------------------------------------------------------------------------------------ save / load / pipeline


def comparable(config: dict) -> dict:
    """A config dict without what loading legitimately fills in (the path, the resolved dtype)."""
    return {
        key: comparable(value) if isinstance(value, dict) else value
        for key, value in config.items()
        if key not in ("_name_or_path", "dtype")
    }


def test_save_and_load_round_trip(model, saved, texts):
    loaded = AutoModelForTextToWaveform.from_pretrained(saved).eval()
    assert type(loaded) is MagnetForConditionalGeneration
    assert comparable(loaded.config.to_dict()) == comparable(model.config.to_dict())
    assert loaded.generation_config.to_diff_dict() == model.generation_config.to_diff_dict()
    original = model.state_dict()
    for name, tensor in loaded.state_dict().items():
        assert torch.equal(tensor, original[name]), name
    assert isinstance(AutoProcessor.from_pretrained(saved), AudioGenProcessor)
    kwargs = dict(do_sample=False, decoding_steps=FAST_STEPS, return_dict_in_generate=True)
    assert torch.equal(
        loaded.generate(**texts, **kwargs).sequences, model.generate(**texts, **kwargs).sequences
    )


def test_generation_knobs_survive_saving(processor, tmp_path):
    model = build_model(processor.tokenizer)
    model.generation_config.span_arrangement = "stride1"
    model.generation_config.decoding_steps = [4, 2, 2, 2]
    model.save_pretrained(tmp_path)
    loaded = MagnetForConditionalGeneration.from_pretrained(tmp_path)
    assert loaded.generation_config.span_arrangement == "stride1"
    assert loaded.generation_config.decoding_steps == [4, 2, 2, 2]
    with DecoderCalls(loaded) as calls:
        out = loaded.generate(return_dict_in_generate=True)
    assert len(calls.inputs) == 10 and out.sequences.shape[-1] == 50


def test_pipeline_by_path(saved):
    pipe = pipeline("text-to-audio", model=str(saved))
    out = pipe("dog barks", generate_kwargs={"decoding_steps": FAST_STEPS})
    assert set(out) == {"audio", "sampling_rate"}
    assert out["sampling_rate"] == 16000
    assert isinstance(out["audio"], np.ndarray) and out["audio"].shape == (48 * HOP,)
    out = pipe(
        "rain", forward_params={"do_sample": False, "decoding_steps": [1, 1, 1, 1], "max_new_tokens": 30}
    )
    assert out["audio"].shape == (30 * HOP,)


# ------------------------------------------------------------------------------------------------ training hook


def masked_batch(stage: int, frames: int = 24, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, CODEBOOK_SIZE, (2, 4, frames), generator=gen)
    labels[1, :, -4:] = -1  # padding
    inputs = labels.clamp(min=0).clone()
    inputs[:, stage, 3:12] = CODEBOOK_SIZE
    inputs[:, stage, -6:] = CODEBOOK_SIZE
    inputs[:, stage + 1 :] = CODEBOOK_SIZE
    return labels, inputs


@pytest.mark.parametrize("stage", [0, 2])
def test_training_forward_loss_over_masked_positions_of_the_stage(model, texts, stage):
    labels, inputs = masked_batch(stage)
    out = model(**texts, labels=labels, decoder_input_ids=inputs, stage=stage)
    assert out.logits.shape == (2, 4, 24, CODEBOOK_SIZE)
    expected_mask = torch.zeros_like(labels, dtype=torch.bool)
    expected_mask[:, stage] = (inputs[:, stage] == CODEBOOK_SIZE) & (labels[:, stage] >= 0)
    assert torch.equal(out.logits_mask, expected_mask)
    keep = expected_mask[:, stage]
    assert keep.sum() == 2 * 15 - 4
    expected = F.cross_entropy(out.logits[:, stage][keep], labels[:, stage][keep])
    assert torch.allclose(out.loss, expected)
    band = masking.band_attention_mask(stage, 24, 5)
    conditions = model.encode_text(texts["input_ids"], texts["attention_mask"])
    logits, _ = model.decoder(inputs, conditions, attention_mask=band)
    assert torch.allclose(out.logits, logits)


def test_training_forward_with_one_stage_per_clip_matches_each_clip_alone(model, texts):
    """Clip 0 trains codebook 0 (full attention), clip 1 codebook 2 (band): each clip's logits are what it
    gets alone with its stage, and the loss is the mean over both clips' masked tokens."""
    labels, _ = masked_batch(0)
    inputs = torch.stack([masked_batch(0)[1][0], masked_batch(2)[1][1]])
    out = model(**texts, labels=labels, decoder_input_ids=inputs, stage=torch.tensor([0, 2]))
    losses, counts = [], []
    for row, stage in ((0, 0), (1, 2)):
        alone = model(
            input_ids=texts["input_ids"][row : row + 1],
            attention_mask=texts["attention_mask"][row : row + 1],
            labels=labels[row : row + 1],
            decoder_input_ids=inputs[row : row + 1],
            stage=stage,
        )
        torch.testing.assert_close(out.logits[row], alone.logits[0], rtol=1e-4, atol=1e-5)
        assert torch.equal(out.logits_mask[row], alone.logits_mask[0])
        losses.append(alone.loss)
        counts.append(int(alone.logits_mask.sum()))
    assert out.logits_mask[0, 0].any() and out.logits_mask[1, 2].any() and counts[0] != counts[1]
    expected = (losses[0] * counts[0] + losses[1] * counts[1]) / sum(counts)
    torch.testing.assert_close(out.loss, expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"one such integer per clip \(a tensor of shape \[2\]\)"):
        model(**texts, labels=labels, decoder_input_ids=inputs, stage=torch.tensor([0, 1, 2]))


def test_training_forward_band_limits_the_context(model, texts):
    """Two layers with a +-5 band see +-10 frames: frame 20 cannot see frame 0 on stages > 0, only on stage 0."""
    for stage, affected in ((1, False), (0, True)):
        labels, inputs = masked_batch(stage, frames=30)
        changed = inputs.clone()
        changed[:, 0, 0] = (changed[:, 0, 0] + 1) % CODEBOOK_SIZE
        a = model(**texts, labels=labels, decoder_input_ids=inputs, stage=stage).logits
        b = model(**texts, labels=labels, decoder_input_ids=changed, stage=stage).logits
        assert torch.allclose(a[..., 11:, :], b[..., 11:, :]) is not affected
        assert not torch.allclose(a[..., :5, :], b[..., :5, :])


def test_training_forward_backward_and_tuple(model, texts):
    labels, inputs = masked_batch(1)
    model.train()
    try:
        loss = model(**texts, labels=labels, decoder_input_ids=inputs, stage=1).loss
        loss.backward()
    finally:
        model.eval()
    grads = [p.grad for p in model.decoder.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert all(p.grad is None for p in model.text_encoder.parameters())
    model.zero_grad(set_to_none=True)
    output = model(**texts, labels=labels, decoder_input_ids=inputs, stage=torch.tensor(1), return_dict=False)
    assert isinstance(output, tuple) and math.isfinite(output[0].item())


@pytest.mark.parametrize(
    "change,message",
    [
        ({"stage": 4}, r"stage must be .* \[0, 4\)"),
        ({"stage": -1}, "stage must be"),
        ({"stage": "1"}, "stage must be"),
        ({"labels": None}, "needs labels"),
        ({"decoder_input_ids": None}, "needs labels"),
        ({"labels": torch.zeros(2, 3, 24, dtype=torch.long)}, "labels must be codes"),
        ({"decoder_input_ids": torch.zeros(2, 4, 20, dtype=torch.long)}, "must have the shape of labels"),
        ({"decoder_input_ids": torch.full((2, 4, 24), -1)}, "mask id"),
        ({"decoder_input_ids": torch.zeros(2, 4, 24, dtype=torch.long)}, "no position of codebook"),
    ],
)
def test_training_forward_errors(model, texts, change, message):
    labels, inputs = masked_batch(1)
    kwargs = {"labels": labels, "decoder_input_ids": inputs, "stage": 1, **change}
    with pytest.raises(ValueError, match=message):
        model(**texts, **kwargs)
