"""A procedural sound world with captions: short 16 kHz clips made of events a machine can verify.

Why: the embedded default models (issue 6) must be trained on data whose every caption can be checked by
`audiogen_hf.judge`, so each clip carries its ground-truth attribute labels (pitch band, pitch direction,
noise colour, pulse rate, loudness, silence) next to several caption phrasings. Everything is deterministic
from a seed and clip `i` does not depend on how many clips are asked for.

    python training/embedded/sound_world.py data/sound_world --num-clips 2000 --seed 0
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from audiogen_hf.judge import ATTRIBUTES, BANDS, LEVELS_DB, NOISE_BAND_HZ, NOISE_COLOURS, PULSE_RATES

SAMPLING_RATE = 16000
FRAME = 320  # one 50 Hz codec frame; clip lengths are whole frames
MIN_SECONDS, MAX_SECONDS = 1.0, 2.0
LEVEL_JITTER_DB = 2.0
MIX_NOISE_BELOW_DB = (4.0, 8.0)  # noise under the tonal event in mixtures
FADE_SECONDS = 0.01
BEEP_RAMP_SECONDS = 0.005

# Scene kinds and how often each is drawn (single events dominate; silence is rare but present).
KIND_WEIGHTS: dict[str, float] = {
    "tone": 3.0,
    "chirp": 2.0,
    "noise": 2.5,
    "pulses": 3.0,
    "silence": 0.5,
    "tone_noise": 1.5,
    "chirp_noise": 1.0,
    "beep_silence": 1.5,
    "tone_silence": 1.0,
    "noise_silence": 1.0,
}


@dataclass
class Clip:
    """One scene: mono float32 audio in [-1, 1], its caption phrasings and ground-truth labels."""

    audio: np.ndarray
    captions: list[str]
    labels: dict[str, str | None]
    kind: str
    sampling_rate: int = SAMPLING_RATE
    caption: str = field(init=False)

    def __post_init__(self) -> None:
        self.caption = self.captions[0]


# ---------------------------------------------------------------------------------------------- signals


def _fade(wav: np.ndarray, seconds: float, sr: int) -> np.ndarray:
    """Raised-cosine fade in and out, so event edges do not click (clicks are broadband noise)."""
    n = min(int(seconds * sr), len(wav) // 2)
    if n > 0:
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, math.pi, n))
        wav[:n] *= ramp
        wav[-n:] *= ramp[::-1]
    return wav


def tone(frequency: float, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / sr
    return np.sin(2 * math.pi * frequency * t + rng.uniform(0, 2 * math.pi))


def chirp(start: float, octaves: float, n: int, sr: int) -> np.ndarray:
    """Exponential sweep over `octaves` (negative: falling) across the `n` samples."""
    duration = n / sr
    rate = octaves * math.log(2) / duration
    t = np.arange(n) / sr
    phase = 2 * math.pi * start * (np.exp(rate * t) - 1) / rate
    return np.sin(phase)


def coloured_noise(colour: str, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """White, pink (-3 dB/octave) or brown (-6 dB/octave) Gaussian noise, band-limited to `NOISE_BAND_HZ`."""
    return shaped_noise({"white": 0.0, "pink": 0.5, "brown": 1.0}[colour], n, sr, rng)


def shaped_noise(exponent: float, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise with amplitude spectrum ~ f ** -exponent (a slope of -6.02 x exponent dB/octave), shaped
    in the frequency domain and band-limited to `NOISE_BAND_HZ` by 24 dB/octave (4th-order Butterworth)
    skirts: a brick wall would read as a tonal peak at its edge. The colour is the slope inside the band."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / sr)
    spectrum *= np.maximum(freqs, 20.0) ** -exponent
    low, high = NOISE_BAND_HZ
    ratio = np.maximum(freqs, 1.0)
    spectrum /= np.sqrt((1 + (low / ratio) ** 8) * (1 + (ratio / high) ** 8))
    spectrum[0] = 0.0
    return np.fft.irfft(spectrum, n)


def pulse_gate(rate: float, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A 50 % duty on/off envelope at `rate` Hz with short ramps, starting on."""
    t = np.arange(n) / sr
    phase = (t * rate) % 1.0
    gate = (phase < 0.5).astype(np.float64)
    ramp = max(1, int(BEEP_RAMP_SECONDS * sr))
    kernel = np.hanning(2 * ramp + 1)
    return np.convolve(gate, kernel / kernel.sum(), mode="same")


def _set_level(wav: np.ndarray, level_db: float, active: np.ndarray | None = None) -> np.ndarray:
    """Scale so the RMS over the active samples is `level_db` dBFS; limit the rare peak above full scale."""
    region = wav if active is None else wav[active]
    rms = float(np.sqrt(np.mean(region**2))) + 1e-12
    wav = wav * (10 ** (level_db / 20) / rms)
    return np.clip(wav, -0.999, 0.999)


# ---------------------------------------------------------------------------------------------- scenes


def _labels(**given: str | None) -> dict[str, str | None]:
    labels: dict[str, str | None] = dict.fromkeys(ATTRIBUTES)
    labels["silence"] = "none"
    labels.update(given)
    return labels


def _pick(rng: np.random.Generator, options) -> str:
    options = list(options)
    return options[int(rng.integers(len(options)))]


def _loudness(rng: np.random.Generator) -> str:
    return _pick(rng, ["quiet", "normal", "normal", "loud"])


def _level_db(loudness: str, rng: np.random.Generator) -> float:
    return LEVELS_DB[loudness] + rng.uniform(-LEVEL_JITTER_DB, LEVEL_JITTER_DB)


def _with_loudness(captions: list[str], loudness: str) -> list[str]:
    """Put quiet / loud after a leading article ("a quiet high tone", "the loud white noise")."""
    if loudness == "normal":
        return captions
    out = []
    for caption in captions:
        article, _, rest = caption.partition(" ")
        out.append(
            f"{article} {loudness} {rest}" if article in ("a", "the", "one") else f"{loudness} {caption}"
        )
    return out


def _tonal(rng: np.random.Generator, n: int, sr: int, kind: str) -> tuple[np.ndarray, dict, list[str]]:
    """A steady tone, a chirp or a pulse train: (signal, labels, caption phrasings)."""
    if kind == "tone":
        band = _pick(rng, BANDS)
        wav = tone(rng.uniform(*BANDS[band]), n, sr, rng)
        captions = [f"a {band} tone", f"a steady {band} tone", f"{band} tone", f"a {band} steady tone"]
        return wav, {"pitch": band, "direction": "steady"}, captions
    if kind == "chirp":
        direction = _pick(rng, ("rising", "falling"))
        octaves = rng.uniform(2.0, 2.2)  # inside 250-1610 Hz, the band the demo codec reproduces
        if direction == "rising":
            wav = chirp(rng.uniform(250, 350), octaves, n, sr)
        else:
            wav = chirp(rng.uniform(1200, 1600), -octaves, n, sr)
        captions = [
            f"a {direction} chirp",
            f"a {direction} tone",
            f"{direction} chirp",
            f"a chirp {direction}",
        ]
        return wav, {"direction": direction}, captions
    band, rate = _pick(rng, BANDS), _pick(rng, PULSE_RATES)
    wav = tone(rng.uniform(*BANDS[band]), n, sr, rng) * pulse_gate(
        rng.uniform(*PULSE_RATES[rate]), n, sr, rng
    )
    captions = [
        f"{rate} {band} beeps",
        f"{band} beeps, {rate}",
        f"{rate} {band} pulses",
        f"a {band} tone beeping {rate}",
    ]
    return wav, {"pitch": band, "direction": "steady", "pulse": rate}, captions


def _noise(rng: np.random.Generator, n: int, sr: int) -> tuple[np.ndarray, str, list[str]]:
    colour = _pick(rng, NOISE_COLOURS)
    captions = [f"{colour} noise", f"a {colour} noise", f"the {colour} noise", f"a hiss of {colour} noise"]
    return coloured_noise(colour, n, sr, rng), colour, captions


def scene_single(rng: np.random.Generator, n: int, sr: int, kind: str) -> Clip:
    loudness = _loudness(rng)
    if kind == "noise":
        wav, colour, captions = _noise(rng, n, sr)
        labels = _labels(noise=colour, loudness=loudness)
    else:
        wav, given, captions = _tonal(rng, n, sr, kind)
        labels = _labels(loudness=loudness, **given)
    active = np.abs(wav) > 1e-3 if kind == "pulses" else None
    wav = _set_level(_fade(wav, FADE_SECONDS, sr), _level_db(loudness, rng), active)
    return Clip(wav.astype(np.float32), _shuffled(_with_loudness(captions, loudness), rng), labels, kind)


def scene_silence(rng: np.random.Generator, n: int, sr: int, kind: str) -> Clip:
    captions = ["silence", "total silence", "nothing, silence", "silence, no sound"]
    labels = _labels(silence="all")
    return Clip(np.zeros(n, dtype=np.float32), _shuffled(captions, rng), labels, kind)


def scene_mixture(rng: np.random.Generator, n: int, sr: int, kind: str) -> Clip:
    """A steady tone or a chirp over quieter coloured noise ("a high tone and white noise")."""
    wav, given, tonal_captions = _tonal(rng, n, sr, "tone" if kind == "tone_noise" else "chirp")
    noise, colour, _ = _noise(rng, n, sr)
    below = rng.uniform(*MIX_NOISE_BELOW_DB)
    noise *= np.sqrt(np.mean(wav**2)) / (np.sqrt(np.mean(noise**2)) + 1e-12) * 10 ** (-below / 20)
    event = tonal_captions[0]
    captions = [f"{event} and {colour} noise", f"{colour} noise with {event}", f"{colour} noise and {event}"]
    loudness = "normal"
    mixed = _set_level(_fade(wav + noise, FADE_SECONDS, sr), _level_db(loudness, rng))
    labels = _labels(noise=colour, loudness=loudness, **given)
    return Clip(mixed.astype(np.float32), _shuffled(captions, rng), labels, kind)


def scene_then_silence(rng: np.random.Generator, n: int, sr: int, kind: str) -> Clip:
    """An event over the first 25-50 % of the clip, then silence ("a high beep then silence")."""
    loudness = _loudness(rng)
    if kind == "beep_silence":
        length = int(rng.uniform(0.25, 0.45) * sr)
    else:
        length = int(rng.uniform(0.3, 0.5) * n)
    if kind == "noise_silence":
        event, colour, captions = _noise(rng, length, sr)
        labels = _labels(noise=colour)
        captions = [f"{c} then silence" for c in captions[:3]]
    else:
        event, given, captions = _tonal(rng, length, sr, "tone")
        band = given["pitch"]
        labels = _labels(**given)
        noun = "beep" if kind == "beep_silence" else "tone"
        captions = [
            f"a {band} {noun} then silence",
            f"one {band} {noun} then silence",
            f"a {band} {noun}, then silence",
        ]
    event = _set_level(_fade(event, FADE_SECONDS, sr), _level_db(loudness, rng))
    wav = np.zeros(n, dtype=np.float32)
    wav[:length] = event
    labels.update(loudness=loudness, silence="after")
    return Clip(wav, _shuffled(_with_loudness(captions, loudness), rng), labels, kind)


def _shuffled(captions: list[str], rng: np.random.Generator) -> list[str]:
    """The phrasings in a clip-specific order, so `Clip.caption` (the first) varies across clips."""
    return [captions[i] for i in rng.permutation(len(captions))]


SCENES: dict[str, Callable[[np.random.Generator, int, int, str], Clip]] = {
    "tone": scene_single,
    "chirp": scene_single,
    "noise": scene_single,
    "pulses": scene_single,
    "silence": scene_silence,
    "tone_noise": scene_mixture,
    "chirp_noise": scene_mixture,
    "beep_silence": scene_then_silence,
    "tone_silence": scene_then_silence,
    "noise_silence": scene_then_silence,
}


# ---------------------------------------------------------------------------------------------- API


def make_clip(index: int, seed: int = 0, kind: str | None = None, sampling_rate: int = SAMPLING_RATE) -> Clip:
    """Clip number `index` of the world with this `seed` (its own random stream); `kind` forces the scene."""
    if index < 0:
        raise ValueError(f"clip index must be >= 0, got {index}")
    rng = np.random.default_rng([seed, index])
    kinds = list(KIND_WEIGHTS)
    weights = np.array([KIND_WEIGHTS[k] for k in kinds])
    drawn = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
    kind = kind or drawn
    if kind not in SCENES:
        raise ValueError(f"unknown scene kind {kind!r}; choose one of {sorted(SCENES)}")
    frames = int(
        rng.integers(
            round(MIN_SECONDS * sampling_rate / FRAME), round(MAX_SECONDS * sampling_rate / FRAME) + 1
        )
    )
    return SCENES[kind](rng, frames * FRAME, sampling_rate, kind)


def generate_clips(num_clips: int, seed: int = 0, kinds: list[str] | None = None) -> Iterator[Clip]:
    """`num_clips` clips; with `kinds`, cycle through those scene kinds (balanced sets for tests)."""
    if num_clips < 0:
        raise ValueError(f"num_clips must be >= 0, got {num_clips}")
    for i in range(num_clips):
        yield make_clip(i, seed, kinds[i % len(kinds)] if kinds else None)


def caption_vocabulary() -> list[str]:
    """Every word any caption can use (for a tokenizer covering the world), sorted."""
    words: set[str] = set()
    for kind in SCENES:
        for i in range(25):
            for caption in make_clip(i, seed=12345, kind=kind).captions:
                words.update(caption.replace(",", " ").split())
    return sorted(words)


def write_sound_world(folder: str | Path, num_clips: int, seed: int = 0) -> Path:
    """Write clips as wavs plus an audiofolder `metadata.jsonl` (`file_name`, `text`, `caption`, all
    phrasings in `captions`, the scene `kind` and one column per attribute label). Returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, clip in enumerate(generate_clips(num_clips, seed)):
        name = f"clip_{i:06d}.wav"
        sf.write(folder / name, clip.audio, clip.sampling_rate, subtype="PCM_16")
        row = {"file_name": name, "text": clip.caption, "caption": clip.caption, "captions": clip.captions}
        row.update(kind=clip.kind, **clip.labels)
        rows.append(row)
    metadata = folder / "metadata.jsonl"
    tmp = metadata.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    tmp.replace(metadata)
    return folder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="output audio folder (wavs + metadata.jsonl)")
    parser.add_argument("--num-clips", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(write_sound_world(args.folder, args.num_clips, args.seed))


if __name__ == "__main__":
    main()
