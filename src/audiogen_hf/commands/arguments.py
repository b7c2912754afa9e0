"""Arguments that several commands share."""

from __future__ import annotations

import argparse


def add_dtype_argument(parser: argparse.ArgumentParser, default: str | None = None) -> None:
    from ..core.quantization import AUTO_PRECISION, PRECISIONS

    why = (
        ": the fastest measured on CPU that keeps the embedded models' judge score (MAGNeT bfloat16, "
        "AudioGen float32 below 1024 wide, else bfloat16; docs/performance.md)"
    )
    parser.add_argument(
        "--dtype",
        choices=(*PRECISIONS, AUTO_PRECISION),
        default=default or AUTO_PRECISION,
        help="decoder precision (text encoder and codec stay float32; logits are sampled in float32); "
        f"default {default or AUTO_PRECISION}" + ("" if default else why),
    )


SAMPLING_OPTIONS = ("guidance_scale", "temperature", "top_k", "top_p", "min_p")


def generation_knobs(args: argparse.Namespace, model) -> dict:
    """`model.generate()` keywords from `generate`'s sampling options (single and bulk runs alike)."""
    knobs = {name: getattr(args, name) for name in SAMPLING_OPTIONS if getattr(args, name) is not None}
    if args.greedy:
        knobs["do_sample"] = False
    if args.two_step_cfg:
        knobs["two_step_cfg"] = True
    if args.compile:
        knobs["compile"] = True
        if model.config.model_type == "audiogen":
            knobs["cache_implementation"] = "static"
    return knobs
