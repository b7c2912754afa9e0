"""The delay pattern against audiocraft's documented layouts."""

import pytest
import torch

from audiogen_hf.generation.delay_pattern import (
    align_logits_to_frames,
    build_delay_pattern,
    first_step_to_generate,
    num_pattern_steps,
    revert_delay_pattern,
)

DELAYS = [0, 1, 2, 3]
S = -1  # stands for the special token in the expected layouts below


def test_build_matches_audiocraft_example():
    # audiocraft-reference §3.1, T=5: values are flat indices q*T + t.
    codes = torch.arange(20).view(1, 4, 5)
    sequence, valid = build_delay_pattern(codes, DELAYS, special_token=S)
    assert sequence.shape == (1, 4, 9) == (1, 4, num_pattern_steps(5, DELAYS))
    assert sequence[0, 0].tolist() == [S, 0, 1, 2, 3, 4, S, S, S]
    assert sequence[0, 1].tolist() == [S, S, 5, 6, 7, 8, 9, S, S]
    assert sequence[0, 3].tolist() == [S, S, S, S, 15, 16, 17, 18, 19]
    assert valid.sum().item() == 20
    assert not valid[:, 0].any()


def test_round_trip_random_codes():
    codes = torch.randint(0, 2048, (3, 4, 17))
    sequence, _ = build_delay_pattern(codes, DELAYS, special_token=2048)
    assert torch.equal(revert_delay_pattern(sequence, DELAYS, 17), codes)


def test_round_trip_parallel_pattern():
    codes = torch.randint(0, 10, (2, 4, 6))
    sequence, valid = build_delay_pattern(codes, [0, 0, 0, 0], special_token=10)
    assert sequence.shape[-1] == 7 and valid[:, 1:].all()
    assert torch.equal(revert_delay_pattern(sequence, [0, 0, 0, 0], 6), codes)


def test_first_step_to_generate():
    assert first_step_to_generate(0, DELAYS) == 1
    assert first_step_to_generate(7, DELAYS) == 8


def test_logit_alignment_masks_last_delay_frames():
    # audiocraft's keep_only_valid_steps: rows 111111 / 111110 / 111100 / 111000 for T=6.
    step_logits = torch.randn(2, 4, 6, 5)
    aligned, valid = align_logits_to_frames(step_logits, DELAYS)
    assert valid.int().tolist() == [[1] * 6, [1] * 5 + [0], [1] * 4 + [0] * 2, [1] * 3 + [0] * 3]
    # Frame t of codebook q is predicted by step t + q.
    assert torch.equal(aligned[:, 2, 1], step_logits[:, 2, 3])
    assert torch.equal(aligned[:, 3, 2], step_logits[:, 3, 5])
    assert (aligned[:, 3, 3:] == 0).all()


def test_logit_alignment_with_the_pattern_tail_predicts_every_frame():
    # T = 6 frames from T + max(delay) = 9 steps: frame t of codebook q is still predicted by step t + q.
    step_logits = torch.randn(2, 4, 9, 5)
    aligned, valid = align_logits_to_frames(step_logits, DELAYS, num_frames=6)
    assert aligned.shape == (2, 4, 6, 5) and valid.all()
    assert torch.equal(aligned[:, 3, 5], step_logits[:, 3, 8])
    assert torch.equal(aligned[:, 1, 5], step_logits[:, 1, 6])
    with pytest.raises(ValueError, match="num_frames must be in"):
        align_logits_to_frames(step_logits, DELAYS, num_frames=10)
