"""Group-wise int4 weight-only linears on torch's own CPU int4 kernel.

Why: at batch 1 a decode step reads every decoder weight once, so half the bytes of int8 is the next speed-up
below bf16. torch 2.13 ships `aten._convert_weight_to_int4pack_for_cpu` (packs `[out, in]` codes in 0..15) and
`aten._weight_int4pack_mm_for_cpu` (`x @ W.T` with `W = (code - 8) * scale + zero` per group of `group_size`
input columns). The kernel needs `out % 16 == 0` and `in % group_size == 0`, and is fast only with bf16
activations (fp32 activations took ~50x longer here); other shapes and devices dequantize per call instead.
"""

from __future__ import annotations

import torch
from torch import nn

INT4_GROUP_SIZES = (256, 128, 64, 32)  # what the CPU kernel accepts
DEFAULT_INT4_GROUP_SIZE = 128
_KERNEL_OUT_MULTIPLE = 16
# The CPU int4 packing keeps rows together in blocks of this many (checked by `int4_packing_is_row_blocked`).
INT4_ROW_BLOCK = 64


def int4_group_size(in_features: int, requested: int = DEFAULT_INT4_GROUP_SIZE) -> int:
    """`requested` if it divides `in_features`, else the largest smaller kernel group size that does, else one
    group per row (which only the dequantizing path runs)."""
    if requested not in INT4_GROUP_SIZES:
        raise ValueError(f"int4 group_size must be one of {INT4_GROUP_SIZES}, got {requested}.")
    for size in INT4_GROUP_SIZES:
        if size <= requested and in_features % size == 0:
            return size
    return in_features


def quantize_per_group_int4(
    weight: torch.Tensor, group_size: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Asymmetric int4 per group of `group_size` input columns: `weight ~= (codes - 8) * scale + zero`.

    Returns codes `[out, in]` (int32 in 0..15), scales and zeros `[out, in // group_size]` (float32); the
    group's minimum maps to code 0 and its maximum to code 15.
    """
    out_features, in_features = weight.shape
    if in_features % group_size:
        raise ValueError(f"group_size {group_size} must divide the {in_features} input features.")
    groups = weight.detach().float().reshape(out_features, in_features // group_size, group_size)
    low, high = groups.amin(dim=-1), groups.amax(dim=-1)
    scales = ((high - low) / 15.0).clamp(min=1e-12)
    codes = torch.round((groups - low[..., None]) / scales[..., None]).clamp(0, 15).to(torch.int32)
    return codes.reshape(out_features, in_features), scales, low + 8.0 * scales


def kernel_fits(out_features: int, in_features: int, group_size: int, device: torch.device) -> bool:
    """Whether torch's CPU int4 kernel can run this layer."""
    return (
        device.type == "cpu"
        and hasattr(torch.ops.aten, "_weight_int4pack_mm_for_cpu")
        and out_features % _KERNEL_OUT_MULTIPLE == 0
        and group_size in INT4_GROUP_SIZES
        and in_features % group_size == 0
    )


def pack_nibbles(codes: torch.Tensor) -> torch.Tensor:
    """Codes `[out, in]` in 0..15 (in even) -> uint8 `[out, in // 2]`, even columns in the low nibble."""
    codes = codes.to(torch.uint8)
    return codes[:, 0::2] | (codes[:, 1::2] << 4)


def unpack_nibbles(packed: torch.Tensor) -> torch.Tensor:
    """Inverse of `pack_nibbles`: uint8 `[out, in // 2]` -> codes `[out, in]` (uint8)."""
    return torch.stack([packed & 0x0F, packed >> 4], dim=-1).reshape(packed.shape[0], -1)


def int4_packing_is_row_blocked(rows: int) -> bool:
    """Whether the CPU kernel packs each block of `rows` output rows on its own (so that packing a stack of
    matrices, each a multiple of `rows` tall, is the stack of their packings). Checked once on random codes."""
    if rows not in _ROW_BLOCK_CHECKS:
        generator = torch.Generator().manual_seed(0)  # not the global one: seeded runs stay as they are
        top = torch.randint(0, 16, (rows, 64), dtype=torch.int32, generator=generator)
        bottom = torch.randint(0, 16, (2 * rows, 64), dtype=torch.int32, generator=generator)
        pack = torch.ops.aten._convert_weight_to_int4pack_for_cpu
        together = pack(torch.cat([top, bottom]), 1)
        _ROW_BLOCK_CHECKS[rows] = torch.equal(together, torch.cat([pack(top, 1), pack(bottom, 1)]))
    return _ROW_BLOCK_CHECKS[rows]


_ROW_BLOCK_CHECKS: dict[int, bool] = {}


class Int4WeightOnlyLinear(nn.Module):
    """`nn.Linear` with group-wise int4 weights; activations in `compute_dtype` (bf16 by default).

    `weight` holds torch's CPU-kernel packing when the kernel fits (see `kernel_fits`), else two codes per byte
    (`pack_nibbles`) that are dequantized per call. Build it with `from_linear` on the device it will run on.
    """

    def __init__(
        self,
        codes: torch.Tensor,
        scales: torch.Tensor,
        zeros: torch.Tensor,
        bias: torch.Tensor | None,
        compute_dtype: torch.dtype = torch.bfloat16,
    ):
        super().__init__()
        out_features, in_features = codes.shape
        groups = scales.shape[-1] if scales.dim() == 2 else 0
        if (
            codes.dtype != torch.int32
            or scales.shape != (out_features, groups)
            or zeros.shape != scales.shape
            or groups == 0
            or in_features % groups
            or in_features % 2
        ):
            raise ValueError(
                f"Int4WeightOnlyLinear needs int32 codes [out, in] (in even) and scales / zeros [out, groups], "
                f"got {codes.dtype} {tuple(codes.shape)}, {tuple(scales.shape)} and {tuple(zeros.shape)}; build "
                "it with Int4WeightOnlyLinear.from_linear."
            )
        self.in_features, self.out_features = in_features, out_features
        self.group_size = in_features // groups
        self.compute_dtype = compute_dtype
        self.uses_kernel = kernel_fits(out_features, in_features, self.group_size, codes.device)
        if self.uses_kernel:
            packed = torch.ops.aten._convert_weight_to_int4pack_for_cpu(codes.contiguous(), 1)
            scales_and_zeros = torch.stack([scales.t(), zeros.t()], dim=-1).contiguous()  # [groups, out, 2]
        else:
            packed = pack_nibbles(codes)
            scales_and_zeros = torch.stack([scales, zeros], dim=-1)  # [out, groups, 2]
        self.register_buffer("weight", packed)
        self.register_buffer("scales_and_zeros", scales_and_zeros.to(compute_dtype))
        self.register_buffer("bias", None if bias is None else bias.detach().to(compute_dtype))

    @classmethod
    def from_linear(
        cls,
        linear: nn.Linear,
        group_size: int = DEFAULT_INT4_GROUP_SIZE,
        compute_dtype: torch.dtype = torch.bfloat16,
    ) -> Int4WeightOnlyLinear:
        group_size = int4_group_size(linear.in_features, group_size)
        codes, scales, zeros = quantize_per_group_int4(linear.weight, group_size)
        return cls(codes, scales, zeros, linear.bias, compute_dtype)

    @staticmethod
    def can_concatenate(parts: list[Int4WeightOnlyLinear]) -> bool:
        """Same group size and dtype, and row counts whose packings stack (`int4_packing_is_row_blocked`)."""
        if len({(p.group_size, p.compute_dtype, p.uses_kernel) for p in parts}) != 1:
            return False
        if not parts[0].uses_kernel:
            return True
        return all(p.out_features % INT4_ROW_BLOCK == 0 for p in parts) and int4_packing_is_row_blocked(
            INT4_ROW_BLOCK
        )

    @classmethod
    def concatenated(cls, parts: list[Int4WeightOnlyLinear]) -> Int4WeightOnlyLinear:
        """One layer computing every part's outputs (`parts` stacked along the output rows, no bias; see
        `can_concatenate`); the parts' weights become row views of its weight, so no byte is held twice."""
        fused = cls.__new__(cls)
        nn.Module.__init__(fused)
        first = parts[0]
        fused.in_features, fused.out_features = first.in_features, sum(p.out_features for p in parts)
        fused.group_size, fused.compute_dtype, fused.uses_kernel = (
            first.group_size,
            first.compute_dtype,
            first.uses_kernel,
        )
        out_dim = 1 if first.uses_kernel else 0  # [groups, out, 2] for the kernel, else [out, groups, 2]
        fused.register_buffer("weight", torch.cat([p.weight for p in parts]))
        fused.register_buffer("scales_and_zeros", torch.cat([p.scales_and_zeros for p in parts], dim=out_dim))
        fused.register_buffer("bias", None)
        for part, rows in zip(parts, fused.weight.split([p.out_features for p in parts]), strict=True):
            part.weight = rows
        return fused

    def dequantized_weight(self) -> torch.Tensor:
        """The float `[out, in]` weight this layer multiplies by (in `compute_dtype`), for tests and fallbacks."""
        if self.uses_kernel:
            eye = torch.eye(self.in_features, dtype=self.compute_dtype, device=self.weight.device)
            return self._kernel_matmul(eye).t().contiguous()
        codes = unpack_nibbles(self.weight).to(self.compute_dtype)
        scales, zeros = self.scales_and_zeros.unbind(-1)
        grouped = codes.reshape(self.out_features, -1, self.group_size) - 8
        weight = grouped * scales[..., None] + zeros[..., None]
        return weight.reshape(self.out_features, self.in_features)

    def _kernel_matmul(self, flat: torch.Tensor) -> torch.Tensor:
        return torch.ops.aten._weight_int4pack_mm_for_cpu(
            flat, self.weight, self.group_size, self.scales_and_zeros
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.in_features).to(self.compute_dtype)
        if self.uses_kernel:
            if flat.device.type != "cpu":
                raise ValueError(
                    "this int4 layer was packed for torch's CPU kernel; quantize the model after moving it "
                    f"to {flat.device}."
                )
            out = self._kernel_matmul(flat)
        else:
            out = nn.functional.linear(flat, self.dequantized_weight())
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*x.shape[:-1], self.out_features).to(x.dtype)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, group_size={self.group_size}, "
            f"compute_dtype={self.compute_dtype}, kernel={self.uses_kernel}"
        )
