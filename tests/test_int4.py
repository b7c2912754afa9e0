"""int4 weight-only decoders: group-wise quantization, torch's CPU int4 kernel against its dequantized weights,
the same tokens as a dequantized reference model, the fallback path, and --dtype int4."""

from __future__ import annotations

import copy

import pytest
import soundfile
import torch
from torch import nn

from audiogen_hf import Int4WeightOnlyLinear, MagnetForConditionalGeneration, quantize_int4, set_precision
from audiogen_hf.commands.cli import main
from audiogen_hf.core.int4 import (
    int4_group_size,
    kernel_fits,
    pack_nibbles,
    quantize_per_group_int4,
    unpack_nibbles,
)
from audiogen_hf.tiny import spread_codebooks, tiny_magnet_config
from tests.conftest import make_tiny_audiogen


def test_group_quantization_is_within_half_a_step_and_spans_each_group():
    torch.manual_seed(0)
    weight = torch.randn(16, 64) * torch.linspace(0.01, 3.0, 16)[:, None]
    codes, scales, zeros = quantize_per_group_int4(weight, 32)
    assert codes.dtype == torch.int32 and codes.min() == 0 and codes.max() == 15
    assert scales.shape == zeros.shape == (16, 2)
    rebuilt = (codes.float().reshape(16, 2, 32) - 8) * scales[..., None] + zeros[..., None]
    error = (weight.reshape(16, 2, 32) - rebuilt).abs()
    assert (error <= scales[..., None] / 2 + 1e-5).all()
    grouped = codes.reshape(16, 2, 32)
    assert (grouped.amin(-1) == 0).all() and (grouped.amax(-1) == 15).all()


def test_group_size_falls_back_to_a_divisor_and_rejects_odd_requests():
    assert int4_group_size(1024) == 128
    assert int4_group_size(96) == 32
    assert int4_group_size(48) == 48  # no kernel size divides it: one group per row
    with pytest.raises(ValueError, match="group_size must be one of"):
        int4_group_size(64, 100)
    with pytest.raises(ValueError, match="must divide the 48 input features"):
        quantize_per_group_int4(torch.randn(4, 48), 32)


def test_nibble_packing_round_trips():
    codes = torch.randint(0, 16, (5, 12), dtype=torch.int32)
    packed = pack_nibbles(codes)
    assert packed.shape == (5, 6) and packed.dtype == torch.uint8
    assert torch.equal(unpack_nibbles(packed).to(torch.int32), codes)


@pytest.mark.parametrize("shape", [(48, 64), (32, 96), (40, 64), (16, 48)])
@pytest.mark.parametrize("compute_dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("bias", [False, True])
def test_int4_linear_matches_its_dequantized_weights(shape, compute_dtype, bias):
    """Kernel shapes (out % 16 == 0, a kernel group size) and fallback shapes (out 40, in 48) alike."""
    torch.manual_seed(0)
    out_features, in_features = shape
    linear = nn.Linear(in_features, out_features, bias=bias)
    layer = Int4WeightOnlyLinear.from_linear(linear, 128, compute_dtype)
    assert layer.uses_kernel == (out_features % 16 == 0 and in_features % 32 == 0)
    x = torch.randn(2, 3, in_features)
    expected = nn.functional.linear(x.to(compute_dtype), layer.dequantized_weight(), layer.bias)
    got = layer(x)
    assert got.shape == (2, 3, out_features) and got.dtype == x.dtype
    tolerance = 1e-5 if compute_dtype == torch.float32 else 2e-2
    torch.testing.assert_close(got, expected.float(), rtol=tolerance, atol=tolerance)
    # and the dequantized weights are the float layer's, to within the groups' rounding
    torch.testing.assert_close(layer.dequantized_weight().float(), linear.weight.detach(), rtol=0, atol=0.05)


def test_int4_linear_rejects_bad_parts_and_non_cpu_kernel_use():
    with pytest.raises(ValueError, match="int32 codes \\[out, in\\]"):
        Int4WeightOnlyLinear(torch.randn(16, 32), torch.ones(16, 1), torch.zeros(16, 1), None)
    with pytest.raises(ValueError, match="int32 codes"):
        Int4WeightOnlyLinear(
            torch.zeros(16, 32, dtype=torch.int32), torch.ones(16, 3), torch.zeros(16, 3), None
        )
    assert not kernel_fits(64, 64, 32, torch.device("meta"))
    layer = Int4WeightOnlyLinear.from_linear(nn.Linear(32, 16))
    assert layer.uses_kernel
    with pytest.raises(ValueError, match="quantize the model after moving it"):
        layer(torch.randn(1, 32, device="meta"))


def _dequantized_reference(model: nn.Module) -> nn.Module:
    """The same model with every int4 layer replaced by an `nn.Linear` holding its dequantized weights."""
    reference = copy.deepcopy(model)
    for module in list(reference.decoder.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, Int4WeightOnlyLinear):
                linear = nn.Linear(
                    child.in_features, child.out_features, bias=False, dtype=child.compute_dtype
                )
                linear.weight.data = child.dequantized_weight()
                setattr(module, name, linear)
    return reference


def test_int4_audiogen_gives_the_dequantized_references_tokens(processor):
    """With float32 activations the kernel is exact to rounding, so greedy tokens (CFG, two prompts) are the
    dequantized reference's, token for token; the layers' linears all run the kernel at the tiny shape."""
    model = quantize_int4(make_tiny_audiogen(), compute_dtype=torch.float32)
    layers = [m for m in model.decoder.modules() if isinstance(m, Int4WeightOnlyLinear)]
    assert layers and all(layer.uses_kernel for layer in layers)
    assert not any(isinstance(m, nn.Linear) for m in model.decoder.layers.modules())
    reference = _dequantized_reference(model)
    inputs = processor(text=["a dog barks", "rain"], padding=True, return_tensors="pt")
    kwargs = dict(max_new_tokens=16, do_sample=False, guidance_scale=3.0, return_dict_in_generate=True)
    tokens = model.generate(**inputs, **kwargs).sequences
    assert torch.equal(tokens, reference.generate(**inputs, **kwargs).sequences)
    float_tokens = make_tiny_audiogen().generate(**inputs, **kwargs).sequences
    assert (tokens == float_tokens).float().mean() > 0.8  # and int4 stays close to the float model


def test_int4_bf16_logits_match_the_dequantized_reference(processor):
    model = set_precision(make_tiny_audiogen(), "int4")
    assert model.decoder.layers[0].fc1.compute_dtype == torch.bfloat16
    assert all(head.weight.dtype == torch.bfloat16 for head in model.decoder.lm_heads)
    assert model.text_encoder.dtype == torch.float32
    reference = _dequantized_reference(model)
    codes = torch.randint(0, 64, (2, 4, 7))
    condition = torch.randn(2, 5, 32)
    logits, _ = model.decoder(codes, condition)
    expected, _ = reference.decoder(codes, condition)
    torch.testing.assert_close(logits.float(), expected.float(), rtol=0.05, atol=0.05)


def test_int4_magnet_generates_the_dequantized_references_tokens(processor):
    torch.manual_seed(0)
    magnet = MagnetForConditionalGeneration(tiny_magnet_config(len(processor.tokenizer), 64, 0.5)).eval()
    spread_codebooks(magnet)
    quantize_int4(magnet, compute_dtype=torch.float32)
    inputs = processor(text=["a dog barks"], return_tensors="pt")
    kwargs = dict(
        decoding_steps=[2, 1, 1, 1], max_cfg_coef=3.0, do_sample=False, return_dict_in_generate=True
    )
    tokens = magnet.generate(**inputs, **kwargs).sequences
    assert torch.equal(tokens, _dequantized_reference(magnet).generate(**inputs, **kwargs).sequences)


def test_quantize_int4_names_a_wrong_model():
    with pytest.raises(ValueError, match="quantize_int4 expects an AudioGen / MAGNeT model or its decoder"):
        quantize_int4(nn.Linear(4, 4))


def test_cli_dtype_int4(tmp_path, saved_audiogen):
    out = tmp_path / "int4.wav"
    args = ["generate", "rain", "--model", str(saved_audiogen), "--duration", "0.1", "--no-progress"]
    assert main(args + ["-o", str(out), "--seed", "0", "--dtype", "int4"]) == 0
    audio, rate = soundfile.read(out)
    assert rate == 16000 and audio.shape == (5 * 320,)
