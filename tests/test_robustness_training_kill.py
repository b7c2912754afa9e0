"""SIGKILL at each point of a checkpoint save (training/checkpointing.py `KILL_POINTS`), then `--resume`: the
latest complete checkpoint loads and the resumed run ends on exactly the weights of an uninterrupted run."""

from __future__ import annotations

import subprocess

import pytest
import torch
from safetensors.torch import load_file

from tests.test_training_loop import _env, _script, write_config
from training.checkpointing import KILL_POINTS, STATE_FILE, list_checkpoints

# save_total_limit=1 is the harshest case: a kill while pruning must still leave one complete checkpoint.
RUN = {"max_steps": 6, "save_steps": 2, "save_total_limit": 1}
KILL_STEP = 4


@pytest.fixture(scope="module")
def straight_weights(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("straight")
    subprocess.run(_script(write_config(folder, **RUN)), check=True, env=_env(), capture_output=True)
    return load_file(folder / "run" / "model.safetensors")


@pytest.mark.parametrize("point", KILL_POINTS)
def test_kill_during_save_then_resume(point, tmp_path, straight_weights):
    config = write_config(tmp_path, **RUN)
    run_dir = tmp_path / "run"
    killed = subprocess.run(
        _script(config), env={**_env(), "AUDIOGEN_KILL_AT": f"{point}@{KILL_STEP}"}, capture_output=True
    )
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]
    complete = list_checkpoints(run_dir)
    # Killed before the rename, checkpoint-2 is the latest complete one; while pruning, checkpoint-4 is.
    expected = "checkpoint-4" if point == "mid_prune" else "checkpoint-2"
    assert [p.name for p in complete] == [expected]
    assert all((p / STATE_FILE).is_file() and (p / "model.safetensors").is_file() for p in complete)
    resumed = subprocess.run(_script(config, "--resume"), env=_env(), capture_output=True)
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
    assert f"resumed from {run_dir / expected}" in resumed.stderr.decode()
    assert not list(run_dir.glob(".tmp-*")) and not list(run_dir.glob(".old-*"))
    weights = load_file(run_dir / "model.safetensors")
    assert weights.keys() == straight_weights.keys()
    assert all(torch.equal(weights[k], straight_weights[k]) for k in weights)
