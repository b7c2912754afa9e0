"""Data sources and bad data: every bad file is skipped and counted, structural problems fail before training."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml
from datasets import Audio, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.args import parse_args  # noqa: E402
from training.data import (  # noqa: E402
    BadAudio,
    clean_caption,
    from_audio_folder,
    from_manifest,
    load_source,
    read_audio,
    standardize,
)
from training.loader import Collator, WaveformDataset  # noqa: E402
from training.synthetic import write_synthetic_dataset  # noqa: E402
from training.train import train  # noqa: E402


def bad_folder(root: Path) -> Path:
    """8 good clips plus a missing, a corrupt and a zero-length file, and one empty caption."""
    folder = write_synthetic_dataset(root / "data", 8, seed=0)
    (folder / "corrupt.wav").write_bytes(b"RIFF not really a wave file" * 10)
    sf.write(folder / "empty.wav", np.zeros(0, dtype=np.float32), 16000)
    rows = [json.loads(line) for line in (folder / "metadata.jsonl").read_text().splitlines()]
    rows[0]["caption"] = "   "
    rows += [
        {"file_name": "gone.wav", "caption": "a missing file"},
        {"file_name": "corrupt.wav", "caption": "a corrupt file"},
        {"file_name": "empty.wav", "caption": "an empty file"},
    ]
    (folder / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def run(tmp_path: Path, **overrides) -> dict:
    config = {
        "model_name_or_path": "tiny",
        "segment_seconds": 1.0,
        "max_clip_seconds": 2.0,
        "output_dir": str(tmp_path / "run"),
        "max_steps": 3,
        "per_device_train_batch_size": 4,
        "report_to": "none",
        "save_steps": 100,
        "logging_steps": 1,
    }
    config.update(overrides)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return train(*parse_args(["--config", str(path)]))


def test_captions_are_cleaned():
    assert clean_caption("  A Dog BARKS ") == "a dog barks"
    assert clean_caption(None) == "" and clean_caption("None") == ""


def test_read_audio_reasons(tmp_path):
    folder = bad_folder(tmp_path)
    for name, reason in (("gone.wav", "missing"), ("corrupt.wav", "corrupt"), ("empty.wav", "empty")):
        with pytest.raises(BadAudio) as err:
            read_audio({"path": str(folder / name), "bytes": None}, 16000)
        assert err.value.reason == reason
    stereo = tmp_path / "stereo.wav"
    sf.write(stereo, np.stack([np.ones(800), -np.ones(800)], 1).astype(np.float32) * 0.5, 8000)
    wav = read_audio({"path": str(stereo), "bytes": None}, 16000)
    assert wav.shape == (1600,) and wav.abs().max() < 1e-3  # resampled to 16 kHz, downmixed


def test_bad_files_skipped_with_pre_encoding(tmp_path):
    folder = bad_folder(tmp_path)
    summary = run(tmp_path, audio_folder=str(folder))
    assert summary["skipped"] == {"missing": 1, "corrupt": 1, "empty": 1}
    assert (tmp_path / "run" / "model.safetensors").is_file()


def test_bad_files_skipped_with_mixing(tmp_path):
    folder = bad_folder(tmp_path)
    summary = run(tmp_path, audio_folder=str(folder), aug_p=1.0, mix_p=0.5, per_device_train_batch_size=2)
    assert summary["skipped"] == {"missing": 1, "corrupt": 1, "empty": 1}
    assert len(summary["loss_history"]) == 3


def test_file_broken_after_probe_is_dropped_from_batch(tmp_path, processor):
    folder = write_synthetic_dataset(tmp_path / "data", 4)
    data = WaveformDataset(from_audio_folder(str(folder), None, "caption"), 16000, 16000)
    items = [data[(i, i)] for i in range(3)]
    (folder / "clip_0003.wav").unlink()
    items.append(data[(3, 3)])
    batch = Collator(processor)(items)
    assert batch["num_skipped"] == 1 and batch["skipped_reasons"] == ["missing"]
    assert batch["input_values"].shape == (3, 1, 16000) and batch["input_ids"].shape[0] == 3


def test_missing_column_is_an_error_before_training(tmp_path):
    folder = write_synthetic_dataset(tmp_path / "data", 4)
    with pytest.raises(ValueError, match="no `description` column"):
        from_audio_folder(str(folder), None, "description")
    ds = Dataset.from_dict({"audio": [str(folder / "clip_0000.wav")], "text": ["a tone"]})
    with pytest.raises(ValueError, match=r"no column\(s\) \['caption'\]"):
        standardize(ds, "audio", "caption", "my-dataset")
    with pytest.raises(ValueError, match="no `caption` column"):
        (folder / "metadata.jsonl").write_text(json.dumps({"file_name": "clip_0000.wav", "text": "x"}) + "\n")
        run(tmp_path, audio_folder=str(folder))


def test_unreadable_manifest_is_an_error(tmp_path):
    bad = tmp_path / "data.jsonl"
    bad.write_text('{"path": "a.wav"}\n{not json\n')
    with pytest.raises(ValueError, match="line 2: not valid JSON"):
        from_manifest(str(bad))
    garbage = tmp_path / "data.jsonl.gz"
    garbage.write_bytes(b"\x00\x01 definitely not gzip")
    with pytest.raises(ValueError, match="cannot read"):
        from_manifest(str(garbage))
    no_path = tmp_path / "nopath.jsonl"
    no_path.write_text('{"duration": 1.0}\n')
    with pytest.raises(ValueError, match="no `path` field"):
        from_manifest(str(no_path))
    with pytest.raises(FileNotFoundError):
        from_manifest(str(tmp_path / "absent.jsonl"))


def test_manifest_with_sidecar_descriptions(tmp_path):
    folder = write_synthetic_dataset(tmp_path / "data", 3)
    (folder / "clip_0000.json").write_text(json.dumps({"description": "A Low Tone "}))
    (folder / "clip_0001.json").write_text(json.dumps({"description": ["High tone", "beeps"]}))
    lines = [
        json.dumps({"path": str(folder / f"clip_{i:04d}.wav"), "duration": 1.0, "sample_rate": 16000})
        for i in range(3)
    ]
    manifest = tmp_path / "data.jsonl.gz"
    with gzip.open(manifest, "wt") as f:
        f.write("\n".join(lines) + "\n")
    ds = from_manifest(str(manifest))
    assert ds["captions"] == [["a low tone"], ["high tone", "beeps"], [""]]


def test_one_source_required(tmp_path):
    _, data_args, _ = parse_args([])
    with pytest.raises(ValueError, match="exactly one data source"):
        load_source(data_args, str(tmp_path), 0)


def test_dataset_from_disk(tmp_path):
    folder = write_synthetic_dataset(tmp_path / "data", 8)
    rows = [json.loads(line) for line in (folder / "metadata.jsonl").read_text().splitlines()]
    ds = Dataset.from_dict(
        {"sound": [str(folder / r["file_name"]) for r in rows], "text": [r["caption"] for r in rows]}
    )
    ds = ds.cast_column("sound", Audio())
    ds.save_to_disk(str(tmp_path / "disk"))
    summary = run(
        tmp_path,
        dataset_path=str(tmp_path / "disk"),
        audio_column="sound",
        caption_column="text",
        max_steps=2,
    )
    assert summary["skipped"] == {}
    assert torch.isfinite(torch.tensor([loss for _, loss in summary["loss_history"]])).all()
