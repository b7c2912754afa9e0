"""Optimizer, learning-rate schedules and EMA, following audiocraft's solver defaults (AdamW betas 0.9/0.95,
weight decay 0.1 on every trainable parameter, inverse-sqrt or cosine schedule with linear warm-up)."""

from __future__ import annotations

import math

import torch
from torch.optim.lr_scheduler import LambdaLR


def build_optimizer(
    model: torch.nn.Module,
    learning_rate: float,
    weight_decay: float,
    betas: tuple[float, float] = (0.9, 0.95),
    eps: float = 1e-8,
) -> torch.optim.AdamW:
    """AdamW over the trainable parameters only (T5 and the codec are frozen), all decayed like audiocraft."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameter; check that the decoder is not frozen.")
    return torch.optim.AdamW(params, lr=learning_rate, betas=betas, eps=eps, weight_decay=weight_decay)


def inverse_sqrt_factor(step: int, warmup_steps: int) -> float:
    """audiocraft's `InverseSquareRootLRScheduler`: linear warm-up from 0, then `sqrt(warmup / step)`."""
    if step < warmup_steps:
        return step / warmup_steps
    return math.sqrt(max(warmup_steps, 1) / max(step, 1))


def cosine_factor(step: int, warmup_steps: int, total_steps: int, min_ratio: float = 0.0) -> float:
    """audiocraft's `CosineLRScheduler`: linear warm-up, then half a cosine from 1 down to `min_ratio`."""
    if step < warmup_steps:
        return step / warmup_steps
    if step >= total_steps:
        return min_ratio
    progress = (step - warmup_steps) / max(total_steps - warmup_steps, 1)
    return min_ratio + 0.5 * (1 - min_ratio) * (1 + math.cos(math.pi * progress))


def build_scheduler(
    optimizer: torch.optim.Optimizer,
    name: str,
    warmup_steps: int,
    total_steps: int,
    min_lr_ratio: float = 0.0,
) -> LambdaLR:
    """`name` is "inverse_sqrt", "cosine" or "constant". audiocraft counts from step 1 (the lr during the first
    update is `lr / warmup`), hence the `+ 1`."""
    if name == "inverse_sqrt":
        factor = lambda step: inverse_sqrt_factor(step + 1, warmup_steps)  # noqa: E731
    elif name == "cosine":
        factor = lambda step: cosine_factor(step + 1, warmup_steps, total_steps, min_lr_ratio)  # noqa: E731
    elif name == "constant":
        factor = lambda step: min(1.0, (step + 1) / warmup_steps) if warmup_steps else 1.0  # noqa: E731
    else:
        raise ValueError(f"unknown lr_scheduler {name!r}; use 'inverse_sqrt', 'cosine' or 'constant'.")
    return LambdaLR(optimizer, factor)


class EMA:
    """Exponential moving average of the trainable parameters (audiocraft: decay 0.99 every 10 updates).

    Registered with `accelerator.register_for_checkpointing`, so its state travels with `save_state`.
    """

    def __init__(self, model: torch.nn.Module, decay: float = 0.99, update_every: int = 10):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1), got {decay}.")
        self.decay = decay
        self.update_every = max(1, update_every)
        self.shadow = {
            name: p.detach().float().clone() for name, p in model.named_parameters() if p.requires_grad
        }

    @torch.no_grad()
    def update(self, model: torch.nn.Module, step: int) -> None:
        """Blend the current weights in every `update_every` optimizer steps."""
        if step % self.update_every:
            return
        for name, p in model.named_parameters():
            if name in self.shadow:
                self.shadow[name].lerp_(p.detach().float(), 1 - self.decay)

    @torch.no_grad()
    def copy_to(self, model: torch.nn.Module) -> None:
        """Write the averaged weights into `model` (for the final save)."""
        for name, p in model.named_parameters():
            if name in self.shadow:
                p.copy_(self.shadow[name].to(p.dtype))

    def state_dict(self) -> dict:
        return {"decay": self.decay, "update_every": self.update_every, "shadow": self.shadow}

    def load_state_dict(self, state: dict) -> None:
        self.decay = state["decay"]
        self.update_every = state["update_every"]
        self.shadow = {k: v.clone() for k, v in state["shadow"].items()}
