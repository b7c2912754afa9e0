"""Convert an audiocraft AudioGen / MAGNeT export to a transformers folder (weights, code, model card).

    python conversion/convert_audiocraft.py --checkpoint facebook/audiogen-medium --output audiogen-medium-hf
    python conversion/convert_audiocraft.py --checkpoint ./magnet-small-10secs --output out \\
        --text-encoder ./t5-base --dtype float16 --push-to-hub me/magnet-small-10secs-hf
    python conversion/convert_audiocraft.py --all --output converted --push-to-hub "me/{name}-hf"

Meta's seven releases are known by name (--list shows them): their family and text encoder are checked and
chosen for you, and --all converts them one by one into --output/<name>.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from audiogen_hf.conversion import CheckpointError, convert_and_save
from audiogen_hf.hub.releases import RELEASES


def one_line(error: Exception) -> str:
    """The message on one line (some wrapped errors carry several)."""
    return " ".join(str(error).split())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--checkpoint", help="folder or Hub repo with state_dict.bin + compression_state_dict.bin"
    )
    which.add_argument(
        "--all", action="store_true", help="convert Meta's seven releases into --output/<name>"
    )
    which.add_argument("--list", action="store_true", help="list the released checkpoints known by name")
    parser.add_argument("--output", help="folder to write the converted model to (with --all: their parent)")
    parser.add_argument(
        "--text-encoder",
        default=None,
        help="T5 folder or Hub id (default: the one the checkpoint was trained with)",
    )
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    parser.add_argument(
        "--push-to-hub",
        default=None,
        metavar="REPO",
        help="also upload the folder to this Hub repo (with --all a pattern with {name}, e.g. me/{name}-hf)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="write into a non-empty --output (its other files are kept)"
    )
    parser.add_argument(
        "--license", default=None, help="the card's licence id (default: cc-by-nc-4.0 for Meta's)"
    )
    parser.add_argument("--license-name", default=None, help="the licence's name when --license is 'other'")
    return parser


def _jobs(args: argparse.Namespace) -> list[tuple[str, Path, str | None]]:
    if not args.all:
        return [(args.checkpoint, Path(args.output), args.push_to_hub)]
    if args.push_to_hub and "{name}" not in args.push_to_hub:
        raise CheckpointError(
            "with --all, --push-to-hub must contain {name} (e.g. me/{name}-hf), one repo each."
        )
    if args.text_encoder:
        raise CheckpointError("--text-encoder applies to one checkpoint; --all uses each release's own T5.")
    return [
        (
            hub_id,
            Path(args.output) / r.name,
            args.push_to_hub.format(name=r.name) if args.push_to_hub else None,
        )
        for hub_id, r in RELEASES.items()
    ]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.list:
        for hub_id, release in RELEASES.items():
            print(f"{hub_id:32s} {release.family:9s} {release.text_encoder:20s} {release.description}")
        return 0
    if not args.output:
        print("error: --output is required (the folder to write; with --all, their parent).", file=sys.stderr)
        return 2
    try:
        for checkpoint, output, repo in _jobs(args):
            path = convert_and_save(
                checkpoint,
                output,
                args.text_encoder,
                args.dtype,
                repo,
                args.overwrite,
                license=args.license,
                license_name=args.license_name,
            )
            print(f"converted {checkpoint} -> {path}" + (f" (pushed to {repo})" if repo else ""))
    except CheckpointError as error:
        print(f"error: {one_line(error)}", file=sys.stderr)
        return 2
    except OSError as error:  # writing the output: a full disk, a folder removed or made read-only meanwhile
        print(
            f"error: writing {args.output} failed ({one_line(error)}); fix that and convert again.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
