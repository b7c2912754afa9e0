"""One kind of number for every generation knob.

Why: a count from numpy (`np.int64(10**7)`) or a 0-d tensor (`torch.tensor(5)`) is an integer to a user, but
not an `int` to an `isinstance` check, so size limits written for `int` silently let it through and validity
checks refuse it with a confusing message. Every knob is turned into the Python number it holds first, so the
checks that follow see one kind and hold for all.
"""

from __future__ import annotations

import numpy as np
import torch
from transformers import GenerationConfig


def as_python_scalar(value):
    """The Python number a numpy scalar or a 0-d tensor holds (lists and tuples item by item); anything else
    unchanged."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, torch.Tensor) and value.dim() == 0:
        return value.item()
    if isinstance(value, (list, tuple)) and any(isinstance(v, (np.generic, torch.Tensor)) for v in value):
        return type(value)(as_python_scalar(v) for v in value)
    return value


def normalize_scalars(kwargs: dict) -> dict:
    """Replace, in place, every numpy / 0-d tensor value of `kwargs` by its Python number; returns `kwargs`."""
    for name, value in kwargs.items():
        kwargs[name] = as_python_scalar(value)
    return kwargs


def normalize_config_scalars(config: GenerationConfig) -> GenerationConfig:
    """The same for a GenerationConfig's fields (a config built or edited with numpy values)."""
    for name, value in list(vars(config).items()):
        converted = as_python_scalar(value)
        if converted is not value:
            setattr(config, name, converted)
    return config
