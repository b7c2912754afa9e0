"""Bad inputs to the processor and to both families' `generate()` end in a clear ValueError / TypeError (naming
the problem and the fix) before anything large is allocated; odd but valid inputs work."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audiogen_hf.generation.limits import check_generation_size, pop_generation_limits

NAN, INF = float("nan"), float("inf")
SHORT = {"audiogen": {"max_new_tokens": 6}, "magnet": {"max_new_tokens": 9, "decoding_steps": [2, 1, 1, 1]}}


@pytest.fixture(params=["audiogen", "magnet"])
def family(request, audiogen, magnet):
    return request.param, audiogen if request.param == "audiogen" else magnet


def generate(family, inputs, **kwargs):
    name, model = family
    return model.generate(**inputs, **{**SHORT[name], **kwargs}, generator=torch.Generator().manual_seed(0))


@pytest.fixture
def text(processor):
    return dict(processor(text=["dog barks"]))


# ------------------------------------------------------------------------------------------------ text prompts
@pytest.mark.parametrize(
    "prompt,error,message",
    [
        (3, TypeError, "text must be a string or a list of strings, got int"),
        ([1, 2], TypeError, "text items must be strings"),
        (b"dog", TypeError, "got bytes"),
        ([], ValueError, "pass at least one prompt"),
        (None, ValueError, "pass text=..., audio=..."),
    ],
)
def test_bad_text_prompts(processor, prompt, error, message):
    with pytest.raises(error, match=message):
        processor(text=prompt)


@pytest.mark.parametrize(
    "prompt",
    ["", "🐶 barks — 雨 ünïcödé", " ".join(["dog barks in the rain"] * 1000)],
    ids=["empty", "unicode", "5000"],
)
def test_odd_text_prompts_generate(processor, family, prompt):
    """T5 has relative position buckets, no position table: a 5000-word prompt needs no truncation."""
    audio = generate(family, dict(processor(text=prompt)))
    assert audio.shape[0] == 1 and torch.isfinite(audio).all()


# ----------------------------------------------------------------------------------------------- audio prompts
@pytest.mark.parametrize(
    "audio,message",
    [
        (np.zeros(0, np.float32), "is empty .* pass a non-empty prompt"),
        (np.full(800, NAN, np.float32), "NaN or inf .* clean or clip"),
        (np.full(800, INF, np.float32), "NaN or inf"),
        (np.zeros((1, 1, 1, 100), np.float32), r"got shape \(1, 1, 1, 100\); reshape it"),
        (np.float32(0.1), "non-empty list of waveforms, got float32"),
        (np.zeros((1600, 2), np.float32), r"looks like \[samples, channels\].*transpose"),
        ([], "non-empty list of waveforms"),
    ],
    ids=["empty", "nan", "inf", "4-d", "0-d", "samples-channels", "empty-list"],
)
def test_bad_audio_prompts(processor, audio, message):
    with pytest.raises(ValueError, match=message):
        processor(audio=audio, sampling_rate=16000)


def test_non_numeric_audio_is_a_type_error(processor):
    with pytest.raises(TypeError, match="has dtype <U1; pass float waveforms in"):
        processor(audio=[["a", "b"]], sampling_rate=16000)
    with pytest.raises(TypeError, match="audio clip 0 is not a numeric waveform"):
        processor(audio=[[[0.1, 0.2], [0.3]]], sampling_rate=16000)


@pytest.mark.parametrize(
    "dtype,full_scale,offset", [(np.int16, 2**15, 0), (np.int32, 2**31, 0), (np.uint8, 128, 128)]
)
def test_integer_pcm_is_scaled_to_unit_range(processor, dtype, full_scale, offset):
    float_wave = np.sin(np.linspace(0, 200, 1600)) * 0.5
    pcm = (float_wave * (full_scale - 1) + offset).astype(dtype)
    values = processor(audio=pcm, sampling_rate=16000)["input_values"][0, 0].numpy()
    np.testing.assert_allclose(values, float_wave, atol=2 / min(full_scale, 2**15))


def test_stereo_is_averaged_for_a_mono_codec(processor):
    left = np.random.default_rng(0).standard_normal(1600).astype(np.float32) * 0.1
    values = processor(audio=np.stack([left, left * 0.5]), sampling_rate=16000)["input_values"]
    assert values.shape == (1, 1, 1600)
    torch.testing.assert_close(values[0, 0], torch.from_numpy(left * 0.75))


@pytest.mark.parametrize("rate", [44100.5, 0, -16000, "16k", INF, True])
def test_bad_sampling_rates(processor, rate):
    with pytest.raises(ValueError, match="sampling_rate must be a positive whole number of Hz"):
        processor(audio=np.zeros(1600, np.float32), sampling_rate=rate)


def test_missing_sampling_rate(processor):
    with pytest.raises(
        ValueError, match="needs its sampling_rate=...; the processor resamples it to 16000 Hz"
    ):
        processor(audio=np.zeros(1600, np.float32))


def test_other_sampling_rate_is_resampled(processor):
    values = processor(audio=np.zeros(4410, np.float32), sampling_rate=44100.0)["input_values"]
    assert values.shape == (1, 1, 1600)


def test_huge_audio_refused_before_resampling(processor):
    """10 s of samples declared at 1 Hz would resample to 160 M samples."""
    with pytest.raises(ValueError, match="longer than max_audio_seconds=600; trim it"):
        processor(audio=np.zeros(1000, np.float32), sampling_rate=1)


def test_audio_longer_than_window(processor, family):
    inputs = dict(processor(text="dog", audio=np.zeros(16000 * 2, np.float32), sampling_rate=16000))
    with pytest.raises(ValueError, match="must be shorter than .*window .*shorten the prompt"):
        generate(family, inputs)


# ------------------------------------------------------------------------------------------------ size limits
@pytest.mark.parametrize(
    "kwargs,message",
    [
        (
            {"max_new_tokens": 10**6},
            "max_new_tokens=1000000 .* 20000 s .* max_generation_seconds=600: ask for fewer",
        ),
        ({"max_new_tokens": 100, "max_generation_seconds": 1.0}, "more than max_generation_seconds=1"),
        (
            {"num_return_sequences": 5000},
            "5000 rows, more than max_batch_size=1024: generate in smaller batches",
        ),
        ({"num_return_sequences": 3, "max_batch_size": 2}, "3 rows, more than max_batch_size=2"),
    ],
)
def test_size_limits_refuse_before_allocating(family, text, monkeypatch, kwargs, message):
    name, model = family

    def no_encoding(*args, **kwargs):
        raise AssertionError("encoded before the size check")

    monkeypatch.setattr(model, "encode_text", no_encoding)
    with pytest.raises(ValueError, match=message):
        generate(family, text, **kwargs)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"max_generation_seconds": 0}, "max_generation_seconds=0 is invalid: pass a positive number"),
        ({"max_generation_seconds": NAN}, "max_generation_seconds=nan is invalid"),
        ({"max_batch_size": 1.5}, r"max_batch_size=1.5 is invalid: pass an integer >= 1"),
    ],
)
def test_bad_limits(kwargs, message):
    with pytest.raises(ValueError, match=message):
        pop_generation_limits(dict(kwargs))


def test_limits_can_be_raised(audiogen, text):
    from transformers import GenerationConfig

    limits = pop_generation_limits({"max_generation_seconds": 30000})
    check_generation_size(audiogen, GenerationConfig(max_new_tokens=10**6), text["input_ids"], None, limits)


# ---------------------------------------------------------------------------------------------- sampling knobs
@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"max_new_tokens": 0}, "max_new_tokens=0 is invalid: it must be a positive integer"),
        ({"max_new_tokens": -5}, "max_new_tokens=-5 is invalid"),
        ({"max_new_tokens": 5.5}, "max_new_tokens=5.5 is invalid"),
        ({"max_new_tokens": True}, "max_new_tokens=True is invalid"),
        ({"temperature": -1.0}, "temperature=-1.0 is invalid: it must be a finite number >= 0"),
        ({"temperature": NAN}, "temperature=nan is invalid"),
        ({"temperature": INF}, "temperature=inf is invalid"),
        ({"temperature": True}, "temperature=True is invalid"),
        ({"top_k": -1}, "top_k=-1 is invalid: it must be an integer >= 0"),
        ({"top_k": 2.5}, "top_k=2.5 is invalid"),
        ({"top_p": 0.0}, r"top_p=0.0 is invalid: it must be a number in \(0, 1\]"),
        ({"top_p": NAN}, "top_p=nan is invalid"),
        ({"top_p": 1.5}, "top_p=1.5 is invalid"),
        ({"guidance_scale": -1.0}, "guidance_scale=-1.0 is invalid"),
        ({"guidance_scale": NAN}, "guidance_scale=nan is invalid"),
        ({"num_return_sequences": 0}, "num_return_sequences=0 is invalid: it must be an integer >= 1"),
        ({"num_return_sequences": -2}, "num_return_sequences=-2 is invalid"),
        ({"num_return_sequences": 2.0}, "num_return_sequences=2.0 is invalid"),
        ({"do_sample": "yes"}, "do_sample='yes' is invalid: it must be True or False"),
        ({"extend_stride": -1.0}, "extend_stride=-1.0 is invalid: it must be a positive number of seconds"),
    ],
)
def test_bad_sampling_knobs(family, text, kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate(family, text, **kwargs)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"max_cfg_coef": NAN}, "max_cfg_coef=nan is invalid: it must be a finite number"),
        ({"min_cfg_coef": -INF}, "min_cfg_coef=-inf is invalid"),
        ({"max_cfg_coef": INF}, "max_cfg_coef=inf is invalid"),
        ({"decoding_steps": [0, 1, 1, 1]}, "decoding_steps values must be integers >= 1"),
        ({"decoding_steps": [10**6] * 4}, "more than 1000 iterations for one codebook"),
    ],
)
def test_bad_magnet_knobs(magnet, text, kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate(("magnet", magnet), text, **kwargs)


def test_top_k_above_vocabulary_works(family, text):
    assert torch.isfinite(generate(family, text, top_k=10**5)).all()


@pytest.mark.parametrize(
    "typo,suggestion",
    [("max_new_token", "max_new_tokens"), ("temprature", "temperature"), ("top_pp", "top_p")],
)
def test_typo_kwargs_suggest_the_close_match(family, text, typo, suggestion):
    with pytest.raises(
        ValueError, match=f"does not use: \\['{typo}'\\]. '{typo}' -> did you mean '{suggestion}'"
    ):
        generate(family, text, **{typo: 1})


# ---------------------------------------------------------------------------------------------- token ids
@pytest.mark.parametrize(
    "tamper,error,message",
    [
        (
            lambda ids: ids + 1000,
            ValueError,
            r"outside the text encoder's vocabulary \[0, \d+\).*tokenize with",
        ),
        (lambda ids: ids - 1000, ValueError, "outside the text encoder's vocabulary"),
        (lambda ids: ids.float(), TypeError, "must hold integer token ids, got dtype torch.float32"),
        (lambda ids: ids[0], ValueError, r"input_ids must be \[batch, tokens\].*input_ids\[None\]"),
        (lambda ids: ids.tolist(), TypeError, "input_ids must be a torch.Tensor, got list"),
    ],
    ids=["above-vocab", "negative", "float", "1-d", "list"],
)
def test_bad_input_ids(family, text, tamper, error, message):
    with pytest.raises(error, match=message):
        generate(family, {"input_ids": tamper(text["input_ids"])})


@pytest.mark.parametrize(
    "tamper,error,message",
    [
        (
            lambda ids: ids + 1000,
            ValueError,
            "negative_input_ids holds ids outside the text encoder's vocabulary",
        ),
        (lambda ids: ids.float(), TypeError, "negative_input_ids must hold integer token ids"),
    ],
    ids=["above-vocab", "float"],
)
def test_bad_negative_input_ids(family, text, tamper, error, message):
    negative = {
        "negative_input_ids": tamper(text["input_ids"]),
        "negative_attention_mask": text["attention_mask"],
    }
    with pytest.raises(error, match=message):
        generate(family, dict(text, **negative))


def test_mask_shape_mismatch(family, text):
    mask = torch.ones(1, text["input_ids"].shape[1] + 1, dtype=torch.long)
    with pytest.raises(ValueError, match="attention_mask .* must have input_ids' shape"):
        generate(family, {"input_ids": text["input_ids"], "attention_mask": mask})


# ------------------------------------------------------------------------------------------------- bf16
def test_bf16_generates_finite_audio(processor, family):
    name, model = family
    copy = type(model)(model.config).eval()
    copy.load_state_dict(model.state_dict())
    inputs = processor(text=["dog barks"], audio=np.zeros(1600, np.float32), sampling_rate=16000)
    audio = generate((name, copy.to(torch.bfloat16)), dict(inputs))
    assert audio.dtype == torch.bfloat16 and torch.isfinite(audio.float()).all()


def test_fuzzer_finds_no_defect(capsys):
    """A short run of benchmarks/fuzz_inputs.py (the full one: --cases 200)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "benchmarks" / "fuzz_inputs.py"
    spec = importlib.util.spec_from_file_location("fuzz_inputs", path)
    fuzz = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fuzz)
    assert fuzz.main(["--cases", "40", "--seed", "3"]) == 0, capsys.readouterr().out
    assert "total" in capsys.readouterr().out


def test_the_other_familys_options_are_named_as_such(audiogen, text):
    """MAGNeT's infill / loop / rescoring passed to AudioGen are refused as the other family's options, and a
    typo of them gets a suggestion (they are known names)."""
    for knob in ({"loop": True}, {"infill": (0.1, 0.2)}, {"rescore_weight": 0.3}):
        with pytest.raises(ValueError, match="option of the other model family"):
            audiogen.generate(**text, max_new_tokens=2, **knob)
    with pytest.raises(ValueError, match="did you mean 'infill'"):
        audiogen.generate(**text, max_new_tokens=2, infil=(0.1, 0.2))
