"""audiocraft `xp.cfg` -> our configs, every field read from the file and asserted against the tensors."""

from __future__ import annotations

import math

import torch

from .errors import CheckpointError
from .xp_config import REQUIRED, flag, get, integer, integers, number, section, text

FAMILIES = {"transformer_lm": "audiogen", "transformer_lm_magnet": "magnet"}
T5_HUB_IDS = {
    "t5-small": "google-t5/t5-small",
    "t5-base": "google-t5/t5-base",
    "t5-large": "google-t5/t5-large",
    "t5-3b": "google-t5/t5-3b",
    "t5-11b": "google-t5/t5-11b",
}
T5_WIDTHS = {"t5-small": 512, "t5-base": 768, "t5-large": 1024, "t5-3b": 1024, "t5-11b": 1024}
PROJ_WEIGHT = "condition_provider.conditioners.description.output_proj.weight"

# Architecture flags this port implements; anything else in xp.cfg is refused rather than mis-converted.
_REQUIRED_LM_FLAGS = {
    "norm_first": True,
    "bias_ff": False,
    "bias_attn": False,
    "bias_proj": False,
    "positional_embedding": "sin",
    "xpos": False,
    "layer_scale": None,
    "qk_layer_norm": False,
    "qk_layer_norm_cross": False,
    "kv_repeat": 1,
    "activation": "gelu",
    "norm": "layer_norm",
}


def lm_family(cfg: dict) -> str:
    name = cfg.get("lm_model")
    if not isinstance(name, str) or name not in FAMILIES:
        raise CheckpointError(
            f"unknown lm_model '{name}' in xp.cfg; this converter handles {sorted(FAMILIES)} "
            "(AudioGen and MAGNeT)."
        )
    return FAMILIES[name]


def text_encoder_name(cfg: dict) -> str:
    if (
        get(cfg, "conditioners.description.model") != "t5"
        or get(cfg, "conditioners.description.t5.name") is None
    ):
        raise CheckpointError("xp.cfg has no T5 description conditioner; only T5-conditioned models convert.")
    return text(cfg, "conditioners.description.t5.name")


def _tensor(state: dict, key: str, ndim: int):
    tensor = state.get(key)
    if tensor is None:
        raise CheckpointError(f"the LM state has no '{key}'; is this an AudioGen/MAGNeT state_dict.bin?")
    if tensor.dim() != ndim:
        raise CheckpointError(
            f"'{key}' has shape {tuple(tensor.shape)}; an AudioGen/MAGNeT LM has a {ndim}-d one."
        )
    return tensor


def check_text_encoder_width(cfg: dict, state: dict, text_width: int, source: str) -> None:
    """The T5 width must equal `output_proj`'s input width (768 = t5-base, 1024 = t5-large)."""
    expected = _tensor(state, PROJ_WEIGHT, 2).shape[1]
    if text_width != expected:
        raise CheckpointError(
            f"text encoder '{source}' has width {text_width} but the checkpoint's output_proj expects "
            f"{expected} (xp.cfg names '{text_encoder_name(cfg)}'); pass a matching --text-encoder."
        )


def decoder_config(cfg: dict, state: dict) -> dict:
    lm = section(cfg, "transformer_lm")
    for name, wanted in _REQUIRED_LM_FLAGS.items():
        if lm.get(name, wanted) != wanted:
            raise CheckpointError(
                f"transformer_lm.{name}={lm.get(name)!r} is not supported (expected {wanted!r})."
            )
    dim, n_q = integer(cfg, "transformer_lm.dim"), integer(cfg, "transformer_lm.n_q")
    family = lm_family(cfg)
    fields = {
        "vocab_size": integer(cfg, "transformer_lm.card"),
        "hidden_size": dim,
        "num_hidden_layers": integer(cfg, "transformer_lm.num_layers"),
        "num_attention_heads": integer(cfg, "transformer_lm.num_heads"),
        "ffn_dim": int(number(cfg, "transformer_lm.hidden_scale", 4) * dim),
        "num_codebooks": n_q,
        "max_duration": number(cfg, "dataset.segment_duration"),
        "is_causal": family == "audiogen",
    }
    pattern = get(cfg, "codebooks_pattern.modeling")
    if family == "audiogen":
        if pattern != "delay":
            raise CheckpointError(f"AudioGen checkpoints use the 'delay' pattern, xp.cfg says '{pattern}'.")
        fields["delays"] = integers(cfg, "codebooks_pattern.delay.delays", minimum=0, length=n_q)
    else:
        fields["delays"] = [0] * n_q
        fields["subcodes_context"] = integer(cfg, "transformer_lm.subcodes_context", 5, minimum=0)
        fields["span_len"] = integer(cfg, "masking.span_len", 3)
    _check_lm_tensors(state, fields)
    return fields


def _check_lm_tensors(state: dict, fields: dict) -> None:
    dim, card, n_q = fields["hidden_size"], fields["vocab_size"], fields["num_codebooks"]
    checks = [
        ("emb.0.weight", (card + 1, dim)),
        ("linears.0.weight", (card, dim)),
        ("transformer.layers.0.linear1.weight", (fields["ffn_dim"], dim)),
        (PROJ_WEIGHT, (dim, None)),
    ]
    for key, shape in checks:
        actual = tuple(_tensor(state, key, len(shape)).shape)
        if any(want is not None and want != got for want, got in zip(shape, actual, strict=True)):
            raise CheckpointError(f"'{key}' has shape {actual}, but xp.cfg implies {shape}.")
    heads = sum(1 for k in state if k.startswith("linears."))
    layers = len({k.split(".")[2] for k in state if k.startswith("transformer.layers.")})
    if heads != n_q or layers != fields["num_hidden_layers"]:
        raise CheckpointError(
            f"xp.cfg says {n_q} codebooks / {fields['num_hidden_layers']} layers; the tensors hold "
            f"{heads} heads / {layers} layers."
        )


def codec_config(cfg: dict, state: dict) -> dict:
    if cfg.get("compression_model") != "encodec":
        raise CheckpointError(f"compression_model {cfg.get('compression_model')!r} is not EnCodec.")
    section(cfg, "seanet"), section(cfg, "rvq")
    sampling_rate = integer(cfg, "encodec.sample_rate", get(cfg, "sample_rate", REQUIRED))
    ratios = integers(cfg, "seanet.ratios")
    frame_rate = math.ceil(sampling_rate / math.prod(ratios))
    bins, n_q = integer(cfg, "rvq.bins"), integer(cfg, "rvq.n_q")
    dimension = integer(cfg, "seanet.dimension")
    fields = {
        "sampling_rate": sampling_rate,
        "audio_channels": integer(cfg, "encodec.channels", get(cfg, "channels", 1)),
        "upsampling_ratios": ratios,
        "num_filters": integer(cfg, "seanet.n_filters"),
        "hidden_size": dimension,
        "codebook_size": bins,
        "codebook_dim": dimension,
        "target_bandwidths": [n_q * math.log2(bins) * frame_rate / 1000],
        "num_lstm_layers": integer(cfg, "seanet.lstm", 0, minimum=0),
        "num_residual_layers": integer(cfg, "seanet.n_residual_layers", minimum=0),
        "compress": integer(cfg, "seanet.compress", 2),
        "kernel_size": integer(cfg, "seanet.kernel_size", 7),
        "residual_kernel_size": integer(cfg, "seanet.residual_kernel_size", 3),
        "last_kernel_size": integer(cfg, "seanet.last_kernel_size", 7),
        "dilation_growth_rate": integer(cfg, "seanet.dilation_base", 2),
        "use_conv_shortcut": not flag(cfg, "seanet.true_skip", True),
        "use_causal_conv": flag(cfg, "encodec.causal", False),
        "normalize": flag(cfg, "encodec.renormalize", False),
        "norm_type": text(cfg, "seanet.norm", "weight_norm"),
        "pad_mode": text(cfg, "seanet.pad_mode", "constant"),
        "trim_right_ratio": number(cfg, "seanet.decoder.trim_right_ratio", 1.0),
    }
    embed = state.get("quantizer.vq.layers.0._codebook.embed")
    if embed is None or tuple(embed.shape) != (bins, fields["codebook_dim"]):
        raise CheckpointError(
            f"the codec's first codebook is {None if embed is None else tuple(embed.shape)}, "
            f"xp.cfg implies ({bins}, {fields['codebook_dim']})."
        )
    return fields


def generation_defaults(cfg: dict, family: str, frame_rate: int) -> dict:
    """audiocraft's defaults for the family; MAGNeT picks up the solver's eval settings from xp.cfg."""
    if family == "audiogen":
        return {
            "guidance_scale": number(cfg, "classifier_free_guidance.inference_coef", 3.0),
            "max_new_tokens": 5 * frame_rate,  # AudioGen.__init__ sets duration=5
        }
    section(cfg, "generate.lm", {})
    readers = {
        "temp": ("temperature", number),
        "top_p": ("top_p", number),
        "top_k": ("top_k", lambda config, dotted: integer(config, dotted, minimum=0)),
        "max_cfg_coef": ("max_cfg_coef", number),
        "min_cfg_coef": ("min_cfg_coef", number),
        "decoding_steps": ("decoding_steps", integers),
        "span_arrangement": ("span_arrangement", text),
    }
    found = {
        ours: read(cfg, f"generate.lm.{theirs}")
        for theirs, (ours, read) in readers.items()
        if get(cfg, f"generate.lm.{theirs}") is not None
    }
    if found.get("top_p") == 0:
        found.pop("top_p")
    if found.get("top_k") == 0:
        found.pop("top_k")
    return found


def as_dtype(name: str) -> torch.dtype:
    dtypes = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
    if name not in dtypes:
        raise CheckpointError(f"--dtype must be one of {sorted(dtypes)}, got '{name}'.")
    return dtypes[name]
