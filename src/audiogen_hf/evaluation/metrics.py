"""Distribution metrics between sets of clips: Fréchet distance of embeddings and KL of class probabilities.

Why pure numpy (float64) functions: they are the maths of FAD-style evaluation (audiocraft's `FrechetAudio
DistanceMetric`, AudioLDM's `calculate_frechet_distance` / PaSST KL) and are tested on Gaussians with
closed-form answers, independent of any embedder.
"""

from __future__ import annotations

from typing import Literal

import numpy as np


def _as_matrix(x, name: str, min_rows: int = 1) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().double().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < min_rows or x.shape[1] < 1:
        raise ValueError(f"{name} must be a [clips, features] array with >= {min_rows} rows, got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf")
    return x


def gaussian_statistics(embeddings) -> tuple[np.ndarray, np.ndarray]:
    """Mean [d] and unbiased covariance [d, d] of a [clips, d] embedding set (needs >= 2 clips)."""
    x = _as_matrix(embeddings, "embeddings", min_rows=2)
    return x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False))


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix by eigendecomposition (round-off negative
    eigenvalues clipped to 0)."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance_from_statistics(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6
) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^1/2) between N(mu1, S1) and N(mu2, S2).

    Tr((S1 S2)^1/2) is computed as Tr((S1^1/2 S2 S1^1/2)^1/2) (same eigenvalues, but a symmetric PSD matrix),
    so only symmetric eigendecompositions are needed: no complex parts, unlike a general `sqrtm` of S1 S2.
    `eps` is added to both diagonals first so a near-singular covariance (fewer clips than dimensions,
    constant features) gives a finite, stable answer; it shifts a per-dimension term by at most about
    eps / min(s1, s2) (for isotropic s^2 I covariances), negligible at the default 1e-6. Use eps=0 for the
    exact value of well-conditioned statistics."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = (
        np.atleast_2d(np.asarray(sigma1, np.float64)),
        np.atleast_2d(np.asarray(sigma2, np.float64)),
    )
    d = mu1.shape[0]
    if mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise ValueError(
            f"statistics disagree in dimension: mu1 {mu1.shape}, mu2 {mu2.shape}, sigma1 {sigma1.shape}, "
            f"sigma2 {sigma2.shape}; embed both sets with the same embedder"
        )
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    offset = eps * np.eye(d)
    sigma1, sigma2 = sigma1 + offset, sigma2 + offset
    root1 = _psd_sqrt(sigma1)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root1 @ sigma2 @ root1), 0.0, None)).sum()
    diff = mu1 - mu2
    return float(max(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * cross, 0.0))


def frechet_distance(embeddings_a, embeddings_b, eps: float = 1e-6) -> float:
    """Fréchet distance between Gaussians fitted to two [clips, d] embedding sets (FAD when the embedder
    is an audio classifier's; sets need not be the same size)."""
    a, b = _as_matrix(embeddings_a, "embeddings_a", 2), _as_matrix(embeddings_b, "embeddings_b", 2)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"embedding sizes differ: {a.shape[1]} vs {b.shape[1]}; use the same embedder")
    return frechet_distance_from_statistics(*gaussian_statistics(a), *gaussian_statistics(b), eps=eps)


def probabilities_from_logits(logits, activation: Literal["softmax", "sigmoid"] = "softmax") -> np.ndarray:
    """Class probabilities from classifier logits: softmax for one label per clip, sigmoid for independent
    labels (AudioSet taggers such as PaSST are trained with sigmoids)."""
    x = _as_matrix(logits, "logits")
    if activation == "softmax":
        x = np.exp(x - x.max(axis=1, keepdims=True))
        return x / x.sum(axis=1, keepdims=True)
    if activation == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    raise ValueError(f"activation must be 'softmax' or 'sigmoid', got {activation!r}")


def kl_divergence(
    reference_probabilities,
    generated_probabilities,
    kind: Literal["categorical", "bernoulli"] = "categorical",
    eps: float = 1e-6,
) -> float:
    """Mean over paired clips of KL(p_ref || p_gen), as audiocraft's PaSST KL (clip i of the generated set is
    the generation for clip i's caption).

    kind="categorical": each row is one distribution (it must sum to 1, e.g. softmax outputs):
    sum_c p log(p / q). kind="bernoulli": each column is an independent label probability (sigmoid outputs):
    sum_c [p log(p / q) + (1 - p) log((1 - p) / (1 - q))], the KL of the product of Bernoullis (AudioLDM's
    "KL_Sigmoid" keeps only the first term, which can be negative). `eps` keeps log(0) finite: q is
    clipped to [eps, 1 - eps], and 0 log 0 is 0."""
    p = _as_matrix(reference_probabilities, "reference_probabilities")
    q = _as_matrix(generated_probabilities, "generated_probabilities")
    if p.shape != q.shape:
        raise ValueError(
            f"probabilities must be paired clip by clip with the same classes: {p.shape} vs {q.shape}"
        )
    if (p < 0).any() or (p > 1).any() or (q < 0).any() or (q > 1).any():
        raise ValueError("probabilities must lie in [0, 1]; pass logits through probabilities_from_logits")
    if kind == "categorical":
        for name, rows in (("reference", p), ("generated", q)):
            if not np.allclose(rows.sum(axis=1), 1.0, atol=1e-4):
                raise ValueError(f"{name} rows must sum to 1 for kind='categorical'; use kind='bernoulli'")
        terms = _plogp_over_q(p, q, eps)
    elif kind == "bernoulli":
        terms = _plogp_over_q(p, q, eps) + _plogp_over_q(1.0 - p, 1.0 - q, eps)
    else:
        raise ValueError(f"kind must be 'categorical' or 'bernoulli', got {kind!r}")
    return float(terms.sum(axis=1).mean())


def _plogp_over_q(p: np.ndarray, q: np.ndarray, eps: float) -> np.ndarray:
    q = np.clip(q, eps, 1.0 - eps)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p > 0, p * (np.log(np.where(p > 0, p, 1.0)) - np.log(q)), 0.0)
