"""One matmul for self-attention's q / k / v and one for the codebook heads, built at precision time.

Why: at batch 1 a decode step is a few hundred small kernels; fusing q / k / v and the heads saves three calls
per layer and step, and the larger matrices use the cores better (measured in docs/performance.md).
Saved checkpoints keep audiocraft's names: the parts' weights become row views of one fused weight, and the
fused module is a plain attribute, not a submodule, so `state_dict`, `save_pretrained` and `.to()` see only
the parts. The fused module runs only while every part still views it and no gradient is asked for
(`FusedProjection.is_live`): after `.to()`, a reload or in training, the unfused path runs, unchanged.
"""

from __future__ import annotations

import torch
from torch import nn

FUSED_ATTRIBUTE = "_fused_projection"


class FusedProjection:
    """`parts` (same kind, same input, no bias) as one module; `__call__` returns each part's output."""

    def __init__(self, fused: nn.Module, parts: list[nn.Module]):
        self.fused, self.parts = fused, parts
        self.sizes = [part.out_features for part in parts]

    def is_live(self) -> bool:
        """Every part's weight is still its rows of the fused weight, and no gradient is needed."""
        if torch.is_grad_enabled():
            return False
        weight = self.fused.weight
        row_bytes, start = weight.stride(0) * weight.element_size(), weight.data_ptr()
        for part in self.parts:
            if part.weight.dtype != weight.dtype or part.weight.data_ptr() != start:
                return False
            start += part.weight.shape[0] * row_bytes
        return True

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.fused(x).split(self.sizes, dim=-1)


def _concatenated_linears(parts: list[nn.Linear]) -> nn.Linear:
    weight = torch.cat([part.weight.detach() for part in parts])
    fused = nn.Linear(weight.shape[1], weight.shape[0], bias=False, device="meta")
    fused.weight = nn.Parameter(weight, requires_grad=False)
    for part, rows in zip(parts, weight.split([p.out_features for p in parts]), strict=True):
        part.weight.data = rows
    return fused


def _fusable(parts: list[nn.Module]) -> bool:
    kind = type(parts[0])
    if kind is not nn.Linear and not hasattr(kind, "concatenated"):
        return False
    same = all(
        type(p) is kind
        and p.bias is None
        and p.in_features == parts[0].in_features
        and p.weight.dtype == parts[0].weight.dtype
        and p.weight.device == parts[0].weight.device
        for p in parts
    )
    return same and (kind is nn.Linear or kind.can_concatenate(parts))


def fuse(parts: list[nn.Module]) -> FusedProjection | None:
    """Fuse `parts` (`nn.Linear`s, or quantized layers with `concatenated`) and make their weights row views of
    the fused weight; None when they cannot be fused."""
    if not _fusable(parts):
        return None
    kind = type(parts[0])
    fused = _concatenated_linears(parts) if kind is nn.Linear else kind.concatenated(parts)
    return FusedProjection(fused, parts)


def fuse_projections(model: nn.Module) -> nn.Module:
    """Fuse each decoder layer's self-attention q / k / v and the decoder's codebook heads, in place (call it
    after any precision change; `set_precision` does)."""
    decoder = getattr(model, "decoder", model)
    if not hasattr(decoder, "layers"):
        raise ValueError(
            f"fuse_projections expects an AudioGen / MAGNeT model or its decoder, got {type(model).__name__}."
        )
    for layer in decoder.layers:
        attention = layer.self_attn
        fused = fuse([attention.q_proj, attention.k_proj, attention.v_proj])
        object.__setattr__(attention, FUSED_ATTRIBUTE, fused)
    object.__setattr__(decoder, FUSED_ATTRIBUTE, fuse(list(decoder.lm_heads)))
    return model


def live_fused(module: nn.Module) -> FusedProjection | None:
    """The module's fused projection when it may run now (see `FusedProjection.is_live`), else None."""
    fused = module.__dict__.get(FUSED_ATTRIBUTE)
    if fused is None or torch.compiler.is_compiling():  # a compiled graph fuses on its own; no pointer checks
        return None
    return fused if fused.is_live() else None
