"""An `output_dir` belongs to one training run.

A run records itself in `run.json` (a run id and the config that made it) and holds `.train.lock` while it
works. Starting in a folder that holds another run's files is refused unless `--resume` (continue it) or
`--overwrite_output_dir` (discard it); a second run while the lock's owner is alive is refused; a lock whose
process is dead (same host: pid gone, or reused by another process) is stale and taken over. Every
checkpoint's `trainer_state.json` carries the run id and config, so resuming with an incompatible config is
refused naming the differing fields, and pruning only ever touches this run's checkpoints.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from audiogen_hf.output_files import write_text
from training.checkpointing import DEBRIS_PATTERNS, PREFIX, STATE_FILE
from training.errors import UsageError

logger = logging.getLogger("audiogen_hf.training")
RUN_FILE = "run.json"
LOCK_FILE = ".train.lock"
# What a run writes into output_dir besides caches (codes_cache, synthetic_data) and tracker logs, which a new
# run may share. Any of these means the folder holds a run.
RUN_FILES = (
    RUN_FILE,
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "model.safetensors.index.json",
    "train_summary.json",
    "README.md",
    "samples",
    "sample_ids",
    "adapter_config.json",  # a LoRA run's final save (adapter, and `merged/` with lora_save_merged)
    "adapter_model.safetensors",
    "merged",
)
RUN_PATTERNS = (f"{PREFIX}*", *DEBRIS_PATTERNS, "model-*.safetensors")


def run_files(output_dir: Path) -> list[str]:
    """Names in `output_dir` that belong to a training run (sorted)."""
    if not output_dir.is_dir():
        return []
    found = {name for name in RUN_FILES if (output_dir / name).exists()}
    found.update(p.name for pattern in RUN_PATTERNS for p in output_dir.glob(pattern))
    return sorted(found)


def discard_run(output_dir: Path) -> None:
    """`--overwrite_output_dir`: delete the previous run's files, so that its checkpoints can neither be resumed
    nor outlive the new run's and no stale final model is left if the new run stops early."""
    for name in run_files(output_dir):
        path = output_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


# ------------------------------------------------------------------------------------------------------ lock
def _process_start(pid: int) -> str | None:
    """The kernel's start time of `pid` (Linux), which tells a live owner from a process that reused its pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def lock_owner_alive(owner: dict) -> bool | None:
    """True / False for a lock taken on this host; None when it was taken on another host (cannot tell)."""
    if owner.get("hostname") != socket.gethostname():
        return None
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0 or not _alive(pid):
        return False
    if pid == os.getpid():  # an earlier train() in this very process that failed before releasing it
        return False
    started = owner.get("process_start")
    return started is None or _process_start(pid) in (None, started)


def read_json_object(path: Path) -> dict | None:
    """The JSON object in `path`, or None when it is missing, unreadable or not an object."""
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _read_lock(path: Path) -> dict:
    return read_json_object(path) or {}


def _create_lock(path: Path) -> bool:
    """Create the lock with its content in one step (a hard link of a written file: exclusive and atomic), so
    no other run ever reads a half-written lock; False if it exists."""
    me = {
        "pid": os.getpid(),
        "hostname": socket.gethostname(),
        "process_start": _process_start(os.getpid()),
        "started_at": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    written = path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}")
    written.write_text(json.dumps(me))
    try:
        os.link(written, path)
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: exclusive create, then write
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as handle:
            handle.write(written.read_text())
    finally:
        written.unlink(missing_ok=True)
    return True


def refuse_if_locked(path: Path) -> dict:
    """Raise `UsageError` if a live run (or one on another host) holds the lock `path`; returns its content."""
    owner = _read_lock(path)
    alive = lock_owner_alive(owner) if owner else False
    if alive is None:
        raise UsageError(
            f"{path} is held by process {owner.get('pid')} on host {owner.get('hostname')}, which this host "
            "cannot check; if no run is using this output_dir, delete that file, else choose another "
            "--output_dir."
        )
    if alive:
        raise UsageError(
            f"another training run (pid {owner.get('pid')}, started {owner.get('started_at')}) is using "
            f"{path.parent}; wait for it to finish or choose another --output_dir."
        )
    return owner


def acquire_lock(output_dir: Path) -> Path:
    """Take `output_dir/.train.lock`, or raise `UsageError` naming the run that holds it."""
    path = output_dir / LOCK_FILE
    for _ in range(3):
        if _create_lock(path):
            atexit.register(release_lock, path)
            return path
        owner = refuse_if_locked(path)
        # Stale: set it aside under a private name, and take over only if what was set aside is still the
        # stale lock read above (not one that a concurrent run created meanwhile).
        aside = path.with_name(f"{LOCK_FILE}.stale-{os.getpid()}")
        try:
            path.rename(aside)
        except FileNotFoundError:
            continue
        if _read_lock(aside) != owner:
            aside.rename(path)
            continue
        aside.unlink()
    raise UsageError(
        f"could not take {path}: other runs keep starting in {output_dir}; choose another --output_dir."
    )


def release_lock(path: Path) -> None:
    """Remove the lock if this process holds it."""
    if _read_lock(path).get("pid") == os.getpid():
        path.unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------------------ record
def _flatten(record: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def config_differences(saved: dict, current: dict) -> list[str]:
    """`field: saved -> current` for every field recorded on both sides that differs (a field only one side
    records, from a trainer of another version, is not compared)."""
    old, new = _flatten(saved), _flatten(current)
    return [
        f"{name}: {old[name]!r} -> {new[name]!r}"
        for name in sorted(set(old) & set(new))
        if old[name] != new[name]
    ]


@dataclass
class Run:
    """The run that owns `output_dir`: its id, the config it records, and its lock (main process only)."""

    output_dir: Path
    run_id: str
    config: dict
    lock: Path | None = None
    resumed: bool = False

    def checkpoint_fields(self) -> dict:
        """Stored in every checkpoint's trainer_state.json."""
        return {"run_id": self.run_id, "run_config": self.config}

    def check_resume(self, checkpoint: Path | None) -> None:
        """Refuse to resume `checkpoint` under another config. Without a checkpoint there is nothing to resume:
        the run starts from scratch under this config."""
        if checkpoint is None:
            return
        source = checkpoint / STATE_FILE
        record = read_json_object(source)
        if record is None:
            raise UsageError(
                f"--resume: {source} is unreadable, so {checkpoint} cannot be resumed; delete that folder to "
                "resume from the previous checkpoint, or pass --overwrite_output_dir to start anew."
            )
        saved = record.get("run_config")
        if saved is None:
            logger.warning(f"{source} records no config; its compatibility with this run is not checked.")
            return
        differences = config_differences(saved, self.config)
        if differences:
            raise UsageError(
                f"--resume: {checkpoint} was made by another config ({'; '.join(differences)}); resume with "
                "the config that made it, or start a new run in another --output_dir (or pass "
                "--overwrite_output_dir to discard it)."
            )

    def release(self) -> None:
        if self.lock is not None:
            release_lock(self.lock)
            self.lock = None


def _recorded_run_id(output_dir: Path) -> str | None:
    run_id = (read_json_object(output_dir / RUN_FILE) or {}).get("run_id")
    return run_id if isinstance(run_id, str) else None


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and a.samefile(b)
    except OSError:
        return False


def check_output_dir(
    output_dir: str | Path, resume: bool, overwrite: bool, inputs: dict[str, str | None] | None = None
) -> None:
    """Refuse, before anything is loaded, an output_dir that holds another run when neither `resume` nor
    `overwrite` is given, one that is a file, and one that is an input folder of the run (`inputs`: argument ->
    path), which the final save or `overwrite` would overwrite. Every process runs this and sees the same
    files; the lock, which only the main process takes, is checked by `claim_output_dir`."""
    root = Path(output_dir)
    for argument, given in (inputs or {}).items():
        if given is not None and _same_folder(root, Path(given)):
            raise UsageError(
                f"--output_dir {root} is the run's --{argument}; the run would write over its own input "
                "(even --overwrite_output_dir never does): choose another --output_dir."
            )
    if resume and overwrite:
        raise UsageError(
            "--resume continues the run in output_dir and --overwrite_output_dir discards it; pass only one."
        )
    if root.exists() and not root.is_dir():
        raise UsageError(f"--output_dir {root} is a file; choose a folder.")
    found = [name for name in run_files(root) if name != RUN_FILE]  # run.json alone: a run that saved nothing
    if found and not (resume or overwrite):
        raise UsageError(
            f"--output_dir {root} holds another training run ({', '.join(found[:6])}); pass --resume to "
            "continue it, --overwrite_output_dir to discard it, or choose another --output_dir."
        )


def claim_output_dir(output_dir: str | Path, resume: bool, overwrite: bool, config: dict) -> Run:
    """Main process: take the lock, then start a new run (discarding the old one with `overwrite`) or, with
    `resume`, continue the recorded one; write run.json. Returns the `Run`."""
    root = Path(
        output_dir
    )  # checked before anything loaded (validation.check_settings); again under the lock
    root.mkdir(parents=True, exist_ok=True)
    lock = acquire_lock(root)
    try:
        check_output_dir(root, resume, overwrite)  # again under the lock: a run may have finished meanwhile
        run_id = _recorded_run_id(root) if resume else None
        if overwrite:
            discard_run(root)
        run = Run(root, run_id or uuid.uuid4().hex[:12], config, lock, resumed=run_id is not None)
        if run_id is None:  # a new run, or the first resume of a folder from before run ids
            record = {
                "run_id": run.run_id,
                "created": time.strftime("%Y-%m-%d %H:%M:%S"),
                "run_config": config,
            }
            write_text(root / RUN_FILE, json.dumps(record, indent=2), overwrite=True)
    except BaseException:
        release_lock(lock)
        raise
    return run


def start_run(accelerator, output_dir: str | Path, resume: bool, overwrite: bool, config: dict) -> Run:
    """`claim_output_dir` on the main process; every process gets the run id, or the same error."""
    from accelerate.utils import broadcast_object_list

    run, outcome = None, [None, None]
    if accelerator.is_main_process:
        try:
            run = claim_output_dir(output_dir, resume, overwrite, config)
            outcome = [run.run_id, run.resumed]
        except Exception as error:  # every process must leave the broadcast, with the same message
            outcome = [None, error]
    if accelerator.num_processes > 1:
        broadcast_object_list(outcome, from_process=0)
    if outcome[0] is None:
        error = outcome[1]
        raise error if isinstance(error, Exception) else UsageError(str(error))
    return run or Run(Path(output_dir), outcome[0], config, resumed=outcome[1])
