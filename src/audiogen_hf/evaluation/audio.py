"""Reading reference audio for evaluation: every clip of a folder, mono, at the rate of the model judged.

Why its own module: the `evaluate` command and the CLAP scorer both need audio at a given rate, and a bad
reference folder must fail before any audio is generated, with a message that says what to fix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Band-limited (sinc) resampling of a [..., samples] float array with julius."""
    if from_rate == to_rate:
        return np.asarray(audio, dtype=np.float32)
    import julius
    import torch

    tensor = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))
    return julius.resample_frac(tensor, int(from_rate), int(to_rate)).numpy()


def reference_files(folder: str | Path) -> list[Path]:
    """The audio files directly inside `folder`, sorted by name (the order clips are paired with prompts)."""
    path = Path(folder)
    if not path.is_dir():
        raise FileNotFoundError(
            f"reference folder '{folder}' does not exist or is not a folder; pass --reference-dir a folder of "
            f"reference clips ({', '.join(AUDIO_SUFFIXES)})"
        )
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise ValueError(
            f"reference folder '{folder}' holds no audio files ({', '.join(AUDIO_SUFFIXES)}); put the "
            "real clips to compare against in it"
        )
    return files


def load_mono(path: str | Path, sampling_rate: int) -> np.ndarray:
    """One file as a mono float32 array at `sampling_rate` (channels averaged)."""
    import soundfile

    try:
        audio, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except RuntimeError as error:  # soundfile's LibsndfileError
        raise ValueError(f"cannot read reference clip '{path}': {error}") from error
    if audio.shape[0] == 0:
        raise ValueError(f"reference clip '{path}' is empty")
    return resample(audio.mean(axis=1), rate, sampling_rate)


def load_reference_dir(folder: str | Path, sampling_rate: int) -> tuple[list[str], list[np.ndarray]]:
    """(file names, mono clips at `sampling_rate`) of every audio file in `folder`, sorted by name."""
    files = reference_files(folder)
    return [f.name for f in files], [load_mono(f, sampling_rate) for f in files]
