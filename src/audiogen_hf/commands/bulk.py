"""`audiogen-hf generate --prompts-file F --output-dir D [--num-per-prompt N] [--batch-size B] [--rerank ...]`:
bulk generation from the command line (the library is `audiogen_hf.bulk`); also under `torchrun` and
`accelerate launch`, which share the batches between processes."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from ..bulk.folder import check_output_folder
from ..bulk.planning import plan_clips
from ..bulk.processes import process_state
from ..bulk.requests import as_requests, read_prompts_file
from ..bulk.rerank import SCORERS, check_rerank
from ..bulk.runner import generate_batch
from ..loading import load_model_and_processor
from .argument_checks import check_generate_arguments
from .arguments import generation_knobs
from .infill_loop import infill_loop_knobs
from .threads import apply_cli_threads

DEFAULT_BATCH_SIZE = 8
BULK_ONLY = {
    "num_per_prompt": "--num-per-prompt",
    "batch_size": "--batch-size",
    "rerank": "--rerank",
    "keep": "--keep",
    "clap": "--clap",
}


def add_bulk_arguments(parser: argparse.ArgumentParser) -> None:
    bulk = parser.add_argument_group("bulk generation (a folder of clips with manifest.jsonl; resumable)")
    bulk.add_argument(
        "--prompts-file",
        default=None,
        help="text file (one prompt per line) or JSONL (prompt, seed, duration, negative_prompt, name); "
        "'@FILE' as the only prompt means the same",
    )
    bulk.add_argument("--output-dir", default=None, help="folder for the clips and manifest.jsonl")
    bulk.add_argument(
        "--num-per-prompt", type=int, default=None, help="clips (variants) per prompt (default 1)"
    )
    bulk.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help=f"clips per model call, across prompts of the same length (default {DEFAULT_BATCH_SIZE})",
    )
    bulk.add_argument(
        "--rerank", choices=SCORERS, default=None, help="best of --num-per-prompt candidates by this scorer"
    )
    bulk.add_argument(
        "--keep", type=int, default=None, help="with --rerank: clips kept per prompt (default 1)"
    )
    bulk.add_argument("--clap", default=None, help="local CLAP model folder for --rerank clap")


def uses_bulk(args: argparse.Namespace) -> bool:
    """Bulk mode: a prompts file, an output folder, a bulk-only option, an '@FILE' prompt, or no prompt (which
    `main_bulk` refuses with the fix)."""
    given = [name for name in BULK_ONLY if getattr(args, name) is not None]
    files = args.prompts_file is not None or any(p.startswith("@") for p in args.prompts)
    return files or args.output_dir is not None or bool(given) or not args.prompts


def _requests(args: argparse.Namespace):
    prompts_file = args.prompts_file
    at_files = [p for p in args.prompts if p.startswith("@")]
    if at_files:
        if len(args.prompts) > 1 or prompts_file is not None:
            raise ValueError(
                f"{at_files[0]!r} names a prompts file; give it alone (generate @prompts.txt --output-dir D) or "
                "as --prompts-file, not together with other prompts."
            )
        prompts_file = at_files[0][1:]
    elif prompts_file is not None and args.prompts:
        raise ValueError("give prompts as arguments or with --prompts-file, not both.")
    if prompts_file is None and not args.prompts:
        raise ValueError('give at least one prompt ("a dog barks") or --prompts-file FILE --output-dir DIR.')
    return read_prompts_file(prompts_file) if prompts_file is not None else as_requests(args.prompts)


def _check_arguments(args: argparse.Namespace) -> None:
    if args.output_dir is None:
        given = [flag for name, flag in BULK_ONLY.items() if getattr(args, name) is not None]
        what = ", ".join(given) or "a prompts file"
        raise ValueError(f"{what}: bulk generation writes a folder of clips; pass --output-dir DIR too.")
    unsupported = {
        "--output": args.output,
        "--stream": args.stream,
        "--audio-prompt": args.audio_prompt,
        "--infill": getattr(args, "infill", None),
    }
    for flag, value in unsupported.items():
        if value:
            raise ValueError(
                f"{flag} is for single runs; bulk generation writes --output-dir with its own names."
            )
    for flag, value in (("--num-per-prompt", args.num_per_prompt), ("--batch-size", args.batch_size)):
        if value is not None and value < 1:
            raise ValueError(f"{flag} must be a whole number >= 1, got {value}.")
    if args.clap is not None and args.rerank != "clap":
        raise ValueError("--clap is the CLAP model of --rerank clap; pass --rerank clap too.")


def _named_settings(args: argparse.Namespace) -> dict:
    """What the manifest records besides the generate() knobs: the dtype and MAGNeT's helper models by name."""
    names = ("dtype", "rescorer", "rescore_weight", "hybrid_ar_seconds", "ar_model")
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def main_bulk(args: argparse.Namespace, magnet_methods: Callable) -> int:
    """Run bulk generation; `magnet_methods(model, args, knobs)` is the CLI's MAGNeT rescoring / hybrid set-up
    (passed in: this module must not import the CLI that imports it). User errors are raised for the CLI's
    `run_command` to print as one line."""
    check_generate_arguments(args)
    requests = _requests(args)
    _check_arguments(args)
    num_per_prompt = 1 if args.num_per_prompt is None else args.num_per_prompt
    seed = 0 if args.seed is None else args.seed
    check_rerank(args.rerank, args.keep, num_per_prompt)
    # before the model loads: a wrong folder or someone's file under a clip's name stops the run now
    check_output_folder(args.output_dir, plan_clips(requests, num_per_prompt, seed), args.overwrite)
    state = process_state(args.device)
    device = args.device
    if state.num_processes > 1 and device == "cuda":
        device = str(state.device)  # one GPU per process
    model, processor = load_model_and_processor(args.model, device, args.dtype)
    apply_cli_threads(model, args)  # under torchrun, OMP_NUM_THREADS=1 (torchrun's default) is kept
    knobs = generation_knobs(args, model)
    infill_loop_knobs(model, args, knobs)  # --loop (MAGNeT), checked as in single runs
    model = magnet_methods(model, args, knobs)
    summary = generate_batch(
        model,
        processor,
        requests,
        args.output_dir,
        num_per_prompt=num_per_prompt,
        batch_size=DEFAULT_BATCH_SIZE if args.batch_size is None else args.batch_size,
        seed=seed,
        duration=args.duration,
        negative_prompt=args.negative_prompt,
        rerank=args.rerank,
        keep=args.keep,
        clap_model=args.clap,
        overwrite=args.overwrite,
        progress=not args.no_progress,
        device=device,
        model_name=args.model,
        settings=_named_settings(args),
        **knobs,
    )
    if state.is_main_process:
        print(summary)
    return 0
