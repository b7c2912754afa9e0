"""Reduced precision: int8 weight-only linears, bf16 decoders, float32 logits at sampling, the CLI's --dtype."""

from __future__ import annotations

import pytest
import soundfile
import torch
from torch import nn

from audiogen_hf import AudioGenForConditionalGeneration, MagnetForConditionalGeneration
from audiogen_hf.commands.cli import main
from audiogen_hf.core.quantization import (
    Int8WeightOnlyLinear,
    auto_precision,
    quantize_int8,
    quantize_per_channel,
    set_precision,
)
from audiogen_hf.models.audiogen import generation_audiogen
from audiogen_hf.models.magnet import generation_magnet
from audiogen_hf.tiny import spread_codebooks, tiny_magnet_config
from tests.conftest import make_tiny_audiogen


def test_per_channel_quantization_is_within_half_a_step():
    weight = torch.randn(16, 32) * torch.linspace(0.01, 3.0, 16)[:, None]
    quantized, scales = quantize_per_channel(weight)
    assert quantized.dtype == torch.int8 and quantized.abs().max() <= 127
    error = (weight - quantized.float() * scales[:, None]).abs()
    assert (error <= scales[:, None] / 2 + 1e-7).all()
    assert (quantized.abs().amax(dim=1) == 127).all()  # each row uses its full range


@pytest.mark.parametrize("bias", [False, True])
def test_int8_linear_matches_its_dequantized_weights(bias, monkeypatch):
    torch.manual_seed(0)
    linear = nn.Linear(64, 48, bias=bias)
    layer = Int8WeightOnlyLinear.from_linear(linear, torch.float32)
    x = torch.randn(2, 3, 64)
    dequantized = layer.weight.float() * layer.scales[:, None]
    expected = nn.functional.linear(x, dequantized, linear.bias)
    fast = layer(x)
    assert fast.shape == (2, 3, 48) and fast.dtype == x.dtype
    torch.testing.assert_close(fast, expected, rtol=1e-4, atol=1e-4)
    monkeypatch.setattr("audiogen_hf.core.quantization._has_int8pack_mm", lambda device: False)
    torch.testing.assert_close(layer(x), expected, rtol=1e-4, atol=1e-4)
    # and it is close to the float layer it replaces
    torch.testing.assert_close(fast, linear(x).detach(), rtol=0.05, atol=0.05)


def test_int8_linear_rejects_float_weights():
    with pytest.raises(ValueError, match="int8 \\[out, in\\] weight"):
        Int8WeightOnlyLinear(torch.randn(4, 4), torch.ones(4), None)


def test_quantize_int8_swaps_the_layers_linears_but_not_heads_or_embeddings():
    model = make_tiny_audiogen()
    quantize_int8(model)
    decoder = model.decoder
    layer = decoder.layers[0]
    for linear in (layer.self_attn.q_proj, layer.encoder_attn.v_proj, layer.fc1, layer.fc2):
        assert isinstance(linear, Int8WeightOnlyLinear)
    assert not any(isinstance(m, nn.Linear) for m in decoder.layers.modules())
    assert all(isinstance(h, nn.Linear) and h.weight.dtype == torch.bfloat16 for h in decoder.lm_heads)
    assert decoder.embed_tokens[0].weight.dtype == torch.bfloat16
    assert model.text_encoder.dtype == torch.float32 and model.enc_to_dec_proj.weight.dtype == torch.float32


def test_quantize_int8_names_a_wrong_model():
    with pytest.raises(ValueError, match="AudioGen / MAGNeT model or its decoder"):
        quantize_int8(nn.Linear(4, 4))
    with pytest.raises(ValueError, match="precision must be one of"):
        set_precision(make_tiny_audiogen(), "int2")


def _record_sampled_dtypes(monkeypatch, module, name) -> list[torch.dtype]:
    seen, original = [], getattr(module, name)

    def spy(values, *args, **kwargs):
        seen.append(values.dtype)
        return original(values, *args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return seen


@pytest.mark.parametrize("precision", ["bfloat16", "float16", "int8"])
def test_audiogen_samples_float32_logits_at_reduced_precision(precision, processor, monkeypatch):
    model = set_precision(make_tiny_audiogen(), precision)
    seen = _record_sampled_dtypes(monkeypatch, generation_audiogen, "sample_next_token")
    inputs = processor(text=["a dog barks"], return_tensors="pt")
    out = model.generate(**inputs, max_new_tokens=6, guidance_scale=3.0, return_dict_in_generate=True)
    assert seen and set(seen) == {torch.float32}
    assert out.sequences.shape == (1, 4, 6) and out.audio.dtype == torch.float32


def test_bf16_greedy_tokens_mostly_match_float32(processor):
    """bf16 rounding may flip a near-tie, but most greedy tokens of the tiny model must agree."""
    inputs = processor(text=["a dog barks", "rain"], padding=True, return_tensors="pt")
    reference = make_tiny_audiogen().generate(
        **inputs, max_new_tokens=12, do_sample=False, return_dict_in_generate=True
    )
    half = set_precision(make_tiny_audiogen(), "bfloat16")
    tokens = half.generate(**inputs, max_new_tokens=12, do_sample=False, return_dict_in_generate=True)
    assert (tokens.sequences == reference.sequences).float().mean() > 0.8


def test_loading_everything_in_bf16_still_samples_float32(saved_audiogen, processor, monkeypatch):
    model = AudioGenForConditionalGeneration.from_pretrained(saved_audiogen, dtype=torch.bfloat16).eval()
    assert model.text_encoder.dtype == torch.bfloat16 and model.audio_encoder.dtype == torch.bfloat16
    seen = _record_sampled_dtypes(monkeypatch, generation_audiogen, "sample_next_token")
    audio = model.generate(
        **processor(text=["rain"], return_tensors="pt"), max_new_tokens=4, guidance_scale=3.0
    )
    assert set(seen) == {torch.float32} and torch.isfinite(audio.float()).all()


@pytest.mark.parametrize("precision", ["bfloat16", "int8"])
def test_magnet_samples_float32_probabilities_at_reduced_precision(precision, processor, monkeypatch):
    torch.manual_seed(0)
    config = tiny_magnet_config(len(processor.tokenizer), 64, 0.5)
    model = MagnetForConditionalGeneration(config).eval()
    spread_codebooks(model)
    set_precision(model, precision)
    seen = _record_sampled_dtypes(monkeypatch, generation_magnet, "sample_from_probs")
    inputs = processor(text=["a dog barks"], return_tensors="pt")
    out = model.generate(
        **inputs, decoding_steps=[2, 1, 1, 1], max_cfg_coef=3.0, return_dict_in_generate=True
    )
    assert seen and set(seen) == {torch.float32}
    assert out.sequences.shape[:2] == (1, 4) and (out.sequences < 64).all()


def test_cli_dtype_flag(tmp_path, saved_audiogen, capsys):
    common = ["generate", "rain", "--model", str(saved_audiogen), "--duration", "0.1", "--no-progress"]
    for precision in ("float32", "bfloat16", "int8"):
        out = tmp_path / f"{precision}.wav"
        assert main(common + ["-o", str(out), "--seed", "0", "--dtype", precision]) == 0
        audio, rate = soundfile.read(out)
        assert rate == 16000 and audio.shape == (5 * 320,)
    with pytest.raises(SystemExit):
        main(common + ["--dtype", "int2"])
    assert "invalid choice: 'int2'" in capsys.readouterr().err


def test_auto_precision_is_the_measured_fastest(processor):
    small = make_tiny_audiogen()
    assert auto_precision(small) == "float32"
    small.config.decoder.hidden_size = 1024  # only the rule reads it
    assert auto_precision(small) == "bfloat16"
    torch.manual_seed(0)
    magnet = MagnetForConditionalGeneration(tiny_magnet_config(len(processor.tokenizer), 64, 0.5))
    assert auto_precision(magnet) == "bfloat16"
    assert set_precision(magnet, "auto").decoder.dtype == torch.bfloat16


def test_cli_compile_flag_runs_the_static_cache_path(tmp_path, saved_audiogen, monkeypatch):
    seen = []
    original = AudioGenForConditionalGeneration.generate

    def spy(self, *args, **kwargs):
        seen.append({k: kwargs.get(k) for k in ("compile", "cache_implementation")})
        return original(self, *args, **{**kwargs, "compile": False})  # no inductor build in a unit test

    monkeypatch.setattr(AudioGenForConditionalGeneration, "generate", spy)
    out = tmp_path / "c.wav"
    args = ["generate", "rain", "--model", str(saved_audiogen), "--duration", "0.1", "--no-progress"]
    assert main(args + ["-o", str(out), "--compile"]) == 0
    assert seen == [{"compile": True, "cache_implementation": "static"}] and out.exists()
