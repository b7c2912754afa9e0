"""`python -m audiogen_hf generate "a dog barks"`: the same as the `audiogen-hf` command."""

from .commands.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
