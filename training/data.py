"""Reading training data: every source becomes a `datasets.Dataset` with two columns, `audio` (an
`Audio(decode=False)` dict of `path`/`bytes`, decoded here with soundfile) and `captions` (a list of cleaned
descriptions; one is drawn per use, as audiocraft does for multi-description sidecars).

Bad audio (missing, unreadable or empty) never stops a run: `read_audio` raises `BadAudio` with a reason that
the callers count and log. A missing column or an unreadable manifest is an error before training starts.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import julius
import numpy as np
import soundfile as sf
import torch
from datasets import Audio, Dataset, load_from_disk

from training.errors import UsageError

from .sources import check_source_options, load_named_dataset, standardize_dataset

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")


class BadAudio(Exception):
    """An example whose audio cannot be used; `reason` is one of "missing", "corrupt", "empty"."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class SkipCounter(Counter):
    """Counts skipped examples by reason, for the log ("skipped 3 examples: 2 missing, 1 corrupt")."""

    def describe(self) -> str:
        total = sum(self.values())
        if not total:
            return "no example skipped"
        return f"skipped {total} example(s): " + ", ".join(f"{n} {r}" for r, n in sorted(self.items()))


def clean_caption(text) -> str:
    """audiocraft's `get_keyword`: strip and lower-case; None / non-strings / 'None' become "" (unconditional)."""
    if not isinstance(text, str) or text == "None":
        return ""
    return text.strip().lower()


def clean_captions(value) -> list[str]:
    """One caption or a list of captions (a sidecar `description` may be either)."""
    values = value if isinstance(value, (list, tuple)) else [value]
    cleaned = [clean_caption(v) for v in values]
    return cleaned or [""]


def pick_caption(captions: list[str], generator: torch.Generator) -> str:
    if len(captions) == 1:
        return captions[0]
    return captions[int(torch.randint(len(captions), (1,), generator=generator).item())]


# --------------------------------------------------------------------------------------------------- sources
def load_source(data_args, output_dir: str, seed: int) -> Dataset:
    """The one configured source, standardised to `audio` + `captions` columns."""
    from .synthetic import write_synthetic_dataset

    sources = {
        "dataset_name": data_args.dataset_name,
        "dataset_path": data_args.dataset_path,
        "audio_folder": data_args.audio_folder,
        "manifest": data_args.manifest,
        "synthetic_examples": data_args.synthetic_examples or None,
    }
    given = [k for k, v in sources.items() if v is not None]
    if len(given) != 1:
        raise ValueError(
            f"give exactly one data source among {list(sources)}; got {given or 'none'}. "
            "Example: --audio_folder data/sounds (with metadata.jsonl of file_name + caption)."
        )
    check_source_options(data_args)
    audio_col, caption_col = data_args.audio_column, data_args.caption_column
    if data_args.dataset_name is not None:
        with _naming_source("dataset_name", data_args.dataset_name):
            ds = load_named_dataset(data_args, streaming=False)
        ds = standardize(ds, audio_col, caption_col, data_args.dataset_name)
    elif data_args.dataset_path is not None:
        with _naming_source("dataset_path", data_args.dataset_path):
            ds = load_from_disk(data_args.dataset_path)
        if not isinstance(ds, Dataset):
            if data_args.dataset_split not in ds:
                raise ValueError(
                    f"{data_args.dataset_path} has splits {list(ds)}, not '{data_args.dataset_split}'; "
                    "set --dataset_split."
                )
            ds = ds[data_args.dataset_split]
        ds = standardize(ds, audio_col, caption_col, data_args.dataset_path)
    elif data_args.audio_folder is not None:
        ds = from_audio_folder(data_args.audio_folder, data_args.metadata_file, caption_col)
    elif data_args.manifest is not None:
        ds = from_manifest(data_args.manifest)
    else:
        folder = write_synthetic_dataset(
            Path(output_dir) / "synthetic_data", data_args.synthetic_examples, seed
        )
        ds = from_audio_folder(str(folder), None, "caption")
    if data_args.max_train_samples is not None:
        ds = ds.select(range(min(data_args.max_train_samples, len(ds))))
    if len(ds) == 0:
        raise ValueError("the training dataset is empty; check the data source.")
    return ds


@contextlib.contextmanager
def _naming_source(argument: str, value: str) -> Iterator[None]:
    """A dataset that cannot be read is the user's argument to fix: one error naming it (not a traceback)."""
    try:
        yield
    except UsageError:  # already names the argument and the fix
        raise
    except (OSError, ConnectionError, ValueError) as error:  # datasets' not-found / offline / bad split
        raise UsageError(
            f"--{argument} {value} cannot be read ({' '.join(str(error).split())[:300]}); check the name, path, "
            "--dataset_config_name / --dataset_split, or the network."
        ) from error


def standardize(ds: Dataset, audio_column: str, caption_column: str, name: str) -> Dataset:
    """Keep `audio` (undecoded) and `captions` from a `datasets` dataset; missing columns are an error."""
    return standardize_dataset(ds, audio_column, caption_column, name)


def _from_lists(paths: list[str], captions: list[list[str]]) -> Dataset:
    ds = Dataset.from_dict({"audio": paths, "captions": captions})
    return ds.cast_column("audio", Audio(decode=False))


def from_audio_folder(folder: str, metadata_file: str | None, caption_column: str) -> Dataset:
    """A folder of audio with `metadata.jsonl` / `metadata.csv` rows `{file_name, <caption_column>}`."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"audio_folder {folder} is not a directory.")
    if metadata_file is None:
        candidates = [root / "metadata.jsonl", root / "metadata.csv"]
        found = [c for c in candidates if c.is_file()]
        if not found:
            raise FileNotFoundError(
                f"{folder} has no metadata.jsonl or metadata.csv; add one with `file_name` and "
                f"`{caption_column}` columns, or pass --metadata_file."
            )
        metadata = found[0]
    else:
        metadata = Path(metadata_file)
    rows = _read_rows(metadata)
    for column in ("file_name", caption_column):
        if rows and column not in rows[0]:
            raise ValueError(
                f"{metadata} has no `{column}` column (columns: {sorted(rows[0])}); the metadata needs "
                f"`file_name` and `{caption_column}` (set --caption_column for another name)."
            )
    paths = [str(root / r["file_name"]) for r in rows]
    return _from_lists(paths, [clean_captions(r.get(caption_column)) for r in rows])


def _read_rows(path: Path) -> list[dict]:
    if not path.is_file():
        raise FileNotFoundError(f"metadata file {path} does not exist.")
    if path.suffix == ".csv":
        with open(path, newline="") as f:
            return list(csv.DictReader(f))
    if path.suffix in (".jsonl", ".json"):
        return _read_jsonl(path)
    raise ValueError(f"metadata file {path} must be .csv or .jsonl.")


def _read_jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    rows = []
    try:
        with opener(path, "rt") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(
                        f"{path}, line {number}: not valid JSON ({err}); fix or remove that line."
                    ) from err
                if not isinstance(row, dict):
                    raise ValueError(
                        f"{path}, line {number}: expected a JSON object, got {type(row).__name__}."
                    )
                rows.append(row)
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise ValueError(f"cannot read {path} ({err}); is it a (gzipped) JSONL file?") from err
    return rows


def from_manifest(manifest: str) -> Dataset:
    """audiocraft's `data.jsonl[.gz]`: one `{"path", "duration", "sample_rate", ...}` per line; the caption is the
    `description` of the sibling `<audio>.json` (a missing sidecar means an empty, unconditional caption)."""
    path = Path(manifest)
    if not path.is_file():
        raise FileNotFoundError(f"manifest {manifest} does not exist.")
    rows = _read_jsonl(path)
    if not rows:
        raise ValueError(f"manifest {manifest} has no entry.")
    paths, captions = [], []
    for number, row in enumerate(rows, 1):
        if "path" not in row:
            raise ValueError(f"{manifest}, entry {number}: no `path` field; audiocraft manifests need one.")
        audio = Path(row["path"])
        if not audio.is_absolute() and not audio.exists():
            audio = path.parent / audio
        paths.append(str(audio))
        captions.append(clean_captions(_read_sidecar(audio, row)))
    return _from_lists(paths, captions)


def _read_sidecar(audio: Path, row: dict):
    info = Path(row["info_path"]) if row.get("info_path") else audio.with_suffix(".json")
    if not info.is_file():
        return row.get("description")
    try:
        return json.loads(info.read_text()).get("description")
    except (OSError, ValueError, AttributeError):
        return None


# --------------------------------------------------------------------------------------------------- decoding
def read_audio(audio: dict, sampling_rate: int, max_seconds: float | None = None) -> torch.Tensor:
    """Mono float32 `[samples]` at `sampling_rate` (julius resampling, channel average), at most `max_seconds`.

    Raises `BadAudio` for missing, unreadable or empty files.
    """
    data, path = audio.get("bytes"), audio.get("path")
    if data is None and (path is None or not os.path.isfile(path)):
        raise BadAudio("missing", str(path))
    source = io.BytesIO(data) if data is not None else path
    try:
        with sf.SoundFile(source) as f:
            rate = f.samplerate
            frames = f.frames if max_seconds is None else min(f.frames, int(max_seconds * rate) + 1)
            wav = f.read(frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError) as err:
        raise BadAudio("corrupt", f"{path}: {err}") from err
    if wav.shape[0] == 0:
        raise BadAudio("empty", str(path))
    if not np.isfinite(wav).all():
        raise BadAudio("corrupt", f"{path}: NaN or inf samples")
    tensor = torch.from_numpy(wav.T.copy()).mean(0)
    if rate != sampling_rate:
        tensor = julius.resample_frac(tensor, rate, sampling_rate)
    if max_seconds is not None:
        tensor = tensor[: int(max_seconds * sampling_rate)]
    return tensor


def crop_or_pad(wav: torch.Tensor, length: int, generator: torch.Generator) -> torch.Tensor:
    """A random `length`-sample window of `wav` (audiocraft's random seek), zero-padded at the end if short."""
    if wav.shape[-1] > length:
        start = int(torch.randint(0, wav.shape[-1] - length + 1, (1,), generator=generator).item())
        return wav[..., start : start + length]
    return torch.nn.functional.pad(wav, (0, length - wav.shape[-1]))


def probe_audio(ds: Dataset) -> tuple[list[int], SkipCounter]:
    """Indices of examples whose audio header reads and has frames (used when there is no codes cache)."""
    keep, skipped = [], SkipCounter()
    for i, audio in enumerate(ds["audio"]):
        try:
            data, path = audio.get("bytes"), audio.get("path")
            if data is None and (path is None or not os.path.isfile(path)):
                raise BadAudio("missing", str(path))
            try:
                info = sf.info(io.BytesIO(data) if data is not None else path)
            except (sf.LibsndfileError, RuntimeError, ValueError, TypeError) as err:
                raise BadAudio("corrupt", str(path)) from err
            if info.frames == 0:
                raise BadAudio("empty", str(path))
            keep.append(i)
        except BadAudio as bad:
            skipped[bad.reason] += 1
    return keep, skipped
