"""The one way this package writes a user-visible file: checked before any work, never onto one of its own
inputs, never over an existing file unless asked, and atomically (a temporary file in the same folder, then a
rename), so an interrupted run leaves no half-written file under the real name.

Every command that writes audio or reports (the CLI, bulk generation, evaluation reports) goes through here.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

TEMP_MARK = ".part-"


class OutputExistsError(FileExistsError):
    """The output file exists and overwriting was not asked for."""


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def check_output_path(
    path: str | os.PathLike, *, overwrite: bool = False, inputs: Iterable[str | os.PathLike | None] = ()
) -> Path:
    """Refuse, before anything expensive runs, an output that would lose data or cannot be written: one of the
    run's own inputs (even with `overwrite`), a folder, an existing file without `overwrite`, or a place that
    cannot be written. Returns the path; creates no file (missing parent folders are created)."""
    path = Path(path)
    if str(path) in ("", "."):
        raise ValueError("the output path is empty; give a file name such as out.wav.")
    for given in inputs:
        if given is not None and _same_file(path, Path(given)):
            raise ValueError(
                f"the output {path} is one of this run's inputs ({given}); writing it would destroy the input. "
                "Choose another output name (even --overwrite never writes onto an input)."
            )
    if path.is_dir():
        raise IsADirectoryError(
            f"the output {path} is a folder; give a file name inside it, e.g. {path / 'out.wav'}."
        )
    if path.exists() and not overwrite:
        raise OutputExistsError(
            f"the output {path} already exists; pass --overwrite (Python: overwrite=True) to replace it, or "
            "choose another name."
        )
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        raise NotADirectoryError(f"the output's folder {parent} is a file; choose an output inside a folder.")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PermissionError(
            f"cannot create the output folder {parent}: {error.strerror or error}."
        ) from error
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"the output folder {parent} is not writable; choose another output location.")
    return path


def temporary_path(path: Path) -> Path:
    """A hidden sibling of `path` with the same suffix (so writers that infer the format from it still work)."""
    return path.with_name(f".{path.stem}{TEMP_MARK}{os.getpid()}-{secrets.token_hex(4)}{path.suffix}")


def publish(temporary: Path, path: Path, *, overwrite: bool = False) -> Path:
    """Give a finished temporary file its real name. Without `overwrite` this never replaces a file that
    appeared meanwhile (hard link: atomic and exclusive), with it the rename replaces it atomically."""
    if overwrite:
        os.replace(temporary, path)
        return path
    try:
        os.link(temporary, path)
    except FileExistsError as error:
        temporary.unlink(missing_ok=True)
        raise OutputExistsError(
            f"the output {path} appeared while this run was writing it; nothing was replaced. Pass --overwrite "
            "to replace it."
        ) from error
    except OSError:  # a file system without hard links: exclusive check, then rename
        if path.exists():
            temporary.unlink(missing_ok=True)
            raise OutputExistsError(
                f"the output {path} already exists; pass --overwrite to replace it."
            ) from None
        os.replace(temporary, path)
        return path
    temporary.unlink()
    return path


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """`with atomic_output(p) as tmp: write(tmp)`: the file appears under `p` only when the block succeeds; on
    any error (or an interrupt) the temporary file is removed and `p` is untouched."""
    path = Path(path)
    temporary = temporary_path(path)
    try:
        yield temporary
        if not temporary.exists():
            raise FileNotFoundError(f"nothing was written for {path}")
        with open(temporary, "rb+") as f:
            os.fsync(f.fileno())
        publish(temporary, path, overwrite=overwrite)
    finally:
        temporary.unlink(missing_ok=True)


def write_file(path: str | os.PathLike, write: Callable[[Path], None], *, overwrite: bool = False) -> Path:
    """Run `write(temporary_path)` and publish it as `path` (see `atomic_output`)."""
    with atomic_output(path, overwrite=overwrite) as temporary:
        write(temporary)
    return Path(path)


def write_audio(
    path: str | os.PathLike, audio, sampling_rate: int, *, overwrite: bool = False, subtype: str | None = None
) -> Path:
    """Write `audio` ([channels, samples] or [samples]) as a sound file (format from the suffix), atomically."""
    try:
        import soundfile
    except ImportError as error:
        raise ImportError("writing audio files needs soundfile: pip install soundfile.") from error

    data = np.asarray(audio, dtype=np.float32)
    data = data.T if data.ndim == 2 else data
    fmt = Path(path).suffix.lstrip(".").upper() or None
    return write_file(
        path,
        lambda tmp: soundfile.write(
            tmp, np.ascontiguousarray(data), int(sampling_rate), subtype=subtype, format=fmt
        ),
        overwrite=overwrite,
    )


def write_text(path: str | os.PathLike, text: str, *, overwrite: bool = False) -> Path:
    """Write a text file (a report, a manifest) atomically."""
    return write_file(path, lambda tmp: tmp.write_text(text), overwrite=overwrite)
