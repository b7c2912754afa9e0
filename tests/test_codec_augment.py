"""The codec's uncaptioned material (continuous pitches and colours) and its phase-blind band-energy loss."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from audiogen_hf.judge import BANDS, analyze
from training.embedded.codec_augment import broad_scene
from training.embedded.codec_losses import band_energy_loss
from training.embedded.sound_world import coloured_noise, make_clip
from training.embedded.train_codec import (
    CodecTrainingConfig,
    scope_clip_weights,
    train,
    training_batch,
    training_batch_with_scenes,
)

SR = 16000


def _scenes(count: int, n: int = 10240) -> list[np.ndarray]:
    rng = np.random.default_rng(5)
    return [broad_scene(rng, n, SR) for _ in range(count)]


def test_broad_scenes_are_deterministic_bounded_and_the_asked_length():
    first = broad_scene(np.random.default_rng(3), 10240, SR)
    again = broad_scene(np.random.default_rng(3), 10240, SR)
    assert first.dtype == np.float32 and first.shape == (10240,)
    np.testing.assert_array_equal(first, again)
    assert all(np.abs(x).max() < 1.0 for x in _scenes(40))


def test_broad_scenes_fill_the_gaps_between_the_worlds_bands_and_colours():
    """What the captioned world never has: steady pitches between its bands, noise slopes between its
    colours, levels beyond its three, and silent stretches at any pitch."""
    pitches, slopes, levels, silent_share = [], [], [], []
    for x in _scenes(160):
        measured = analyze(x, SR).measurements
        if "pitch_hz" in measured and abs(measured.get("octaves_per_s", 0.0)) < 0.3:
            pitches.append(measured["pitch_hz"])
        if measured.get("tonal_fraction", 1.0) == 0.0 and "noise_slope_db_per_octave" in measured:
            slopes.append(measured["noise_slope_db_per_octave"])
        levels.append(20 * np.log10(np.sqrt(np.mean(x**2)) + 1e-12))
        frames = x[: len(x) // 160 * 160].reshape(-1, 160)
        silent_share.append(float((np.sqrt((frames**2).mean(axis=1)) < 1e-4).mean()))
    pitches, slopes = np.array(pitches), np.array(slopes)
    between = lambda lo, hi: ((pitches > lo) & (pitches < hi)).sum()  # noqa: E731
    assert between(BANDS["low"][1] * 1.1, BANDS["middle"][0] * 0.9) >= 3
    assert between(BANDS["middle"][1] * 1.1, BANDS["high"][0] * 0.9) >= 3
    assert ((slopes > -2.5) & (slopes < -0.5)).sum() >= 2 and ((slopes > -5.5) & (slopes < -3.5)).sum() >= 2
    assert slopes.max() > 0.0 and slopes.min() < -6.0
    assert max(levels) - min(levels) > 25
    assert sum(share > 0.1 for share in silent_share) >= 20


def test_band_energy_loss_sees_level_colour_and_sound_in_silence_but_not_phase():
    rng = np.random.default_rng(0)
    noise = lambda colour: torch.from_numpy(coloured_noise(colour, 16000, SR, rng)).float()[None, None]  # noqa: E731
    white, other_white, brown = noise("white"), noise("white"), noise("brown")
    brown = brown * white.pow(2).mean().sqrt() / brown.pow(2).mean().sqrt()
    assert band_energy_loss(white, white) == 0
    same_colour = band_energy_loss(other_white, white)  # a different waveform, the same long-term spectrum
    assert same_colour < 0.15
    assert band_energy_loss(brown, white) > 5 * same_colour
    # half the amplitude: every band 6 dB down (ln 4), wherever the band is above its floor
    assert abs(band_energy_loss(0.5 * white, white).item() - np.log(4)) < 0.25
    silence = torch.zeros_like(white)
    assert band_energy_loss(1e-3 * white, silence) > 1.0  # a -60 dB hiss where there should be nothing
    # clips are scored one by one (a loud clip does not dilute a quiet clip's error) and level-relative
    # (the same colour error costs about as much 40 dB down, above the absolute floor)
    quiet = band_energy_loss(0.01 * white, 0.01 * brown)
    pair, target = torch.cat([white, 0.01 * white]), torch.cat([white, 0.01 * brown])
    torch.testing.assert_close(band_energy_loss(pair, target), quiet / 2, rtol=1e-4, atol=0)
    assert quiet > 0.7 * band_energy_loss(white, brown)
    with pytest.raises(ValueError, match="without an FFT bin"):
        band_energy_loss(white, white, n_fft=256, bands=40)


def test_band_energy_clip_weights_price_only_the_weighted_clips():
    rng = np.random.default_rng(1)
    noise = lambda colour: torch.from_numpy(coloured_noise(colour, 16000, SR, rng)).float()[None, None]  # noqa: E731
    white, brown = noise("white"), noise("brown")
    output, target = torch.cat([white, white]), torch.cat([brown, white])  # clip 0 wrong, clip 1 right
    wrong = band_energy_loss(white, brown)
    torch.testing.assert_close(band_energy_loss(output, target), wrong / 2)
    # weighing out the wrong clip leaves nothing; weighing out the right one keeps the batch mean
    assert band_energy_loss(output, target, clip_weights=torch.tensor([0.0, 1.0])) == 0
    torch.testing.assert_close(
        band_energy_loss(output, target, clip_weights=torch.tensor([1.0, 0.0])), wrong / 2
    )


def _is_world_crop(crop: torch.Tensor, index: int, seed: int) -> bool:
    clip, crop = make_clip(index, seed).audio, crop.flatten().numpy()
    clip = np.pad(clip, (0, max(0, len(crop) - len(clip))))
    return any(np.array_equal(crop, clip[s : s + len(crop)]) for s in range(len(clip) - len(crop) + 1))


def test_training_batches_mix_in_broad_scenes_at_the_asked_share():
    world = CodecTrainingConfig(batch_size=16, segment_seconds=0.32)
    batch = training_batch(4, world, np.random.default_rng(0))
    assert all(_is_world_crop(batch[j], 4 * 16 + j, world.seed) for j in range(16))  # share 0: as before
    half = CodecTrainingConfig(batch_size=16, segment_seconds=0.32, broad_fraction=0.5)
    a = training_batch(4, half, np.random.default_rng(0))
    torch.testing.assert_close(a, training_batch(4, half, np.random.default_rng(0)))  # repeatable
    broad = sum(not _is_world_crop(a[j], 4 * 16 + j, half.seed) for j in range(16))
    assert 3 <= broad <= 13
    every = CodecTrainingConfig(batch_size=4, segment_seconds=0.32, broad_fraction=1.0)
    batch = training_batch(4, every, np.random.default_rng(0))
    assert batch.shape == (4, 1, 5120) and not any(_is_world_crop(batch[j], 16 + j, 0) for j in range(4))
    with pytest.raises(ValueError, match="broad_fraction"):
        CodecTrainingConfig(broad_fraction=1.5)


def test_noise_flags_follow_each_crops_scene():
    cfg = CodecTrainingConfig(batch_size=16, segment_seconds=0.32)
    audio, kinds, noisy = training_batch_with_scenes(3, cfg, np.random.default_rng(0))
    torch.testing.assert_close(audio, training_batch(3, cfg, np.random.default_rng(0)))
    clips = [make_clip(3 * 16 + j, cfg.seed) for j in range(16)]
    assert kinds == [c.kind for c in clips]
    expected = [bool(c.labels.get("noise")) for c in clips]
    assert noisy.tolist() == [float(e) for e in expected] and 0 < sum(expected) < 16
    assert scope_clip_weights("all", kinds, noisy) is None
    assert scope_clip_weights("noise", kinds, noisy) is noisy
    untonal = scope_clip_weights("untonal", kinds, noisy).tolist()
    assert untonal == [
        0.0 if k in ("tone", "chirp", "pulses", "beep_silence", "tone_silence") else 1.0 for k in kinds
    ]
    assert "silence" in kinds and untonal != noisy.tolist()  # silence: priced as untonal, not as noise
    alone = scope_clip_weights("noise_alone", kinds, noisy).tolist()
    assert alone == [1.0 if k in ("noise", "noise_silence") else 0.0 for k in kinds]
    mixed = [
        k for k, n in zip(kinds, noisy.tolist(), strict=True) if n and k not in ("noise", "noise_silence")
    ]
    assert 1.0 in alone and mixed  # a tone or chirp over noise: priced by "noise", not by "noise_alone"
    broad = CodecTrainingConfig(batch_size=4, segment_seconds=0.32, broad_fraction=1.0)
    _, kinds, noisy = training_batch_with_scenes(0, broad, np.random.default_rng(0))
    assert kinds == ["broad"] * 4 and noisy.tolist() == [1.0] * 4
    with pytest.raises(ValueError, match="band_energy_scope"):
        CodecTrainingConfig(band_energy_scope="tones")


def test_band_energy_term_and_broad_scenes_run_in_training(tmp_path):
    from tests.test_codec_training import tiny_config

    run = dict(max_steps=6, vq_warmup_steps=3, spectral_ramp_steps=0, broad_fraction=0.5)
    cfg = tiny_config(tmp_path, band_energy_weight=1.0, **run)
    plain = tiny_config(tmp_path / "plain", **run)
    train(cfg, log=lambda _: None)
    train(plain, log=lambda _: None)
    with_term = json.loads((tmp_path / "codec" / "loss_history.json").read_text())
    without = json.loads((tmp_path / "plain" / "codec" / "loss_history.json").read_text())
    # the same seed, batches and initial weights: only the band term differs, and it is in the logged spectral part
    assert with_term[0]["mse"] == without[0]["mse"]  # same first batch (broad scenes included) and weights
    assert with_term[0]["stft"] > without[0]["stft"] + 1e-3


def test_band_energy_scope_noise_prices_only_batches_with_noise(tmp_path):
    from tests.test_codec_training import tiny_config

    def first_record(name: str, seed: int, **extra) -> dict:
        run = dict(max_steps=1, vq_warmup_steps=0, spectral_ramp_steps=0, seed=seed)
        train(tiny_config(tmp_path / name, **run, **extra), log=lambda _: None)
        return json.loads((tmp_path / name / "codec" / "loss_history.json").read_text())[0]

    term = dict(band_energy_weight=1.0)
    # seed 0's first batch holds no noise (a tone and a pulse train): the scoped term adds nothing there
    plain, scoped = first_record("plain0", 0), first_record("scoped0", 0, band_energy_scope="noise", **term)
    assert scoped["stft"] == plain["stft"] and first_record("all0", 0, **term)["stft"] > plain["stft"] + 1e-3
    # seed 4's first batch is all noise: scoped and unscoped are the same term
    scoped, everything = (
        first_record("scoped4", 4, band_energy_scope="noise", **term),
        first_record("all4", 4, **term),
    )
    assert scoped["stft"] == pytest.approx(everything["stft"], rel=1e-6)
    assert scoped["stft"] > first_record("plain4", 4)["stft"] + 1e-3
