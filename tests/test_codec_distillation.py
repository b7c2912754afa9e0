"""The codec trainer's first-codebook distillation: per-frame band energies as the target, the first code as
the probe's input, and the term wired into training."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from transformers import EncodecModel

from training.embedded.codec_losses import frame_band_energies
from training.embedded.codec_vq import first_codebook_straight_through
from training.embedded.sound_world import tone
from training.embedded.train_codec import CodecTrainingConfig, distillation_loss, encodec_config, train

SR = 16000


def _band_of(frequency: float, bands: int = 32, band_hz=(60.0, 2400.0)) -> int:
    mel = lambda f: 2595 * math.log10(1 + f / 700)  # noqa: E731
    return int((mel(frequency) - mel(band_hz[0])) / (mel(band_hz[1]) - mel(band_hz[0])) * bands)


def test_band_energies_follow_pitch_onset_and_silence_frame_by_frame():
    """One row per 20 ms frame; a steady tone lights its own band in every frame; a tone starting at frame 25
    leaves frames before it at the floor; a chirp's loudest band climbs."""
    n = 50 * 320
    steady = tone(500.0, n, SR, np.random.default_rng(0)) * 0.1
    energies = frame_band_energies(torch.from_numpy(steady).float()[None, None])
    assert energies.shape == (1, 50, 32)
    assert (energies[0].argmax(dim=-1) == _band_of(500.0)).all()

    onset = np.zeros(n)
    onset[25 * 320 :] = steady[25 * 320 :]
    late = frame_band_energies(torch.from_numpy(onset).float()[None, None])[0]
    floor = math.log(1e-4)
    assert torch.allclose(late[:22], torch.full_like(late[:22], floor))  # 64 ms windows: 1.5 frames of reach
    assert (late[27:].max(dim=-1).values > floor + 10).all()

    t = np.arange(n) / SR
    sweep = np.sin(2 * np.pi * 300.0 * (2 ** (t * 1.0) - 1) / math.log(2)) * 0.1  # 300 -> 600 Hz over 1 s
    peaks = frame_band_energies(torch.from_numpy(sweep).float()[None, None])[0].argmax(dim=-1)
    assert peaks[45] > peaks[5] + 3


def test_band_energies_tell_noise_colours_apart_whatever_the_phase():
    from training.embedded.sound_world import coloured_noise

    def envelope(colour: str, seed: int) -> torch.Tensor:
        x = coloured_noise(colour, 16000, SR, np.random.default_rng(seed))
        x = x / np.sqrt(np.mean(x**2)) * 0.05
        return frame_band_energies(torch.from_numpy(x).float()[None, None])[0].mean(dim=0)

    white, white_again, brown = envelope("white", 0), envelope("white", 1), envelope("brown", 0)
    assert (white - white_again).abs().mean() < 0.3  # another realisation: the same envelope
    assert (white - brown).abs().mean() > 1.5
    high = slice(_band_of(500.0), _band_of(900.0))
    assert white[high].mean() > brown[high].mean() + 2  # brown is darker up there


def test_first_codebook_straight_through_reads_the_first_code_and_passes_gradients():
    cfg = CodecTrainingConfig(num_filters=2, hidden_size=8, codebook_size=16)
    model = EncodecModel(encodec_config(cfg))
    torch.manual_seed(0)
    model.quantizer.layers[0].codebook.embed.copy_(torch.randn(16, 8))
    latents = torch.randn(2, 8, 5, requires_grad=True)
    first = first_codebook_straight_through(model, latents)
    embed = model.quantizer.layers[0].codebook.embed
    nearest = torch.cdist(latents.detach().transpose(1, 2).reshape(-1, 8), embed).argmin(-1)
    assert torch.allclose(first.transpose(1, 2).reshape(-1, 8), embed[nearest])
    first.sum().backward()
    assert torch.equal(latents.grad, torch.ones_like(latents))


def test_distillation_term_is_trained_and_logged(tmp_path, monkeypatch):
    import training.embedded.train_codec as trainer
    from tests.test_codec_training import tiny_config

    read_first_code = []  # in the VQ phase the probe must read the first code, not the plain latent
    real = trainer.first_codebook_straight_through
    monkeypatch.setattr(
        trainer,
        "first_codebook_straight_through",
        lambda model, latents: read_first_code.append(latents.shape) or real(model, latents),
    )
    run = dict(max_steps=8, vq_warmup_steps=3, spectral_ramp_steps=0)
    train(tiny_config(tmp_path / "on", semantic_weight=0.5, **run), log=lambda _: None)
    assert len(read_first_code) == 5  # steps 3-7: after the 3 warm-up steps
    train(tiny_config(tmp_path / "off", **run), log=lambda _: None)
    on = json.loads((tmp_path / "on" / "codec" / "loss_history.json").read_text())
    off = json.loads((tmp_path / "off" / "codec" / "loss_history.json").read_text())
    assert on[0]["mse"] == off[0]["mse"]  # same batch and initial weights: only the term differs
    assert all(r["semantic"] > 0 for r in on) and all(r["semantic"] == 0 for r in off)
    assert on[0]["loss"] == pytest.approx(off[0]["loss"] + 0.5 * on[0]["semantic"], rel=1e-5)
    assert on[-1]["mse"] != off[-1]["mse"]  # its gradient reached the shared weights
    saved = EncodecModel.from_pretrained(tmp_path / "on" / "codec")  # the probe is not part of the codec
    assert not any("probe" in name for name in saved.state_dict())

    train(
        tiny_config(tmp_path / "late", semantic_weight=0.5, semantic_start_step=5, **run), log=lambda _: None
    )
    late = json.loads((tmp_path / "late" / "codec" / "loss_history.json").read_text())
    assert [r["semantic"] > 0 for r in late] == [False] * 5 + [True] * 3
    # nothing of it before its start (the warm-up steps are bit-exact; the VQ steps vary at 1e-6 run to run)
    assert [r["loss"] for r in late[:3]] == [r["loss"] for r in off[:3]]


def test_distillation_refuses_a_frozen_encoder_and_bad_bands(tmp_path):
    with pytest.raises(ValueError, match="decoder_only freezes"):
        CodecTrainingConfig(
            semantic_weight=0.1, decoder_only=True, init_from=str(tmp_path), vq_warmup_steps=0
        )
    with pytest.raises(ValueError, match="semantic_hz"):
        CodecTrainingConfig(semantic_hz=[2400.0, 60.0])
    with pytest.raises(ValueError, match="without an FFT bin"):
        frame_band_energies(torch.zeros(1, 1, 3200), bands=200)


def test_mutual_information_of_code_and_colour_tables():
    from training.embedded.codec_metrics import mutual_information_bits

    assert mutual_information_bits(np.eye(3) * 10) == pytest.approx(math.log2(3))
    assert mutual_information_bits(np.ones((8, 3))) == pytest.approx(0.0, abs=1e-12)
    # colours 1/4, 1/4, 1/2 (1.5 bits); the code tells brown from the rest, not white from pink (0.5 bit left)
    half = np.array([[10, 10, 0], [0, 0, 20]])
    assert mutual_information_bits(half) == pytest.approx(1.0, abs=1e-9)


def test_colour_information_is_reported_per_codebook():
    from training.embedded.codec_metrics import code_colour_information

    cfg = CodecTrainingConfig(num_filters=2, hidden_size=8, codebook_size=16)
    model = EncodecModel(encodec_config(cfg)).eval()
    bits = code_colour_information(model, clips=6)
    assert len(bits) == cfg.num_codebooks and all(0.0 <= b <= math.log2(3) + 1e-9 for b in bits)


def test_distillation_loss_averages_over_the_priced_clips_only():
    target = torch.zeros(3, 4, 2)
    predicted = torch.stack([torch.full((4, 2), v) for v in (1.0, 2.0, 3.0)])  # per-clip MSE 1, 4, 9
    assert distillation_loss(predicted, target, None) == pytest.approx(14 / 3)
    assert distillation_loss(predicted, target, torch.tensor([0.0, 1.0, 1.0])) == pytest.approx(6.5)
    assert distillation_loss(predicted, target, torch.zeros(3)) == 0  # a batch without priced clips


def test_noise_scope_prices_only_crops_with_noise(tmp_path, monkeypatch):
    """With `semantic_scope: noise` the term is zero on batches without noise and the mean over noisy crops
    otherwise; an unknown scope is refused."""
    import training.embedded.train_codec as trainer
    from tests.test_codec_training import tiny_config

    seen = []
    real = trainer.distillation_loss
    monkeypatch.setattr(
        trainer,
        "distillation_loss",
        lambda predicted, target, weights: seen.append(weights) or real(predicted, target, weights),
    )
    run = dict(max_steps=6, vq_warmup_steps=3, spectral_ramp_steps=0, semantic_weight=0.5)
    train(tiny_config(tmp_path / "noise", semantic_scope="noise", **run), log=lambda _: None)
    history = json.loads((tmp_path / "noise" / "codec" / "loss_history.json").read_text())
    cfg = tiny_config(tmp_path / "x", semantic_scope="noise", **run)
    for step, (weights, record) in enumerate(zip(seen, history, strict=True)):
        _, kinds, noisy = trainer.training_batch_with_scenes(step, cfg, np.random.default_rng(0))
        assert torch.equal(weights, noisy)
        assert (record["semantic"] > 0) == bool(noisy.any())
    assert any(bool(w.any()) for w in seen) and not all(bool(w.all()) for w in seen)
    with pytest.raises(ValueError, match="semantic_scope"):
        CodecTrainingConfig(semantic_scope="tonal")
