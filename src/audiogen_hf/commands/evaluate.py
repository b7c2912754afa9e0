"""`audiogen-hf evaluate --model M --prompts FILE --reference-dir D [--clap PATH] [--output report.json]`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


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
    parser.add_argument("--duration", type=float, default=None, help="seconds per clip (default: model's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def main_evaluate(args: argparse.Namespace) -> int:
    from ..evaluation.evaluate import evaluate

    try:
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
    except (ValueError, FileNotFoundError) as error:
        raise SystemExit(f"error: {error}") from error
    text = json.dumps(report, indent=2)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text + "\n")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        print(text)
    return 0
