"""Resumable checkpoints: `accelerator.save_state` into a temporary folder that is renamed to
`checkpoint-<step>` only once complete, so a run killed mid-save never leaves a checkpoint that looks valid."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

PREFIX = "checkpoint-"
STATE_FILE = "trainer_state.json"
_PATTERN = re.compile(rf"^{PREFIX}(\d+)$")


def list_checkpoints(output_dir: str | Path) -> list[Path]:
    """Complete checkpoints, oldest first."""
    root = Path(output_dir)
    if not root.is_dir():
        return []
    found = [
        (int(m.group(1)), p)
        for p in root.iterdir()
        if (m := _PATTERN.match(p.name)) and (p / STATE_FILE).is_file()
    ]
    return [p for _, p in sorted(found)]


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    checkpoints = list_checkpoints(output_dir)
    return checkpoints[-1] if checkpoints else None


def remove_partial_checkpoints(output_dir: str | Path) -> None:
    """Drop temp folders left by a run killed while saving."""
    for tmp in Path(output_dir).glob(f".tmp-{PREFIX}*"):
        shutil.rmtree(tmp, ignore_errors=True)


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
    accelerator.save_state(str(tmp))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        (tmp / STATE_FILE).write_text(json.dumps(dict(state, step=step), indent=2))
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
        if total_limit:
            for old in list_checkpoints(root)[:-total_limit]:
                shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final


def load_checkpoint(accelerator, checkpoint: Path) -> dict:
    """Restore everything `save_checkpoint` wrote; returns the trainer state (with `step`)."""
    accelerator.load_state(str(checkpoint))
    return json.loads((checkpoint / STATE_FILE).read_text())
