"""A few steps of the codec trainer lower the loss, and the saved folder is a working EncodecModel."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import EncodecModel

from training.embedded.codec_metrics import reconstruct
from training.embedded.codec_vq import residual_vq
from training.embedded.train_codec import (
    CodecTrainingConfig,
    encodec_config,
    parse_config,
    train,
)


def tiny_config(tmp_path, **overrides) -> CodecTrainingConfig:
    values = dict(
        output_dir=str(tmp_path / "codec"),
        num_filters=2,
        hidden_size=8,
        codebook_size=16,
        segment_seconds=0.32,
        batch_size=2,
        eval_clips=4,
        max_steps=12,
        learning_rate=3e-3,
        warmup_steps=2,
        kmeans_init_clips=4,
        kmeans_iterations=2,
        vq_warmup_steps=6,  # both phases: plain autoencoder, then k-means-initialised residual VQ
        stft_resolutions=[[128, 32], [256, 64]],
        log_every=100,
        threads=1,
    )
    values.update(overrides)
    return CodecTrainingConfig(**values)


def test_training_lowers_the_loss_and_saves_a_loadable_codec(tmp_path):
    # spectral terms at full weight from step 0: 12 steps of a tiny codec measurably lower them, while the
    # default waveform MSE (x100) swings with each batch's loudness and needs hundreds of steps to move
    cfg = tiny_config(
        tmp_path,
        mse_weight=0.0,
        stft_weight=1.0,
        convergence_weight=1.0,
        mel_weight=1.0,
        spectral_ramp_steps=0,
    )
    report = train(cfg, log=lambda _: None)
    history = json.loads((tmp_path / "codec" / "loss_history.json").read_text())
    assert len(history) == 12
    assert sum(h["loss"] for h in history[-3:]) < sum(h["loss"] for h in history[:3])
    assert {"mse", "l1", "stft", "commitment", "rms_ratio", "relative_mse"} <= set(history[-1])
    # the saved model's own encode/decode reproduces the trainer's numbers
    assert abs(report["eval"]["si_snr_db"] - report["roundtrip"]["si_snr_db"]) < 0.05
    assert abs(report["eval"]["spectral_distance_db"] - report["roundtrip"]["spectral_distance_db"]) < 0.05
    assert [h["vq"] for h in history] == [False] * 6 + [True] * 6
    assert set(report["judge_agreement"]) == {"pitch", "direction", "noise", "pulse", "loudness", "silence"}
    assert all(0.0 <= v <= 1.0 for v in report["judge_agreement"].values())

    codec = EncodecModel.from_pretrained(tmp_path / "codec").eval()
    audio = torch.randn(1, 1, 3200) * 0.1
    bandwidth = max(codec.config.target_bandwidths)
    encoded = codec.encode(audio, bandwidth=bandwidth)
    assert encoded.audio_codes.shape == (1, 1, 4, 10)
    decoded = codec.decode(encoded.audio_codes, encoded.audio_scales).audio_values
    with torch.no_grad():
        _, codes, _, _ = residual_vq(codec, codec.encoder(audio))
        assert torch.equal(codes.transpose(0, 1), encoded.audio_codes[0])
        torch.testing.assert_close(decoded[..., :3200], reconstruct(codec, audio))


def test_a_failing_evaluation_keeps_the_trained_weights(tmp_path, monkeypatch):
    """The evaluation once crashed on a GPU (held-out clips left on the CPU) after a full run: the weights and
    the loss history are written before anything is measured, so such a failure loses nothing."""
    import training.embedded.train_codec as train_codec

    def broken_evaluate(*args, **kwargs):
        raise RuntimeError("evaluation broke")

    monkeypatch.setattr(train_codec, "evaluate", broken_evaluate)
    cfg = tiny_config(tmp_path, max_steps=4, vq_warmup_steps=2)
    (tmp_path / "codec").mkdir()
    (tmp_path / "codec" / "report.json").write_text('{"steps": 999}')  # an earlier run's report
    with pytest.raises(RuntimeError, match="evaluation broke"):
        train(cfg, log=lambda _: None)
    saved = tmp_path / "codec"
    assert len(json.loads((saved / "loss_history.json").read_text())) == 4
    codec = EncodecModel.from_pretrained(saved).eval()
    assert codec.config.codebook_size == 16
    assert not (saved / "report.json").exists()  # no report claims numbers that were never measured


def test_spectral_loss_does_not_prefer_silence():
    """Why the first run collapsed: a silent output must score worse than a slightly detuned tone."""
    from training.embedded.codec_losses import multi_resolution_stft_loss

    t = torch.arange(8000) / 16000
    tone = (0.05 * torch.sin(2 * torch.pi * 700 * t))[None, None]
    detuned = (0.05 * torch.sin(2 * torch.pi * 720 * t + 1.0))[None, None]
    resolutions = [[256, 64], [512, 128], [1024, 256]]
    weights = (1.0, 1.0, 1.0)
    silent = multi_resolution_stft_loss(torch.zeros_like(tone), tone, resolutions, weights=weights)
    close = multi_resolution_stft_loss(detuned, tone, resolutions, weights=weights)
    assert close < silent


def test_default_loss_is_waveform_dominant_with_spectral_terms_ramped_in():
    """Run 2 collapsed toward silence under a spectral-dominant mix: the default keeps waveform MSE in
    charge and brings the (small) spectral terms in only after the VQ warm-up."""
    from training.embedded.train_codec import spectral_scale

    cfg = CodecTrainingConfig(vq_warmup_steps=10, spectral_ramp_steps=4)
    assert cfg.mse_weight >= 10 * max(cfg.convergence_weight, cfg.stft_weight, cfg.mel_weight)
    assert [spectral_scale(s, cfg) for s in (0, 9, 10, 11, 13, 100)] == [0.0, 0.0, 0.25, 0.5, 1.0, 1.0]
    assert spectral_scale(0, CodecTrainingConfig(spectral_ramp_steps=0)) == 1.0


def test_config_layout_and_overrides(tmp_path):
    config = encodec_config(CodecTrainingConfig())
    assert config.frame_rate == 50 and config.num_quantizers == 4 and config.sampling_rate == 16000
    yaml_file = tmp_path / "c.yaml"
    yaml_file.write_text("max_steps: 7\ncodebook_size: 64\n")
    cfg = parse_config(["--config", str(yaml_file), "--max_steps", "9", "--stft_resolutions", "[[64, 16]]"])
    assert (cfg.max_steps, cfg.codebook_size, cfg.stft_resolutions) == (9, 64, [[64, 16]])
    try:
        CodecTrainingConfig(codebook_size=100)
    except ValueError as error:
        assert "power of 2" in str(error)
    else:
        raise AssertionError("a non power of 2 codebook must be refused")


def test_relative_losses_weigh_quiet_clips_and_price_sound_in_silence():
    """The last phase's per-clip terms: the same relative error costs the same at -40 dB as at -10 dB
    (absolute MSE makes the quiet one 900x cheaper), and any output on a silent clip costs something."""
    from training.embedded.codec_losses import clip_spectral_convergence, relative_mse

    t = torch.arange(4000) / 16000
    tone = torch.sin(2 * torch.pi * 600 * t)[None, None]
    error = 0.1 * torch.sin(2 * torch.pi * 1400 * t)[None, None]
    resolutions = [[256, 64], [512, 128]]
    loud, quiet = 0.3 * tone, 0.01 * tone
    loud_cost = relative_mse(loud + 0.3 * error, loud, floor=1e-12)
    quiet_cost = relative_mse(quiet + 0.01 * error, quiet, floor=1e-12)
    torch.testing.assert_close(loud_cost, quiet_cost, rtol=1e-4, atol=0)
    assert (
        torch.nn.functional.mse_loss(quiet + 0.01 * error, quiet)
        < torch.nn.functional.mse_loss(loud + 0.3 * error, loud) / 800
    )
    loud_conv = clip_spectral_convergence(loud + 0.3 * error, loud, resolutions, floor=1e-6)
    quiet_conv = clip_spectral_convergence(quiet + 0.01 * error, quiet, resolutions, floor=1e-6)
    torch.testing.assert_close(loud_conv, quiet_conv, rtol=1e-3, atol=0)
    silence = torch.zeros_like(tone)
    blip = silence.clone()
    blip[..., :160] = 0.005  # a -46 dB, 10 ms blip: what the absolute-MSE codec decoded silence into
    assert relative_mse(silence, silence, floor=1e-4) == 0
    assert relative_mse(blip, silence, floor=1e-4) > 5e3 * torch.nn.functional.mse_loss(blip, silence)
    assert clip_spectral_convergence(blip, silence, resolutions, floor=1e-2) > 1.0
    # a batch: one clip's loss does not depend on the other clip's loudness
    pair = torch.cat([loud + 0.3 * error, quiet + 0.01 * error])
    targets = torch.cat([loud, quiet])
    torch.testing.assert_close(relative_mse(pair, targets, floor=1e-12), loud_cost, rtol=1e-4, atol=0)


def test_learning_rate_follows_the_steps_unless_the_clock_runs_well_ahead():
    """A run on schedule gets the same rates whatever the wall clock says (start-up makes the clock lead the
    steps early on; with progress the plain larger fraction, two runs of one config diverged from step 75);
    a run falling behind its time cap is driven by the clock and still ends at the low rate."""
    from training.embedded.train_codec import CLOCK_SLACK, learning_rate

    cfg = CodecTrainingConfig(
        learning_rate=1.0, warmup_steps=50, max_steps=5400, max_minutes=25.0, min_lr_ratio=0.1
    )
    by_steps = learning_rate(51, cfg, 0.0)
    # the clock up to CLOCK_SLACK of the time cap ahead of the steps: the steps alone decide
    assert [learning_rate(51, cfg, minutes) for minutes in (0.16, 1.0, 25.0 * CLOCK_SLACK)] == [by_steps] * 3
    assert learning_rate(3000, cfg, 25.0 * 3000 / 5400) == learning_rate(3000, cfg, 0.0)
    # further ahead, the clock drives the cosine, down to the floor at the time cap
    assert learning_rate(51, cfg, 12.5) < by_steps
    assert learning_rate(51, cfg, 25.0) == pytest.approx(0.1)
    assert learning_rate(5400, cfg, 0.0) == pytest.approx(0.1)
    assert learning_rate(0, cfg, 25.0) == pytest.approx(1 / 50)  # the warm-up counts steps only


def test_no_time_cap_makes_a_step_bound_run(tmp_path):
    """`max_minutes: 0` (the recipe's codec configs): no clock stops the run or drives its learning rate, so
    a slow machine trains the same codec as a fast one; a negative cap is refused."""
    from training.embedded.train_codec import learning_rate, out_of_time

    capped = CodecTrainingConfig(warmup_steps=50, max_steps=5400, max_minutes=25.0)
    step_bound = CodecTrainingConfig(warmup_steps=50, max_steps=5400, max_minutes=0.0)
    assert out_of_time(capped, 25.0) and not out_of_time(capped, 24.9)
    assert not any(out_of_time(step_bound, minutes) for minutes in (0.0, 25.0, 1e6))
    assert learning_rate(2000, capped, 24.0) < learning_rate(2000, capped, 0.0)  # the clock ran ahead
    assert learning_rate(2000, step_bound, 1e6) == learning_rate(2000, step_bound, 0.0)
    with pytest.raises(ValueError, match="max_minutes"):
        CodecTrainingConfig(max_minutes=-1.0)
    # the training loop itself: a cap of 0 runs every step (it must not read as "0 minutes left")
    report = train(tiny_config(tmp_path, max_minutes=0.0, max_steps=3, vq_warmup_steps=1), log=lambda _: None)
    assert report["steps"] == 3


def test_handover_schedule_from_absolute_to_relative_losses():
    from training.embedded.train_codec import relative_scale

    assert relative_scale(10_000, CodecTrainingConfig()) == 0.0  # off unless asked
    cfg = CodecTrainingConfig(relative_start_step=10, relative_ramp_steps=4)
    assert [relative_scale(s, cfg) for s in (0, 9, 10, 11, 13, 100)] == [0.0, 0.0, 0.25, 0.5, 1.0, 1.0]
    assert relative_scale(10, CodecTrainingConfig(relative_start_step=10, relative_ramp_steps=0)) == 1.0


def test_relative_phase_runs_and_is_logged(tmp_path):
    cfg = tiny_config(tmp_path, max_steps=8, vq_warmup_steps=3, relative_start_step=5, relative_ramp_steps=2)
    train(cfg, log=lambda _: None)
    history = json.loads((tmp_path / "codec" / "loss_history.json").read_text())
    assert [h["relative_scale"] for h in history] == [0.0] * 5 + [0.5, 1.0, 1.0]  # step index 5 on
    assert history[0]["relative"] == 0.0 and all(h["relative"] > 0 for h in history[5:])


def test_decoder_only_polish_keeps_every_code_and_changes_only_the_decoder(tmp_path):
    """A polish run starts from a trained codec and trains its decoder alone: the encoder and codebooks come
    out bit-identical (so the codes, and any LM trained on them, keep their meaning) while the decoder moves
    and its loss falls."""
    train(tiny_config(tmp_path, max_steps=4, vq_warmup_steps=2), log=lambda _: None)
    base = tmp_path / "codec"
    polish = tiny_config(
        tmp_path,
        output_dir=str(tmp_path / "polished"),
        init_from=str(base),
        decoder_only=True,
        vq_warmup_steps=0,
        max_steps=10,
        mse_weight=0.0,
        spectral_ramp_steps=0,
        band_energy_weight=1.0,
        band_energy_hz=[100.0, 1000.0],
        band_energy_bands=8,
        convergence_weight=1.0,
    )
    train(polish, log=lambda _: None)
    before, after = EncodecModel.from_pretrained(base), EncodecModel.from_pretrained(tmp_path / "polished")
    old, new = before.state_dict(), after.state_dict()
    frozen = [k for k in old if not k.startswith("decoder.")]
    assert frozen and all(torch.equal(old[k], new[k]) for k in frozen)
    assert any(not torch.equal(old[k], new[k]) for k in old if k.startswith("decoder."))
    audio = torch.randn(1, 1, 3200) * 0.1
    bandwidth = max(before.config.target_bandwidths)
    assert torch.equal(
        before.encode(audio, bandwidth=bandwidth).audio_codes,
        after.encode(audio, bandwidth=bandwidth).audio_codes,
    )
    history = json.loads((tmp_path / "polished" / "loss_history.json").read_text())
    assert sum(h["loss"] for h in history[-3:]) < sum(h["loss"] for h in history[:3])
    assert all(h["dead_codes_replaced"] == 0 and h["commitment"] == 0.0 for h in history)


def test_decoder_only_polish_refuses_what_it_cannot_do(tmp_path):
    with pytest.raises(ValueError, match="set init_from"):
        CodecTrainingConfig(decoder_only=True)
    with pytest.raises(ValueError, match="band_energy_hz must be"):
        CodecTrainingConfig(band_energy_hz=[1000.0, 100.0])
    with pytest.raises(ValueError, match="set vq_warmup_steps: 0"):
        CodecTrainingConfig(init_from="somewhere", vq_warmup_steps=300)
    with pytest.raises(FileNotFoundError, match="no codec there"):
        train(
            tiny_config(tmp_path, init_from=str(tmp_path / "missing"), vq_warmup_steps=0), log=lambda _: None
        )
    train(tiny_config(tmp_path, max_steps=2, vq_warmup_steps=1), log=lambda _: None)
    wider = tiny_config(tmp_path, init_from=str(tmp_path / "codec"), vq_warmup_steps=0, hidden_size=16)
    with pytest.raises(ValueError, match=r"does not match this config.*hidden_size"):
        train(wider, log=lambda _: None)
    assert parse_config(["--decoder_only", "true", "--init_from", "x", "--vq_warmup_steps", "0"]).decoder_only
