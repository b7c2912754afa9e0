"""audiocraft's token sampling, reproduced exactly (same filtering, same RNG consumption).

Differences from transformers' warpers that matter for parity: top-p keeps tokens while
`cumsum - p_i <= p` and wins over top-k; top-k keeps ties with the k-th value; sampling is one
`torch.multinomial` over the flattened `[N, V]` probabilities.

`generator` may also be a sequence of generators, one per batch row (the first dimension): each row then draws
from its own generator exactly what a batch of that row alone would draw with it, so a clip's randomness does
not depend on the other rows of its batch (bulk generation seeds each clip on its own, `audiogen_hf.bulk`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

Generators = torch.Generator | Sequence[torch.Generator] | None


def multinomial(probs: torch.Tensor, generator: Generators = None) -> torch.Tensor:
    """One draw per row of `probs` `[..., V]`; returns `[..., 1]`."""
    if isinstance(generator, Sequence):
        return _multinomial_per_row(probs, generator)
    flat = probs.reshape(-1, probs.shape[-1])
    drawn = torch.multinomial(flat, num_samples=1, generator=generator)
    return drawn.reshape(*probs.shape[:-1], 1)


def _multinomial_per_row(probs: torch.Tensor, generators: Sequence[torch.Generator]) -> torch.Tensor:
    """Batch row `i` of `probs` `[B, ..., V]` drawn with `generators[i]`, as a batch of one would be."""
    if len(generators) != probs.shape[0] or not all(isinstance(g, torch.Generator) for g in generators):
        raise ValueError(
            f"generator: pass one torch.Generator, or a list of exactly one per batch row ({probs.shape[0]} "
            f"rows, num_return_sequences included), got {len(generators)} items."
        )
    return torch.cat([multinomial(probs[i : i + 1], g) for i, g in enumerate(generators)])


def sample_top_k(probs: torch.Tensor, k: int, generator: Generators = None) -> torch.Tensor:
    """Top-k sampling. Modifies `probs` in place, as audiocraft does (MAGNeT's confidence scores see it)."""
    kth_value = torch.topk(probs, min(k, probs.shape[-1]), dim=-1).values[..., -1:]
    probs *= (probs >= kth_value).to(probs.dtype)
    probs.div_(probs.sum(dim=-1, keepdim=True))
    return multinomial(probs, generator)


def sample_top_p(probs: torch.Tensor, p: float, generator: Generators = None) -> torch.Tensor:
    """Nucleus sampling: keep the most probable tokens while the mass before them is <= p."""
    sorted_probs, sorted_index = torch.sort(probs, dim=-1, descending=True)
    cumulative = torch.cumsum(sorted_probs, dim=-1)
    sorted_probs = sorted_probs * (cumulative - sorted_probs <= p).to(sorted_probs.dtype)
    sorted_probs = sorted_probs / sorted_probs.sum(dim=-1, keepdim=True)
    return torch.gather(sorted_index, -1, multinomial(sorted_probs, generator))


def min_p_filter(probs: torch.Tensor, min_p: float) -> torch.Tensor:
    """A new tensor keeping the tokens at least `min_p` x the row's most probable one, renormalised (Nguyen et
    al., 2024; transformers' `min_p`). Why: it cuts a peaked row's stray tail (a hiss frame in silence) but
    keeps a flat row's spread (noise needs many codes), where top-k / top-p cut both alike."""
    keep = probs >= min_p * probs.max(dim=-1, keepdim=True).values
    kept = probs * keep.to(probs.dtype)
    return kept / kept.sum(dim=-1, keepdim=True)


def sample_from_probs(
    probs: torch.Tensor,
    top_k: int = 0,
    top_p: float = 0.0,
    generator: Generators = None,
    min_p: float = 0.0,
) -> torch.Tensor:
    """Draw one token per row: top-p if `top_p > 0`, else top-k if `top_k > 0`, else plain multinomial; a
    `min_p > 0` filters a copy of `probs` first (not audiocraft's: `probs` itself is then left untouched)."""
    if min_p > 0.0:
        probs = min_p_filter(probs, min_p)
    if top_p > 0.0:
        return sample_top_p(probs, top_p, generator)
    if top_k > 0:
        return sample_top_k(probs, top_k, generator)
    return multinomial(probs, generator)


def sample_next_token(
    logits: torch.Tensor,
    do_sample: bool,
    temperature: float,
    top_k: int = 0,
    top_p: float = 0.0,
    generator: Generators = None,
    min_p: float = 0.0,
) -> torch.Tensor:
    """audiocraft's `_sample_next_token` after CFG: logits `[..., V]` to tokens `[..., 1]`."""
    if do_sample and temperature > 0:
        probs = torch.softmax(logits / temperature, dim=-1)
        return sample_from_probs(probs, top_k, top_p, generator, min_p)
    return torch.argmax(logits, dim=-1, keepdim=True)


def apply_cfg(logits: torch.Tensor, guidance_scale: float) -> torch.Tensor:
    """Classifier-free guidance on a batch stacked as `[cond; uncond]`: `uncond + (cond - uncond) * scale`."""
    cond, uncond = logits.chunk(2, dim=0)
    return uncond + (cond - uncond) * guidance_scale
