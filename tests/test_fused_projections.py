"""Fused q / k / v and codebook heads: one matmul each, the unfused tokens, the saved names and weights unchanged,
and the unfused path whenever the fused weights could be stale (`.to()`, gradients, compile)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from audiogen_hf import AudioGenForConditionalGeneration, MagnetForConditionalGeneration, set_precision
from audiogen_hf.core.fused_projections import fuse, fuse_projections, live_fused
from audiogen_hf.core.int4 import Int4WeightOnlyLinear
from audiogen_hf.core.quantization import Int8WeightOnlyLinear
from audiogen_hf.tiny import spread_codebooks, tiny_magnet_config
from tests.conftest import make_tiny_audiogen

GREEDY = dict(max_new_tokens=12, do_sample=False, guidance_scale=3.0, return_dict_in_generate=True)


def _count_calls(modules: list[nn.Module]) -> list[int]:
    calls = [0]
    for module in modules:
        module.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    return calls


def test_float32_fused_gives_the_unfused_tokens_with_fewer_matmuls(processor):
    inputs = processor(text=["a dog barks", "rain"], padding=True, return_tensors="pt")
    reference = make_tiny_audiogen().generate(**inputs, **GREEDY).sequences
    model = set_precision(make_tiny_audiogen(), "float32")
    attention = model.decoder.layers[0].self_attn
    unfused_calls = _count_calls([attention.q_proj, attention.k_proj, *model.decoder.lm_heads])
    with torch.no_grad():
        assert live_fused(attention) is not None and live_fused(model.decoder) is not None
    assert torch.equal(model.generate(**inputs, **GREEDY).sequences, reference)
    assert unfused_calls == [0]  # the fused matmuls ran instead


def test_fused_weights_are_views_and_the_saved_names_and_values_are_unchanged(tmp_path, processor):
    original = make_tiny_audiogen()
    expected = {name: tensor.clone() for name, tensor in original.state_dict().items()}
    model = set_precision(make_tiny_audiogen(), "float32")
    state = model.state_dict()
    assert state.keys() == expected.keys()
    assert all(torch.equal(state[name], tensor) for name, tensor in expected.items())
    attention = model.decoder.layers[1].self_attn
    fused = attention.__dict__["_fused_projection"].fused
    assert attention.k_proj.weight.data_ptr() == fused.weight.data_ptr() + 32 * 32 * 4  # no byte held twice
    assert not any("fused" in name for name, _ in model.named_modules())
    model.save_pretrained(tmp_path)
    reloaded = AudioGenForConditionalGeneration.from_pretrained(tmp_path).eval()
    assert all(torch.equal(reloaded.state_dict()[name], tensor) for name, tensor in expected.items())
    inputs = processor(text=["rain"], return_tensors="pt")
    assert torch.equal(
        reloaded.generate(**inputs, **GREEDY).sequences, model.generate(**inputs, **GREEDY).sequences
    )


def test_the_unfused_path_runs_when_the_fused_weights_could_be_stale():
    model = set_precision(make_tiny_audiogen(), "float32")
    attention = model.decoder.layers[0].self_attn
    assert live_fused(attention) is None  # gradients enabled: the parts must get them
    with torch.no_grad():
        assert live_fused(attention) is not None
        model.decoder.layers[0].self_attn.q_proj.weight.mul_(2.0)  # in place: the fused view sees it
        fused_q = live_fused(attention)(torch.ones(1, 1, 32))[0]
        torch.testing.assert_close(fused_q, attention.q_proj(torch.ones(1, 1, 32)))
        model.decoder.to(torch.bfloat16)  # new tensors: the fused weight is stale, so it is not used
        assert live_fused(attention) is None and live_fused(model.decoder) is None
        logits, _ = model.decoder(torch.zeros(1, 4, 3, dtype=torch.long), torch.randn(1, 2, 32))
    assert logits.dtype == torch.bfloat16 and torch.isfinite(logits.float()).all()


@pytest.mark.parametrize("precision", ["bfloat16", "int8", "int4"])
def test_reduced_precision_fused_tokens_match_unfused(precision, processor):
    """The same precision without fusing (the layers built by set_precision, fusion then removed)."""
    inputs = processor(text=["a dog barks", "rain"], padding=True, return_tensors="pt")
    fused = set_precision(make_tiny_audiogen(hidden_size=64), precision)
    unfused = set_precision(make_tiny_audiogen(hidden_size=64), precision)
    for module in unfused.decoder.modules():
        module.__dict__.pop("_fused_projection", None)
    with torch.no_grad():
        assert live_fused(fused.decoder.layers[0].self_attn) is not None
    tokens = fused.generate(**inputs, **GREEDY).sequences
    assert (tokens == unfused.generate(**inputs, **GREEDY).sequences).float().mean() > 0.9


def test_fuse_builds_one_layer_of_each_kind_with_views():
    torch.manual_seed(0)
    x = torch.randn(2, 64)
    for make in (  # the last int4 layers have 40 rows: not the kernel's, the dequantizing path
        lambda: nn.Linear(64, 64, bias=False),
        lambda: Int8WeightOnlyLinear.from_linear(nn.Linear(64, 64, bias=False), torch.float32),
        lambda: Int4WeightOnlyLinear.from_linear(nn.Linear(64, 64, bias=False), 32, torch.float32),
        lambda: Int4WeightOnlyLinear.from_linear(nn.Linear(64, 40, bias=False), 32, torch.float32),
    ):
        parts = [make() for _ in range(3)]
        with torch.no_grad():
            expected = [part(x) for part in parts]
            projection = fuse(parts)
            assert projection is not None and projection.is_live()
            for got, want in zip(projection(x), expected, strict=True):
                torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_fuse_refuses_what_one_matmul_cannot_do():
    assert fuse([nn.Linear(8, 8, bias=True), nn.Linear(8, 8, bias=True)]) is None
    assert fuse([nn.Linear(8, 8, bias=False), nn.Linear(4, 8, bias=False)]) is None
    assert fuse([nn.Linear(8, 8, bias=False), nn.Linear(8, 8, bias=False).double()]) is None
    assert fuse([nn.Conv1d(8, 8, 1), nn.Conv1d(8, 8, 1)]) is None
    int4 = [Int4WeightOnlyLinear.from_linear(nn.Linear(32, 32, bias=False), 32) for _ in range(2)]
    assert int4[0].uses_kernel and fuse(int4) is None  # 32 rows: the kernel packs blocks of 64
    with pytest.raises(ValueError, match="fuse_projections expects an AudioGen / MAGNeT model"):
        fuse_projections(nn.Linear(4, 4))


def test_magnet_fused_gives_the_unfused_tokens(processor):
    def tiny_magnet():
        torch.manual_seed(0)
        model = MagnetForConditionalGeneration(tiny_magnet_config(len(processor.tokenizer), 64, 0.5)).eval()
        spread_codebooks(model)
        return model

    inputs = processor(text=["a dog barks"], return_tensors="pt")
    kwargs = dict(
        decoding_steps=[2, 1, 1, 1], max_cfg_coef=3.0, do_sample=False, return_dict_in_generate=True
    )
    reference = tiny_magnet().generate(**inputs, **kwargs).sequences
    assert torch.equal(
        set_precision(tiny_magnet(), "float32").generate(**inputs, **kwargs).sequences, reference
    )


def test_a_deep_copy_keeps_its_own_live_fusion(processor):
    model = set_precision(make_tiny_audiogen(), "int8")
    twin = copy.deepcopy(model)
    with torch.no_grad():
        original, copied = (
            live_fused(model.decoder.layers[0].self_attn),
            live_fused(twin.decoder.layers[0].self_attn),
        )
        assert copied is not None and copied.fused.weight.data_ptr() != original.fused.weight.data_ptr()
    inputs = processor(text=["rain"], return_tensors="pt")
    assert torch.equal(
        twin.generate(**inputs, **GREEDY).sequences, model.generate(**inputs, **GREEDY).sequences
    )
