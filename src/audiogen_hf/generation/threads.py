"""How many CPU threads a generation should use: one for small models, the free cores for big ones.

Why: a decode step of a small decoder is a few hundred tiny kernels, and every kernel split over threads pays a
synchronisation; on a busy machine a second thread that is descheduled stalls the other at each kernel. The
embedded 128-wide models took 16.4 s with torch's default 2 threads on a busy 2-core machine for a clip that took
0.29 s on one thread. A big decoder is bound by reading its weights, which more cores do help with, as long as
they are not busy with other work. The choice is a pure function (`choose_threads`) so that it can be tested;
`apply_thread_policy` reads the machine and sets torch's thread count. A count the user chose (the CLI's
`--threads`, `OMP_NUM_THREADS`, or an earlier `torch.set_num_threads`) is always kept.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn

# Decoders below this many parameters are overhead-bound: one thread (docs/performance.md, "Threads").
SMALL_DECODER_PARAMETERS = 50_000_000
THREADS_ENV = "OMP_NUM_THREADS"


@dataclass(frozen=True)
class ThreadChoice:
    """A thread count and why it was chosen (the CLI prints the reason)."""

    threads: int
    reason: str


def _positive_int(value, what: str, fix: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1 or isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"{what} must be a whole number of threads >= 1, got {value!r}; {fix}.")
    return number


def choose_threads(
    decoder_parameters: int,
    cores: int,
    requested: int | None = None,
    environ: Mapping[str, str] | None = None,
    torch_threads: int | None = None,
    load_average: float | None = None,
) -> ThreadChoice:
    """The thread count for a decoder of `decoder_parameters` on a machine with `cores` usable cores.

    In order: `requested` (the CLI's `--threads`); `OMP_NUM_THREADS` in `environ`; `torch_threads` when it
    differs from `cores`, torch's default, which means `torch.set_num_threads` was called; then the model size:
    one thread below `SMALL_DECODER_PARAMETERS`, else the cores not busy with other work (the 1-minute
    `load_average` minus this process, at least one).
    """
    cores = _positive_int(cores, "the number of cores", "pass os.sched_getaffinity(0)'s size")
    if requested is not None:
        threads = _positive_int(
            requested, "--threads", "pass e.g. --threads 1, or leave it out to choose by size"
        )
        return ThreadChoice(threads, "--threads")
    value = (environ or {}).get(THREADS_ENV, "").strip()
    if value:
        threads = _positive_int(value, THREADS_ENV, "set it to e.g. 1, or unset it to choose by model size")
        return ThreadChoice(threads, f"{THREADS_ENV}={value}")
    if torch_threads is not None and torch_threads != cores:
        threads = _positive_int(
            torch_threads, "torch.get_num_threads()", "call torch.set_num_threads(n >= 1)"
        )
        return ThreadChoice(threads, "torch.set_num_threads")
    if decoder_parameters < SMALL_DECODER_PARAMETERS:
        return ThreadChoice(1, f"small decoder ({decoder_parameters / 1e6:.1f}M parameters): overhead-bound")
    busy = 0.0 if load_average is None else max(0.0, load_average - 1.0)
    threads = max(1, min(cores, int(cores - busy + 0.5)))
    load = "" if load_average is None else f", load average {load_average:.2f}"
    return ThreadChoice(threads, f"{decoder_parameters / 1e6:.0f}M-parameter decoder on {cores} cores{load}")


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask where the OS has one): torch's default count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def decoder_parameter_count(model: nn.Module) -> int:
    """Weights of the decoder (the part that runs once per step); the whole model when it has none."""
    decoder = getattr(model, "decoder", model)
    return sum(tensor.numel() for tensor in [*decoder.parameters(), *decoder.buffers()] if tensor is not None)


def choose_threads_for(model: nn.Module, requested: int | None = None) -> ThreadChoice:
    """`choose_threads` for `model` on this machine: its cores, environment, torch setting and load."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return choose_threads(
        decoder_parameter_count(model), usable_cores(), requested, os.environ, torch.get_num_threads(), load
    )


def apply_thread_policy(model: nn.Module, requested: int | None = None) -> ThreadChoice:
    """Set torch's thread count to what `choose_threads_for` picks for `model`; returns the choice."""
    choice = choose_threads_for(model, requested)
    torch.set_num_threads(choice.threads)
    return choice
