"""`audiogen-hf judge MODEL [MODEL ...]`: the DSP judge's adherence table for one or more models."""

from __future__ import annotations

import argparse
import json

from ..evaluation.judge import run_judge
from ..output_files import write_text
from .argument_checks import add_overwrite_argument, check_judge_arguments, run_command
from .arguments import add_dtype_argument


def add_judge_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("models", nargs="+", help="model folders, Hub ids or aliases to judge")
    parser.add_argument("--clips-per-template", type=int, default=4, help="clips generated per prompt")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--duration", type=float, default=1.5, help="seconds per clip")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", default=None, help="also write the reports to this JSON file")
    add_overwrite_argument(parser)
    add_dtype_argument(parser, default="float32")  # the shipped judge reports are float32
    return parser


def main_judge(args: argparse.Namespace) -> int:
    check_judge_arguments(args)  # before any model is loaded
    reports = run_judge(
        args.models,
        args.clips_per_template,
        args.seed,
        duration=args.duration,
        device=args.device,
        dtype=args.dtype,
    )
    if args.json:
        write_text(args.json, json.dumps(reports, indent=2), overwrite=args.overwrite)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = add_judge_arguments(argparse.ArgumentParser(description="Score prompt adherence of models."))
    return run_command(main_judge, parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
