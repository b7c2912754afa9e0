"""MAGNeT's compiled full-window forward: same tokens as eager, one graph per stage, reused by later calls."""

from __future__ import annotations

import torch
from transformers import CompileConfig

from audiogen_hf import MagnetForConditionalGeneration, set_precision
from audiogen_hf.tiny import spread_codebooks, tiny_magnet_config
from tests.test_static_cache import counting_backend

STEPS = [3, 2, 2, 1]


def _model(processor) -> MagnetForConditionalGeneration:
    torch.manual_seed(0)
    model = MagnetForConditionalGeneration(tiny_magnet_config(len(processor.tokenizer), 64, 0.5)).eval()
    spread_codebooks(model)
    return model


def _codes(model, inputs, seed, **kwargs) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    knobs = {"decoding_steps": STEPS, "max_cfg_coef": 3.0, "return_dict_in_generate": True}
    return model.generate(**inputs, generator=generator, **knobs, **kwargs).sequences


def test_compiled_magnet_gives_the_eager_tokens_with_one_graph_per_stage(processor):
    torch._dynamo.reset()
    model = _model(processor)
    inputs = processor(text=["a dog barks", "rain"], padding=True, return_tensors="pt")
    graphs = []
    compiled = {"compile_config": CompileConfig(backend=counting_backend(graphs), fullgraph=True, mode=None)}
    for seed in (0, 1):
        assert torch.equal(_codes(model, inputs, seed, **compiled), _codes(model, inputs, seed))
        assert len(graphs) == len(STEPS)  # stage 0 (full attention) and each banded stage, then reused
    greedy = {"do_sample": False}
    assert torch.equal(_codes(model, inputs, 0, **compiled, **greedy), _codes(model, inputs, 0, **greedy))


def test_magnet_compiles_only_when_asked(processor, monkeypatch):
    calls = []
    monkeypatch.setattr(torch, "compile", lambda *args, **kwargs: calls.append(kwargs) or args[0])
    model = _model(processor)
    inputs = processor(text=["rain"], return_tensors="pt")
    _codes(model, inputs, 0)
    _codes(model, inputs, 0, compile=True, disable_compile=True)
    assert calls == []
    _codes(model, inputs, 0, compile=True)
    assert len(calls) == 1 and calls[0]["fullgraph"] is True


def test_several_compiled_models_do_not_hit_the_recompile_limit(processor):
    """Each precision and stage is a graph of the same `forward`: 3 x 4 = 12 > torch's default limit of 8, a
    hard error under fullgraph=True unless the limit is raised (static_cache.RECOMPILE_LIMIT). Copies of the
    same precision share graphs."""
    torch._dynamo.reset()
    inputs = processor(text=["rain"], return_tensors="pt")
    graphs = []
    compiled = {"compile_config": CompileConfig(backend=counting_backend(graphs), fullgraph=True, mode=None)}
    for precision in ("float32", "bfloat16", "int8", "float32"):
        model = set_precision(_model(processor), precision)
        assert torch.equal(_codes(model, inputs, 0, **compiled), _codes(model, inputs, 0))
    assert len(graphs) == 3 * len(STEPS)
