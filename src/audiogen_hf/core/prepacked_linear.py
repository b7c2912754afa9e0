"""bf16 linears on a oneDNN-prepacked copy of their weight, for CPU inference.

Why: `F.linear` on bf16 weights hands oneDNN a plain weight, which oneDNN reorders into its blocked layout on
every call: at batch 1 that is a second pass over every weight, every step. `mkldnn._reorder_linear_weight`
does it once and `mkldnn._linear_pointwise` multiplies by the result (the same numbers: identical outputs at
rows 1 to 400 here); the 1024 x 24 decoder decoded 1.28x faster with it (docs/performance.md).
The module keeps its `weight` Parameter, so `state_dict` / `save_pretrained` are unchanged; the packed copy is
built on the first no-grad CPU call, costs one more copy of the weights, and is rebuilt if the weight changes
(new tensor or in-place update: its version counter) and skipped with gradients or under `torch.compile`.
"""

from __future__ import annotations

import torch
from torch import nn

from .fused_projections import FUSED_ATTRIBUTE


def prepacking_available() -> bool:
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_reorder_linear_weight")


class _PackedWeight:
    """The packed tensor and the weight state it was packed from; a deep copy starts empty (oneDNN's opaque
    tensors cannot be copied) and packs again on its first call."""

    def __init__(self):
        self.packed, self.source = None, None

    def __deepcopy__(self, memo) -> _PackedWeight:
        return _PackedWeight()


class PrepackedLinear(nn.Linear):
    """An `nn.Linear` (same parameters, same names) that multiplies by a oneDNN-prepacked bf16 weight when it
    can (CPU, bf16 input and weight, no gradient, not compiling), and as `nn.Linear` otherwise."""

    @classmethod
    def from_linear(cls, linear: nn.Linear) -> PrepackedLinear:
        """Wrap `linear`'s own Parameters (shared, not copied)."""
        module = cls.__new__(cls)
        nn.Module.__init__(module)
        module.in_features, module.out_features = linear.in_features, linear.out_features
        module.register_parameter("weight", linear.weight)
        module.register_parameter("bias", linear.bias)
        object.__setattr__(module, "_packed", _PackedWeight())
        return module

    def _packed_weight(self, x: torch.Tensor) -> torch.Tensor | None:
        weight = self.weight
        if (
            torch.is_grad_enabled()
            or torch.compiler.is_compiling()
            or x.dtype != torch.bfloat16
            or weight.dtype != torch.bfloat16
            or x.device.type != "cpu"
            or weight.device.type != "cpu"
        ):
            return None
        state = (weight.data_ptr(), weight._version, weight.shape)
        holder = self._packed
        if holder.source != state:
            holder.packed, holder.source = torch.ops.mkldnn._reorder_linear_weight(weight.detach(), 2), state
        return holder.packed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        packed = self._packed_weight(x)
        if packed is None:
            return super().forward(x)
        flat = x.reshape(-1, self.in_features)
        out = torch.ops.mkldnn._linear_pointwise(flat, packed, self.bias, "none", [], "")
        return out.reshape(*x.shape[:-1], self.out_features)


def prepack_linears(model: nn.Module) -> nn.Module:
    """Swap the decoder's plain `nn.Linear`s (layers, heads, and the fused projections of
    `fused_projections.py`) for `PrepackedLinear`s sharing their Parameters, in place; a no-op where oneDNN is
    missing."""
    if not prepacking_available():
        return model
    decoder = getattr(model, "decoder", model)
    swapped: dict[int, PrepackedLinear] = {}
    for module in list(decoder.modules()):
        for name, child in list(module.named_children()):
            if type(child) is nn.Linear:
                swapped[id(child)] = PrepackedLinear.from_linear(child)
                setattr(module, name, swapped[id(child)])
        fused = module.__dict__.get(FUSED_ATTRIBUTE)
        if fused is not None and type(fused.fused) is nn.Linear:
            fused.fused = PrepackedLinear.from_linear(fused.fused)
            fused.parts = [swapped.get(id(part), part) for part in fused.parts]
    return model
