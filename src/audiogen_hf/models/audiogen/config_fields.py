"""Type and range checks on config.json fields, naming the field.

Why: a hand-edited or damaged config.json (`"hidden_size": "1536"`, `"num_codebooks": 0`, `"dropout": 2`)
otherwise fails deep in module construction (a TypeError from `%`, a ZeroDivisionError) or, worse, builds a
model that runs and produces garbage. The sub-configs transformers owns (T5, EnCodec) get the same checks on
the fields this package relies on.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

FieldCheck = tuple[Callable[[object], bool], str]


def _positive_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0


def _finite(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


POSITIVE_INT: FieldCheck = (_positive_int, "an integer > 0")
POSITIVE_NUMBER: FieldCheck = (lambda v: _finite(v) and v > 0, "a finite number > 0")
PROBABILITY: FieldCheck = (lambda v: _finite(v) and 0 <= v <= 1, "a number in [0, 1]")
FINITE: FieldCheck = (_finite, "a finite number")
NON_NEGATIVE: FieldCheck = (lambda v: _finite(v) and v >= 0, "a finite number >= 0")
DELAYS: FieldCheck = (
    lambda v: (
        isinstance(v, (list, tuple))
        and all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 0 for d in v)
    ),
    "a list of integers >= 0 (one per codebook)",
)

DECODER_FIELDS: dict[str, FieldCheck] = {
    "vocab_size": POSITIVE_INT,
    "hidden_size": POSITIVE_INT,
    "num_hidden_layers": POSITIVE_INT,
    "num_attention_heads": POSITIVE_INT,
    "ffn_dim": POSITIVE_INT,
    "num_codebooks": POSITIVE_INT,
    "layer_norm_eps": POSITIVE_NUMBER,
    "dropout": PROBABILITY,
    "attention_dropout": PROBABILITY,
    "max_period": POSITIVE_NUMBER,
    "positional_scale": FINITE,
    "max_duration": POSITIVE_NUMBER,
    "initializer_range": NON_NEGATIVE,
    "delays": DELAYS,
}
TEXT_ENCODER_FIELDS: dict[str, FieldCheck] = {
    name: POSITIVE_INT for name in ("vocab_size", "d_model", "d_kv", "d_ff", "num_layers", "num_heads")
}
AUDIO_ENCODER_FIELDS: dict[str, FieldCheck] = {
    "sampling_rate": POSITIVE_INT,
    "codebook_size": POSITIVE_INT,
    "audio_channels": POSITIVE_INT,
}


def check_fields(config, checks: dict[str, FieldCheck], prefix: str = "") -> None:
    """Raise a ValueError naming the first field of `config` that fails its check."""
    for name, (ok, what) in checks.items():
        value = getattr(config, name, None)
        if not ok(value):
            raise ValueError(
                f"config field {prefix}{name}={value!r} is invalid: it must be {what}; fix it in config.json "
                "(or restore the config.json saved with the weights)."
            )
