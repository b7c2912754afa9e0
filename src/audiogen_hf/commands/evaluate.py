"""`audiogen-hf evaluate --model M --prompts FILE --reference-dir D [--clap PATH] [--output report.json]`."""

from __future__ import annotations

import argparse
import json
import sys

from ..output_files import write_text
from .argument_checks import add_overwrite_argument, check_evaluate_arguments


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--model", default="default", help="saved model folder, Hub id or alias to evaluate")
    parser.add_argument("--prompts", required=True, help="text file, one prompt per line (# comments)")
    parser.add_argument(
        "--reference-dir",
        required=True,
        help="folder of reference clips (wav/flac/ogg); sorted by name, clip i pairs with prompt i for KL",
    )
    parser.add_argument(
        "--clap", default=None, help="local CLAP model folder (save_pretrained) for the CLAP score"
    )
    parser.add_argument(
        "--embedder",
        default="dsp",
        help="embeddings for FD/KL: 'dsp' (the built-in DSP judge features), 'clap' (the --clap model's "
        "audio embeddings) or 'module:function' (your callable f(clips, sampling_rate))",
    )
    parser.add_argument("--output", default=None, help="write the JSON report here (default: print it)")
    add_overwrite_argument(parser)
    parser.add_argument("--duration", type=float, default=None, help="seconds per clip (default: model's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def main_evaluate(args: argparse.Namespace) -> int:
    from ..evaluation.evaluate import evaluate

    check_evaluate_arguments(args)  # before any model is loaded or clip generated
    report = evaluate(
        args.model,
        args.prompts,
        args.reference_dir,
        clap_path=args.clap,
        duration=args.duration,
        seed=args.seed,
        device=args.device,
        embedder=args.embedder,
        progress=not args.no_progress,
    )
    text = json.dumps(report, indent=2)
    if args.output:
        write_text(args.output, text + "\n", overwrite=args.overwrite)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        print(text)
    return 0
