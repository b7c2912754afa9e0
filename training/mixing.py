"""AudioGen's mixing augmentation (audiocraft `data/sound_dataset.py::mix_samples`): pairs of clips in a batch
are summed at a random SNR and their captions concatenated, teaching the model compositions of sounds.

Randomness comes from an explicit `torch.Generator`, so a resumed run replays the same mixes.
"""

from __future__ import annotations

import torch

EPS = torch.finfo(torch.float32).eps
# audiocraft draws the output level with `np.random.randint(-35, -15)`: an integer in [-35, -16] dBFS.
TARGET_LEVEL_LOWER, TARGET_LEVEL_UPPER = -35, -15


def _randint(low: int, high: int, generator: torch.Generator) -> int:
    """Integer in `[low, high)` (numpy's `randint` convention, which audiocraft uses)."""
    return int(torch.randint(low, high, (1,), generator=generator).item())


def rms(x: torch.Tensor) -> torch.Tensor:
    return x.pow(2).mean(1).sqrt()


def normalize_level(audio: torch.Tensor, target_level: float = -25) -> torch.Tensor:
    """Scale each row of `[B, T]` to an RMS of `target_level` dBFS."""
    return audio * (10 ** (target_level / 20) / (rms(audio) + EPS))[:, None]


def mix_pair(
    src: torch.Tensor, dst: torch.Tensor, min_overlap: float, generator: torch.Generator
) -> torch.Tensor:
    """Add `dst` into `src` at a random offset such that at least `min_overlap` of `src` overlaps it."""
    start = _randint(0, int(src.shape[1] * (1 - min_overlap)) + 1, generator)
    remainder = src.shape[1] - start
    out = src.clone()
    if dst.shape[1] > remainder:
        out[:, start:] = out[:, start:] + dst[:, :remainder]
    else:
        out[:, start : start + dst.shape[1]] = out[:, start : start + dst.shape[1]] + dst
    return out


def snr_mixer(
    clean: torch.Tensor,
    noise: torch.Tensor,
    snr: int,
    min_overlap: float,
    generator: torch.Generator,
    target_level: float = -25,
    clipping_threshold: float = 0.99,
) -> torch.Tensor:
    """audiocraft's `snr_mixer` on `[B, T]`: peak- then RMS-normalise both, scale `noise` to `snr` dB below
    `clean`, mix with an offset, renormalise to a random level in [-35, -16] dBFS and guard against clipping."""
    if clean.shape[1] > noise.shape[1]:
        noise = torch.nn.functional.pad(noise, (0, clean.shape[1] - noise.shape[1]))
    else:
        noise = noise[:, : clean.shape[1]]
    clean = normalize_level(clean / (clean.max(1)[0].abs()[:, None] + EPS), target_level)
    noise = normalize_level(noise / (noise.max(1)[0].abs()[:, None] + EPS), target_level)
    noise = noise * (rms(clean) / (10 ** (snr / 20)) / (rms(noise) + EPS))[:, None]
    mixed = mix_pair(clean, noise, min_overlap, generator)
    level = _randint(TARGET_LEVEL_LOWER, TARGET_LEVEL_UPPER, generator)
    mixed = mixed * (10 ** (level / 20) / (rms(mixed) + EPS))[:, None]
    clipped = (mixed.abs() > clipping_threshold).any(1)
    if clipped.any():
        peak = mixed[clipped].abs().max(1)[0][:, None] / (clipping_threshold - EPS)
        mixed[clipped] = mixed[clipped] / peak
    return mixed


def mix_text(src: str, dst: str) -> str:
    """Concatenate two captions with a space, unless they are identical."""
    return src if src == dst else f"{src} {dst}"


def mix_samples(
    wavs: torch.Tensor,
    captions: list[str],
    aug_p: float,
    mix_p: float,
    generator: torch.Generator,
    snr_low: int = -5,
    snr_high: int = 5,
    min_overlap: float = 0.5,
) -> tuple[torch.Tensor, list[str]]:
    """Mix `[B, 1, T]` clips of a batch. With probability `aug_p`, `int(mix_p * B)` random (source, target)
    pairs are SNR-mixed and their captions joined; otherwise `int(mix_p * B)` clips are kept unchanged. Either
    way the batch shrinks to `int(mix_p * B)`, as audiocraft loads 256 clips for a batch of 128. Lengths
    are preserved."""
    if mix_p <= 0:
        return wavs, captions
    if wavs.dim() != 3 or wavs.shape[1] != 1:
        raise ValueError(f"mixing needs mono clips [batch, 1, samples], got {tuple(wavs.shape)}.")
    if len(captions) != wavs.shape[0]:
        raise ValueError(f"{wavs.shape[0]} clips but {len(captions)} captions.")
    batch = wavs.shape[0]
    k = int(mix_p * batch)
    if k < 1:
        raise ValueError(f"mix_p={mix_p} keeps no clip of a batch of {batch}; raise mix_p or the batch size.")
    do_mix = torch.rand(1, generator=generator).item() < aug_p
    sources = torch.randperm(batch, generator=generator)[:k]
    if not do_mix:
        return wavs[sources], [captions[int(i)] for i in sources]
    targets = torch.randperm(batch, generator=generator)[:k]
    snr = snr_low if snr_low == snr_high else _randint(snr_low, snr_high, generator)
    mixed = snr_mixer(wavs[sources, 0], wavs[targets, 0], snr, min_overlap, generator)
    texts = [mix_text(captions[int(i)], captions[int(j)]) for i, j in zip(sources, targets, strict=True)]
    return mixed[:, None], texts
