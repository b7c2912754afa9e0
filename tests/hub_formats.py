"""Tiny datasets in the formats users keep on the Hub, written by the tests: parquet with audio bytes,
webdataset tar shards and an audiofolder. Every clip is a distinct tone whose caption names its number."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import soundfile as sf
import yaml

RATE = 16000


def tone(index: int, seconds: float = 0.6, fmt: str = "WAV") -> bytes:
    t = np.arange(int(seconds * RATE)) / RATE
    wav = (0.3 * np.sin(2 * np.pi * (200 + 40 * index) * t)).astype(np.float32)
    buffer = io.BytesIO()
    sf.write(buffer, wav, RATE, format=fmt)
    return buffer.getvalue()


def caption(index: int) -> str:
    return f"tone number {index}"


def write_parquet(root: Path, num_files: int = 2, per_file: int = 4) -> Path:
    """`root/train-0000N.parquet`, columns `audio` ({bytes, path} structs) and `text`."""
    root.mkdir(parents=True, exist_ok=True)
    for f in range(num_files):
        ids = range(f * per_file, (f + 1) * per_file)
        table = pa.table(
            {
                "audio": [{"bytes": tone(i), "path": f"clip_{i}.wav"} for i in ids],
                "text": [caption(i) for i in ids],
            }
        )
        pq.write_table(table, root / f"train-{f:05d}.parquet")
    return root


def write_webdataset(root: Path, num_shards: int = 2, per_shard: int = 4) -> Path:
    """`root/shard-0000N.tar`: per sample `<key>.flac`, `<key>.txt` and `<key>.json` ({"caption": ...})."""
    root.mkdir(parents=True, exist_ok=True)
    for s in range(num_shards):
        with tarfile.open(root / f"shard-{s:05d}.tar", "w") as tar:
            for i in range(s * per_shard, (s + 1) * per_shard):
                files = {
                    "flac": tone(i, fmt="FLAC"),
                    "txt": caption(i).encode(),
                    "json": json.dumps({"caption": caption(i)}).encode(),
                }
                for ext, data in files.items():
                    info = tarfile.TarInfo(f"sample{i:04d}.{ext}")
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
    return root


def write_audiofolder(root: Path, count: int = 6) -> Path:
    """`root/train/*.wav` with `metadata.jsonl` rows `{file_name, caption}`."""
    folder = root / "train"
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(count):
        (folder / f"clip_{i}.wav").write_bytes(tone(i))
        rows.append(json.dumps({"file_name": f"clip_{i}.wav", "caption": caption(i)}))
    (folder / "metadata.jsonl").write_text("\n".join(rows) + "\n")
    return root


def write_run_config(folder: Path, **values) -> Path:
    """`folder/config.yaml` for a tiny run on one of these datasets, output in `folder/run`."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "model_name_or_path": "tiny",
        "segment_seconds": 0.5,
        "per_device_train_batch_size": 2,
        "max_steps": 2,
        "save_steps": 100,
        "logging_steps": 1,
        "report_to": "none",
        "seed": 0,
        "output_dir": str(folder / "run"),
        **values,
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path
