"""How audible a seam is, measured against the clip's own variation (numpy only).

Why relative measures: a step of 0.1 in the waveform is a click in a quiet tone and nothing in white noise, so
each measure at the seam is compared with the same measure everywhere else in the clip. For a loop the seam is
where the clip's end meets its start (the clip is played twice in a row); for an infill it is each border of
the regenerated region.
"""

from __future__ import annotations

import numpy as np

WINDOW_S = 0.02  # the spectrum and energy on each side of a seam are taken over this much audio


def _mono(audio) -> np.ndarray:
    x = np.asarray(audio, dtype=np.float64)
    return x.reshape(-1, x.shape[-1]).mean(axis=0) if x.ndim > 1 else x


def wrap_step(audio) -> dict:
    """The waveform step from a clip's last sample to its first, against its own sample-to-sample steps:
    `ratio` to their median, `to_max` to the largest (above 1: a jump the clip never makes) and `percentile`
    among them (100: larger than every step inside; a pure tone's steepest steps are its zero crossings, so a
    seamless tone loop wrapping at one sits near 100 with `to_max` near 1)."""
    x = _mono(audio)
    if x.shape[-1] < 2:
        raise ValueError("a clip needs at least 2 samples to measure its wrap step.")
    steps = np.abs(np.diff(x))
    seam = abs(x[0] - x[-1])
    median = float(np.median(steps))
    return {
        "step": float(seam),
        "ratio": float(seam / median) if median > 0 else (0.0 if seam == 0 else float("inf")),
        "to_max": float(seam / steps.max()) if steps.max() > 0 else (0.0 if seam == 0 else float("inf")),
        "percentile": float(100.0 * np.mean(steps < seam)),
    }


def _log_spectrum(segment: np.ndarray) -> np.ndarray:
    window = np.hanning(segment.shape[-1])
    return np.log(np.abs(np.fft.rfft(segment * window)) + 1e-6)


def _rms_db(segment: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(segment**2) + 1e-10))


def _boundary(x: np.ndarray, position: int, size: int) -> tuple[float, float]:
    """(spectral flux, energy jump in dB) between the `size` samples before `position` and those after it."""
    before, after = x[position - size : position], x[position : position + size]
    flux = float(np.sqrt(np.mean((_log_spectrum(after) - _log_spectrum(before)) ** 2)))
    return flux, abs(_rms_db(after) - _rms_db(before))


def boundary_continuity(audio, sampling_rate: int, position: int, window_s: float = WINDOW_S) -> dict:
    """Spectral flux and energy jump across sample `position`, each divided by its median over every other
    window boundary of the clip (1: as smooth as the clip usually is; well above 1: an audible seam)."""
    x = _mono(audio)
    size = max(8, int(window_s * sampling_rate))
    if not size <= position <= x.shape[-1] - size:
        raise ValueError(
            f"position {position} must leave {size} samples on each side in a clip of {x.shape[-1]} samples."
        )
    flux, energy = _boundary(x, position, size)
    others = [
        _boundary(x, p, size) for p in range(size, x.shape[-1] - size + 1, size) if abs(p - position) >= size
    ]
    if not others:
        raise ValueError(
            f"the clip ({x.shape[-1]} samples) is too short to compare a seam with the rest of it."
        )
    usual_flux = float(np.median([o[0] for o in others]))
    usual_energy = float(np.median([o[1] for o in others]))
    return {
        "flux": flux,
        "flux_ratio": flux / usual_flux if usual_flux > 0 else float("inf"),
        "energy_jump_db": energy,
        "energy_ratio": energy / usual_energy if usual_energy > 0 else float("inf"),
    }


def loop_seam(audio, sampling_rate: int, window_s: float = WINDOW_S) -> dict:
    """The seam of a clip played twice in a row: its wrap step and the continuity across the repeat."""
    x = _mono(audio)
    continuity = boundary_continuity(np.concatenate([x, x]), sampling_rate, x.shape[-1], window_s)
    return {**{f"wrap_{k}": v for k, v in wrap_step(x).items()}, **continuity}
