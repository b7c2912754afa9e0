"""Reconstruction losses and quality metrics of the codec trainer (`training/embedded/train_codec.py`).

Why a module: the trainer mixes several terms over its phases (waveform MSE, spectral convergence, log-mel,
then per-clip level-normalised terms); they and the held-out metrics (SI-SNR, spectral distance) are pure
functions of tensors, tested on their own.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from training.embedded.sound_world import SAMPLING_RATE


def stft_magnitude(x: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    window = torch.hann_window(n_fft, device=x.device)
    return torch.stft(x.reshape(-1, x.shape[-1]), n_fft, hop, window=window, return_complex=True).abs()


def mel_filterbank(n_fft: int, bins: int, sampling_rate: int = SAMPLING_RATE) -> torch.Tensor:
    """`[bins, n_fft // 2 + 1]` triangular HTK-mel filters, 20 Hz to Nyquist (no torchaudio needed)."""
    mel = lambda f: 2595 * np.log10(1 + f / 700)  # noqa: E731
    hz = 700 * (10 ** (np.linspace(mel(20.0), mel(sampling_rate / 2), bins + 2) / 2595) - 1)
    freqs = np.linspace(0, sampling_rate / 2, n_fft // 2 + 1)
    lower, centre, upper = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    ramps = np.minimum((freqs - lower) / (centre - lower), (upper - freqs) / (upper - centre))
    return torch.from_numpy(np.maximum(ramps, 0.0)).float()


def multi_resolution_stft_loss(
    y: torch.Tensor,
    x: torch.Tensor,
    resolutions: list[list[int]],
    log_eps: float = 1e-3,
    weights: tuple[float, float, float] = (1.0, 1.0, 0.0),
    mel_bins: int = 64,
) -> torch.Tensor:
    """(spectral convergence, log-magnitude L1, log-mel L1) weighted by `weights`, averaged over resolutions.

    Why all three: log-magnitude L1 alone scores a silent output well on sparse tonal spectra (most bins
    are empty), which collapsed the first run; linear convergence and mel energy pull the energy back."""
    convergence_weight, log_weight, mel_weight = weights
    total = y.new_zeros(())
    for n_fft, hop in resolutions:
        mag_y, mag_x = stft_magnitude(y, n_fft, hop), stft_magnitude(x, n_fft, hop)
        convergence = torch.linalg.norm(mag_x - mag_y) / (torch.linalg.norm(mag_x) + 1e-7)
        log_mag = F.l1_loss(torch.log(mag_y + log_eps), torch.log(mag_x + log_eps))
        total = total + convergence_weight * convergence + log_weight * log_mag
        if mel_weight:
            bank = mel_filterbank(n_fft, min(mel_bins, n_fft // 8)).to(y.device)
            mel_y, mel_x = bank @ mag_y, bank @ mag_x
            total = total + mel_weight * F.l1_loss(torch.log(mel_y + 1e-5), torch.log(mel_x + 1e-5))
    return total / len(resolutions)


def relative_mse(output: torch.Tensor, audio: torch.Tensor, floor: float) -> torch.Tensor:
    """Mean over clips of each clip's MSE divided by its own power (+ `floor`, so silence stays finite and
    any sound in it is penalised hard)."""
    dims = tuple(range(1, audio.dim()))
    return ((output - audio).pow(2).mean(dim=dims) / (audio.pow(2).mean(dim=dims) + floor)).mean()


def clip_spectral_convergence(
    output: torch.Tensor, audio: torch.Tensor, resolutions: list[list[int]], floor: float
) -> torch.Tensor:
    """Spectral convergence per clip (not over the batch, where loud clips drown quiet ones), averaged over
    clips and resolutions; `floor` keeps silent clips finite while still pricing any output in them."""
    batch, total = audio.shape[0], output.new_zeros(())
    for n_fft, hop in resolutions:
        mag_y = stft_magnitude(output, n_fft, hop).reshape(batch, -1)
        mag_x = stft_magnitude(audio, n_fft, hop).reshape(batch, -1)
        total = total + ((mag_y - mag_x).norm(dim=1) / (mag_x.norm(dim=1) + floor)).mean()
    return total / len(resolutions)


def band_matrix(edges: np.ndarray, n_fft: int, band_hz: tuple[float, float]) -> torch.Tensor:
    """`[bands, n_fft // 2 + 1]` 0/1 rows: which FFT bins fall in each band between consecutive `edges` (Hz);
    a band without a bin is refused."""
    freqs = np.fft.rfftfreq(n_fft, 1 / SAMPLING_RATE)
    member = (freqs[None, :] >= edges[:-1, None]) & (freqs[None, :] < edges[1:, None])
    if not member.any(axis=1).all():
        raise ValueError(
            f"{len(edges) - 1} bands over {band_hz} Hz leave a band without an FFT bin at n_fft={n_fft}"
        )
    return torch.from_numpy(member.astype(np.float32))


def band_energy_loss(
    output: torch.Tensor,
    audio: torch.Tensor,
    n_fft: int = 1024,
    bands: int = 20,
    band_hz: tuple[float, float] = (100.0, 4000.0),
    floor: float = 1e-4,
    clip_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per clip, mean |ln| ratio of the time-averaged power in `bands` log-spaced bands (its long-term
    spectrum: level and colour, blind to phase), each band floored 30 dB under the clip's mean band power
    plus an absolute `floor` (so silence prices any output in it).

    Why: waveform MSE can only reach the conditional mean of a sound whose phase the codes do not carry, so
    noise decoded darker and weaker than it went in (white at -1.8 dB/octave, brown at -5.1); this term is
    indifferent to phase and asks for the right energy in every band. Measured at weights 0.2 and 0.5 it barely
    moved the decoded slopes (docs/training.md), so it is off by default. `clip_weights` (`[batch]`) weighs
    each clip's term (e.g. 0 for clips without noise); the result stays a mean over the whole batch."""
    edges = np.geomspace(band_hz[0], band_hz[1], bands + 1)
    matrix = band_matrix(edges, n_fft, band_hz).to(audio.device)
    batch = audio.shape[0]
    power_y = stft_magnitude(output, n_fft, n_fft // 4).pow(2).mean(-1).reshape(batch, -1) @ matrix.T
    power_x = stft_magnitude(audio, n_fft, n_fft // 4).pow(2).mean(-1).reshape(batch, -1) @ matrix.T
    floors = power_x.mean(dim=1, keepdim=True) * 1e-3 + floor
    per_clip = (torch.log(power_y + floors) - torch.log(power_x + floors)).abs().mean(dim=1)
    if clip_weights is not None:
        per_clip = per_clip * clip_weights.to(per_clip)
    return per_clip.mean()


def frame_band_energies(
    audio: torch.Tensor,
    frame: int = 320,
    n_fft: int = 1024,
    bands: int = 32,
    band_hz: tuple[float, float] = (60.0, 2400.0),
    floor: float = 1e-4,
) -> torch.Tensor:
    """`[batch, frames, bands]` log power in `bands` mel-spaced bands, one row per codec frame (a 64 ms window
    centred on each 20 ms frame): the per-frame spectral envelope (pitch band, sweep, noise colour, level,
    on/off), blind to phase. The target of the first-codebook distillation term."""
    mel_edges = np.linspace(*(2595 * np.log10(1 + np.array(band_hz) / 700)), bands + 1)
    edges = 700 * (10 ** (mel_edges / 2595) - 1)
    matrix = band_matrix(edges, n_fft, band_hz).to(audio.device)
    frames = audio.shape[-1] // frame
    # drop half a frame so STFT frame t (centred at its first sample) is centred on codec frame t
    power = stft_magnitude(audio[..., frame // 2 :], n_fft, frame).pow(2)[..., :frames]
    return torch.log(matrix @ power + floor).transpose(1, 2)


def silence_loss(
    output: torch.Tensor,
    audio: torch.Tensor,
    frame: int = 320,
    silent_db: float = -60.0,
    target_db: float = -62.0,
) -> torch.Tensor:
    """Mean over the input's silent frames (RMS under `silent_db` dBFS) of how far the output's level there
    rises over `target_db`, in units of 10 dB (0 when there is no silent frame).

    Why: the judge hears silence under -50 dBFS; the decoder polished with the band-energy term hissed at
    -48.8 dBFS on silent codes (and the base codec clicked at -48 dBFS on the first frame), so "silence" and
    every "then silence" failed although the codes were silent."""
    usable = audio.shape[-1] // frame * frame
    level = lambda x: 10 * torch.log10(x[..., :usable].reshape(x.shape[0], -1, frame).pow(2).mean(-1) + 1e-10)  # noqa: E731
    silent = level(audio) < silent_db
    if not silent.any():
        return output.new_zeros(())
    return torch.relu(level(output)[silent] - target_db).mean() / 10


def si_snr(estimate: torch.Tensor, reference: torch.Tensor) -> float:
    """Scale-invariant SNR in dB of one clip."""
    estimate, reference = estimate.flatten().double(), reference.flatten().double()
    estimate, reference = estimate - estimate.mean(), reference - reference.mean()
    target = (estimate @ reference) / (reference @ reference + 1e-12) * reference
    return float(
        10 * torch.log10((target @ target) / ((estimate - target) @ (estimate - target) + 1e-12) + 1e-12)
    )


def spectral_distance_db(
    estimate: torch.Tensor, reference: torch.Tensor, resolutions: list[list[int]]
) -> float:
    """Mean absolute log-magnitude difference in dB, averaged over STFT resolutions (magnitudes floored at 1e-3, -60 dB: empty bins of digital silence do not dominate)."""
    distances = []
    for n_fft, hop in resolutions:
        a = 20 * torch.log10(stft_magnitude(estimate, n_fft, hop) + 1e-3)
        b = 20 * torch.log10(stft_magnitude(reference, n_fft, hop) + 1e-3)
        distances.append(float((a - b).abs().mean()))
    return float(np.mean(distances))
