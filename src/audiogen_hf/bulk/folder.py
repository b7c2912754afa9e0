"""The output folder of a bulk run: which planned clips are done, and whether the others may be written.

Why checked before the model loads: a wrong folder (a file, unwritable, someone else's files under the clips'
names, clips made with other settings) must stop the run at once, not after the first batch.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..output_files import TEMP_MARK, OutputExistsError, check_output_path
from .manifest import MANIFEST_NAME, Manifest
from .planning import PlannedClip


def normalized(value):
    """`value` as it reads back from the manifest (tuples as lists, other objects by type name)."""
    return json.loads(json.dumps(value, default=lambda obj: type(obj).__name__))


def check_output_folder(
    folder: str | Path, clips: list[PlannedClip], overwrite: bool = False, settings: dict | None = None
) -> dict[str, dict]:
    """The manifest records of the clips already done (file and line present), after checking that the
    folder can hold the others: a clip file without a manifest line is remade only when the folder already has
    a manifest (an interrupted bulk run) or with `overwrite`; done clips must match `settings` unless
    `overwrite` (then every clip is remade)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(
            f"--output-dir {folder} is a file; give a folder (it is created if missing)."
        )
    check_output_path(folder / MANIFEST_NAME, overwrite=True)
    manifest = Manifest(folder)
    if overwrite:
        return {}
    recorded = manifest.done()
    done = {clip.file: recorded[clip.file] for clip in clips if clip.file in recorded}
    expected = None if settings is None else normalized(settings)
    for clip in clips:
        record = done.get(clip.file)
        if record is None:
            if (folder / clip.file).exists() and not manifest.exists():
                raise OutputExistsError(
                    f"{folder / clip.file} exists but {folder} has no {MANIFEST_NAME}, so it is not a clip of "
                    "an interrupted bulk run; pass --overwrite to replace it, or choose an empty --output-dir."
                )
            continue
        _check_same_clip(folder, clip, record, expected)
    return done


def _check_same_clip(folder: Path, clip: PlannedClip, record: dict, settings: dict | None) -> None:
    asked = {"prompt": clip.request.prompt, "seed": clip.seed}
    if settings is not None:
        asked["settings"] = settings
    for key, value in asked.items():
        if record.get(key) != value:
            raise ValueError(
                f"{folder / clip.file} was made with another {key} ({record.get(key)!r}, now {value!r}); "
                "a resumed run must repeat the same command. Use another --output-dir, or pass --overwrite "
                "to remake every clip."
            )


def remove_stale_temporaries(folder: str | Path, clips: list[PlannedClip]) -> int:
    """Delete the hidden temporary files a killed run left for these clips (`.<name>.part-<pid>-<hex>.wav`);
    call from one process before any clip is written. Returns how many were removed."""
    removed = 0
    for clip in clips:
        for stale in Path(folder).glob(f".{Path(clip.file).stem}{TEMP_MARK}*"):
            stale.unlink(missing_ok=True)
            removed += 1
    return removed
