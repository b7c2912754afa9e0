"""The opt-in fast decoding path: a preallocated (static) KV cache and a `torch.compile`d decoder step.

Why: with transformers' `StaticCache` every decode step has the same shapes (one token against a fixed-length
cache, positions from a tensor), so one compiled graph serves every step. Cache lengths are rounded up to a
power of two (`static_cache_length`), so asking for a different `max_new_tokens` reuses the graph unless it
crosses a bucket. Opt in with the generation config: `cache_implementation="static"`, plus `compile=True` (the
shorthand) or transformers' `compile_config=CompileConfig(...)`; `disable_compile=True` wins over both.
The default (`cache_implementation=None`) stays the eager `DynamicCache` path, token for token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from transformers import CompileConfig, GenerationConfig, PretrainedConfig
from transformers.cache_utils import DynamicCache, EncoderDecoderCache, StaticCache

CACHE_IMPLEMENTATIONS = ("dynamic", "static")
MIN_STATIC_CACHE_LENGTH = 64
# Graphs dynamo may keep per code object. Every model instance, precision, cache bucket, text length and MAGNeT
# stage is one more graph of the same decoder `forward`; at torch's default (8) a fourth precision of a MAGNeT
# model hit the limit, which is a hard error under `fullgraph=True`.
RECOMPILE_LIMIT = 64


def static_cache_length(steps: int, minimum: int = MIN_STATIC_CACHE_LENGTH) -> int:
    """The bucket a window of `steps` decoder positions is cached in: the next power of two, at least `minimum`."""
    if steps < 1:
        raise ValueError(f"a cache must hold at least one position, got {steps}.")
    return max(minimum, 1 << (steps - 1).bit_length())


def default_compile_config(device: torch.device | str) -> CompileConfig:
    """Inductor, whole graph, static shapes; CUDA graphs (`reduce-overhead`) on CUDA, plain inductor elsewhere."""
    on_cuda = torch.device(device).type == "cuda"
    return CompileConfig(fullgraph=True, dynamic=False, mode="reduce-overhead" if on_cuda else None)


def resolve_compile_config(
    config: GenerationConfig, compile_flag: bool | None, device: torch.device | str
) -> CompileConfig | None:
    """The compile settings of one call, or None for eager: `compile_config` if given, else the defaults when
    `compile=True` (a call argument or a generation-config attribute)."""
    flag = getattr(config, "compile", False) if compile_flag is None else compile_flag
    if not isinstance(flag, bool):
        raise ValueError(f"compile must be True or False, got {flag!r}.")
    if config.disable_compile:
        return None
    if config.compile_config is not None:
        return config.compile_config
    return default_compile_config(device) if flag else None


@dataclass(frozen=True)
class DecodingPath:
    """How one AudioGen `generate()` call runs its decoder: which cache, and whether decode steps are compiled."""

    cache_implementation: str = "dynamic"
    compile_config: CompileConfig | None = None

    @classmethod
    def from_generation_config(
        cls, config: GenerationConfig, compile_flag: bool | None, device: torch.device | str
    ) -> DecodingPath:
        implementation = config.cache_implementation or "dynamic"
        if implementation not in CACHE_IMPLEMENTATIONS:
            raise ValueError(
                f"cache_implementation={implementation!r} is not supported here: use None / 'dynamic' (the "
                "default) or 'static' (preallocated, for compiled decoding)."
            )
        compile_config = resolve_compile_config(config, compile_flag, device)
        if compile_config is not None and implementation != "static":
            raise ValueError(
                "compiled decoding needs fixed shapes: set cache_implementation='static' with compile=True or "
                "compile_config (a dynamic cache grows every step and would recompile each time)."
            )
        return cls(implementation, compile_config)

    def new_cache(
        self, decoder_config: PretrainedConfig, steps: int, condition_length: int
    ) -> EncoderDecoderCache:
        """A fresh cache for a window of `steps` positions attending to `condition_length` text states."""
        if self.cache_implementation == "dynamic":
            return EncoderDecoderCache(DynamicCache(), DynamicCache())
        return EncoderDecoderCache(
            StaticCache(config=decoder_config, max_cache_len=static_cache_length(steps)),
            StaticCache(config=decoder_config, max_cache_len=condition_length),
        )

    def forward(self, decoder: torch.nn.Module, prefill: bool) -> Callable:
        """The decoder call for one step: eager for the prefill (it allocates the cache and its length varies
        with the prompt), the compiled step afterwards when compiling."""
        if prefill or self.compile_config is None:
            return decoder
        return compiled_call(decoder, self.compile_config)


def compiled_call(module: torch.nn.Module, compile_config: CompileConfig) -> Callable:
    """`torch.compile(module.__call__)`, kept on the module and rebuilt only when the settings change (as
    transformers' `get_compiled_call`, which needs a `generation_config` our decoders do not have)."""
    cached = getattr(module, "_audiogen_compiled_call", None)
    if cached is None or cached[0] != compile_config:
        torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, RECOMPILE_LIMIT)
        cached = (compile_config, torch.compile(module.__call__, **compile_config.to_dict()))
        module._audiogen_compiled_call = cached
    return cached[1]


EAGER_DECODING = DecodingPath()  # the default: a DynamicCache and eager steps
