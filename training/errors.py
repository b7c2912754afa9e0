"""User mistakes in a training run, reported as one line instead of a traceback.

`UsageError` is a wrong argument, config file, data path or output_dir: its message names it and the fix.
`report_user_errors` (train.py's `main`) prints such an error, and the `ValueError` / `FileNotFoundError`
checks raised by the trainer's own modules (they all name the fix), as `error: ...` and exits with status 2.
Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

EXIT_USAGE = 2
TRAINING_DIR = Path(__file__).resolve().parent


class UsageError(ValueError):
    """A mistake in the run's arguments, config file, data or output_dir; the message names the fix."""


class MissingDataError(UsageError, FileNotFoundError):
    """Data the arguments point at is not there (a usage error that is also a missing file)."""


def raised_by_trainer(error: BaseException) -> bool:
    """Whether the innermost frame of the error's traceback is in one of the trainer's modules."""
    tb = error.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    return Path(tb.tb_frame.f_code.co_filename).resolve().is_relative_to(TRAINING_DIR)


def is_user_error(error: BaseException) -> bool:
    if isinstance(error, UsageError):
        return True
    checks = (ValueError, FileNotFoundError, NotADirectoryError, IsADirectoryError, FileExistsError)
    return isinstance(error, checks) and raised_by_trainer(error)


@contextlib.contextmanager
def report_user_errors() -> Iterator[None]:
    """Turn a user mistake into `error: <message>` on stderr and exit status 2."""
    try:
        yield
    except Exception as error:
        if not is_user_error(error):
            raise
        print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None
