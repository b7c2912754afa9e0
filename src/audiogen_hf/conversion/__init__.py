"""Conversion of audiocraft exports (`state_dict.bin` + `compression_state_dict.bin`) to transformers folders."""

from .audiocraft_checkpoint import CheckpointError
from .convert import convert_and_save, from_audiocraft

__all__ = ["CheckpointError", "convert_and_save", "from_audiocraft"]
