"""Command-line arguments checked before any model is loaded, and user mistakes reported as one line.

Why: a typo in `--top-p` or a missing `--prompts` file used to surface after minutes of model loading (or
generation), as a traceback from deep inside torch; an existing `--output` / `--json` was replaced without a
word. Every command validates its arguments here first, writes through `output_files`, and `run_command` turns
any user error into `error: ...` and exit status 2.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path

import torch

from ..generation.inputs import KNOB_CHECKS, check_generate_kwargs
from ..generation.limits import DEFAULT_MAX_GENERATION_SECONDS
from ..output_files import check_output_path

# What a user can get wrong: bad values, missing / unwritable files, a missing optional dependency.
USER_ERRORS = (ValueError, TypeError, OSError, ImportError)


def run_command(command: Callable[[argparse.Namespace], object], args: argparse.Namespace) -> int:
    """Run a command; a user error becomes one line on stderr and exit status 2, Ctrl-C exit status 130."""
    try:
        result = command(args)
    except USER_ERRORS as error:
        message = " ".join(str(error).split()) or type(error).__name__
        print(message if message.startswith("error:") else f"error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; no partial output was kept.", file=sys.stderr)
        return 130
    return result if isinstance(result, int) else 0


def add_overwrite_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing output file (never one of the inputs); without it an existing file is an error",
    )


def check_device(device: str) -> str:
    """`--device` must name a device torch knows and this machine has."""
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError) as error:
        raise ValueError(
            f"--device {device!r} is not a device name (cpu, cuda, cuda:1, mps): {error}"
        ) from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {device}: no CUDA GPU is available here; use --device cpu.")
    if kind == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"--device {device}: MPS is not available here; use --device cpu.")
    return device


def check_positive(name: str, value: float | int | None, upper: float = math.inf) -> None:
    """A finite number in (0, upper], or None (unset)."""
    if value is not None and not (math.isfinite(value) and 0 < value <= upper):
        bound = f" and at most {upper:g}" if math.isfinite(upper) else ""
        raise ValueError(f"{name} must be a finite number > 0{bound}, got {value}.")


def check_seed(seed: int | None) -> None:
    if seed is not None and not 0 <= seed < 2**63:
        raise ValueError(f"--seed must be a whole number in [0, 2**63), got {seed}.")


def check_input_file(name: str, path: str | None) -> None:
    """An input the command reads must exist and be a readable file."""
    if path is None:
        return
    given = Path(path)
    if not given.is_file():
        what = "a folder" if given.is_dir() else "missing"
        raise FileNotFoundError(f"{name} {path} is {what}; give an existing file.")
    try:
        given.open("rb").close()
    except OSError as error:
        raise PermissionError(f"{name} {path} cannot be read ({error.strerror}).") from None


def check_audio_file(name: str, path: str | None) -> None:
    """An audio input must be a file soundfile can read (checked from its header only)."""
    check_input_file(name, path)
    if path is None:
        return
    import soundfile

    try:
        soundfile.info(path)
    except (RuntimeError, soundfile.LibsndfileError) as error:
        raise ValueError(
            f"{name} {path} is not a readable audio file ({error}); give a wav / flac / ogg."
        ) from None


def check_sampling_arguments(args: argparse.Namespace) -> None:
    """--temperature / --top-k / --top-p / --min-p / --guidance-scale through generate()'s own knob checks."""
    for name in ("temperature", "top_k", "top_p", "min_p", "guidance_scale"):
        value = getattr(args, name, None)
        if value is None:
            continue
        try:
            check_generate_kwargs({name: value}, {name: KNOB_CHECKS[name]})
        except ValueError as error:
            raise ValueError(f"--{name.replace('_', '-')}: {error}") from None


def check_generate_arguments(args: argparse.Namespace) -> None:
    """`audiogen-hf generate`: every argument that can be checked without a model."""
    check_device(args.device)
    check_positive("--duration", args.duration, upper=DEFAULT_MAX_GENERATION_SECONDS)
    check_seed(args.seed)
    check_sampling_arguments(args)
    check_audio_file("--audio-prompt", args.audio_prompt)
    if args.rescore_weight is not None and not 0 <= args.rescore_weight <= 1:
        raise ValueError(
            f"--rescore-weight {args.rescore_weight} is outside [0, 1] (the rescorer's share of the confidence)."
        )
    check_positive("--hybrid-ar-seconds", args.hybrid_ar_seconds)


def check_evaluate_arguments(args: argparse.Namespace) -> None:
    """`audiogen-hf evaluate`: the report's path writable and never one of the inputs (the prompts file, the
    reference folder and --duration are checked by `evaluate()` itself before it loads any model)."""
    check_device(args.device)
    check_seed(args.seed)
    if args.output:
        check_output_path(args.output, overwrite=args.overwrite, inputs=[args.prompts])


def check_judge_arguments(args: argparse.Namespace) -> None:
    """`audiogen-hf judge`: counts and durations in range, the JSON report's path writable."""
    check_device(args.device)
    check_positive("--duration", args.duration, upper=60.0)
    check_seed(args.seed)
    if not 1 <= args.clips_per_template <= 1000:
        raise ValueError(f"--clips-per-template must be in [1, 1000], got {args.clips_per_template}.")
    if args.json:
        check_output_path(args.json, overwrite=args.overwrite)


def check_demo_arguments(args: argparse.Namespace) -> None:
    check_device(args.device)
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be in [0, 65535] (0: any free port), got {args.port}.")
