"""How many processes a run really has, and the batch they make together.

Launchers fail quietly on a CPU machine: `accelerate launch --num_processes 2` starts ONE process there and exits
0, and torchrun without a CPU-aware state gives two processes that each think they are alone. The trainer builds
its state with `cpu=True` when there is no GPU (gloo), compares the processes it got with what the launcher asked
for, and keeps the global batch (`processes x per-device batch x accumulation`) across resumes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

logger = logging.getLogger("audiogen_hf.training")

MULTI_PROCESS_FIX = (
    "to run N processes on one machine use `torchrun --nproc_per_node N training/train.py ...` or "
    "`accelerate launch --multi_gpu --num_processes N training/train.py ...` (CPU-only machines included: the "
    "trainer then uses gloo)"
)


def launch_problem(
    num_processes: int, expected: int | None, env: Mapping[str, str] = os.environ
) -> str | None:
    """Why the processes this run got differ from the ones it was launched with, or None."""
    asked = expected or int(env.get("WORLD_SIZE", "0") or 0) or None
    if asked is not None and asked != num_processes:
        return f"the launch asked for {asked} processes but this run has {num_processes}"
    # accelerate's single-process fallback leaves its rendezvous address behind but no WORLD_SIZE
    if (
        num_processes == 1
        and "ACCELERATE_USE_CPU" in env
        and "MASTER_ADDR" in env
        and "WORLD_SIZE" not in env
    ):
        return (
            "accelerate launch was asked for several processes but started one (it does so on a CPU machine)"
        )
    return None


def check_launch(num_processes: int, expected: int | None) -> None:
    """Refuse a run whose process count is not the one asked for, with the launch that works."""
    problem = launch_problem(num_processes, expected)
    if problem:
        raise RuntimeError(f"{problem}: {MULTI_PROCESS_FIX}.")


def batch_plan(world_size: int, per_device: int, accumulation: int) -> dict:
    return {
        "world_size": world_size,
        "per_device_train_batch_size": per_device,
        "gradient_accumulation_steps": accumulation,
        "global_batch_size": world_size * per_device * accumulation,
    }


def describe_plan(plan: dict) -> str:
    return (
        f"{plan['world_size']} process(es) x {plan['per_device_train_batch_size']} clips x "
        f"{plan['gradient_accumulation_steps']} accumulation step(s) = global batch {plan['global_batch_size']}"
    )


def resumed_accumulation(saved: dict, world_size: int, per_device: int, accumulation: int) -> int:
    """The accumulation that keeps the checkpoint's global batch with this run's processes and per-device batch;
    an error when none does. Checkpoints from before the plan was saved keep the asked accumulation."""
    global_batch = saved.get("global_batch_size")
    if global_batch is None:
        return accumulation
    per_micro = world_size * per_device
    if global_batch % per_micro:
        raise ValueError(
            f"the checkpoint trained with a global batch of {global_batch} ({describe_plan(saved)}); "
            f"{world_size} process(es) x {per_device} clips cannot make it with any accumulation. Resume with "
            f"{saved['world_size']} process(es), or a per_device_train_batch_size that divides "
            f"{global_batch // world_size if global_batch % world_size == 0 else global_batch}."
        )
    kept = global_batch // per_micro
    if kept != accumulation:
        logger.warning(
            f"resuming a run of {describe_plan(saved)} with {world_size} process(es) x {per_device} clips: "
            f"gradient_accumulation_steps {accumulation} -> {kept} keeps the global batch of {global_batch}."
        )
    return kept
