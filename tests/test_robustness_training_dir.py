"""An output_dir belongs to one training run (training/run_dir.py): another run's folder is refused without
--resume / --overwrite_output_dir, a live lock refuses a second run and a stale one is taken over, --resume
refuses a checkpoint of another config naming the fields, and pruning never touches another run's checkpoints.
Real runs of the tiny model on the toy data they write."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
import torch
from accelerate import Accelerator

from tests.test_training_loop import _env, _script, write_config
from training.checkpointing import STATE_FILE, list_checkpoints, save_checkpoint
from training.errors import UsageError
from training.run_dir import (
    LOCK_FILE,
    RUN_FILE,
    _process_start,
    acquire_lock,
    config_differences,
    release_lock,
)
from training.train import main

RUN = {"max_steps": 2, "save_steps": 1, "save_total_limit": 1, "logging_steps": 1}


def _train(config, *extra: str) -> dict:
    return main(["--config", str(config), *extra])


def _refused(config, capsys, *extra: str) -> str:
    """Run main, expect the one-line refusal (exit status 2), return it."""
    with pytest.raises(SystemExit) as done:
        _train(config, *extra)
    assert done.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ")
    return err[-1]


def _snapshot(folder) -> dict:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "codes_cache" not in p.parts
    }


@pytest.fixture
def finished_run(tmp_path):
    """A finished run in tmp_path/run (checkpoint-2 kept), and its config."""
    config = write_config(tmp_path, **RUN)
    _train(config)
    return config, tmp_path / "run"


def test_another_run_is_refused_and_left_intact(finished_run, capsys):
    config, run_dir = finished_run
    before = _snapshot(run_dir)
    line = _refused(config, capsys, "--seed", "1")
    assert f"--output_dir {run_dir} holds another training run" in line
    assert "checkpoint-2" in line and "model.safetensors" in line
    assert "--resume" in line and "--overwrite_output_dir" in line
    assert _snapshot(run_dir) == before
    assert "--overwrite_output_dir discards it; pass only one" in _refused(
        config, capsys, "--resume", "--overwrite_output_dir"
    )


def test_overwrite_output_dir_starts_a_new_run_whose_checkpoint_survives(tmp_path, capsys):
    """The issue's case: the old run's checkpoint-6 sorts newer than the new run's checkpoint-2; pruning used to
    delete the new one. Now the old run is discarded and the new one owns the folder."""
    config = write_config(tmp_path, max_steps=6, save_steps=3, save_total_limit=1)
    _train(config)
    run_dir = tmp_path / "run"
    old_id = json.loads((run_dir / RUN_FILE).read_text())["run_id"]
    _train(config, "--overwrite_output_dir", "--max_steps", "2", "--save_steps", "2")
    new_id = json.loads((run_dir / RUN_FILE).read_text())["run_id"]
    assert new_id != old_id
    assert [p.name for p in list_checkpoints(run_dir)] == ["checkpoint-2"]
    assert json.loads((run_dir / "checkpoint-2" / STATE_FILE).read_text())["run_id"] == new_id
    assert json.loads((run_dir / "train_summary.json").read_text())["loss_history"][-1][0] == 2
    assert not (run_dir / LOCK_FILE).exists()


def test_resume_refuses_another_config_naming_the_fields(finished_run, capsys):
    config, run_dir = finished_run
    line = _refused(config, capsys, "--resume", "--pattern_tail", "true", "--use_ema", "true")
    assert f"--resume: {run_dir / 'checkpoint-2'} was made by another config" in line
    assert "objective.pattern_tail: False -> True" in line and "use_ema: False -> True" in line
    line = _refused(config, capsys, "--resume", "--model_type", "magnet")
    assert "model_type: 'audiogen' -> 'magnet'" in line
    # What a resumed run may change (more steps, another learning rate) is accepted.
    summary = _train(config, "--resume", "--max_steps", "3", "--learning_rate", "0.001")
    assert summary["loss_history"][-1][0] == 3
    assert [p.name for p in list_checkpoints(run_dir)] == ["checkpoint-3"]


def test_a_run_that_saved_nothing_does_not_block_the_folder(tmp_path, capsys):
    """A run stopped by a data mistake leaves only run.json: fixing the mistake and running again works."""
    config = write_config(tmp_path, **RUN)
    data = tmp_path / "data"
    data.mkdir()
    (data / "metadata.jsonl").write_text(json.dumps({"file_name": "a.wav", "text": "x"}) + "\n")
    line = _refused(config, capsys, "--synthetic_examples", "0", "--audio_folder", str(data))
    assert "no `caption` column" in line
    assert (tmp_path / "run" / RUN_FILE).is_file()
    assert _train(config)["loss_history"]


@pytest.fixture
def sleeper():
    """A live process of this host to own a lock."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process
    process.kill()
    process.wait()


def _write_lock(folder, **owner) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / LOCK_FILE).write_text(json.dumps({"hostname": socket.gethostname(), **owner}))


def test_a_live_lock_refuses_a_second_run_and_a_dead_one_is_taken_over(tmp_path, capsys, sleeper):
    config = write_config(tmp_path, **RUN)
    run_dir = tmp_path / "run"
    _write_lock(run_dir, pid=sleeper.pid, process_start=_process_start(sleeper.pid), started_at="earlier")
    line = _refused(config, capsys)
    assert f"another training run (pid {sleeper.pid}, started earlier) is using {run_dir}" in line
    assert not (run_dir / RUN_FILE).exists()
    sleeper.kill()
    sleeper.wait()
    assert _train(config)["loss_history"]  # the dead owner's lock was stale
    assert not (run_dir / LOCK_FILE).exists()


def test_lock_owner_checks(tmp_path, sleeper):
    # A pid reused by another process (its start time differs) is stale; so is a corrupt lock file.
    _write_lock(tmp_path / "reused", pid=sleeper.pid, process_start="1")
    lock = acquire_lock(tmp_path / "reused")
    assert json.loads(lock.read_text())["pid"] == os.getpid()
    release_lock(lock)
    assert not lock.exists()
    (tmp_path / "corrupt").mkdir()
    (tmp_path / "corrupt" / LOCK_FILE).write_text("{not json")
    release_lock(acquire_lock(tmp_path / "corrupt"))
    # Another host's lock cannot be checked: refused, naming the file to delete.
    (tmp_path / "remote").mkdir()
    (tmp_path / "remote" / LOCK_FILE).write_text(json.dumps({"pid": 1, "hostname": "elsewhere"}))
    with pytest.raises(
        UsageError, match=r"on host elsewhere, which this host cannot check.*delete that file"
    ):
        acquire_lock(tmp_path / "remote")
    # Releasing never removes a lock this process does not hold.
    _write_lock(tmp_path / "theirs", pid=sleeper.pid)
    release_lock(tmp_path / "theirs" / LOCK_FILE)
    assert (tmp_path / "theirs" / LOCK_FILE).exists()


def test_pruning_only_touches_this_runs_checkpoints(tmp_path):
    accelerator = Accelerator(cpu=True)
    accelerator.prepare(torch.nn.Linear(2, 2))
    save_checkpoint(accelerator, tmp_path, 9, {"run_id": "other"}, total_limit=1)
    for step in (1, 2):
        save_checkpoint(accelerator, tmp_path, step, {"run_id": "mine"}, total_limit=1)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["checkpoint-2", "checkpoint-9"]
    assert [p.name for p in list_checkpoints(tmp_path, "mine")] == ["checkpoint-2"]


def test_broken_checkpoint_is_named_on_resume(finished_run, capsys):
    config, run_dir = finished_run
    weights = run_dir / "checkpoint-2" / "model.safetensors"
    weights.unlink()
    line = _refused(config, capsys, "--resume", "--max_steps", "3")
    assert f"--resume: {run_dir / 'checkpoint-2'} cannot be loaded" in line and "delete that folder" in line
    (run_dir / "checkpoint-2" / STATE_FILE).write_text("{truncated")
    line = _refused(config, capsys, "--resume", "--max_steps", "3")
    assert f"{run_dir / 'checkpoint-2' / STATE_FILE} is unreadable" in line


def test_output_dir_that_is_an_input_is_refused_even_with_overwrite(tmp_path, saved_audiogen, capsys):
    before = _snapshot(saved_audiogen)
    config = write_config(
        tmp_path, model_name_or_path=str(saved_audiogen), output_dir=str(saved_audiogen), **RUN
    )
    line = _refused(config, capsys, "--overwrite_output_dir")
    assert f"--output_dir {saved_audiogen} is the run's --model_name_or_path" in line
    assert _snapshot(saved_audiogen) == before


def test_two_runs_started_together_one_wins(tmp_path):
    """Two real train.py processes on one output_dir at once: however they interleave, exactly one trains and
    the other is refused (by the lock, or by the first run's files), and every checkpoint is the winner's."""
    config = write_config(tmp_path, **RUN)
    runs = [
        subprocess.Popen(_script(config), env=_env(), stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outcomes = [(run.wait(timeout=300), run.stderr.read()) for run in runs]
    assert sorted(code for code, _ in outcomes) == [0, 2], [err[-2000:] for _, err in outcomes]
    refusal = next(err for code, err in outcomes if code == 2).strip().splitlines()[-1]
    assert "another training run" in refusal or "holds another training run" in refusal
    run_dir = tmp_path / "run"
    run_id = json.loads((run_dir / RUN_FILE).read_text())["run_id"]
    assert [json.loads((p / STATE_FILE).read_text())["run_id"] for p in list_checkpoints(run_dir)] == [run_id]
    assert not (run_dir / LOCK_FILE).exists()


def test_only_fields_both_records_hold_are_compared():
    """A field added to the record by a later trainer does not make older checkpoints unresumable."""
    saved = {"model_type": "audiogen", "decoder": {"hidden_size": 32}}
    current = {"model_type": "audiogen", "decoder": {"hidden_size": 64}, "lora": {"r": 0}}
    assert config_differences(saved, current) == ["decoder.hidden_size: 32 -> 64"]
