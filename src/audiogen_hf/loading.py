"""Loading a model and its processor by name for the commands (CLI, demo, evaluate, judge).

Why here and not in the CLI: the evaluation library and the demo load models too, and library code must not
import command code.
"""

from __future__ import annotations

import torch

TINY_RANDOM = "tiny-random"


def load_model_and_processor(name: str, device: str, dtype: str = "float32"):
    """A saved folder / Hub id through the Auto classes, or the tiny random model; decoder in `dtype`."""
    from transformers import AutoModelForTextToWaveform, AutoProcessor

    import audiogen_hf  # noqa: F401  (registers the Auto classes)

    from .core.loading_checks import WEIGHT_FILES, check_source, load_checked_source
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
        try:
            if check_source(name, WEIGHT_FILES, "model weights") is None and "/" not in name:
                raise OSError(
                    f"model '{name}' is neither a folder nor a Hub id (org/name) nor an alias (default)."
                )
            model = load_checked_source(
                AutoModelForTextToWaveform.from_pretrained, name, WEIGHT_FILES, "model"
            )
            processor = load_checked_source(AutoProcessor.from_pretrained, name, WEIGHT_FILES, "model")
        except OSError as error:  # the commands print it as one "error: --model: ..." line
            raise OSError(f"--model: {error}") from error
    from .core.pairing_checks import check_processor_fits_model
    from .core.quantization import set_precision

    check_processor_fits_model(processor, model, f"the processor of {name}")

    return set_precision(model.to(device).eval(), dtype), processor
