"""A processor and a model must describe the same codec and text vocabulary.

Why: a processor saved with another model (another sampling rate, channel count or tokenizer) pairs with any
model without a word; its audio prompts are then resampled to the wrong rate and its token ids may fall
outside the text encoder's embedding. The processor checks itself against the config.json of the folder it is
loaded from (so AutoProcessor, pipeline("text-to-audio") and the commands all refuse a mismatch), and the
commands check the pair they load.
"""

from __future__ import annotations


def check_processor_fits_model(processor, model, source: object = "the processor") -> None:
    """Refuse `processor` unless its feature extractor's rate and channels are the model's codec's and its
    tokenizer's ids fit the model's text encoder."""
    check_processor_fits_config(processor, model.config, source)


def check_processor_fits_config(processor, config, source: object = "the processor") -> None:
    """`check_processor_fits_model` against a model's config (an AudioGenConfig or MagnetConfig)."""
    codec = config.audio_encoder
    extractor = getattr(processor, "feature_extractor", None)
    tokenizer = getattr(processor, "tokenizer", None)
    problems = []
    if extractor is not None and extractor.sampling_rate != codec.sampling_rate:
        problems.append(
            f"its sampling rate is {extractor.sampling_rate} Hz but the model's codec runs at "
            f"{codec.sampling_rate} Hz"
        )
    if extractor is not None and extractor.feature_size != codec.audio_channels:
        problems.append(
            f"it gives {extractor.feature_size} audio channels but the codec takes {codec.audio_channels}"
        )
    vocab = config.text_encoder.vocab_size
    if tokenizer is not None and len(tokenizer) > vocab:
        problems.append(f"its tokenizer has {len(tokenizer)} tokens but the text encoder embeds only {vocab}")
    if problems:
        raise ValueError(
            f"{source} does not fit the model: {'; '.join(problems)}. Load the processor saved with this "
            "model (AutoProcessor.from_pretrained on the model's own folder)."
        )
