"""A toy sound dataset that smoke runs and tests write themselves: tones, beeps and noises with matching
captions, as an audio folder with `metadata.jsonl`. Small, deterministic and easy to memorise."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import soundfile as sf

# (caption, kind, frequency in Hz): words all in `audiogen_hf.tiny.CAPTION_WORDS`.
SOUNDS = (
    ("a low tone", "tone", 220.0),
    ("a high tone", "tone", 1760.0),
    ("a middle tone", "tone", 660.0),
    ("white noise", "noise", 0.0),
    ("fast beeps", "beeps", 1000.0),
    ("slow pulses", "pulses", 440.0),
    ("a rising tone", "rising", 300.0),
    ("brown noise", "brown", 0.0),
)


def synth(
    kind: str, frequency: float, seconds: float, sampling_rate: int, rng: np.random.Generator
) -> np.ndarray:
    t = np.arange(int(seconds * sampling_rate)) / sampling_rate
    if kind == "tone":
        wav = np.sin(2 * math.pi * frequency * t)
    elif kind == "noise":
        wav = rng.standard_normal(t.shape)
    elif kind == "beeps":
        wav = np.sin(2 * math.pi * frequency * t) * (np.sin(2 * math.pi * 8 * t) > 0)
    elif kind == "pulses":
        wav = np.sin(2 * math.pi * frequency * t) * (np.sin(2 * math.pi * 2 * t) > 0)
    elif kind == "rising":
        wav = np.sin(2 * math.pi * (frequency + 400 * t) * t)
    else:  # brown noise
        wav = np.cumsum(rng.standard_normal(t.shape))
        wav = wav - wav.mean()
    return (0.5 * wav / (np.abs(wav).max() + 1e-8)).astype(np.float32)


def write_synthetic_dataset(
    folder: Path, num_examples: int, seed: int = 0, sampling_rate: int = 16000, seconds: float = 1.2
) -> Path:
    """Write `num_examples` clips (cycling through `SOUNDS`, lengths varying around `seconds`) and their
    `metadata.jsonl`. Rewrites nothing if the folder is already complete (resumed runs reuse it)."""
    folder = Path(folder)
    metadata = folder / "metadata.jsonl"
    if metadata.is_file() and sum(1 for _ in metadata.open()) == num_examples:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(num_examples):
        caption, kind, frequency = SOUNDS[i % len(SOUNDS)]
        length = seconds * (0.6 + 0.8 * (i % 3) / 2)  # some clips shorter than a segment, some longer
        name = f"clip_{i:04d}.wav"
        sf.write(folder / name, synth(kind, frequency, length, sampling_rate, rng), sampling_rate)
        rows.append({"file_name": name, "caption": caption})
    tmp = metadata.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    tmp.replace(metadata)
    return folder
