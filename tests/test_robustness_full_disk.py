"""A full disk while saving a checkpoint: a clear OSError naming the intact previous checkpoint and the fix, no
temp folder left behind, and the previous checkpoint still loads."""

from __future__ import annotations

import errno
import shutil

import pytest
import torch
from accelerate import Accelerator

from training.checkpointing import (
    STATE_FILE,
    latest_checkpoint,
    load_checkpoint,
    remove_partial_checkpoints,
    save_checkpoint,
)


def test_enospc_keeps_the_previous_checkpoint(tmp_path):
    accelerator = Accelerator(cpu=True)
    model = accelerator.prepare(torch.nn.Linear(2, 2))
    previous = save_checkpoint(accelerator, tmp_path, 1, {"loss": 1.0}, total_limit=2)
    saved = model.weight.detach().clone()

    def full_disk(folder):
        # A writer that gets part of the way, as a real full disk would.
        (tmp_path / ".tmp-checkpoint-2").mkdir()
        (tmp_path / ".tmp-checkpoint-2" / "model.safetensors").write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    accelerator.save_state = full_disk
    with torch.no_grad():
        model.weight.add_(1.0)
    with pytest.raises(OSError) as caught:
        save_checkpoint(accelerator, tmp_path, 2, {"loss": 0.5}, total_limit=2)
    message = str(caught.value)
    assert caught.value.errno == errno.ENOSPC
    assert f"the previous checkpoint {previous} is intact" in message
    assert "free disk space" in message and "then resume with --resume" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-1"]
    del accelerator.save_state
    assert load_checkpoint(accelerator, previous)["step"] == 1
    assert torch.equal(model.weight, saved)


def test_set_aside_checkpoint_is_restored_and_half_pruned_one_dropped(tmp_path):
    """A kill between setting checkpoint-3 aside (re-saving step 3) and renaming the new one into place, and a
    kill mid-pruning of checkpoint-1 (its marker already gone): resuming keeps the first, drops the second."""
    for name, marker in (
        (".old-checkpoint-3", True),
        (".old-checkpoint-1", False),
        (".tmp-checkpoint-3", False),
    ):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.safetensors").write_bytes(b"w")
        if marker:
            (tmp_path / name / STATE_FILE).write_text('{"step": 3}')
    remove_partial_checkpoints(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-3"]
    assert latest_checkpoint(tmp_path) == tmp_path / "checkpoint-3"


@pytest.fixture
def small_tmpfs(tmp_path):
    """A real 4 MiB tmpfs (needs root and mount rights; skipped elsewhere, where the fake ENOSPC test stands)."""
    import subprocess

    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.mark.parametrize(
    "leave_kb,failing",
    [(64, "SafetensorError"), (400, "RuntimeError")],
)
def test_real_full_disk_keeps_the_previous_checkpoint(small_tmpfs, leave_kb, failing):
    """The same on a real full filesystem: the writes themselves fail, not a stand-in. With 64 KB left the
    weights (~260 KB, written by safetensors) do not fit; with 400 KB they do and Adam's state (~520 KB, written
    by torch.save) does not. Neither library raises OSError there."""
    accelerator = Accelerator(cpu=True)
    layer = torch.nn.Linear(256, 256)
    model, optimizer = accelerator.prepare(layer, torch.optim.Adam(layer.parameters()))
    model(torch.ones(1, 256)).sum().backward()
    optimizer.step()
    runs = small_tmpfs / "run"
    previous = save_checkpoint(accelerator, runs, 1, {"loss": 1.0}, total_limit=2)
    saved = model.weight.detach().clone()
    free = shutil.disk_usage(small_tmpfs).free
    (small_tmpfs / "filler").write_bytes(b"\0" * (free - leave_kb * 1024))
    with torch.no_grad():
        model.weight.add_(1.0)
    with pytest.raises(OSError) as caught:
        save_checkpoint(accelerator, runs, 2, {"loss": 0.5}, total_limit=2)
    message = str(caught.value)
    assert type(caught.value.__cause__).__name__ == failing  # what the writing library raised
    assert caught.value.errno == errno.ENOSPC, message
    assert f"the previous checkpoint {previous} is intact" in message and "free disk space" in message
    assert sorted(p.name for p in runs.iterdir()) == ["checkpoint-1"]
    (small_tmpfs / "filler").unlink()
    assert load_checkpoint(accelerator, previous)["step"] == 1
    assert torch.equal(model.weight, saved)
