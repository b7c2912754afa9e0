"""MAGNeT's masking arithmetic against audiocraft's formulas (`lm_magnet.py`), step by step."""

from __future__ import annotations

import math

import pytest
import torch

from audiogen_hf.models.magnet import masking as masking

# ------------------------------------------------------------------------------------------------ band mask


@pytest.mark.parametrize("stage", [0, 1, 2, 3])
def test_band_mask_per_stage(stage):
    length, context = 12, 2
    mask = masking.band_attention_mask(stage, length, context)
    if stage == 0:
        assert mask is None
        return
    assert mask.shape == (1, 1, length, length)
    assert mask.dtype == torch.float32
    for i in range(length):
        for j in range(length):
            expected = 0.0 if abs(i - j) <= context else float("-inf")
            assert mask[0, 0, i, j].item() == expected
    # Every row keeps its 2 * context + 1 band (fewer at the edges) and never masks itself.
    assert torch.equal((mask[0, 0] == 0).sum(-1)[context:-context], torch.full((length - 2 * context,), 5))
    assert torch.all(mask[0, 0].diagonal() == 0)


def test_band_mask_audiocraft_width_dtype_and_unrestricted():
    mask = masking.band_attention_mask(1, 500, 5, dtype=torch.float16)
    assert mask.dtype == torch.float16
    assert (mask[0, 0, 250] == 0).sum().item() == 11  # the 11-token band of audiocraft's models
    assert masking.band_attention_mask(2, 50, -1) is None


# ------------------------------------------------------------------------------------------------ schedule


def _audiocraft_mask_rates(num_steps: int) -> list[torch.Tensor]:
    return [torch.cos(t * math.pi * 0.5) for t in torch.linspace(0, 1, num_steps)]


@pytest.mark.parametrize("num_steps", [1, 2, 10, 20, 60])
def test_cosine_schedule_matches_audiocraft(num_steps):
    schedule = masking.cosine_schedule(num_steps)
    expected = _audiocraft_mask_rates(num_steps)
    assert [s.mask_p.dtype for s in schedule] == [torch.float32] * num_steps
    assert [s.mask_p.item() for s in schedule] == [e.item() for e in expected]
    assert [s.steps_left for s in schedule] == list(reversed(range(num_steps)))
    assert schedule[0].mask_p.item() == 1.0
    if num_steps > 1:
        # float32 cos(pi / 2) is not 0: the last step's rate is -4.37e-8, as in audiocraft.
        assert schedule[-1].mask_p.item() == pytest.approx(-4.371139e-08, rel=1e-5)


@pytest.mark.parametrize("num_steps,units", [(20, 166), (10, 166), (10, 500), (3, 7), (5, 1)])
def test_masked_count_schedule_matches_formula(num_steps, units):
    counts = [masking.num_to_mask(s.mask_p, units) for s in masking.cosine_schedule(num_steps)]
    expected = [max(int((p * units).item()), 1) for p in _audiocraft_mask_rates(num_steps)]
    assert counts == expected
    assert counts[0] == units and counts[-1] == 1


def test_masked_count_schedule_known_values():
    # nonoverlap, 10 s model: 500 -> 498 frames = 166 chunks of 3, 20 steps on the first codebook.
    nonoverlap = [masking.num_to_mask(s.mask_p, 166) for s in masking.cosine_schedule(20)]
    assert nonoverlap == [
        166,
        165,
        163,
        160,
        157,
        152,
        145,
        138,
        130,
        122,
        112,
        101,
        90,
        79,
        66,
        53,
        40,
        27,
        13,
        1,
    ]
    # stride1: token counts over the untrimmed 500 frames, 10 steps.
    stride1 = [masking.num_to_mask(s.mask_p, 500) for s in masking.cosine_schedule(10)]
    assert stride1 == [500, 492, 469, 433, 383, 321, 249, 171, 86, 1]


def test_cosine_schedule_rejects_zero_steps():
    with pytest.raises(ValueError, match="at least 1 decoding step"):
        masking.cosine_schedule(0)


# ------------------------------------------------------------------------------------------------ annealing


def test_temperature_annealing_per_step():
    steps = masking.cosine_schedule(10)
    temps = [masking.annealed_temperature(3.0, s.steps_left, 10) for s in steps]
    assert temps == [max(3.0 * ((9 - i) / 10), 0.01) for i in range(10)]
    assert temps[0] == pytest.approx(2.7) and temps[-2] == pytest.approx(0.3)
    assert temps[-1] == 0.01  # annealed to 0, floored at 0.01
    assert [masking.annealed_temperature(3.0, s.steps_left, 10, anneal=False) for s in steps] == [3.0] * 10
    assert masking.annealed_temperature(0.0, 5, 10, anneal=False) == 0.01


def test_cfg_annealing_per_step():
    steps = masking.cosine_schedule(20)
    coefs = [masking.cfg_coefficient(s.mask_p, 10.0, 1.0) for s in steps]
    expected = [float(s.mask_p) * 10.0 + (1 - float(s.mask_p)) * 1.0 for s in steps]
    assert coefs == expected
    assert coefs[0] == 10.0
    assert all(a > b for a, b in zip(coefs, coefs[1:], strict=False))
    # The float32 rate is slightly negative at the end, so the last scale is just below min_cfg_coef.
    assert coefs[-1] < 1.0 and coefs[-1] == pytest.approx(1.0, abs=1e-6)
    assert masking.cfg_coefficient(torch.tensor(0.5), 20.0, 2.0) == 11.0


# ------------------------------------------------------------------------------------------------ spans


@pytest.mark.parametrize(
    "length,span_len,arrangement,expected",
    [
        (500, 3, "nonoverlap", 498),
        (1500, 3, "nonoverlap", 1500),
        (100, 3, "nonoverlap", 99),
        (500, 3, "stride1", 500),
        (100, 1, "nonoverlap", 100),
    ],
)
def test_trimmed_length(length, span_len, arrangement, expected):
    assert masking.trimmed_length(length, span_len, arrangement) == expected


def test_initial_scores_freeze_the_prompt():
    chunked = masking.initial_scores(2, 12, 7, 3, chunked=True)
    assert chunked.shape == (2, 1, 4)
    # Only chunks entirely inside the prompt (7 // 3 = 2) are frozen.
    assert chunked[0, 0].tolist() == [masking.DONT_REMASK_SCORE] * 2 + [0.0, 0.0]
    tokens = masking.initial_scores(1, 10, 7, 3, chunked=False)
    assert tokens[0, 0].tolist() == [masking.DONT_REMASK_SCORE] * 7 + [0.0] * 3


def test_chunk_mask_picks_highest_scores_and_expands():
    scores = torch.tensor([[[0.1, 0.9, masking.DONT_REMASK_SCORE, 0.5]]])
    chunks = masking.chunk_mask(scores, 2)
    assert chunks.tolist() == [[[False, True, False, True]]]
    tokens = masking.expand_chunks(chunks, 3)
    assert tokens[0, 0].tolist() == [False] * 3 + [True] * 3 + [False] * 3 + [True] * 3
    assert masking.token_mask(scores, 1).tolist() == [[[False, True, False, False]]]


def test_chunk_scores_max_and_prod():
    probs = torch.tensor([[[0.2, 0.5, 0.1, 0.9, 0.3, 0.4]]])
    assert torch.allclose(masking.chunk_scores(probs, 3, "max"), torch.tensor([[[0.5, 0.1]]]))
    nll = -torch.log(probs).reshape(1, 1, 2, 3).sum(-1)
    assert torch.equal(masking.chunk_scores(probs, 3, "prod"), nll)
    assert torch.equal(masking.token_scores(probs), -torch.log(probs))
    with pytest.raises(ValueError, match="span_scoring"):
        masking.chunk_scores(probs, 3, "mean")


def test_freeze_unmasked():
    scores = torch.tensor([[[1.0, 2.0, 3.0]]])
    frozen = masking.freeze_unmasked(scores, torch.tensor([[[True, False, True]]]))
    assert frozen.tolist() == [[[1.0, masking.DONT_REMASK_SCORE, 3.0]]]


def test_spans_mask_union():
    mask = masking.spans_mask(torch.tensor([0, 5, 6]), 10, 3)
    assert mask.shape == (1, 1, 10)
    assert mask[0, 0].nonzero().flatten().tolist() == [0, 1, 2, 5, 6, 7, 8]


def _reference_spans(starts: torch.Tensor, length: int, span_len: int) -> torch.Tensor:
    mask = torch.zeros(length, dtype=torch.bool)
    for s in starts.tolist():
        mask[s : s + span_len] = True
    return mask[None, None]


def _reference_least_probable(scores: torch.Tensor, target: int, span_len: int) -> torch.Tensor:
    """audiocraft's `_least_probable_span_masking`, restated: binary search on the number of spans u."""
    length = scores.shape[-1]
    ranked = torch.argsort(scores.unfold(2, span_len, 1).sum(dim=-1)[0, 0], descending=True)
    target = max(target, span_len)
    lo, hi = target // span_len, target - span_len + 1
    mid = round(0.5 * (lo + hi))
    if mid in (lo, hi):
        return _reference_spans(ranked[:mid], length, span_len)
    result = None
    while lo < mid < hi:
        result = _reference_spans(ranked[:mid], length, span_len)
        if result.sum() > target:
            hi = mid
        else:
            lo = mid
        mid = round(0.5 * (lo + hi))
    return result


@pytest.mark.parametrize("length", [6, 13, 50])
@pytest.mark.parametrize("span_len", [2, 3, 4])
def test_least_probable_spans_match_audiocraft_search(length, span_len):
    gen = torch.Generator().manual_seed(length * 10 + span_len)
    for prompt in (0, length // 3):
        scores = torch.rand(1, 1, length, generator=gen) * 5
        scores[..., :prompt] = masking.DONT_REMASK_SCORE
        for target in range(1, length - prompt + 1):
            got = masking.least_probable_spans_mask(scores, target, span_len)
            assert got.shape == (1, 1, length)
            assert torch.equal(got, _reference_least_probable(scores, target, span_len)), (prompt, target)


def test_least_probable_spans_prefer_unlikely_tokens():
    scores = torch.zeros(1, 1, 20)
    scores[..., 8:11] = 5.0  # three unlikely tokens
    mask = masking.least_probable_spans_mask(scores, 3, 3)
    assert mask[0, 0].nonzero().flatten().tolist() == [8, 9, 10]
    # Targets below span_len still mask one whole span.
    assert masking.least_probable_spans_mask(scores, 1, 3).sum().item() == 3


def test_stride1_mask_runs_per_item():
    scores = torch.zeros(2, 1, 12)
    scores[0, 0, 0:3] = 5.0
    scores[1, 0, 9:12] = 5.0
    mask = masking.stride1_mask(scores, 3, 3)
    assert mask.shape == (2, 1, 12)
    assert mask[0, 0].nonzero().flatten().tolist() == [0, 1, 2]
    assert mask[1, 0].nonzero().flatten().tolist() == [9, 10, 11]
