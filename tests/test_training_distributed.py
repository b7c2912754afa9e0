"""Real multi-process runs on CPU (gloo): torchrun DDP, FSDP2 `fully_shard` with sharded checkpoints, the global
batch kept when a run resumes with another process count, and a launch that silently got one process refused."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from accelerate.utils import DistributedType
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.hub_formats import write_parquet, write_run_config  # noqa: E402
from tests.test_training_loop import ROOT, _env  # noqa: E402
from training.args import parse_args  # noqa: E402
from training.distributed import launch_problem, resumed_accumulation  # noqa: E402
from training.fsdp import check_fsdp_options  # noqa: E402


def test_launch_problems_are_named():
    assert launch_problem(2, None, {"WORLD_SIZE": "2"}) is None
    assert launch_problem(1, None, {}) is None
    assert "asked for 2 processes but this run has 1" in launch_problem(1, None, {"WORLD_SIZE": "2"})
    assert "asked for 4 processes" in launch_problem(2, 4, {"WORLD_SIZE": "2"})
    fallback = {"ACCELERATE_USE_CPU": "False", "MASTER_ADDR": "127.0.0.1"}  # accelerate's lone process
    assert "started one" in launch_problem(1, None, fallback)


def test_resuming_keeps_the_global_batch_or_refuses():
    saved = {"world_size": 2, "per_device_train_batch_size": 2, "gradient_accumulation_steps": 1}
    saved["global_batch_size"] = 4
    assert resumed_accumulation(saved, 2, 2, 1) == 1
    assert resumed_accumulation(saved, 1, 2, 1) == 2  # one process accumulates two micro-batches
    assert resumed_accumulation(saved, 4, 1, 3) == 1
    with pytest.raises(ValueError, match="cannot make it with any accumulation"):
        resumed_accumulation(saved, 3, 1, 1)
    assert resumed_accumulation({"step": 3}, 3, 1, 5) == 5  # checkpoints from before the plan was saved


def config(folder: Path, data: Path, **overrides) -> Path:
    parquet = {"dataset_name": "parquet", "data_files": [str(data / "*.parquet")], "caption_column": "text"}
    return write_run_config(folder, **parquet, save_steps=2, encode_chunk_size=4, **overrides)


def torchrun(processes: int, path: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(processes)]
    command += ["--standalone", str(ROOT / "training" / "train.py"), "--config", str(path), *extra]
    return subprocess.run(command, env=_env(), capture_output=True, cwd=path.parent)


def summary(path: Path) -> dict:
    return json.loads((path.parent / "run" / "train_summary.json").read_text())


def test_torchrun_two_processes_then_resume_with_one(tmp_path):
    data = write_parquet(tmp_path / "pq", num_files=2, per_file=4)
    path = config(tmp_path / "a", data)
    done = torchrun(2, path)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    assert "2 process(es) x 2 clips x 1 accumulation step(s) = global batch 4" in done.stderr.decode()
    first = summary(path)
    assert (first["world_size"], first["global_batch_size"]) == (2, 4)

    resumed = subprocess.run(
        [sys.executable, str(ROOT / "training" / "train.py"), "--config", str(path), "--resume", "true",
         "--max_steps", "3"], env=_env(), capture_output=True,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr.decode()[-3000:]
    assert "gradient_accumulation_steps 1 -> 2 keeps the global batch of 4" in resumed.stderr.decode()
    second = summary(path)
    assert (second["world_size"], second["gradient_accumulation_steps"], second["global_batch_size"]) == (
        1,
        2,
        4,
    )
    assert [s for s, _ in second["loss_history"]] == [1, 2, 3]
    assert second["loss_history"][:2] == first["loss_history"]


def test_accelerate_launch_that_falls_back_to_one_process_is_refused(tmp_path):
    data = write_parquet(tmp_path / "pq", num_files=1, per_file=4)
    path = config(tmp_path / "a", data)
    command = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "2", "--num_machines", "1",
               "--mixed_precision", "no", "--dynamo_backend", "no", str(ROOT / "training" / "train.py"),
               "--config", str(path)]  # fmt: skip
    done = subprocess.run(command, env=_env(), capture_output=True, cwd=tmp_path)
    assert done.returncode != 0
    assert "started one" in done.stderr.decode() and "torchrun --nproc_per_node N" in done.stderr.decode()


def test_fsdp2_shards_checkpoints_and_resumes_to_the_same_weights(tmp_path):
    """A 3-step FSDP2 run saves sharded checkpoints at 2 and 3; a copy of it cut back to checkpoint-2 resumes and
    ends on the same weights and loss history (the sharded optimizer state came back)."""
    data = write_parquet(tmp_path / "pq", num_files=2, per_file=4)
    straight = config(tmp_path / "straight", data, fsdp=True, max_steps=3)
    done = torchrun(2, straight)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    shards = tmp_path / "straight" / "run" / "checkpoint-2" / "fsdp_shards"
    assert sorted(p.name for p in shards.glob("*.distcp")) == ["__0_0.distcp", "__1_0.distcp"]
    assert not (shards.parent / "model.safetensors").exists()  # no whole copy: each process wrote its shard

    cut = tmp_path / "cut"
    shutil.copytree(tmp_path / "straight", cut)
    for leftover in ("checkpoint-3", "model.safetensors", "train_summary.json"):
        path = cut / "run" / leftover
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    resumed_config = config(cut, data, fsdp=True, max_steps=3)
    resumed = torchrun(2, resumed_config, "--resume", "true")
    assert resumed.returncode == 0, resumed.stderr.decode()[-3000:]
    assert "resumed from" in resumed.stderr.decode()

    a = load_file(tmp_path / "straight" / "run" / "model.safetensors")
    b = load_file(cut / "run" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert summary(resumed_config)["loss_history"] == summary(straight)["loss_history"]


def test_fsdp_options_are_checked_before_training():
    model_args, _, args = parse_args(["--fsdp", "true"])
    two = SimpleNamespace(distributed_type=DistributedType.MULTI_CPU, num_processes=2)
    check_fsdp_options(args, model_args, two)
    with pytest.raises(ValueError, match="this run has one"):
        check_fsdp_options(
            args, model_args, SimpleNamespace(distributed_type=DistributedType.NO, num_processes=1)
        )
    for flags, clash in ((["--use_ema", "true"], "use_ema"), (["--lora_r", "8"], "lora_r")):
        model_args, _, args = parse_args(["--fsdp", "true", *flags])
        with pytest.raises(ValueError, match=f"'{clash}'.*cannot be used with fsdp"):
            check_fsdp_options(args, model_args, two)
    plugin = SimpleNamespace(distributed_type=DistributedType.FSDP, num_processes=2)
    with pytest.raises(ValueError, match="accelerate's FSDP plugin.*--fsdp true"):
        check_fsdp_options(*parse_args([])[::2], plugin)
