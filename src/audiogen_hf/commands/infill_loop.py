"""`audiogen-hf generate --infill START END --audio-prompt rec.wav` and `--loop`: MAGNeT's infill and loops.

Why a module of its own: the options only make sense for MAGNeT and only in some combinations, so their
checks live here and the generate command calls them in one line (`models/magnet/infill.py`, `loop.py`).
"""

from __future__ import annotations

import argparse


def add_infill_loop_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--infill",
        nargs=2,
        type=float,
        action="append",
        metavar=("START", "END"),
        default=None,
        help="MAGNeT: regenerate START..END seconds of --audio-prompt from the text, the audio on both sides "
        "kept exactly (repeat for several ranges)",
    )
    parser.add_argument(
        "--loop",
        action="store_true",
        help="MAGNeT: a seamless loop (its end flows into its start); at most the model's window long",
    )


def add_infill_loop_knobs(model, knobs: dict, infill: list | None, loop: bool, has_recording: bool) -> None:
    """Add `infill=` (seconds ranges) / `loop=` to generate()'s knobs for the command and the demo, refusing
    what MAGNeT cannot do with them before any decoding starts."""
    if not infill and not loop:
        return
    if model.config.model_type != "magnet":
        raise ValueError("infill and loop are MAGNeT options; use a MAGNeT model (e.g. default-magnet).")
    if infill:
        if not has_recording:
            raise ValueError(
                "infill regenerates part of a recording: give the recording as the audio prompt "
                "(--audio-prompt, or the demo's upload)."
            )
        knobs.pop("max_new_tokens", None)  # infill keeps the recording's length
        knobs["infill"] = [tuple(pair) for pair in infill]
    if loop:
        knobs["loop"] = True


def infill_loop_knobs(model, args: argparse.Namespace, knobs: dict) -> None:
    """The generate command's `--infill` / `--loop`, with the command's own conflicts named."""
    if (args.infill or args.loop) and (args.hybrid_ar_seconds is not None or args.stream):
        raise ValueError(
            "--infill and --loop do not combine with --hybrid-ar-seconds or --stream; drop those."
        )
    if args.infill and args.duration is not None:
        raise ValueError("--infill keeps the --audio-prompt's length; drop --duration.")
    add_infill_loop_knobs(model, knobs, args.infill, args.loop, bool(args.audio_prompt))
