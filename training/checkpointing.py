"""Resumable checkpoints: `accelerator.save_state` into a temporary folder that gets its completion marker
(`trainer_state.json`) and is renamed to `checkpoint-<step>` only once complete, so a run killed mid-save never
leaves a checkpoint that looks valid. Old checkpoints are renamed out of the pattern before being deleted, so a
kill mid-pruning never leaves a half-deleted folder that looks complete, nor zero complete checkpoints.

`AUDIOGEN_KILL_AT=<point>@<step>` (tests only) SIGKILLs the process at one of `KILL_POINTS` while saving `step`.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
import re
import shutil
import signal
from pathlib import Path

from safetensors import SafetensorError

from training.errors import UsageError

PREFIX = "checkpoint-"
STATE_FILE = "trainer_state.json"
_PATTERN = re.compile(rf"^{PREFIX}(\d+)$")
KILL_POINTS = ("mid_state_write", "before_marker", "before_rename", "mid_prune")
LOW_DISK_BYTES = 1 << 20  # a write that failed with less free than this failed for want of space
DEBRIS_PATTERNS = (f".tmp-{PREFIX}*", f".old-{PREFIX}*")


def _kill_point(name: str, step: int, folder: Path | None = None) -> None:
    """SIGKILL here if `AUDIOGEN_KILL_AT` names this point and step; `mid_state_write` first truncates the
    largest file written so far, as a kill during that write would leave it."""
    if os.environ.get("AUDIOGEN_KILL_AT") != f"{name}@{step}":
        return
    if folder is not None:
        largest = max((p for p in folder.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
        with open(largest, "r+b") as handle:
            handle.truncate(largest.stat().st_size // 2)
    os.kill(os.getpid(), signal.SIGKILL)


def checkpoint_run_id(checkpoint: Path) -> str | None:
    """The run id recorded in a checkpoint's marker (None: an unreadable marker or one from before run ids)."""
    try:
        state = json.loads((checkpoint / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return state.get("run_id") if isinstance(state, dict) else None


def list_checkpoints(output_dir: str | Path, run_id: str | None = None) -> list[Path]:
    """Complete checkpoints, oldest first; with `run_id`, only that run's (and those recording no run)."""
    root = Path(output_dir)
    if not root.is_dir():
        return []
    found = [
        (int(m.group(1)), p)
        for p in root.iterdir()
        if (m := _PATTERN.match(p.name)) and (p / STATE_FILE).is_file()
    ]
    return [p for _, p in sorted(found) if run_id is None or checkpoint_run_id(p) in (run_id, None)]


def latest_checkpoint(output_dir: str | Path, run_id: str | None = None) -> Path | None:
    checkpoints = list_checkpoints(output_dir, run_id)
    return checkpoints[-1] if checkpoints else None


def remove_partial_checkpoints(output_dir: str | Path) -> None:
    """Drop temp folders and half-pruned old checkpoints left by a run killed while saving. An `.old-` one
    still holding its marker was set aside for a re-save of its step that never landed: put it back."""
    for old in Path(output_dir).glob(f".old-{PREFIX}*"):
        final = old.with_name(old.name.removeprefix(".old-"))
        if (old / STATE_FILE).is_file() and not final.exists():
            old.rename(final)
    for pattern in DEBRIS_PATTERNS:
        for debris in Path(output_dir).glob(pattern):
            shutil.rmtree(debris, ignore_errors=True)


def _discard(folder: Path, step: int) -> None:
    """Rename out of the `checkpoint-N` pattern first (atomic), then delete (marker first)."""
    doomed = folder.with_name(f".old-{folder.name}")
    shutil.rmtree(doomed, ignore_errors=True)
    folder.rename(doomed)
    (doomed / STATE_FILE).unlink(missing_ok=True)
    _kill_point("mid_prune", step)
    shutil.rmtree(doomed, ignore_errors=True)


def _write_errno(error: Exception, root: Path) -> int | None:
    """The errno of a failed write. safetensors (SafetensorError) and torch.save (RuntimeError) do not raise
    OSError on a full disk: read "os error N" from the message, or call it ENOSPC when the disk is all but full."""
    if isinstance(error, OSError):
        return error.errno
    found = re.search(r"os error (\d+)", str(error))
    if found:
        return int(found.group(1))
    try:
        return errno.ENOSPC if shutil.disk_usage(root).free < LOW_DISK_BYTES else None
    except OSError:
        return None


def _save_failed(error: Exception, root: Path, tmp: Path, step: int) -> OSError:
    """The error to raise when writing a checkpoint fails: names the intact previous one and the fix."""
    shutil.rmtree(tmp, ignore_errors=True)
    previous = latest_checkpoint(root)
    kept = f"the previous checkpoint {previous} is intact" if previous else "no earlier checkpoint exists"
    code = _write_errno(error, root)
    fix = "free disk space" if code in (errno.ENOSPC, errno.EDQUOT) else "fix the cause"
    return OSError(
        code,
        f"saving checkpoint-{step} in {root} failed ({error}); the partial save was removed and {kept}: "
        f"{fix} (or point output_dir elsewhere), then resume with --resume.",
    )


def save_checkpoint(
    accelerator, output_dir: str | Path, step: int, state: dict, total_limit: int | None
) -> Path:
    """Every process writes its part (model, optimizer, its RNG state, registered objects) into a temp folder;
    the main process adds `trainer_state.json`, renames it into place and prunes old checkpoints."""
    root = Path(output_dir)
    tmp, final = root / f".tmp-{PREFIX}{step}", root / f"{PREFIX}{step}"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
    accelerator.wait_for_everyone()
    try:
        accelerator.save_state(str(tmp))
        _kill_point("mid_state_write", step, tmp)
        _kill_point("before_marker", step)
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            (tmp / STATE_FILE).write_text(json.dumps(dict(state, step=step), indent=2))
    except (
        OSError,
        SafetensorError,
        RuntimeError,
    ) as error:  # the last two: full disk in safetensors / torch.save
        raise _save_failed(error, root, tmp, step) from error
    if accelerator.is_main_process:
        _kill_point("before_rename", step)
        if final.exists():  # the same step saved again: keep the old one until the new one is in place
            final.rename(root / f".old-{final.name}")
        tmp.rename(final)
        shutil.rmtree(root / f".old-{final.name}", ignore_errors=True)
        if total_limit:
            for old in list_checkpoints(root, state.get("run_id"))[:-total_limit]:  # this run's only
                _discard(old, step)
    accelerator.wait_for_everyone()
    return final


def load_checkpoint(accelerator, checkpoint: Path) -> dict:
    """Restore everything `save_checkpoint` wrote; returns the trainer state (with `step`)."""
    try:
        accelerator.load_state(str(checkpoint))
    except (OSError, SafetensorError, RuntimeError, EOFError, pickle.UnpicklingError) as error:  # files gone
        raise UsageError(
            f"--resume: {checkpoint} cannot be loaded ({' '.join(str(error).split())[:300]}); delete that folder "
            "to resume from the previous checkpoint, or pass --overwrite_output_dir to start anew."
        ) from error
    return json.loads((checkpoint / STATE_FILE).read_text())
