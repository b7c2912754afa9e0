"""`--streaming true`: each process reads its own share of the stream through a shuffle buffer, and a killed run
resumes on exactly the examples (and so the weights) of an uninterrupted one."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.hub_formats import caption, write_parquet, write_run_config  # noqa: E402
from tests.test_training_loop import _env, _script  # noqa: E402
from training.args import parse_args  # noqa: E402
from training.sources import load_named_dataset  # noqa: E402
from training.streaming import ClipStream  # noqa: E402
from training.train import train  # noqa: E402


def stream_of(folder: Path, rank: int, world: int, buffer: int = 3) -> ClipStream:
    args = parse_args(
        ["--dataset_name", "parquet", "--data_files", str(folder / "*.parquet"), "--streaming", "true"]
    )
    dataset = load_named_dataset(args[1], streaming=True)
    return ClipStream(dataset, "audio", "text", buffer, seed=0, rank=rank, world_size=world)


def draw(stream: ClipStream, count: int) -> list[tuple[int, str]]:
    return [(ordinal, clip["captions"][0]) for ordinal, clip in (stream.next_clip() for _ in range(count))]


def test_processes_share_the_stream_and_a_saved_position_resumes_exactly(tmp_path):
    folder = write_parquet(tmp_path / "pq", num_files=2, per_file=5)
    ranks = [draw(stream_of(folder, r, 2), 12) for r in range(2)]  # past the end of a pass (5 examples each)
    for drawn in ranks:
        assert len({o for o, _ in drawn}) == 12  # no example drawn twice within or across passes
    seen = [{c for _, c in drawn} for drawn in ranks]
    assert not seen[0] & seen[1] and seen[0] | seen[1] == {caption(i) for i in range(10)}

    stream = stream_of(folder, 0, 2)
    head = draw(stream, 4)
    saved = pickle.loads(pickle.dumps(stream.state_dict()))
    resumed = stream_of(folder, 0, 2)
    resumed.load_state_dict(saved)
    assert head + draw(resumed, 8) == ranks[0]

    with pytest.raises(ValueError, match=r"saved by 2 process\(es\).*resume it with 2"):
        stream_of(folder, 0, 1).load_state_dict(saved)


def test_streaming_kill_and_resume_repeats_and_skips_nothing(tmp_path):
    folder = write_parquet(tmp_path / "pq", num_files=2, per_file=4)
    common = {
        "dataset_name": "parquet",
        "data_files": [str(folder / "*.parquet")],
        "caption_column": "text",
        "streaming": True,
        "shuffle_buffer_size": 3,
        "max_steps": 5,
        "save_steps": 2,
        "learning_rate": 0.003,
        "log_sample_ids": True,
    }

    def config(name: str) -> Path:
        return write_run_config(tmp_path / name, **common)

    straight = train(*parse_args(["--config", str(config("straight"))]))
    killed_config = config("killed")
    killed = subprocess.run(
        _script(killed_config, "--debug_sigkill_at_step", "3"), env=_env(), capture_output=True
    )
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]
    resumed = train(*parse_args(["--config", str(killed_config), "--resume", "true"]))

    straight_dir, killed_dir = tmp_path / "straight" / "run", tmp_path / "killed" / "run"
    ids = [(d / "sample_ids" / "rank-0.txt").read_text().splitlines() for d in (straight_dir, killed_dir)]
    # the SIGKILL lost the killed run's buffered lines; the resumed run read what the straight one read at 3-5
    assert len(ids[0]) == 5 and ids[1][-3:] == ids[0][2:]
    assert resumed["loss_history"] == straight["loss_history"]  # the history survives the resume
    a, b = load_file(straight_dir / "model.safetensors"), load_file(killed_dir / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
