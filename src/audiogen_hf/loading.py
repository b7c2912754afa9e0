"""Loading a model and its processor by name for the commands (CLI, demo, evaluate, judge).

Why here and not in the CLI: the evaluation library and the demo load models too, and library code must not
import command code.
"""

from __future__ import annotations

from pathlib import Path

import torch

TINY_RANDOM = "tiny-random"


def load_model_and_processor(name: str, device: str, dtype: str = "float32"):
    """A saved folder / Hub id through the Auto classes, or the tiny random model; decoder in `dtype`."""
    from transformers import AutoModelForTextToWaveform, AutoProcessor

    import audiogen_hf  # noqa: F401  (registers the Auto classes)

    from .core.loading_checks import WEIGHT_FILES, check_source
    from .defaults import resolve_model_name

    if name == TINY_RANDOM:
        from audiogen_hf import AudioGenForConditionalGeneration, AudioGenProcessor
        from audiogen_hf.tiny import (
            spread_codebooks,
            tiny_audiogen_config,
            tiny_feature_extractor,
            tiny_tokenizer,
        )

        torch.manual_seed(0)
        model = AudioGenForConditionalGeneration(tiny_audiogen_config(max_duration=10.0))
        spread_codebooks(model)
        processor = AudioGenProcessor(tiny_feature_extractor(), tiny_tokenizer())
    else:
        name = resolve_model_name(name)
        if not Path(name).exists() and "/" not in name:
            raise SystemExit(f"error: model '{name}' is neither a folder nor a Hub id (org/name).")
        check_source(name, WEIGHT_FILES, "model weights")  # a missing local path, named, before any Hub call
        model = AutoModelForTextToWaveform.from_pretrained(name)
        processor = AutoProcessor.from_pretrained(name)
    from .core.pairing_checks import check_processor_fits_model
    from .core.quantization import set_precision

    check_processor_fits_model(processor, model, f"the processor of {name}")

    return set_precision(model.to(device).eval(), dtype), processor
