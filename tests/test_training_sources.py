"""`--dataset_name` with builders (parquet, webdataset, audiofolder), `--data_files` / `--data_dir`, dotted caption
fields, map-style and streamed: audio is read with soundfile, never torchcodec."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.hub_formats import (  # noqa: E402
    caption,
    write_audiofolder,
    write_parquet,
    write_run_config,
    write_webdataset,
)
from training.args import parse_args  # noqa: E402
from training.data import load_source, read_audio  # noqa: E402
from training.sources import load_named_dataset, to_clip  # noqa: E402
from training.train import train  # noqa: E402


def data_args(*argv: str):
    return parse_args(list(argv))[1]


def formats(tmp_path: Path) -> dict[str, list[str]]:
    """The command-line options that point at each written dataset."""
    parquet = write_parquet(tmp_path / "pq", num_files=2, per_file=3)
    shards = write_webdataset(tmp_path / "wds", num_shards=2, per_shard=3)
    folder = write_audiofolder(tmp_path / "af", count=6)
    paths = tmp_path / "clips.csv"
    rows = [f"{folder / 'train' / f'clip_{i}.wav'},{caption(i)}" for i in range(6)]
    paths.write_text("path,caption\n" + "\n".join(rows) + "\n")
    return {
        "parquet": ["--dataset_name", "parquet", "--data_files", str(parquet / "*.parquet"),
                    "--caption_column", "text"],
        "webdataset json": ["--dataset_name", "webdataset", "--data_files", str(shards / "shard-00000.tar"),
                            str(shards / "shard-00001.tar"), "--audio_column", "flac",
                            "--caption_column", "json.caption"],
        "webdataset txt": ["--dataset_name", "webdataset", "--data_files", str(shards / "*.tar"),
                           "--audio_column", "flac", "--caption_column", "txt"],
        "audiofolder": ["--dataset_name", "audiofolder", "--data_dir", str(folder)],
        "local parquet folder": ["--dataset_name", str(parquet), "--caption_column", "text"],
        "csv of paths": ["--dataset_name", "csv", "--data_files", str(paths), "--audio_column", "path"],
    }  # fmt: skip


def test_every_format_loads_and_decodes_with_soundfile(tmp_path):
    for name, argv in formats(tmp_path).items():
        ds = load_source(data_args(*argv), str(tmp_path), 0)
        assert sorted(c for row in ds["captions"] for c in row) == sorted(caption(i) for i in range(6)), name
        wav = read_audio(ds[0]["audio"], 16000)
        assert wav.shape == (9600,) and wav.abs().max() > 0.2, name


def test_streamed_formats_yield_the_same_clips(tmp_path):
    for name, argv in formats(tmp_path).items():
        args = data_args(*argv, "--streaming", "true")
        stream = load_named_dataset(args, streaming=True)
        clips = [to_clip(ex, args.audio_column, args.caption_column) for ex in stream]
        assert sorted(c["captions"][0] for c in clips) == sorted(caption(i) for i in range(6)), name
        assert read_audio(clips[0]["audio"], 16000).shape == (9600,), name


def test_training_on_webdataset_shards(tmp_path):
    shards = write_webdataset(tmp_path / "wds", num_shards=2, per_shard=2)
    path = write_run_config(
        tmp_path,
        dataset_name="webdataset",
        data_files=[str(shards / "*.tar")],
        audio_column="flac",
        caption_column="txt",
    )
    summary = train(*parse_args(["--config", str(path)]))
    assert len(summary["loss_history"]) == 2 and summary["skipped"] == {}
    assert all(torch.isfinite(torch.tensor(loss)) for _, loss in summary["loss_history"])


def test_bad_source_options_name_the_fix(tmp_path):
    shards = write_webdataset(tmp_path / "wds", num_shards=1, per_shard=2)
    wds = ["--dataset_name", "webdataset", "--data_files", str(shards / "*.tar")]
    with pytest.raises(ValueError, match=r"no column\(s\) \['audio'\].*audio columns: \['flac'\]"):
        load_source(data_args(*wds, "--caption_column", "txt"), str(tmp_path), 0)
    with pytest.raises(ValueError, match=r"no column\(s\) \['json.title'\]"):
        load_source(
            data_args(*wds, "--audio_column", "flac", "--caption_column", "json.title"), str(tmp_path), 0
        )
    with pytest.raises(ValueError, match="apply to --dataset_name only"):
        load_source(data_args("--data_files", "x.parquet", "--synthetic_examples", "4"), str(tmp_path), 0)
    with pytest.raises(ValueError, match="a stream has none"):
        load_source(data_args(*wds, "--streaming", "true", "--encode_only", "true"), str(tmp_path), 0)
    with pytest.raises(FileNotFoundError, match="match no file"):
        load_source(data_args("--dataset_name", "parquet", "--data_files", str(tmp_path / "none-*.parquet")),
                    str(tmp_path), 0)  # fmt: skip
