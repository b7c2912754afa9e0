"""Reduced-precision decoders: bf16 / fp16 weights and int8 / int4 weight-only linears.

Why: decoding is bound by reading the decoder's weights once per step, so fewer bytes per weight is the speed-up
on a CPU. Only the decoder changes precision; the T5 text encoder and the EnCodec codec run once per call and
stay in float32, and logits are cast to float32 before guidance and sampling (`generation_*.py`).

torchao 0.18 installs beside torch 2.13 here, but its `Int8WeightOnlyConfig` linear ran 4x slower than
`torch.ops.aten._weight_int8pack_mm` on this CPU (621 vs 153 us for a 1024 x 4096 layer at batch 2), so the
int8 path is this small module over that op. The int4 layer (`int4.py`) is the same idea on torch's CPU int4
kernel.
"""

from __future__ import annotations

import torch
from torch import nn

from .fused_projections import fuse_projections
from .int4 import DEFAULT_INT4_GROUP_SIZE, Int4WeightOnlyLinear
from .prepacked_linear import prepack_linears

PRECISIONS = ("float32", "bfloat16", "float16", "int8", "int4")
# The CLI's default, "auto": the fastest precision on this CPU among those whose judge scores stay within 3
# points of float32 on the embedded models (all three do; docs/performance.md). MAGNeT's full-window forward is
# compute-bound: bf16 is fastest at every size measured. AudioGen's one-token steps are overhead-bound on the
# embedded 128-wide decoder (float32 fastest) and weight-bandwidth-bound at 1024 wide (bf16 fastest).
AUTO_PRECISION = "auto"
BANDWIDTH_BOUND_HIDDEN_SIZE = 1024
_FLOAT_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def quantize_per_channel(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 per output channel: `weight ~= int8 * scale[:, None]`, int8 in [-127, 127]."""
    weight = weight.detach().float()
    scales = weight.abs().amax(dim=1).clamp(min=1e-12) / 127.0
    quantized = torch.round(weight / scales[:, None]).clamp(-127, 127).to(torch.int8)
    return quantized, scales


def _has_int8pack_mm(device: torch.device) -> bool:
    return device.type == "cpu" and hasattr(torch.ops.aten, "_weight_int8pack_mm")


class Int8WeightOnlyLinear(nn.Module):
    """`nn.Linear` with int8 weights and float scales; activations stay in `compute_dtype` (bf16 by default).

    On CPU the product is `aten._weight_int8pack_mm` (it reads the int8 weights directly); elsewhere the weights
    are dequantized per call, which saves memory but not time.
    """

    def __init__(
        self,
        weight: torch.Tensor,
        scales: torch.Tensor,
        bias: torch.Tensor | None,
        compute_dtype: torch.dtype = torch.bfloat16,
    ):
        super().__init__()
        if weight.dtype != torch.int8 or weight.dim() != 2 or scales.shape != weight.shape[:1]:
            raise ValueError(
                f"Int8WeightOnlyLinear needs an int8 [out, in] weight and [out] scales, got {weight.dtype} "
                f"{tuple(weight.shape)} and {tuple(scales.shape)}; build it with Int8WeightOnlyLinear.from_linear."
            )
        self.in_features, self.out_features = weight.shape[1], weight.shape[0]
        self.compute_dtype = compute_dtype
        self.register_buffer("weight", weight)
        self.register_buffer("scales", scales.to(compute_dtype))
        self.register_buffer("bias", None if bias is None else bias.detach().to(compute_dtype))

    @classmethod
    def from_linear(
        cls, linear: nn.Linear, compute_dtype: torch.dtype = torch.bfloat16
    ) -> Int8WeightOnlyLinear:
        weight, scales = quantize_per_channel(linear.weight)
        return cls(weight, scales, linear.bias, compute_dtype)

    @staticmethod
    def can_concatenate(parts: list[Int8WeightOnlyLinear]) -> bool:
        return len({p.compute_dtype for p in parts}) == 1

    @classmethod
    def concatenated(cls, parts: list[Int8WeightOnlyLinear]) -> Int8WeightOnlyLinear:
        """One layer computing every part's outputs (`parts` stacked along the output rows, no bias); the parts'
        weights and scales become row views of its own, so no byte is held twice."""
        weight, scales = torch.cat([p.weight for p in parts]), torch.cat([p.scales for p in parts])
        fused = cls(weight, scales, None, parts[0].compute_dtype)
        sizes = [p.out_features for p in parts]
        for part, rows, row_scales in zip(parts, weight.split(sizes), fused.scales.split(sizes), strict=True):
            part.weight, part.scales = rows, row_scales
        return fused

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.in_features).to(self.compute_dtype)
        if _has_int8pack_mm(flat.device):
            out = torch.ops.aten._weight_int8pack_mm(flat, self.weight, self.scales)
        else:
            out = nn.functional.linear(flat, self.weight.to(self.compute_dtype) * self.scales[:, None])
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*x.shape[:-1], self.out_features).to(x.dtype)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, compute_dtype={self.compute_dtype}"


def _swap_layer_linears(model: nn.Module, name: str, compute_dtype: torch.dtype, quantize) -> nn.Module:
    """Replace every `nn.Linear` inside the decoder's layers by `quantize(linear)` (from the float weights as
    loaded), then move the rest of the decoder to `compute_dtype`."""
    decoder = getattr(model, "decoder", model)
    if not hasattr(decoder, "layers"):
        raise ValueError(
            f"{name} expects an AudioGen / MAGNeT model or its decoder, got {type(model).__name__}."
        )
    for layer in decoder.layers:
        for child in list(layer.modules()):
            for attr, sub in list(child.named_children()):
                if isinstance(sub, nn.Linear):
                    setattr(child, attr, quantize(sub))
    decoder.to(compute_dtype)
    return model


def quantize_int8(model: nn.Module, compute_dtype: torch.dtype = torch.bfloat16) -> nn.Module:
    """Swap the decoder layers' linears (attention projections, FFN) for int8 weight-only ones, in place.

    The decoder's embeddings, norms and per-codebook heads move to `compute_dtype` but keep float weights: they
    are a small share of the bytes and the heads produce the logits that are sampled. Works on a full
    AudioGen / MAGNeT model (its `.decoder`) or a decoder itself. Quantize after loading; such a model is for
    inference and is not meant to be saved.
    """
    return _swap_layer_linears(
        model,
        "quantize_int8",
        compute_dtype,
        lambda linear: Int8WeightOnlyLinear.from_linear(linear, compute_dtype),
    )


def quantize_int4(
    model: nn.Module, group_size: int = DEFAULT_INT4_GROUP_SIZE, compute_dtype: torch.dtype = torch.bfloat16
) -> nn.Module:
    """As `quantize_int8`, with group-wise int4 weights (`Int4WeightOnlyLinear`, one scale and zero per
    `group_size` input columns); heads, embeddings and norms stay in `compute_dtype`, logits are sampled in
    float32. Quantize on the device the model will run on (the CPU packing is the kernel's own)."""
    return _swap_layer_linears(
        model,
        "quantize_int4",
        compute_dtype,
        lambda linear: Int4WeightOnlyLinear.from_linear(linear, group_size, compute_dtype),
    )


def auto_precision(model: nn.Module) -> str:
    """The measured-fastest precision for this model on a CPU (see `AUTO_PRECISION`)."""
    if model.config.model_type == "magnet":
        return "bfloat16"
    return "bfloat16" if model.config.decoder.hidden_size >= BANDWIDTH_BOUND_HIDDEN_SIZE else "float32"


def set_precision(model: nn.Module, precision: str) -> nn.Module:
    """Run the decoder in `precision` ("float32", "bfloat16", "float16", "int8", "int4" or "auto"), in place.

    Text encoder, projection and codec are left as they are (float32 after a default `from_pretrained`). Then
    self-attention's q / k / v and the codebook heads are fused (`fused_projections.py`), and bf16 linears use
    oneDNN-prepacked weights (`prepacked_linear.py`); saved names and values are unchanged.
    """
    if precision == AUTO_PRECISION:
        precision = auto_precision(model)
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS} or 'auto', got {precision!r}.")
    if precision == "int8":
        quantize_int8(model)
    elif precision == "int4":
        quantize_int4(model)
    else:
        model.decoder.to(_FLOAT_DTYPES[precision])
    fuse_projections(model)
    if precision in ("bfloat16", "int8", "int4"):  # bf16 linears: the layers', or the heads'
        prepack_linears(model)
    return model
