"""Fréchet distance and KL divergence against closed forms on synthetic Gaussians and distributions."""

from __future__ import annotations

import numpy as np
import pytest

from audiogen_hf.evaluation.metrics import (
    frechet_distance,
    frechet_distance_from_statistics,
    gaussian_statistics,
    kl_divergence,
    probabilities_from_logits,
)


def test_isotropic_gaussians_match_the_closed_form():
    d, mu1, mu2 = 8, np.full(8, 0.5), np.linspace(-1, 1, 8)
    s1, s2 = 1.5, 0.4
    expected = np.sum((mu1 - mu2) ** 2) + d * (s1 - s2) ** 2
    fd = frechet_distance_from_statistics(mu1, s1**2 * np.eye(d), mu2, s2**2 * np.eye(d), eps=0.0)
    assert fd == pytest.approx(expected, rel=1e-10)
    # the default eps offset moves it by a negligible amount
    assert frechet_distance_from_statistics(mu1, s1**2 * np.eye(d), mu2, s2**2 * np.eye(d)) == pytest.approx(
        expected, rel=1e-5
    )


def test_sampled_gaussians_converge_to_the_closed_form():
    rng = np.random.default_rng(0)
    d, n = 4, 200_000
    a = rng.normal(1.0, 2.0, size=(n, d))
    b = rng.normal(-0.5, 0.5, size=(n, d))
    expected = d * 1.5**2 + d * (2.0 - 0.5) ** 2
    assert frechet_distance(a, b) == pytest.approx(expected, rel=0.01)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_non_commuting_covariances_match_a_general_matrix_sqrt():
    """Tr((S1 S2)^1/2) through the symmetric form equals scipy's general sqrtm of S1 S2."""
    linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(5, 5)), rng.normal(size=(5, 5))
    s1, s2 = a @ a.T + 0.1 * np.eye(5), b @ b.T + 0.1 * np.eye(5)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance_from_statistics(mu1, s1, mu2, s2, eps=0.0) == pytest.approx(expected, rel=1e-8)


def test_singular_covariances_stay_finite_and_symmetric():
    """Fewer clips than dimensions and a constant feature: rank-deficient covariances still give a finite,
    symmetric, non-negative distance."""
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(3, 16)), rng.normal(size=(4, 16)) + 1.0
    a[:, 0] = b[:, 0] = 7.0
    forward, backward = frechet_distance(a, b), frechet_distance(b, a)
    assert np.isfinite(forward) and forward > 0
    assert forward == pytest.approx(backward, rel=1e-6)


def test_gaussian_statistics_and_bad_inputs():
    mu, sigma = gaussian_statistics(np.array([[0.0, 1.0], [2.0, 3.0]]))
    np.testing.assert_allclose(mu, [1.0, 2.0])
    np.testing.assert_allclose(sigma, [[2.0, 2.0], [2.0, 2.0]])
    with pytest.raises(ValueError, match=">= 2 rows"):
        frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="embedding sizes differ"):
        frechet_distance(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(np.full((4, 3), np.nan), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="disagree in dimension"):
        frechet_distance_from_statistics(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


def test_categorical_kl_matches_the_closed_form():
    p = np.array([[0.5, 0.5], [0.9, 0.1]])
    q = np.array([[0.25, 0.75], [0.9, 0.1]])
    first = 0.5 * np.log(0.5 / 0.25) + 0.5 * np.log(0.5 / 0.75)
    assert kl_divergence(p, q) == pytest.approx(first / 2, rel=1e-5)
    assert kl_divergence(p, p) == pytest.approx(0.0, abs=1e-9)
    # KL is not symmetric: reference first
    assert kl_divergence(q, p) != pytest.approx(kl_divergence(p, q))
    # zero reference mass contributes nothing; zero generated mass is clipped to eps
    assert kl_divergence([[1.0, 0.0]], [[0.0, 1.0]], eps=1e-6) == pytest.approx(-np.log(1e-6), rel=1e-6)


def test_kl_of_gaussian_class_posteriors_from_logits():
    """Softmax of logits l and l + c is the same distribution: KL 0; a known shift gives the closed form."""
    logits = np.random.default_rng(3).normal(size=(6, 5))
    p = probabilities_from_logits(logits)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert kl_divergence(p, probabilities_from_logits(logits + 3.0)) == pytest.approx(0.0, abs=1e-9)
    two = probabilities_from_logits(np.array([[0.0, 0.0]]))
    shifted = probabilities_from_logits(np.array([[0.0, np.log(3.0)]]))  # [0.25, 0.75]
    assert kl_divergence(two, shifted) == pytest.approx(
        0.5 * np.log(0.5 / 0.25) + 0.5 * np.log(0.5 / 0.75), rel=1e-5
    )


def test_bernoulli_kl_sums_independent_labels():
    p = probabilities_from_logits(np.array([[0.0, 0.0]]), activation="sigmoid")  # [0.5, 0.5]
    q = np.array([[0.25, 0.5]])
    expected = 0.5 * np.log(0.5 / 0.25) + 0.5 * np.log(0.5 / 0.75)
    assert kl_divergence(p, q, kind="bernoulli") == pytest.approx(expected, rel=1e-5)


def test_kl_rejects_unpaired_or_invalid_probabilities():
    with pytest.raises(ValueError, match="paired"):
        kl_divergence(np.full((2, 2), 0.5), np.full((3, 2), 0.5))
    with pytest.raises(ValueError, match="sum to 1"):
        kl_divergence([[0.9, 0.9]], [[0.5, 0.5]])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        kl_divergence([[2.0, -1.0]], [[0.5, 0.5]])
    with pytest.raises(ValueError, match="kind"):
        kl_divergence([[0.5, 0.5]], [[0.5, 0.5]], kind="symmetric")
    with pytest.raises(ValueError, match="activation"):
        probabilities_from_logits([[0.0]], activation="tanh")
