"""AudioGen's opt-in static cache and compiled decode step: same tokens as the eager DynamicCache path, one
compiled graph per cache-length bucket (counted with a counting torch.compile backend; inductor is too slow
for a unit test on this machine, benchmarks/bench_vs_peers.py runs it)."""

from __future__ import annotations

import pytest
import torch
from transformers import CompileConfig, GenerationConfig

from audiogen_hf.generation.static_cache import DecodingPath, default_compile_config, static_cache_length
from tests.conftest import make_tiny_audiogen


def counting_backend(graphs: list):
    """A torch.compile backend that runs each captured graph eagerly and appends it to `graphs`. A closure, not
    an object: generate() deep-copies its generation config, and a function survives that as itself."""

    def backend(graph_module, example_inputs):
        graphs.append(graph_module)
        return graph_module.forward

    return backend


@pytest.fixture(scope="module")
def model():
    return make_tiny_audiogen(max_duration=2.0)


@pytest.fixture(scope="module")
def inputs(processor):
    return processor(text=["a dog barks", "rain in the city"], padding=True, return_tensors="pt")


def _codes(model, inputs, seed=0, **kwargs) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    out = model.generate(**inputs, generator=generator, return_dict_in_generate=True, **kwargs)
    return out.sequences


def test_cache_lengths_are_power_of_two_buckets():
    assert [static_cache_length(n) for n in (1, 53, 64, 65, 103, 129)] == [64, 64, 64, 128, 128, 256]
    assert static_cache_length(5, minimum=4) == 8
    with pytest.raises(ValueError, match="at least one position"):
        static_cache_length(0)


@pytest.mark.parametrize(
    "knobs",
    [
        {"do_sample": False, "guidance_scale": 3.0},
        {"do_sample": True, "guidance_scale": 3.0, "top_k": 20},
        {"do_sample": True, "guidance_scale": 3.0, "two_step_cfg": True},
        {"do_sample": True, "guidance_scale": 1.0, "top_p": 0.9},
    ],
)
def test_static_cache_gives_the_dynamic_cache_tokens(model, inputs, knobs):
    reference = _codes(model, inputs, max_new_tokens=30, **knobs)
    static = _codes(model, inputs, max_new_tokens=30, cache_implementation="static", **knobs)
    assert torch.equal(static, reference)


def test_static_cache_with_an_audio_prompt_and_sliding_windows(processor):
    model = make_tiny_audiogen(max_duration=0.5)  # a 25-frame window: 60 frames take several windows
    audio = torch.randn(1, 1, 16000 // 5) * 0.1
    inputs = processor(text=["rain"], audio=[audio[0].numpy()], sampling_rate=16000, return_tensors="pt")
    reference = _codes(model, inputs, max_new_tokens=50, guidance_scale=3.0, extend_stride=0.3)
    static = _codes(
        model, inputs, max_new_tokens=50, guidance_scale=3.0, extend_stride=0.3, cache_implementation="static"
    )
    assert static.shape == (1, 4, 60) and torch.equal(static, reference)


def test_compiled_steps_give_the_eager_tokens_without_recompiling_inside_a_bucket(model, inputs):
    torch._dynamo.reset()
    graphs_seen = []
    compile_config = CompileConfig(backend=counting_backend(graphs_seen), mode=None)
    compiled = {"cache_implementation": "static", "compile_config": compile_config}
    for frames, graphs in ((20, 1), (45, 1), (70, 2), (90, 2)):  # buckets: <= 64 steps, then <= 128
        knobs = {"max_new_tokens": frames, "guidance_scale": 3.0, "do_sample": True, "top_k": 20}
        assert torch.equal(_codes(model, inputs, **compiled, **knobs), _codes(model, inputs, **knobs))
        assert len(graphs_seen) == graphs, f"{frames} frames"


def test_compile_is_opt_in_and_disable_compile_wins(model, inputs, monkeypatch):
    calls = []
    monkeypatch.setattr(torch, "compile", lambda *args, **kwargs: calls.append(kwargs) or args[0])
    _codes(model, inputs, max_new_tokens=5)
    _codes(model, inputs, max_new_tokens=5, cache_implementation="static")
    _codes(model, inputs, max_new_tokens=5, cache_implementation="static", compile=True, disable_compile=True)
    assert calls == []
    model.__dict__.pop("_audiogen_compiled_call", None)
    config = GenerationConfig(**model.generation_config.to_dict())
    config.cache_implementation, config.compile = "static", True  # the shorthand can live in the config too
    _codes(model, inputs, max_new_tokens=5, generation_config=config)
    assert calls == [
        {"fullgraph": True, "dynamic": False, "backend": "inductor", "mode": None, "options": None}
    ]
    model.__dict__.pop("_audiogen_compiled_call", None)


def test_default_compile_settings_use_cuda_graphs_only_on_cuda():
    assert default_compile_config("cpu").mode is None
    assert default_compile_config("cuda").mode == "reduce-overhead"


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"compile": True}, "cache_implementation='static'"),
        ({"cache_implementation": "offloaded"}, "'offloaded' is not supported"),
        ({"cache_implementation": "static", "compile": "yes"}, "compile must be True or False"),
    ],
)
def test_bad_fast_path_settings_are_named(model, inputs, knobs, message):
    with pytest.raises(ValueError, match=message):
        _codes(model, inputs, max_new_tokens=3, **knobs)


def test_decoding_path_defaults_to_the_eager_dynamic_cache():
    path = DecodingPath.from_generation_config(GenerationConfig(), None, "cpu")
    assert path == DecodingPath("dynamic", None)
