"""Codec pre-encoding: the dataset is encoded to token codes once and stored as a `datasets` cache, so training
never runs the codec. The work is cut into fixed chunks; process `r` of `n` encodes chunks `r, r + n, ...`,
each written atomically (temp folder + rename), so a killed pass resumes where it stopped, with any number
of processes.

Each example keeps up to `max_clip_seconds` of audio, zero-padded to at least one segment; training draws
random segment crops from the stored codes (audiocraft's random seek, at frame resolution).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import torch
from datasets import Array2D, Dataset, Features, Sequence, Value, concatenate_datasets, load_from_disk

from .data import BadAudio, SkipCounter, read_audio

CACHE_INFO = "cache_info.json"


def cache_fingerprint(dataset: Dataset, encoder, segment_samples: int, max_clip_seconds: float) -> str:
    """Changes whenever the data, the codec weights or the clip settings change (a stale cache is an error)."""
    digest = hashlib.sha256()
    digest.update(dataset._fingerprint.encode())
    digest.update(
        f"{segment_samples}-{max_clip_seconds}-{encoder.num_codebooks}-{encoder.bandwidth}".encode()
    )
    for name, tensor in sorted(encoder.codec.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def _features(num_codebooks: int) -> Features:
    return Features(
        {
            "codes": Array2D(shape=(None, num_codebooks), dtype="int16"),  # [frames, K]
            "captions": Sequence(Value("string")),
            "index": Value("int64"),
        }
    )


def encode_chunk(
    dataset: Dataset,
    indices: range,
    encoder,
    sampling_rate: int,
    segment_samples: int,
    max_clip_seconds: float,
) -> tuple[Dataset, SkipCounter]:
    """Encode the examples `indices` one by one (no padding between clips of different lengths)."""
    rows = {"codes": [], "captions": [], "index": []}
    skipped = SkipCounter()
    for i in indices:
        example = dataset[i]
        try:
            wav = read_audio(example["audio"], sampling_rate, max_clip_seconds)
        except BadAudio as bad:
            skipped[bad.reason] += 1
            continue
        if wav.shape[-1] < segment_samples:
            wav = torch.nn.functional.pad(wav, (0, segment_samples - wav.shape[-1]))
        codes = encoder(wav[None, None])[0]  # [K, frames]
        rows["codes"].append(codes.T.cpu().numpy().astype(np.int16))
        rows["captions"].append(example["captions"])
        rows["index"].append(i)
    return Dataset.from_dict(rows, features=_features(encoder.num_codebooks)), skipped


def encode_dataset(
    dataset: Dataset,
    encoder,
    accelerator,
    cache_dir: str | Path,
    sampling_rate: int,
    segment_samples: int,
    max_clip_seconds: float,
    chunk_size: int = 256,
) -> tuple[Dataset, SkipCounter]:
    """Encode (or reuse) the cache in `cache_dir`; returns the codes dataset and the skipped-example counts."""
    cache = Path(cache_dir)
    fingerprint = cache_fingerprint(dataset, encoder, segment_samples, max_clip_seconds)
    info_file = cache / CACHE_INFO
    if accelerator.is_main_process:
        cache.mkdir(parents=True, exist_ok=True)
        if info_file.is_file():
            stored = json.loads(info_file.read_text())
            if stored.get("fingerprint") != fingerprint:
                raise ValueError(
                    f"the codes cache {cache} was built from other data, codec or clip settings; delete it or "
                    "set --encode_cache_dir to a new folder."
                )
        else:
            info_file.write_text(json.dumps({"fingerprint": fingerprint, "num_examples": len(dataset)}))
    accelerator.wait_for_everyone()

    num_chunks = (len(dataset) + chunk_size - 1) // chunk_size
    for chunk in range(accelerator.process_index, num_chunks, accelerator.num_processes):
        final = cache / f"chunk-{chunk:05d}"
        if final.is_dir():
            continue  # done by an earlier (killed) pass
        indices = range(chunk * chunk_size, min((chunk + 1) * chunk_size, len(dataset)))
        encoded, skipped = encode_chunk(
            dataset, indices, encoder, sampling_rate, segment_samples, max_clip_seconds
        )
        tmp = cache / f".tmp-chunk-{chunk:05d}"
        shutil.rmtree(tmp, ignore_errors=True)
        encoded.save_to_disk(str(tmp))
        (tmp / "skipped.json").write_text(json.dumps(dict(skipped)))
        tmp.rename(final)
    accelerator.wait_for_everyone()

    parts, skipped = [], SkipCounter()
    for chunk in range(num_chunks):
        folder = cache / f"chunk-{chunk:05d}"
        parts.append(load_from_disk(str(folder)))
        skipped.update(json.loads((folder / "skipped.json").read_text()))
    codes = concatenate_datasets(parts).with_format("numpy")
    if len(codes) == 0:
        raise ValueError(f"no usable audio in the dataset ({skipped.describe()}); check the data source.")
    return codes, skipped
