"""Pluggable embedders for Fréchet distance and KL, and the built-in one: the DSP judge's features.

An embedder is any callable `embedder(clips, sampling_rate)` taking a list of mono float arrays and returning
either a [clips, d] embedding array or an `Embeddings` (embeddings plus optional class probabilities for KL).
Why a bare callable: wrapping VGGish, PANNs, PaSST or CLAP is then a few lines of user code with their own
weights, and nothing here downloads anything.

The built-in `dsp_embedder` suits the embedded demo models' sound world (`training/embedded/sound_world.py`), whose
attributes the judge measures: its embedding is a log-band spectral summary plus the judge's measurements,
and its probabilities are the judge's attribute decisions (label-smoothed), so KL counts attribute
disagreements between paired clips. It says nothing useful about real-world audio: plug in a real
classifier for that.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from . import judge

# Each attribute's possible decisions (None: the judge heard no such thing), in a fixed order.
ATTRIBUTE_VALUES: dict[str, tuple[str | None, ...]] = {
    "pitch": ("low", "middle", "high", None),
    "direction": ("rising", "falling", "steady", None),
    "noise": (*judge.NOISE_COLOURS, None),
    "pulse": ("slow", "fast", None),
    "loudness": ("quiet", "normal", "loud", None),
    "silence": ("all", "after", "none"),
}
# Judge measurements in the embedding, with the value used when the judge did not measure it.
MEASUREMENTS: dict[str, float] = {
    "rms_db": -100.0,
    "tonal_fraction": 0.0,
    "pitch_octave": 0.0,  # log2(pitch_hz / 100)
    "octaves_per_s": 0.0,
    "noise_floor_share_db": -60.0,
    "noise_slope_db_per_octave": 0.0,
    "pulse_hz": 0.0,
    "trailing_silence_s": 0.0,
}
LABEL_SMOOTHING = 0.1  # mass spread over an attribute's other values, so a disagreement costs a finite KL
SPECTRAL_BANDS = 16
SPECTRAL_RANGE_HZ = (50.0, 8000.0)


@dataclass
class Embeddings:
    """What an embedder returns: [clips, d] embeddings and, for KL, [clips, classes] probabilities whose
    `probability_kind` says how to compare them ("categorical": rows sum to 1; "bernoulli": independent)."""

    embeddings: np.ndarray
    probabilities: np.ndarray | None = None
    probability_kind: Literal["categorical", "bernoulli"] = "categorical"


Embedder = Callable[[Sequence[np.ndarray], int], "Embeddings | np.ndarray"]


def embed(embedder: Embedder, clips: Sequence[np.ndarray], sampling_rate: int) -> Embeddings:
    """Call an embedder and check what it returned: one embedding (and probability) row per clip."""
    if not clips:
        raise ValueError("no clips to embed")
    out = embedder(list(clips), sampling_rate)
    if not isinstance(out, Embeddings):
        out = Embeddings(np.asarray(out, dtype=np.float64))
    rows = len(clips)
    if out.embeddings.ndim != 2 or out.embeddings.shape[0] != rows:
        raise ValueError(
            f"the embedder returned embeddings of shape {out.embeddings.shape} for {rows} clips; it must "
            "return one row per clip ([clips, d])"
        )
    if out.probabilities is not None and (out.probabilities.ndim != 2 or out.probabilities.shape[0] != rows):
        raise ValueError(
            f"the embedder returned probabilities of shape {out.probabilities.shape} for {rows} clips; it "
            "must return one row per clip ([clips, classes]) or None"
        )
    return out


def _band_summary(clip: np.ndarray, sampling_rate: int) -> np.ndarray:
    """Mean and standard deviation over time of the log energy in log-spaced bands (64 ms frames)."""
    n_fft, hop = 1024, 256
    x = np.pad(clip, (0, max(0, n_fft - len(clip))))
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop] * np.hanning(n_fft)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    freqs = np.fft.rfftfreq(n_fft, 1 / sampling_rate)
    top = min(SPECTRAL_RANGE_HZ[1], sampling_rate / 2)
    edges = np.geomspace(SPECTRAL_RANGE_HZ[0], top, SPECTRAL_BANDS + 1)
    band = np.clip(np.searchsorted(edges, freqs, side="right") - 1, 0, SPECTRAL_BANDS - 1)
    inside = (freqs >= edges[0]) & (freqs <= edges[-1])
    energy = np.zeros((power.shape[0], SPECTRAL_BANDS))
    np.add.at(energy.T, band[inside], power[:, inside].T)
    db = 10 * np.log10(np.maximum(energy, 1e-10))
    return np.concatenate([db.mean(axis=0), db.std(axis=0)])


def _measurement_vector(measurements: dict[str, float]) -> np.ndarray:
    values = dict(measurements)
    if "pitch_hz" in values:
        values["pitch_octave"] = float(np.log2(values["pitch_hz"] / 100.0))
    return np.array([values.get(name, fill) for name, fill in MEASUREMENTS.items()])


def attribute_probabilities(
    attributes: dict[str, str | None], smoothing: float = LABEL_SMOOTHING
) -> np.ndarray:
    """The judge's decisions as one categorical distribution over (attribute, value) pairs: each attribute's
    block gives 1 - smoothing to the heard value and shares `smoothing` among the others, and is weighted
    1 / (number of attributes). The categorical KL of two such vectors is then the mean over attributes of
    the per-attribute KLs."""
    blocks = []
    for attribute, values in ATTRIBUTE_VALUES.items():
        block = np.full(len(values), smoothing / (len(values) - 1))
        block[values.index(attributes[attribute])] = 1.0 - smoothing
        blocks.append(block / len(ATTRIBUTE_VALUES))
    return np.concatenate(blocks)


def dsp_embedder(clips: Sequence[np.ndarray], sampling_rate: int) -> Embeddings:
    """The built-in embedder: judge measurements + band summary per clip; judge decisions as probabilities."""
    embeddings, probabilities = [], []
    for clip in clips:
        mono = judge._as_mono(clip, sampling_rate)  # the judge's own input checks
        analysis = judge.analyze(mono, sampling_rate)
        embeddings.append(
            np.concatenate([_measurement_vector(analysis.measurements), _band_summary(mono, sampling_rate)])
        )
        probabilities.append(attribute_probabilities(analysis.attributes))
    return Embeddings(np.stack(embeddings), np.stack(probabilities), "categorical")
