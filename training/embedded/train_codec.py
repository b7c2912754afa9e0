"""Train a small 16 kHz EnCodec (transformers `EncodecModel`) on the procedural sound world, with Accelerate.

Why: the embedded default models (issue 6) need a codec small enough to ship and good enough on the sound
world's tones, beeps and noises. transformers' EnCodec quantizes without gradients, so this script has its
own training forward over the model's modules: encoder -> a differentiable residual VQ (`training/embedded/codec_vq.py`)
over the codebook buffers (nearest code, straight-through estimator, commitment loss, EMA codebook updates, dead-code
replacement) -> decoder. The buffers it updates (`embed`, `embed_avg`, `cluster_size`) are the ones
`EncodecModel.encode/decode` use, so the saved folder encodes and decodes exactly as trained; the report
checks that by re-measuring the held-out set through the saved model, and scores it with the judge
(`audiogen_hf.judge.analyze` of decoded vs original clips, per attribute).

The first run collapsed to silence: waveform L1 (weight 5) and floored log-magnitude L1 both score a silent
output well on sparse tonal spectra, and k-means ran on an untrained encoder. The second (Adam (0.5, 0.9),
small L1, spectral convergence + log-magnitude + log-mel, plain-autoencoder warm-up before k-means VQ)
still drifted toward silence (output RMS ~0.2x input): magnitude losses have ~zero gradient near a silent
output. Now the loss is waveform-dominant: 100 x MSE carries the level, and small spectral terms (spectral
convergence + log-mel) are ramped in after the VQ warm-up to shape the noise colour. That codec still
passed only the bands it had learned (gain ~1 at 200-300 and 600-800 Hz, ~0.01 at 1-2.5 kHz): a latent of D
dims at 50 Hz carries about D x 25 Hz of bandwidth, so the world's tonal content now lives in 200-1610 Hz,
the latent is 64-dim, and the plain-autoencoder phase lasts until the upper band is learned. Absolute MSE
still neglects quiet clips (quiet middle tones decoded at 1.4 kHz, silence as a -45 dB blip), so a last phase
hands it over to per-clip, level-normalised MSE and spectral convergence. Trained on the captioned world
alone, the codes snap to its three pitch bands (chirps decode as ~550 Hz lines); `broad_fraction` mixes in
uncaptioned scenes over continuous pitch and noise-slope ranges (docs/training.md has what it measured).
Waveform losses can only reach the conditional mean of noise whose phase the codes do not carry, so noise
decoded darker than it went in; `decoder_only` (with `init_from`, `training/embedded/configs/codec_polish.yaml`) then
trains the decoder alone on frozen codes with a phase-blind band-energy term: the codes keep their meaning,
so language models trained on them stay valid.

    nice -n 5 accelerate launch training/embedded/train_codec.py --config training/embedded/configs/codec.yaml
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from accelerate import Accelerator
from transformers import EncodecConfig, EncodecModel

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from training.embedded.codec_augment import broad_scene  # noqa: E402
from training.embedded.codec_losses import (  # noqa: E402
    band_energy_loss,
    clip_spectral_convergence,
    frame_band_energies,
    multi_resolution_stft_loss,
    relative_mse,
    silence_loss,
)
from training.embedded.codec_metrics import (  # noqa: E402
    TONAL_KINDS,
    code_colour_information,
    codebook_usage,
    evaluate,
)
from training.embedded.codec_vq import first_codebook_straight_through, kmeans_init, residual_vq  # noqa: E402
from training.embedded.sound_world import SAMPLING_RATE, generate_clips, make_clip  # noqa: E402

CLIP_SCOPES = ("all", "noise", "untonal", "noise_alone")
NOISE_ALONE_KINDS = ("noise", "noise_silence")  # scenes whose only event is a noise


@dataclass
class CodecTrainingConfig:
    """Every knob of a run; `training/embedded/configs/codec.yaml` sets them, `--name value` overrides."""

    output_dir: str = "training/artifacts/codec"
    seed: int = 0
    # model: 16 kHz, 50 frames/s (320-sample hop), `num_codebooks` x `codebook_size`
    num_filters: int = 8
    hidden_size: int = 32
    codebook_size: int = 256
    num_codebooks: int = 4
    num_lstm_layers: int = 1
    # data: fresh sound-world clips every step (an endless stream), random crops of `segment_seconds`
    segment_seconds: float = 0.64
    batch_size: int = 8
    # share of each batch drawn from `training/embedded/codec_augment.py` (uncaptioned tones, sweeps and noises over
    # continuous pitch / colour ranges) instead of the captioned world, so the codes do not snap to its bands
    broad_fraction: float = 0.0
    eval_clips: int = 48
    eval_seed: int = 1000
    # optimisation
    max_steps: int = 2000
    # a time cap: the run stops at it, and the schedule follows it once it runs ahead (learning_rate); 0 (the
    # recipe's configs): no cap, the run is step-bound and so reproduces whatever the machine's speed
    max_minutes: float = 18.0
    learning_rate: float = 3e-4
    adam_beta1: float = 0.5  # audiocraft's EnCodec optimiser: Adam, betas (0.5, 0.9)
    adam_beta2: float = 0.9
    warmup_steps: int = 50
    min_lr_ratio: float = 0.1
    max_grad_norm: float = 1.0
    # losses: waveform MSE (x `mse_weight`) carries the level: magnitude losses have ~zero gradient near
    # a silent output, and a spectral-dominant mix collapsed twice (output RMS ~0.2x the input); the
    # spectral terms (weights below, multiplied by a ramp from 0 at the end of the VQ warm-up to 1 after
    # `spectral_ramp_steps`) then shape the noise colour once the level is alive
    mse_weight: float = 100.0
    l1_weight: float = 0.1
    stft_weight: float = 0.0  # log-magnitude L1
    convergence_weight: float = 0.1  # ||Y - X||_F / ||X||_F
    mel_weight: float = 0.1
    spectral_ramp_steps: int = 500
    # level-normalised phase: from `relative_start_step` (ramped over `relative_ramp_steps`) the absolute MSE
    # hands over to per-clip terms, so quiet clips and silence count as much as loud ones (absolute MSE
    # let quiet tones decode at the wrong pitch and silence decode with a -45 dB blip)
    relative_start_step: int = -1  # -1: never (absolute MSE throughout)
    relative_ramp_steps: int = 200
    relative_mse_weight: float = 1.0  # per clip: MSE / (clip power + relative_mse_floor)
    relative_mse_floor: float = 1e-4
    clip_convergence_weight: float = 2.0  # per clip: ||Y - X||_F / (||X||_F + clip_convergence_floor)
    clip_convergence_floor: float = 1e-2
    # per-clip long-term band energies (level and noise colour, phase-blind), ramped in with the spectral terms
    band_energy_weight: float = 0.0
    band_energy_hz: list[float] = field(default_factory=lambda: [100.0, 4000.0])  # the bands' span
    band_energy_bands: int = 20  # log-spaced over that span
    # the output's level in the input's silent 20 ms frames (`codec_losses.silence_loss`), ramped in with the
    # spectral terms: keeps silent codes under the judge's -50 dBFS
    silence_weight: float = 0.0
    # which clips the band term prices: "all"; "noise" (scenes with a noise in them, and broad scenes); or
    # "untonal" (every scene but the purely tonal TONAL_KINDS: noise, mixtures, silence, broad scenes). Tried
    # because over every scene the polish's term cost rising chirps (ceiling 0.70 -> 0.48); scoped, chirps and
    # pink came back but silence and "a high tone and white noise" fell to 0 (the term over tonal scenes is what
    # stops the decoder hissing in their empty bands); with the silence term for that, "noise" worked, and
    # "noise_alone" (only the scenes whose one event is a noise) is what the polish uses: over the tone-and-noise
    # mixtures the term darkened the white noise under a high tone (docs/training.md)
    band_energy_scope: str = "all"
    # first-codebook distillation: a linear probe on the first codebook's (straight-through) code of each frame
    # (on the plain latent during the VQ warm-up) predicts the frame's log band energies (`frame_band_energies`:
    # `semantic_bands` mel-spaced bands over `semantic_hz`), so the first code says what the frame sounds like
    # (pitch, colour, level) instead of spending its bits on noise waveform detail the decoder cannot use; the
    # probe is discarded after training. Why: the previous codec's first code carried 0.37 of the 1.58 bits of
    # a noise frame's colour, so LMs sampling it drifted pink to brown
    semantic_weight: float = 0.0
    # no term before this step: from step 0 (through the plain-autoencoder warm-up) it cost the codec the
    # 1-1.6 kHz band, which that warm-up learns last (those tones decoded at -46 dBFS); from 1500 it kept it
    semantic_start_step: int = 0
    semantic_bands: int = 32
    # which clips the distillation prices (the band term's scopes; a mean over the priced clips): "noise"
    # leaves tones and chirps to the waveform losses ("noise_alone" also the tone-and-noise mixtures). Over every
    # clip the term cost rising chirps (codec ceiling 0.50 -> 0.17); "noise" from step 1500 is what ships (first
    # code 0.92 bits of colour); "noise" from step 0 collapsed the codec (SI-SNR -40 dB)
    semantic_scope: str = "all"
    semantic_hz: list[float] = field(default_factory=lambda: [60.0, 2400.0])
    mel_bins: int = 64
    commitment_weight: float = 1.0
    log_eps: float = 1e-3  # magnitude floor of the log-magnitude loss (1e-5 chases exact digital silence)
    stft_resolutions: list[list[int]] = field(default_factory=lambda: [[256, 64], [512, 128], [1024, 256]])
    # residual VQ: plain autoencoder for `vq_warmup_steps`, then k-means codebooks from the encoder outputs
    vq_warmup_steps: int = 300
    ema_decay: float = 0.95
    dead_code_threshold: float = 0.1
    dead_code_reset_count: float = 1.0  # EMA count a replaced code restarts with (grace before expiring)
    kmeans_init_clips: int = 32
    kmeans_iterations: int = 8
    # decoder-only polish: start from a trained codec folder and train its decoder alone; the encoder and the
    # codebooks stay frozen, so every code keeps its meaning and LMs trained on the codes stay valid
    init_from: str = ""
    decoder_only: bool = False
    # bookkeeping
    log_every: int = 25
    threads: int = 2

    def __post_init__(self) -> None:
        if self.codebook_size < 2 or self.codebook_size & (self.codebook_size - 1):
            raise ValueError(
                f"codebook_size must be a power of 2 (EnCodec needs it), got {self.codebook_size}"
            )
        if self.segment_seconds * SAMPLING_RATE < 320:
            raise ValueError(
                f"segment_seconds must cover at least one 20 ms frame, got {self.segment_seconds}"
            )
        if self.max_steps < 1 or self.batch_size < 1:
            raise ValueError("max_steps and batch_size must be >= 1")
        if self.max_minutes < 0:
            raise ValueError(
                f"max_minutes is a time cap in minutes, or 0 for none (step-bound), got {self.max_minutes}"
            )
        if not 0.0 <= self.broad_fraction <= 1.0:
            raise ValueError(f"broad_fraction is a share of the batch in [0, 1], got {self.broad_fraction}")
        if self.band_energy_scope not in CLIP_SCOPES:
            raise ValueError(f"band_energy_scope is one of {CLIP_SCOPES}, got {self.band_energy_scope!r}")
        if len(self.band_energy_hz) != 2 or not 0 < self.band_energy_hz[0] < self.band_energy_hz[1]:
            raise ValueError(
                f"band_energy_hz must be [low, high] Hz with 0 < low < high, got {self.band_energy_hz}"
            )
        if self.semantic_scope not in CLIP_SCOPES:
            raise ValueError(f"semantic_scope is one of {CLIP_SCOPES}, got {self.semantic_scope!r}")
        if self.decoder_only and self.semantic_weight:
            raise ValueError(
                "semantic_weight trains the encoder and codebooks, which decoder_only freezes: set one of them off"
            )
        if len(self.semantic_hz) != 2 or not 0 < self.semantic_hz[0] < self.semantic_hz[1]:
            raise ValueError(
                f"semantic_hz must be [low, high] Hz with 0 < low < high, got {self.semantic_hz}"
            )
        if self.decoder_only and not self.init_from:
            raise ValueError(
                "decoder_only trains the decoder of an existing codec: set init_from to its folder"
            )
        if self.init_from and self.vq_warmup_steps:
            raise ValueError(
                f"init_from starts from trained codebooks; a VQ warm-up ({self.vq_warmup_steps} steps) would skip "
                "them and re-run k-means: set vq_warmup_steps: 0"
            )


def encodec_config(cfg: CodecTrainingConfig) -> EncodecConfig:
    """audiocraft's 16 kHz layout (ratios 8-5-4-2) with small channels; bandwidth set for exactly
    `num_codebooks` codebooks at 50 Hz."""
    from audiogen_hf.tiny import tiny_codec_config

    config = tiny_codec_config(
        cfg.codebook_size,
        num_filters=cfg.num_filters,
        hidden_size=cfg.hidden_size,
        codebook_dim=cfg.hidden_size,
        num_lstm_layers=cfg.num_lstm_layers,
    )
    bits = int(math.log2(cfg.codebook_size))
    config["target_bandwidths"] = [cfg.num_codebooks * 50 * bits / 1000]
    return EncodecConfig(**config)


# ---------------------------------------------------------------------------------------------- data


def load_initial_codec(cfg: CodecTrainingConfig) -> EncodecModel:
    """The codec in `cfg.init_from`, refused unless its layout is the one `cfg` describes (the report and the
    recipe read the layout from `cfg`)."""
    folder = Path(cfg.init_from)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"init_from={folder}: no codec there (expected a saved EncodecModel folder)")
    model = EncodecModel.from_pretrained(folder)
    expected, found = encodec_config(cfg).to_dict(), model.config.to_dict()
    keys = ("num_filters", "hidden_size", "codebook_size", "num_lstm_layers", "target_bandwidths")
    wrong = {k: (found.get(k), expected[k]) for k in keys if found.get(k) != expected[k]}
    if wrong:
        raise ValueError(f"init_from={folder} does not match this config (found, configured): {wrong}")
    return model


def training_batch(
    step: int, cfg: CodecTrainingConfig, generator: np.random.Generator, seed: int | None = None
) -> torch.Tensor:
    """`[batch, 1, samples]` random crops of fresh clips (clip ids follow the step, so runs are repeatable)."""
    return training_batch_with_scenes(step, cfg, generator, seed)[0]


def training_batch_with_scenes(
    step: int, cfg: CodecTrainingConfig, generator: np.random.Generator, seed: int | None = None
) -> tuple[torch.Tensor, list[str], torch.Tensor]:
    """`training_batch`, each crop's scene kind ("broad" for a broad scene) and 1.0 where its scene has a
    noise in it (broad scenes count: they may)."""
    length = int(round(cfg.segment_seconds * SAMPLING_RATE / 320)) * 320
    seed = cfg.seed if seed is None else seed
    crops, kinds, noisy = [], [], []
    for j in range(cfg.batch_size):
        own = np.random.default_rng([seed, step, j, 1])  # which source, and the broad scene itself
        if own.random() < cfg.broad_fraction:
            crops.append(broad_scene(own, length, SAMPLING_RATE))
            kinds.append("broad")
            noisy.append(1.0)
            continue
        clip = make_clip(step * cfg.batch_size + j, seed)
        audio = clip.audio
        if len(audio) < length:
            audio = np.pad(audio, (0, length - len(audio)))
        start = int(generator.integers(0, len(audio) - length + 1))
        crops.append(audio[start : start + length])
        kinds.append(clip.kind)
        noisy.append(1.0 if clip.labels.get("noise") else 0.0)
    return torch.from_numpy(np.stack(crops))[:, None], kinds, torch.tensor(noisy)


def scope_clip_weights(scope: str, kinds: list[str], noisy: torch.Tensor) -> torch.Tensor | None:
    """Per crop, whether a term scoped to `scope` prices it (None: every crop); the band term and the
    distillation share these scopes."""
    if scope == "noise":
        return noisy
    if scope == "untonal":
        return torch.tensor([0.0 if kind in TONAL_KINDS else 1.0 for kind in kinds])
    if scope == "noise_alone":
        return torch.tensor([1.0 if kind in NOISE_ALONE_KINDS else 0.0 for kind in kinds])
    return None


def distillation_loss(
    predicted: torch.Tensor, target: torch.Tensor, clip_weights: torch.Tensor | None
) -> torch.Tensor:
    """MSE of the probe's band energies (`[batch, frames, bands]`), averaged over the clips `clip_weights`
    prices (None: all); zero when it prices none."""
    per_clip = (predicted - target).pow(2).mean(dim=(1, 2))
    if clip_weights is None:
        return per_clip.mean()
    clip_weights = clip_weights.to(per_clip)
    return (per_clip * clip_weights).sum() / clip_weights.sum().clamp(min=1.0)


def eval_set(cfg: CodecTrainingConfig) -> list[tuple[str, torch.Tensor]]:
    """Held-out clips (another seed), balanced over scene kinds, whole length (multiples of 320 samples)."""
    from training.embedded.sound_world import KIND_WEIGHTS

    clips = generate_clips(cfg.eval_clips, cfg.eval_seed, kinds=list(KIND_WEIGHTS))
    return [(c.kind, torch.from_numpy(c.audio)[None, None]) for c in clips]


@torch.no_grad()
def init_codebooks(model: EncodecModel, cfg: CodecTrainingConfig, generator: torch.Generator) -> None:
    """k-means codebooks from the current encoder's outputs on `kmeans_init_clips` fresh crops."""
    crops = np.random.default_rng(cfg.seed + 1)
    batches = max(1, cfg.kmeans_init_clips // cfg.batch_size)
    audio = torch.cat([training_batch(i, cfg, crops, seed=cfg.seed + 1) for i in range(batches)])
    latents = model.encoder(audio.to(next(model.parameters()).device))
    flat = latents.transpose(1, 2).reshape(-1, latents.shape[1])
    kmeans_init(model, flat, cfg.kmeans_iterations, generator)


# ---------------------------------------------------------------------------------------------- training


# How far (as a fraction of `max_minutes`) the clock may run ahead of the steps before it drives the schedule
CLOCK_SLACK = 0.1


def learning_rate(step: int, cfg: CodecTrainingConfig, elapsed_minutes: float = 0.0) -> float:
    """Linear warm-up, then cosine decay to `min_lr_ratio` of the peak. Progress is the step fraction, or the
    clock's fraction once the clock runs `CLOCK_SLACK` ahead of it, so a run cut by `max_minutes` still ends
    at the low learning rate while a run that finishes its steps in time follows the steps alone.

    Why the slack: with progress the plain larger of the two, a run's first few hundred steps (start-up
    makes the clock lead there) got learning rates from the wall clock, and two 400-step runs of codec.yaml
    differed from step 75 on; now those runs are bit-identical."""
    if step < cfg.warmup_steps:
        return cfg.learning_rate * (step + 1) / cfg.warmup_steps
    by_steps = (step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps)
    by_clock = elapsed_minutes / cfg.max_minutes if cfg.max_minutes > 0 else 0.0
    progress = min(1.0, max(by_steps, (by_clock - CLOCK_SLACK) / (1 - CLOCK_SLACK)))
    scale = cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    return cfg.learning_rate * scale


def spectral_scale(step: int, cfg: CodecTrainingConfig) -> float:
    """0 during the VQ warm-up (pure waveform autoencoder), then a linear ramp to 1 over
    `spectral_ramp_steps` (0: full weight from the first step)."""
    if cfg.spectral_ramp_steps <= 0:
        return 1.0
    return min(1.0, max(0.0, (step - cfg.vq_warmup_steps + 1) / cfg.spectral_ramp_steps))


def out_of_time(cfg: CodecTrainingConfig, elapsed_minutes: float) -> bool:
    """Whether the time cap has been reached; never, with `max_minutes` 0 (a step-bound run)."""
    return cfg.max_minutes > 0 and elapsed_minutes >= cfg.max_minutes


def relative_scale(step: int, cfg: CodecTrainingConfig) -> float:
    """0 before `relative_start_step` (or when it is -1), then a linear ramp to 1 over `relative_ramp_steps`."""
    if cfg.relative_start_step < 0:
        return 0.0
    if cfg.relative_ramp_steps <= 0:
        return float(step >= cfg.relative_start_step)
    return min(1.0, max(0.0, (step - cfg.relative_start_step + 1) / cfg.relative_ramp_steps))


def train(cfg: CodecTrainingConfig, log=print) -> dict:
    """Run the whole recipe: init, train, evaluate, save, verify the saved model; returns the report."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    generator = torch.Generator().manual_seed(cfg.seed)
    crops = np.random.default_rng(cfg.seed)
    model = load_initial_codec(cfg) if cfg.init_from else EncodecModel(encodec_config(cfg))
    if cfg.decoder_only:
        model.requires_grad_(False)
        model.decoder.requires_grad_(True)
    probe = torch.nn.Linear(cfg.hidden_size, cfg.semantic_bands) if cfg.semantic_weight else None
    optimizer = torch.optim.Adam(
        [p for p in model.parameters() if p.requires_grad] + (list(probe.parameters()) if probe else []),
        lr=cfg.learning_rate,
        betas=(cfg.adam_beta1, cfg.adam_beta2),
    )
    model, optimizer = accelerator.prepare(model, optimizer)
    if probe is not None:
        probe = probe.to(accelerator.device)
    codec = accelerator.unwrap_model(model)
    held_out = eval_set(cfg)
    history, start, step = [], time.perf_counter(), 0
    while step < cfg.max_steps and not out_of_time(cfg, (time.perf_counter() - start) / 60):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, cfg, (time.perf_counter() - start) / 60)
        if step == cfg.vq_warmup_steps and not cfg.init_from:  # codebooks from what the encoder now outputs
            init_codebooks(codec, cfg, generator)
        codec.train()
        audio, kinds, noisy = training_batch_with_scenes(step, cfg, crops)
        audio = audio.to(accelerator.device)
        distil = probe is not None and step >= cfg.semantic_start_step
        first = None  # what the probe reads: the first code of each frame (the plain latent in the warm-up)
        if cfg.decoder_only:  # frozen encoder and codebooks: the codes the LMs know, nothing updated
            with torch.no_grad():
                quantized, _, _, _ = residual_vq(codec, codec.encoder(audio))
            commitment, replaced = quantized.new_zeros(()), 0
        elif step >= cfg.vq_warmup_steps:
            latents = codec.encoder(audio)
            if distil:
                first = first_codebook_straight_through(codec, latents)
            quantized, _, commitment, replaced = residual_vq(codec, latents, cfg, generator)
        else:  # plain autoencoder: learn to reproduce spectra before the bottleneck is discrete
            quantized = first = codec.encoder(audio)
            commitment, replaced = quantized.new_zeros(()), 0
        if distil:
            target = frame_band_energies(audio, bands=cfg.semantic_bands, band_hz=tuple(cfg.semantic_hz))
            # the probe starts at the mean envelope: learning a -8 offset at lr 1e-3 would take ~8000 steps
            if step == cfg.semantic_start_step:
                with torch.no_grad():
                    probe.bias.copy_(target.mean(dim=(0, 1)))
            predicted = probe(first.transpose(1, 2)[:, : target.shape[1]])
            semantic = distillation_loss(
                predicted, target, scope_clip_weights(cfg.semantic_scope, kinds, noisy)
            )
        else:
            semantic = audio.new_zeros(())
        output = codec.decoder(quantized)[..., : audio.shape[-1]]
        mse, l1 = F.mse_loss(output, audio), F.l1_loss(output, audio)
        weights = (cfg.convergence_weight, cfg.stft_weight, cfg.mel_weight)
        ramp = spectral_scale(step, cfg)
        if ramp > 0 and any(weights):
            spectral = multi_resolution_stft_loss(
                output, audio, cfg.stft_resolutions, cfg.log_eps, weights, cfg.mel_bins
            )
        else:
            spectral = output.new_zeros(())
        if ramp > 0 and cfg.band_energy_weight:
            spectral = spectral + cfg.band_energy_weight * band_energy_loss(
                output,
                audio,
                bands=cfg.band_energy_bands,
                band_hz=tuple(cfg.band_energy_hz),
                clip_weights=scope_clip_weights(cfg.band_energy_scope, kinds, noisy),
            )
        if ramp > 0 and cfg.silence_weight:
            spectral = spectral + cfg.silence_weight * silence_loss(output, audio)
        handover = relative_scale(step, cfg)
        if handover > 0:
            relative = cfg.relative_mse_weight * relative_mse(output, audio, cfg.relative_mse_floor)
            relative = relative + cfg.clip_convergence_weight * clip_spectral_convergence(
                output, audio, cfg.stft_resolutions, cfg.clip_convergence_floor
            )
        else:
            relative = output.new_zeros(())
        loss = (
            (1 - handover) * cfg.mse_weight * mse
            + handover * relative
            + cfg.l1_weight * l1
            + ramp * spectral
            + cfg.commitment_weight * commitment
            + cfg.semantic_weight * semantic
        )
        optimizer.zero_grad()
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
        optimizer.step()
        step += 1
        record = {"step": step, "vq": step > cfg.vq_warmup_steps, "dead_codes_replaced": replaced}
        record["spectral_scale"], record["relative_scale"] = ramp, handover
        for name, value in (
            ("loss", loss),
            ("mse", mse),
            ("l1", l1),
            ("stft", spectral),
            ("relative", relative),
            ("commitment", commitment),
            ("semantic", semantic),
        ):
            record[name] = float(value.detach())
        # output level relative to the input (a collapse toward silence shows here first) and the
        # input-normalised waveform error (comparable across quiet and loud batches); None on silent input
        power = float(audio.pow(2).mean())
        record["rms_ratio"] = (
            float(output.detach().pow(2).mean()) ** 0.5 / power**0.5 if power > 1e-8 else None
        )
        record["relative_mse"] = record["mse"] / power if power > 1e-8 else None
        history.append(record)
        if step % cfg.log_every == 0 or step == 1:
            log(json.dumps({**record, "minutes": round((time.perf_counter() - start) / 60, 2)}))
    minutes = (time.perf_counter() - start) / 60
    stopped_in_warmup = step <= cfg.vq_warmup_steps and not cfg.init_from
    if stopped_in_warmup:  # the codebooks still need their k-means init
        init_codebooks(codec, cfg, generator)
    report = finish(codec, cfg, held_out, history, minutes)
    log(json.dumps({k: report[k] for k in ("steps", "train_minutes", "eval", "roundtrip")}))
    return report


def finish(
    codec: EncodecModel, cfg: CodecTrainingConfig, held_out, history: list[dict], minutes: float
) -> dict:
    """Save (first: a failing evaluation must not lose the trained weights), evaluate, reload the saved
    folder and re-measure through `encode/decode`."""
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").unlink(missing_ok=True)  # an earlier run's numbers must not describe these weights
    codec.save_pretrained(out)
    (out / "loss_history.json").write_text(json.dumps(history) + "\n")
    metrics = evaluate(codec, held_out, cfg.stft_resolutions)
    reloaded = EncodecModel.from_pretrained(out).eval().to(next(codec.parameters()).device)
    roundtrip = evaluate(reloaded, held_out, cfg.stft_resolutions, roundtrip=True)
    tail = history[-min(len(history), 50) :]
    report = {
        "steps": len(history),
        "train_minutes": round(minutes, 2),
        "threads": cfg.threads,
        "eval": metrics,
        "roundtrip": roundtrip,
        "judge_agreement": roundtrip["judge_agreement"],  # decoded vs original, through encode/decode
        "codebook_perplexity": codebook_usage(reloaded, held_out),
        "noise_colour_bits_per_codebook": code_colour_information(reloaded),
        "first_loss": history[0]["loss"],
        "final_loss_mean_last_50": float(np.mean([h["loss"] for h in tail])),
        "parameters": sum(p.numel() for p in reloaded.parameters()),
        "size_bytes": sum((out / name).stat().st_size for name in ("config.json", "model.safetensors")),
        "config": dataclasses.asdict(cfg),
        "eval_set": {
            "clips": len(held_out),
            "seed": cfg.eval_seed,
            "kinds": "balanced over sound_world scenes",
        },
    }
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


# ---------------------------------------------------------------------------------------------- command line


def _boolean(text: str) -> bool:
    if text.lower() in ("1", "true", "yes"):
        return True
    if text.lower() in ("0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def parse_config(argv: list[str] | None = None) -> CodecTrainingConfig:
    """`--config file.yaml` first, then `--field value` overrides for any config field."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=None, help="YAML file of CodecTrainingConfig fields")
    parsers = {
        "int": int,
        "float": float,
        "str": str,
        "bool": _boolean,
    }  # annotations are strings (postponed)
    for f in dataclasses.fields(CodecTrainingConfig):
        listed = f.name in ("stft_resolutions", "band_energy_hz", "semantic_hz")
        kind = json.loads if listed else parsers[str(f.type)]
        parser.add_argument(
            f"--{f.name}",
            type=kind,
            default=None,
            help="a JSON list" if listed else f"default {f.default!r}",
        )
    args = parser.parse_args(argv)
    values = {}
    if args.config:
        values = yaml.safe_load(Path(args.config).read_text()) or {}
        unknown = set(values) - {f.name for f in dataclasses.fields(CodecTrainingConfig)}
        if unknown:
            raise SystemExit(f"error: unknown keys in {args.config}: {sorted(unknown)}")
    values.update({k: v for k, v in vars(args).items() if k != "config" and v is not None})
    return CodecTrainingConfig(**values)


def main(argv: list[str] | None = None) -> None:
    train(parse_config(argv))


if __name__ == "__main__":
    main()
