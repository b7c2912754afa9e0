"""The codec trainer's silence term: the output's level where the input is silent, in 10 dB units."""

from __future__ import annotations

import json

import pytest
import torch

from training.embedded.codec_losses import silence_loss


def test_silence_loss_prices_hiss_in_silent_frames_only():
    torch.manual_seed(0)
    audio = torch.zeros(2, 1, 3200)
    audio[0, :, :1600] = 0.1 * torch.randn(1600)  # clip 0: sound then silence; clip 1: silence
    hiss = 10 ** (-48.8 / 20) * torch.randn(2, 1, 3200)
    # -48.8 dBFS where -62 is asked: 1.32 (in 10 dB), over the 15 silent frames only
    assert silence_loss(audio + hiss, audio) == pytest.approx(1.32, abs=0.05)
    assert silence_loss(audio, audio) == 0.0
    quiet = 10 ** (-70 / 20) * torch.randn(2, 1, 3200)
    assert silence_loss(audio + quiet, audio) == 0.0  # under the target: free
    loud_where_sound = audio.clone()
    loud_where_sound[0, :, :1600] *= 3
    assert silence_loss(loud_where_sound, audio) == 0.0  # errors on sound are not its business
    noisy = torch.randn(1, 1, 3200)
    assert silence_loss(noisy, noisy) == 0.0  # no silent frame: nothing to price


def test_silence_term_reaches_the_training_loss(tmp_path):
    from tests.test_codec_training import tiny_config
    from training.embedded.train_codec import train

    def first_record(name: str, seed: int, **extra) -> dict:
        run = dict(max_steps=1, vq_warmup_steps=0, spectral_ramp_steps=0, seed=seed, batch_size=4)
        train(tiny_config(tmp_path / name, **run, **extra), log=lambda _: None)
        return json.loads((tmp_path / name / "codec" / "loss_history.json").read_text())[0]

    # seed 4's first batch has 35 silent frames (two "noise then silence" crops and a pulse train's gaps)
    plain, priced = first_record("plain4", 4), first_record("silence4", 4, silence_weight=5.0)
    assert priced["mse"] == plain["mse"] and priced["stft"] > plain["stft"] + 1e-3
    # seed 3's is four tones and chirps without a silent frame: the term adds nothing
    assert first_record("silence3", 3, silence_weight=5.0)["stft"] == first_record("plain3", 3)["stft"]
