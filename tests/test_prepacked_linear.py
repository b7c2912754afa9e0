"""oneDNN-prepacked bf16 linears: the same outputs and tokens as `nn.Linear`, the same saved weights, and a
repack whenever the weight changes."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from audiogen_hf import AudioGenForConditionalGeneration, set_precision
from audiogen_hf.core.prepacked_linear import PrepackedLinear, prepack_linears, prepacking_available
from tests.conftest import make_tiny_audiogen

pytestmark = pytest.mark.skipif(not prepacking_available(), reason="torch built without oneDNN")
GREEDY = dict(max_new_tokens=12, do_sample=False, guidance_scale=3.0, return_dict_in_generate=True)


@pytest.mark.parametrize("bias", [False, True])
def test_prepacked_linear_gives_nn_linear_outputs_and_shares_its_parameters(bias):
    torch.manual_seed(0)
    linear = nn.Linear(64, 48, bias=bias).to(torch.bfloat16)
    packed = PrepackedLinear.from_linear(linear)
    assert packed.weight is linear.weight and packed.bias is linear.bias
    assert packed.state_dict().keys() == linear.state_dict().keys()
    x = torch.randn(2, 5, 64, dtype=torch.bfloat16)
    with torch.no_grad():
        out = packed(x)
        assert packed._packed.packed is not None  # the packed path ran
        torch.testing.assert_close(out, linear(x), rtol=0, atol=0)
        linear.weight.mul_(2.0)  # in place: the version counter changes, so it packs again
        torch.testing.assert_close(packed(x), linear(x), rtol=0, atol=0)
    out = packed(x)  # with gradients: the plain path, and the gradient reaches the shared weight
    out.float().sum().backward()
    assert linear.weight.grad is not None


def test_bf16_model_prepacks_and_keeps_tokens_names_and_values(tmp_path, processor):
    inputs = processor(text=["a dog barks", "rain"], padding=True, return_tensors="pt")
    plain = make_tiny_audiogen().to(torch.float32)
    plain.decoder.to(torch.bfloat16)
    reference = plain.generate(**inputs, **GREEDY).sequences
    model = set_precision(make_tiny_audiogen(), "bfloat16")
    linears = [m for m in model.decoder.modules() if isinstance(m, nn.Linear)]
    assert linears and all(type(m) is PrepackedLinear for m in linears)
    assert type(model.decoder.layers[0].self_attn.__dict__["_fused_projection"].fused) is PrepackedLinear
    assert torch.equal(model.generate(**inputs, **GREEDY).sequences, reference)
    assert model.state_dict().keys() == plain.state_dict().keys()
    assert all(torch.equal(model.state_dict()[k], v) for k, v in plain.state_dict().items())
    twin = copy.deepcopy(model)  # the packed copies are rebuilt, not copied
    assert torch.equal(twin.generate(**inputs, **GREEDY).sequences, reference)
    model.save_pretrained(tmp_path)
    reloaded = AudioGenForConditionalGeneration.from_pretrained(tmp_path, dtype=torch.bfloat16).eval()
    assert all(
        torch.equal(reloaded.decoder.state_dict()[k], v) for k, v in plain.decoder.state_dict().items()
    )


def test_int4_models_prepack_their_bf16_heads_only():
    model = set_precision(make_tiny_audiogen(), "int4")
    assert all(type(head) is PrepackedLinear for head in model.decoder.lm_heads)
    assert not any(isinstance(m, nn.Linear) for m in model.decoder.layers.modules())
    float_model = prepack_linears(make_tiny_audiogen())  # float32 weights: swapped, but the plain path runs
    head = float_model.decoder.lm_heads[0]
    with torch.no_grad():
        head(torch.randn(1, 32))
    assert head._packed.packed is None
