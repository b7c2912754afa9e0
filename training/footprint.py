"""What a run costs: trainable against total parameters, and the peak memory of this process."""

from __future__ import annotations

import resource
import sys

import torch


def parameter_counts(model: torch.nn.Module) -> dict:
    """Trainable and total parameter counts (sharded parameters count whole)."""
    trainable = total = 0
    for p in model.parameters():
        n = p.numel()  # a DTensor reports its global size
        total += n
        trainable += n if p.requires_grad else 0
    return {"trainable_parameters": trainable, "total_parameters": total}


def peak_memory_mb(device: torch.device) -> float:
    """Peak accelerator memory allocated by torch on a GPU; on CPU the process's peak resident set."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux
