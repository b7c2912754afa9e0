"""A full disk while saving a checkpoint: a clear OSError naming the intact previous checkpoint and the fix, no
temp folder left behind, and the previous checkpoint still loads."""

from __future__ import annotations

import errno

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
