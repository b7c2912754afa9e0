"""The processes of a bulk run: Accelerate's `PartialState` under `torchrun` / `accelerate launch` (gloo on
CPU-only machines, NCCL on GPUs), or this process alone.

Why Accelerate: it reads the launcher's environment, starts the process group with the right backend and picks
each process's device; accelerate is an optional dependency, so one process works without it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass
class _OneProcess:
    """What a bulk run uses of `PartialState`, for a single process without accelerate installed."""

    num_processes: int = 1
    process_index: int = 0
    is_main_process: bool = True
    device: str = "cpu"

    def wait_for_everyone(self) -> None:
        pass


def process_state(device: str | None = "cpu"):
    """`accelerate.PartialState()`, or a single process when accelerate is missing (an error when a launcher
    started several). A CPU `device` asks for CPU processes (gloo): Accelerate otherwise only counts processes
    that have an accelerator each."""
    try:
        from accelerate import PartialState
    except ImportError:
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise ImportError(
                "bulk generation over several processes needs accelerate: pip install accelerate"
            ) from None
        return _OneProcess()
    return PartialState(cpu=str(device).startswith("cpu"))


def share_of(items: list, state) -> list:
    """This process's contiguous share of `items` (Accelerate's `split_between_processes`; earlier processes
    get one more when they do not divide evenly)."""
    if state.num_processes == 1:
        return list(items)
    with state.split_between_processes(list(items)) as share:
        return list(share)


def gather(value, state) -> list:
    """`value` from every process, in process order."""
    if state.num_processes == 1:
        return [value]
    from accelerate.utils import gather_object

    return gather_object([value])
