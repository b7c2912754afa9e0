"""A differentiable residual VQ over a transformers `EncodecModel`'s own codebook buffers.

Why: transformers' EnCodec quantizes without gradients, so the codec trainer needs nearest-code lookup with a
straight-through estimator, commitment loss, k-means initialisation, EMA codebook updates and dead-code
replacement, all writing the buffers (`embed`, `embed_avg`, `cluster_size`) that `encode/decode` read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from transformers import EncodecModel

if TYPE_CHECKING:
    from training.embedded.train_codec import CodecTrainingConfig


def _nearest(vectors: torch.Tensor, embed: torch.Tensor) -> torch.Tensor:
    """Index of the nearest code (the same squared-Euclidean rule as EncodecEuclideanCodebook.quantize)."""
    distance = vectors.pow(2).sum(1, keepdim=True) - 2 * vectors @ embed.t() + embed.pow(2).sum(1)[None]
    return distance.argmin(dim=-1)


@torch.no_grad()
def kmeans_init(
    model: EncodecModel, vectors: torch.Tensor, iterations: int, generator: torch.Generator
) -> None:
    """Initialise every codebook by k-means on the residuals it will see (audiocraft's `kmeans_init`)."""
    residual = vectors
    for layer in model.quantizer.layers:
        book = layer.codebook
        size = book.embed.shape[0]
        pick = torch.randint(0, residual.shape[0], (size,), generator=generator)
        centroids = residual[pick].clone()
        for _ in range(iterations):
            assign = _nearest(residual, centroids)
            counts = torch.bincount(assign, minlength=size).float()
            sums = torch.zeros_like(centroids).index_add_(0, assign, residual)
            filled = counts > 0
            centroids[filled] = sums[filled] / counts[filled, None]
        counts = torch.bincount(_nearest(residual, centroids), minlength=size).float()
        book.embed.copy_(centroids)
        book.cluster_size.copy_(counts.clamp(min=1.0))
        book.embed_avg.copy_(centroids * book.cluster_size[:, None])
        book.inited.fill_(1)
        residual = residual - centroids[_nearest(residual, centroids)]


@torch.no_grad()
def _ema_update(book, vectors: torch.Tensor, codes: torch.Tensor, decay: float, eps: float = 1e-5) -> None:
    """EMA of code counts and sums; the code is their Laplace-smoothed ratio (audiocraft's update)."""
    size = book.embed.shape[0]
    counts = torch.bincount(codes, minlength=size).to(vectors.dtype)
    sums = torch.zeros_like(book.embed).index_add_(0, codes, vectors)
    book.cluster_size.mul_(decay).add_(counts, alpha=1 - decay)
    book.embed_avg.mul_(decay).add_(sums, alpha=1 - decay)
    total = book.cluster_size.sum()
    smoothed = (book.cluster_size + eps) / (total + size * eps) * total
    book.embed.copy_(book.embed_avg / smoothed[:, None])


@torch.no_grad()
def _replace_dead_codes(
    book, vectors: torch.Tensor, threshold: float, generator: torch.Generator, reset_count: float = 1.0
) -> int:
    """Codes whose EMA count fell under `threshold` restart at random vectors of this batch.

    They restart with an EMA count of `reset_count` (embed_avg consistent with it), so the EMA update keeps
    them where they were put and they get a grace period instead of being re-replaced every step."""
    dead = book.cluster_size < threshold
    count = int(dead.sum())
    if count:
        pick = torch.randint(0, vectors.shape[0], (count,), generator=generator)
        book.embed[dead] = vectors[pick]
        book.cluster_size[dead] = reset_count
        book.embed_avg[dead] = vectors[pick] * reset_count
    return count


def first_codebook_straight_through(model: EncodecModel, latents: torch.Tensor) -> torch.Tensor:
    """`[B, D, T]` latents quantized by the first codebook alone, straight-through (gradients reach the
    encoder): what the first code of each frame says, for the distillation term that asks it to carry the
    frame's spectral envelope."""
    batch, dim, frames = latents.shape
    flat = latents.transpose(1, 2).reshape(-1, dim)
    embed = model.quantizer.layers[0].codebook.embed
    chosen = embed[_nearest(flat.detach(), embed)].detach()
    return (flat + (chosen - flat).detach()).view(batch, frames, dim).transpose(1, 2)


def residual_vq(
    model: EncodecModel,
    latents: torch.Tensor,
    cfg: CodecTrainingConfig | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """Quantize `[B, D, T]` latents with the model's codebooks: (straight-through quantized `[B, D, T]`,
    codes `[K, B, T]`, commitment loss, dead codes replaced). With `cfg`, also update the codebooks."""
    batch, dim, frames = latents.shape
    flat = latents.transpose(1, 2).reshape(-1, dim)
    residual, quantized = flat, torch.zeros_like(flat)
    commitment, codes, replaced = flat.new_zeros(()), [], 0
    for layer in model.quantizer.layers:
        book = layer.codebook
        if cfg is not None:
            replaced += _replace_dead_codes(
                book, residual.detach(), cfg.dead_code_threshold, generator, cfg.dead_code_reset_count
            )
        index = _nearest(residual.detach(), book.embed)
        chosen = book.embed[index].detach()
        commitment = commitment + F.mse_loss(residual, chosen)
        if cfg is not None:
            _ema_update(book, residual.detach(), index, cfg.ema_decay)
        residual = residual - chosen
        quantized = quantized + chosen
        codes.append(index.view(batch, frames))
    straight_through = flat + (quantized - flat).detach()
    return straight_through.view(batch, frames, dim).transpose(1, 2), torch.stack(codes), commitment, replaced
