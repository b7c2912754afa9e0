"""audiocraft's sampling rules: top-p wins over top-k, ties kept by top-k, CFG formula."""

import pytest
import torch

from audiogen_hf.generation.sampling import (
    apply_cfg,
    min_p_filter,
    sample_from_probs,
    sample_next_token,
    sample_top_k,
    sample_top_p,
)


def test_top_p_keeps_tokens_while_mass_before_them_is_at_most_p():
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    seen = {sample_top_p(probs.clone(), 0.6, torch.Generator().manual_seed(s)).item() for s in range(200)}
    # cumsum - p_i = [0, 0.5, 0.8, 0.95]: only the first two survive p=0.6.
    assert seen == {0, 1}


def test_top_k_keeps_ties_and_modifies_probs_in_place():
    probs = torch.tensor([[0.3, 0.3, 0.3, 0.1]])
    kept = probs.clone()
    seen = {sample_top_k(kept, 1, torch.Generator().manual_seed(s)).item() for s in range(100)}
    assert seen == {0, 1, 2}
    assert kept[0, 3] == 0 and torch.allclose(kept.sum(), torch.tensor(1.0))


def test_top_p_wins_over_top_k():
    probs = torch.tensor([[0.4, 0.35, 0.25]])
    seen = {
        sample_from_probs(
            probs.clone(), top_k=1, top_p=0.5, generator=torch.Generator().manual_seed(s)
        ).item()
        for s in range(200)
    }
    assert seen == {0, 1}


def test_min_p_cuts_a_peaked_rows_tail_but_keeps_a_flat_rows_spread():
    peaked = torch.tensor([[0.9, 0.06, 0.04]])  # silence: one code and a stray tail
    flat = torch.tensor([[0.3, 0.25, 0.25, 0.2]])  # noise: many codes
    torch.testing.assert_close(min_p_filter(peaked, 0.1), torch.tensor([[1.0, 0.0, 0.0]]))
    torch.testing.assert_close(min_p_filter(flat, 0.1), flat)
    both = torch.cat([torch.cat([peaked, torch.zeros(1, 1)], -1), flat])
    draws = torch.stack(
        [
            sample_from_probs(both, min_p=0.1, generator=torch.Generator().manual_seed(s))[:, 0]
            for s in range(200)
        ]
    )
    assert set(draws[:, 0].tolist()) == {0} and set(draws[:, 1].tolist()) == {0, 1, 2, 3}
    assert torch.equal(both[0], torch.tensor([0.9, 0.06, 0.04, 0.0]))  # filtered a copy, not in place
    # min_p 0 is audiocraft's sampling, draw for draw
    for s in range(5):
        plain = sample_from_probs(both.clone(), top_p=0.9, generator=torch.Generator().manual_seed(s))
        off = sample_from_probs(
            both.clone(), top_p=0.9, generator=torch.Generator().manual_seed(s), min_p=0.0
        )
        assert torch.equal(plain, off)


def test_greedy_when_not_sampling_or_zero_temperature():
    logits = torch.tensor([[[0.1, 2.0, 0.3]]])
    assert sample_next_token(logits, do_sample=False, temperature=1.0).item() == 1
    assert sample_next_token(logits, do_sample=True, temperature=0.0).item() == 1


def test_generator_seeds_sampling():
    probs = torch.softmax(torch.randn(8, 50), -1)
    a = sample_from_probs(probs.clone(), generator=torch.Generator().manual_seed(3))
    b = sample_from_probs(probs.clone(), generator=torch.Generator().manual_seed(3))
    c = sample_from_probs(probs.clone(), generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("scale", [1.0, 3.0, 10.0])
def test_cfg_formula(scale):
    cond, uncond = torch.randn(2, 4, 7), torch.randn(2, 4, 7)
    expected = uncond + (cond - uncond) * scale
    assert torch.allclose(apply_cfg(torch.cat([cond, uncond]), scale), expected)
