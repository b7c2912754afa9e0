"""Held-out measurements of a codec (`training/embedded/train_codec.py`'s report): reconstruction quality, judge
agreement, codebook use and how much noise colour the codes carry.

Why a module: the trainer's report and the tests use them; they are functions of a codec and audio, not of a
training run.
"""

from __future__ import annotations

import numpy as np
import torch
from transformers import EncodecModel

from training.embedded.codec_losses import si_snr, spectral_distance_db
from training.embedded.codec_vq import residual_vq
from training.embedded.sound_world import SAMPLING_RATE, make_clip

TONAL_KINDS = ("tone", "chirp", "pulses", "beep_silence", "tone_silence")


def reconstruct(model: EncodecModel, audio: torch.Tensor) -> torch.Tensor:
    """Encoder -> residual VQ (no updates) -> decoder, trimmed to the input length."""
    quantized, _, _, _ = residual_vq(model, model.encoder(audio))
    return model.decoder(quantized)[..., : audio.shape[-1]]


@torch.no_grad()
def evaluate(
    model: EncodecModel, clips: list[tuple[str, torch.Tensor]], resolutions, roundtrip: bool = False
) -> dict:
    """SI-SNR (non-silent clips; also tonal-only), multi-resolution spectral distance and judge agreement
    (`audiogen_hf.judge.analyze` of decoded vs original, per attribute) on held-out clips.
    `roundtrip`: go through `EncodecModel.encode/decode`, as users of the saved model will."""
    from audiogen_hf.judge import ATTRIBUTES, analyze

    model.eval()
    device = next(model.parameters()).device
    per_kind: dict[str, list[float]] = {}
    distances = []
    agree: dict[str, list[bool]] = {a: [] for a in ATTRIBUTES}
    for kind, audio in clips:
        audio = audio.to(device)
        if roundtrip:
            bandwidth = max(model.config.target_bandwidths)
            encoded = model.encode(audio, bandwidth=bandwidth)
            output = model.decode(encoded.audio_codes, encoded.audio_scales).audio_values[
                ..., : audio.shape[-1]
            ]
        else:
            output = reconstruct(model, audio)
        distances.append(spectral_distance_db(output, audio, resolutions))
        output, audio = output.cpu(), audio.cpu()  # the judge works on numpy
        heard, original = analyze(output[0], SAMPLING_RATE), analyze(audio[0], SAMPLING_RATE)
        for attribute in ATTRIBUTES:
            agree[attribute].append(heard.attributes[attribute] == original.attributes[attribute])
        if audio.abs().max() > 0:
            per_kind.setdefault(kind, []).append(si_snr(output, audio))
    everything = [v for values in per_kind.values() for v in values]
    tonal = [v for k in TONAL_KINDS for v in per_kind.get(k, [])]
    return {
        "si_snr_db": float(np.mean(everything)),
        "si_snr_tonal_db": float(np.mean(tonal)) if tonal else float("nan"),
        "spectral_distance_db": float(np.mean(distances)),
        "si_snr_by_kind_db": {k: float(np.mean(v)) for k, v in sorted(per_kind.items())},
        # the judge's attributes of the decoded clip equal those of the original (fraction of clips)
        "judge_agreement": {a: float(np.mean(v)) for a, v in agree.items()},
    }


@torch.no_grad()
def codebook_usage(model: EncodecModel, clips: list[tuple[str, torch.Tensor]]) -> list[float]:
    """Perplexity of each codebook's codes over the held-out set (how many codes are really used)."""
    device = next(model.parameters()).device
    codes = torch.cat(
        [residual_vq(model, model.encoder(a.to(device)))[1].flatten(1) for _, a in clips], dim=1
    ).cpu()
    usage = []
    for row in codes:
        p = torch.bincount(row, minlength=model.config.codebook_size).double()
        p = p[p > 0] / p.sum()
        usage.append(float(torch.exp(-(p * p.log()).sum())))
    return usage


@torch.no_grad()
def code_colour_information(model: EncodecModel, clips: int = 150, seed: int = 555) -> list[float]:
    """Per codebook, the mutual information (bits; at most log2(3) = 1.58) between a noise frame's code and
    its clip's colour (white / pink / brown), over `clips` noise scenes of the world. Why: an LM sampling codes
    keeps a colour only as far as the codes carry it; the first code of the codec before first-codebook
    distillation carried 0.37 bits, and its LMs drifted pink to brown."""
    from audiogen_hf.judge import NOISE_COLOURS

    device = next(model.parameters()).device
    size = model.config.codebook_size
    joint = np.zeros((len(model.quantizer.layers), size, len(NOISE_COLOURS)))
    for i in range(clips):
        clip = make_clip(i, seed, kind="noise")
        audio = torch.from_numpy(clip.audio)[None, None].to(device)
        codes = residual_vq(model, model.encoder(audio))[1][:, 0].cpu().numpy()  # [K, frames]
        for q, row in enumerate(codes):
            np.add.at(joint[q, :, NOISE_COLOURS.index(clip.labels["noise"])], row, 1)
    return [mutual_information_bits(table) for table in joint]


def mutual_information_bits(counts: np.ndarray) -> float:
    """Mutual information (bits) between the row and column variables of a joint count table."""
    p = counts / counts.sum()
    independent = p.sum(axis=1, keepdims=True) * p.sum(axis=0, keepdims=True)
    used = p > 0
    return float((p[used] * np.log2(p[used] / independent[used])).sum())
