"""The config a training run records in run.json and in every checkpoint, and compares on `--resume`.

Only what makes a checkpoint meaningless under another setting is recorded: the family and sizes of the model,
the text encoder, codec and tokenizer it reads, the objective it was trained on, and the objects its
checkpoints hold (EMA). Settings that a resumed run may change (steps, learning rate, logging) are not.
"""

from __future__ import annotations

import hashlib
import json

DECODER_FIELDS = (
    "vocab_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "ffn_dim",
    "num_codebooks",
    "delays",
)
LORA_FIELDS = ("r", "alpha", "target_modules")


def tokenizer_record(tokenizer) -> dict:
    """Class, size and a digest of the vocabulary (two tokenizers of one size can still differ)."""
    vocab = json.dumps(sorted(tokenizer.get_vocab().items()))
    return {
        "class": type(tokenizer).__name__,
        "size": len(tokenizer),
        "vocab_sha256": hashlib.sha256(vocab.encode()).hexdigest()[:16],
    }


def run_config(model, processor, family: str, model_args, data_args, args) -> dict:
    """A JSON-ready record of the model, tokenizer and objective of this run."""
    config = model.config
    text = config.text_encoder
    span_len = None
    if family == "magnet":  # the span length the masking uses: the argument, else the model's
        span_len = model_args.span_len or getattr(config.decoder, "span_len", None)
    record = {
        "model_type": family,
        "decoder": {name: getattr(config.decoder, name, None) for name in DECODER_FIELDS},
        "text_encoder": {
            "model_type": text.model_type,
            "hidden_size": getattr(text, "d_model", getattr(text, "hidden_size", None)),
        },
        "codec": {"sampling_rate": config.sampling_rate, "frame_rate": config.frame_rate},
        "tokenizer": tokenizer_record(processor.tokenizer),
        "objective": {
            "segment_seconds": data_args.segment_seconds,
            "cfg_dropout": model_args.cfg_dropout,
            "pattern_tail": model_args.pattern_tail,
            "span_len": span_len,
            "magnet_stage_weights": model_args.magnet_stage_weights,
            "magnet_stage_per_sample": model_args.magnet_stage_per_sample,
        },
        "use_ema": args.use_ema,
        # LoRA turns the checkpoint into an adapter's: its shape must match (fields absent on older trainers)
        "lora": {
            name: getattr(model_args, f"lora_{name}")
            for name in LORA_FIELDS
            if hasattr(model_args, f"lora_{name}")
        },
    }
    return json.loads(json.dumps(record))  # tuples become lists, as they come back from run.json
