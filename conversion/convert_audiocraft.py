"""Convert an audiocraft AudioGen / MAGNeT export to a transformers folder.

    python conversion/convert_audiocraft.py --checkpoint facebook/audiogen-medium --output audiogen-medium-hf
    python conversion/convert_audiocraft.py --checkpoint ./magnet-small-10secs --output out \\
        --text-encoder ./t5-base --dtype float16 --push-to-hub me/magnet-small-10secs-hf
"""

from __future__ import annotations

import argparse
import sys

from audiogen_hf.conversion import CheckpointError, convert_and_save


def one_line(error: Exception) -> str:
    """The message on one line (some wrapped errors carry several)."""
    return " ".join(str(error).split())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--checkpoint",
        required=True,
        help="folder or Hub repo with state_dict.bin + compression_state_dict.bin",
    )
    parser.add_argument("--output", required=True, help="folder to write the converted model to")
    parser.add_argument(
        "--text-encoder", default=None, help="T5 folder or Hub id (default: the one named in xp.cfg)"
    )
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    parser.add_argument("--push-to-hub", default=None, metavar="REPO", help="also upload to this Hub repo")
    parser.add_argument(
        "--overwrite", action="store_true", help="write into a non-empty --output (its other files are kept)"
    )
    args = parser.parse_args(argv)
    try:
        path = convert_and_save(
            args.checkpoint, args.output, args.text_encoder, args.dtype, args.push_to_hub, args.overwrite
        )
    except CheckpointError as error:
        print(f"error: {one_line(error)}", file=sys.stderr)
        return 2
    except OSError as error:  # writing the output: a full disk, a folder removed or made read-only meanwhile
        print(
            f"error: writing {args.output} failed ({one_line(error)}); fix that and convert again.",
            file=sys.stderr,
        )
        return 1
    print(f"converted {args.checkpoint} -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
