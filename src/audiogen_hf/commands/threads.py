"""`audiogen-hf generate --threads N`: the CPU thread count, chosen by model size unless the user set one."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator

import torch
from torch import nn

from ..generation.threads import ThreadChoice, apply_thread_policy


def _thread_count(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of threads >= 1, got {value!r}")
    return int(value)


def add_threads_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threads",
        type=_thread_count,
        default=None,
        help="CPU threads (default: 1 for small models, the free cores for big ones, unless OMP_NUM_THREADS or "
        "torch.set_num_threads chose; docs/performance.md)",
    )


def apply_cli_threads(model: nn.Module, args: argparse.Namespace) -> ThreadChoice:
    """Set torch's thread count for this command's model and say why (on stderr, stdout stays the results)."""
    choice = apply_thread_policy(model, args.threads)
    plural = "" if choice.threads == 1 else "s"
    hint = "" if args.threads is not None else "; --threads to change"
    print(f"using {choice.threads} CPU thread{plural} ({choice.reason}{hint})", file=sys.stderr)
    return choice


@contextlib.contextmanager
def restored_threads() -> Iterator[None]:
    """Give torch its thread count back when a command returns (tests and notebooks call `main` in-process)."""
    previous = torch.get_num_threads()
    try:
        yield
    finally:
        torch.set_num_threads(previous)
