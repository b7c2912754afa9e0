"""Pure pieces of the training code: MAGNeT masking (audiocraft's LUT), CFG dropout, mixing, schedules, args."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.args import parse_args  # noqa: E402
from training.mixing import mix_samples, mix_text, snr_mixer  # noqa: E402
from training.objectives import (  # noqa: E402
    MagnetMasking,
    cfg_dropout,
    magnet_masked_inputs,
    mask_rate_to_num_spans_lut,
    span_mask,
)
from training.optim import EMA, build_scheduler, inverse_sqrt_factor  # noqa: E402


def test_lut_matches_audiocraft():
    lut = mask_rate_to_num_spans_lut(500, 3)
    assert len(lut) == 101
    assert (lut[10], lut[50], lut[90], lut[100]) == (18, 103, 268, 498)
    assert lut[0] == 0 and lut == sorted(lut)


def test_span_mask_rates_and_spans():
    gen = torch.Generator().manual_seed(0)
    lut = mask_rate_to_num_spans_lut(500, 3)
    rates = torch.tensor([0.1, 0.5, 0.9, 1.0])
    mask = span_mask(rates, 500, 3, lut, gen)
    observed = mask.float().mean(-1)
    assert torch.allclose(observed, rates, atol=0.08), observed
    # every masked run is at least one span long (starts extend 2 frames right, unless cut by the end)
    row = mask[0].int().tolist()
    runs = [len(r) for r in "".join(map(str, row))[:-3].split("0") if r]
    assert min(runs) >= 3
    # the non-span variant masks round(T * rate) tokens
    single = span_mask(torch.tensor([0.25]), 40, 1, lut, gen)
    assert single.sum() == 10


def test_magnet_inputs_keep_lower_mask_stage_and_upper():
    codes = torch.randint(0, 64, (2, 4, 30))
    stage_mask = torch.zeros(2, 30, dtype=torch.bool)
    stage_mask[:, 5:8] = True
    x = magnet_masked_inputs(codes, 1, stage_mask, 64)
    assert torch.equal(x[:, 0], codes[:, 0])
    assert (x[:, 1, 5:8] == 64).all() and torch.equal(x[:, 1, :5], codes[:, 1, :5])
    assert (x[:, 2:] == 64).all()
    masking = MagnetMasking(30)
    inputs, stage = masking(codes, 64, torch.Generator().manual_seed(1))
    assert (inputs[:, stage] == 64).any(-1).all() and (inputs[:, stage + 1 :] == 64).all()
    with pytest.raises(ValueError, match="same segment length"):
        masking(codes[..., :20], 64, torch.Generator())


def test_magnet_stage_weights_pick_the_trained_codebook():
    codes = torch.randint(0, 64, (2, 4, 30))
    for only in range(4):
        weights = [0.0] * 4
        weights[only] = 1.0
        masking = MagnetMasking(30, stage_weights=weights)
        gen = torch.Generator().manual_seed(0)
        assert {masking(codes, 64, gen)[1] for _ in range(20)} == {only}
    skewed = MagnetMasking(30, stage_weights=(2, 1, 1, 1))
    gen = torch.Generator().manual_seed(0)
    stages = [skewed(codes, 64, gen)[1] for _ in range(400)]
    assert 0.33 < stages.count(0) / 400 < 0.47 and set(stages) == {0, 1, 2, 3}
    with pytest.raises(ValueError, match="one weight per codebook"):
        MagnetMasking(30, stage_weights=(1, 1))(codes, 64, gen)
    for bad in ((0, 0, 0, 0), (1, -1, 1, 1)):
        with pytest.raises(ValueError, match="non-negative with a positive sum"):
            MagnetMasking(30, stage_weights=bad)


def test_magnet_stage_per_sample_masks_each_clip_for_its_own_stage():
    codes = torch.randint(0, 64, (64, 4, 30), generator=torch.Generator().manual_seed(0))
    stage_mask = torch.rand(64, 30, generator=torch.Generator().manual_seed(1)) < 0.5
    stages = torch.arange(64) % 4
    mixed = magnet_masked_inputs(codes, stages, stage_mask, 64)
    for b in (0, 1, 2, 3, 13):  # the same rows as one stage for the whole batch
        assert torch.equal(mixed[b], magnet_masked_inputs(codes, int(stages[b]), stage_mask, 64)[b])
    masking = MagnetMasking(30, stage_per_sample=True)
    inputs, drawn = masking(codes, 64, torch.Generator().manual_seed(2))
    assert drawn.shape == (64,) and set(drawn.tolist()) == {0, 1, 2, 3}  # every codebook in one update
    for b in range(64):
        k = int(drawn[b])
        assert torch.equal(inputs[b, :k], codes[b, :k]) and (inputs[b, k + 1 :] == 64).all()
        assert (inputs[b, k] == 64).any()
    skewed = MagnetMasking(30, stage_weights=(1, 0, 0, 1), stage_per_sample=True)
    assert set(skewed(codes, 64, torch.Generator().manual_seed(3))[1].tolist()) == {0, 3}
    with pytest.raises(ValueError, match="stage must be in"):
        magnet_masked_inputs(codes, torch.full((64,), 4), stage_mask, 64)


def test_cfg_dropout_is_per_batch():
    mask = torch.ones(4, 5, dtype=torch.long)
    gen = torch.Generator().manual_seed(0)
    outcomes = {int(cfg_dropout(mask, 0.5, gen).sum()) for _ in range(50)}
    assert outcomes == {0, 20}  # all rows dropped or none
    assert torch.equal(cfg_dropout(mask, 0.0, gen), mask)


def test_mixing_preserves_length_and_concatenates_captions():
    gen = torch.Generator().manual_seed(0)
    wavs = torch.randn(8, 1, 1600) * 0.1
    captions = [f"sound {c}" for c in "abcdefgh"]
    mixed, texts = mix_samples(wavs, captions, aug_p=1.0, mix_p=0.5, generator=gen)
    assert mixed.shape == (4, 1, 1600) and len(texts) == 4
    assert all(t.count("sound") in (1, 2) for t in texts)
    assert any(t.count("sound") == 2 for t in texts)
    kept, kept_texts = mix_samples(wavs, captions, aug_p=0.0, mix_p=0.5, generator=gen)
    assert kept.shape == (4, 1, 1600) and all(t in captions for t in kept_texts)
    assert mix_text("rain", "rain") == "rain" and mix_text("rain", "dog barks") == "rain dog barks"
    out = snr_mixer(wavs[:2, 0], wavs[2:4, 0, :800], snr=0, min_overlap=0.5, generator=gen)
    assert out.shape == (2, 1600) and out.abs().max() <= 1.0
    level = 20 * torch.log10(out.pow(2).mean(1).sqrt())
    assert ((level > -35.5) & (level < -15.5)).all()


def test_schedules_follow_audiocraft():
    assert inverse_sqrt_factor(50, 100) == 0.5
    assert inverse_sqrt_factor(400, 100) == pytest.approx(0.5)
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=1.0)
    sched = build_scheduler(opt, "cosine", warmup_steps=2, total_steps=10)
    lrs = []
    for _ in range(10):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == 0.5 and lrs[1] == 1.0 and lrs[-1] == pytest.approx(0.0, abs=1e-9)
    assert lrs[5] == pytest.approx(0.5 * (1 + math.cos(math.pi * 4 / 8)))
    with pytest.raises(ValueError, match="unknown lr_scheduler"):
        build_scheduler(opt, "linear", 0, 10)


def test_ema_tracks_weights():
    model = torch.nn.Linear(2, 1)
    ema = EMA(model, decay=0.5, update_every=1)
    with torch.no_grad():
        model.weight.add_(2.0)
    before = ema.shadow["weight"].clone()
    ema.update(model, 1)
    assert torch.allclose(ema.shadow["weight"], before + 1.0)
    restored = EMA(model)
    restored.load_state_dict(ema.state_dict())
    assert torch.equal(restored.shadow["weight"], ema.shadow["weight"])


def test_yaml_then_cli_override(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("max_steps: 7\nlearning_rate: 0.01\nsynthetic_examples: 4\n")
    model_args, data_args, args = parse_args(["--config", str(config), "--max_steps", "3"])
    assert args.max_steps == 3 and args.learning_rate == 0.01 and data_args.synthetic_examples == 4
    assert args.adam_beta1 == 0.9 and args.adam_beta2 == 0.95
    config.write_text("max_step: 7\n")
    with pytest.raises(ValueError, match="unknown field"):
        parse_args(["--config", str(config)])
