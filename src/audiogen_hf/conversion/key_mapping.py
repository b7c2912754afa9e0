"""audiocraft state-dict keys -> ours (LM) and -> transformers' EncodecModel (codec)."""

from __future__ import annotations

import re

import torch

from .audiocraft_checkpoint import CheckpointError

_LM_RENAMES = [
    (r"condition_provider\.conditioners\.description\.output_proj\.(weight|bias)", r"enc_to_dec_proj.\1"),
    (r"emb\.(\d+)\.weight", r"decoder.embed_tokens.\1.weight"),
    (r"linears\.(\d+)\.weight", r"decoder.lm_heads.\1.weight"),
    (r"out_norm\.(weight|bias)", r"decoder.norm.\1"),
    (
        r"transformer\.layers\.(\d+)\.self_attn\.out_proj\.weight",
        r"decoder.layers.\1.self_attn.o_proj.weight",
    ),
    (
        r"transformer\.layers\.(\d+)\.cross_attention\.out_proj\.weight",
        r"decoder.layers.\1.encoder_attn.o_proj.weight",
    ),
    (r"transformer\.layers\.(\d+)\.linear1\.weight", r"decoder.layers.\1.fc1.weight"),
    (r"transformer\.layers\.(\d+)\.linear2\.weight", r"decoder.layers.\1.fc2.weight"),
    (r"transformer\.layers\.(\d+)\.norm1\.(weight|bias)", r"decoder.layers.\1.self_attn_layer_norm.\2"),
    (
        r"transformer\.layers\.(\d+)\.norm_cross\.(weight|bias)",
        r"decoder.layers.\1.encoder_attn_layer_norm.\2",
    ),
    (r"transformer\.layers\.(\d+)\.norm2\.(weight|bias)", r"decoder.layers.\1.final_layer_norm.\2"),
]
_PACKED = re.compile(r"transformer\.layers\.(\d+)\.(self_attn|cross_attention)\.in_proj_weight")


def convert_lm_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename every LM tensor; the packed q|k|v `in_proj_weight` is split into three projections."""
    converted: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        packed = _PACKED.fullmatch(key)
        if packed:
            layer, kind = packed.groups()
            prefix = f"decoder.layers.{layer}.{'self_attn' if kind == 'self_attn' else 'encoder_attn'}"
            for name, chunk in zip(("q_proj", "k_proj", "v_proj"), tensor.chunk(3, dim=0), strict=True):
                converted[f"{prefix}.{name}.weight"] = chunk.clone()
            continue
        for pattern, replacement in _LM_RENAMES:
            if re.fullmatch(pattern, key):
                converted[re.sub(pattern, replacement, key)] = tensor
                break
        else:
            raise CheckpointError(
                f"unexpected LM tensor '{key}'; this is not an AudioGen/MAGNeT LM this port supports."
            )
    return converted


_CODEC_RENAMES = [
    (r"^(encoder|decoder)\.model\.", r"\1.layers."),
    (r"\.convtr\.convtr\.", ".conv."),
    (r"\.conv\.conv\.", ".conv."),
    (r"\.weight_g$", ".parametrizations.weight.original0"),
    (r"\.weight_v$", ".parametrizations.weight.original1"),
    (r"^quantizer\.vq\.layers\.(\d+)\._codebook\.", r"quantizer.layers.\1.codebook."),
]


def convert_codec_state(state: dict[str, torch.Tensor], expected_keys: set[str]) -> dict[str, torch.Tensor]:
    """audiocraft EnCodec keys to transformers' `EncodecModel` keys (HF's own 24/32 kHz mapping)."""
    converted = {}
    for key, tensor in state.items():
        new = key
        for pattern, replacement in _CODEC_RENAMES:
            new = re.sub(pattern, replacement, new)
        converted[new] = tensor
    unknown = sorted(set(converted) - expected_keys)
    missing = sorted(expected_keys - set(converted))
    if unknown or missing:
        raise CheckpointError(
            f"the codec does not match the EnCodec built from xp.cfg: unexpected {unknown[:5]}, missing {missing[:5]}."
        )
    return converted
