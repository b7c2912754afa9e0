"""`datasets` sources as users keep them: a Hub id, a local folder, or a builder (`parquet`, `json`, `csv`,
`audiofolder`, `webdataset`) pointed at `data_files` / `data_dir`, map-style or streamed.

`datasets` 5.x decodes and even *encodes* its `Audio` feature through torchcodec, whose wheels do not load with
CPU torch; an `audiofolder` or a webdataset shard then fails with "please install torchcodec" before a single
example is read. Every `Audio` feature is therefore swapped for `UndecodedAudio` before loading: it stores the
`{bytes, path}` pair as it is, and training decodes it with soundfile (`training.data.read_audio`).
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

from datasets import Audio, Dataset, Features, IterableDataset, Sequence, Value, load_dataset

from training.errors import MissingDataError


@dataclass
class UndecodedAudio(Audio):
    """An `Audio` feature (so folder builders still find their audio files) that stores `{bytes, path}` without
    torchcodec. Paths, raw bytes and `{bytes, path}` dicts are accepted; decoded arrays are not. Always build it
    with `decode=False` spelled out: `datasets` serialises features and drops fields left at their default."""

    def encode_example(self, value) -> dict:
        if isinstance(value, (str, Path)):
            return {"bytes": None, "path": str(value)}
        if isinstance(value, (bytes, bytearray)):
            return {"bytes": bytes(value), "path": None}
        if isinstance(value, dict) and ("bytes" in value or "path" in value):
            return {"bytes": value.get("bytes"), "path": value.get("path")}
        raise ValueError(
            f"cannot keep a {type(value).__name__} as undecoded audio; the audio column must hold file paths, "
            "bytes or {bytes, path} dicts."
        )


CLIP_FEATURES = Features({"audio": UndecodedAudio(decode=False), "captions": Sequence(Value("string"))})


def undecoded(features: Features | None) -> Features | None:
    """`features` with every top-level `Audio` replaced by `UndecodedAudio` (None when nothing to replace)."""
    if features is None or all(
        isinstance(f, UndecodedAudio) or not isinstance(f, Audio) for f in features.values()
    ):
        return None
    return Features(
        {k: UndecodedAudio(decode=False) if isinstance(f, Audio) else f for k, f in features.items()}
    )


def load_named_dataset(data_args, streaming: bool) -> Dataset | IterableDataset:
    """`load_dataset(dataset_name, dataset_config_name, data_files=, data_dir=, split=)`, audio left undecoded.

    The features are read from a stream first (nothing is prepared or cached), so that the real load can be
    told to keep audio undecoded."""
    kwargs = {
        "data_files": list(data_args.data_files) if data_args.data_files else None,
        "data_dir": data_args.data_dir,
        "split": data_args.dataset_split,
    }
    name, config = data_args.dataset_name, data_args.dataset_config_name
    check_local_files(kwargs["data_files"], kwargs["data_dir"])
    try:
        probe = load_dataset(name, config, streaming=True, **kwargs)
        features = undecoded(probe.features)
        ds = load_dataset(name, config, streaming=streaming, features=features, **kwargs)
    except FileNotFoundError as err:
        raise FileNotFoundError(
            f"dataset_name={name!r} with data_files={kwargs['data_files']} data_dir={kwargs['data_dir']}: {err}. "
            "Give a Hub id or local folder, or a builder name (parquet, json, csv, audiofolder, webdataset) with "
            "--data_files (globs allowed) or --data_dir."
        ) from err
    except ValueError as err:
        if "split" in str(err).lower():
            raise ValueError(f"{name}: {err}; set --dataset_split to one of its splits.") from err
        raise
    # A cache prepared earlier brings back its own (plain `Audio`) features: undecoded again.
    features = undecoded(ds.features)
    return ds if features is None else ds.cast(features)


def check_local_files(patterns: list[str] | None, data_dir: str | None) -> None:
    """A local `data_files` pattern that matches nothing is an error naming it (datasets' own message is "all the
    data_files are invalid: {'train': []}")."""
    if data_dir is not None and not Path(data_dir).exists() and "://" not in data_dir:
        raise FileNotFoundError(
            f"data_dir {data_dir} does not exist; point --data_dir at the dataset's folder."
        )
    if data_dir is not None:
        return  # patterns are then relative to it
    empty = [p for p in patterns or [] if "://" not in p and not glob.glob(p, recursive=True)]
    if empty:
        raise MissingDataError(
            f"--data_files {empty} match no file; check the path and the glob (quote it so the shell leaves it to "
            "the trainer), e.g. --data_files 'data/train-*.parquet'."
        )


def read_field(example: dict, name: str):
    """`example[name]`, or a field of a dict column for a dotted name (`json.caption`)."""
    if name in example:
        return example[name]
    value = example
    for part in name.split("."):
        value = value[part]
    return value


def has_field(columns: list[str], features: Features | None, name: str) -> bool:
    if name in columns:
        return True
    head, _, rest = name.partition(".")
    if not rest or head not in columns:
        return False
    feature = features.get(head) if features is not None else None
    return not isinstance(feature, dict) or rest.split(".")[0] in feature


def check_columns(columns: list[str], features: Features | None, audio: str, caption: str, name: str) -> None:
    """A missing audio or caption column is an error naming the columns there are."""
    missing = [c for c in (audio, caption) if not has_field(columns, features, c)]
    if missing:
        audio_like = [k for k, f in (features or {}).items() if isinstance(f, Audio)]
        hint = f" (audio columns: {audio_like})" if audio_like else ""
        raise ValueError(
            f"{name} has no column(s) {missing} (columns: {columns}{hint}); set --audio_column / "
            "--caption_column to the right names (a webdataset names them by extension: --audio_column flac "
            "--caption_column txt, or json.caption for a field of its .json files)."
        )


def to_audio(value) -> dict:
    """A path, bytes or `{bytes, path}` dict as the `{bytes, path}` dict `read_audio` takes."""
    if value is None:
        return {"bytes": None, "path": None}
    return UndecodedAudio(decode=False).encode_example(value)


def to_clip(example: dict, audio: str, caption: str) -> dict:
    """One example as `{"audio": {bytes, path}, "captions": [...]}`."""
    from .data import clean_captions

    return {"audio": to_audio(example[audio]), "captions": clean_captions(read_field(example, caption))}


def standardize_dataset(ds: Dataset, audio: str, caption: str, name: str) -> Dataset:
    """A map-style dataset reduced to `audio` (undecoded) and `captions`."""
    check_columns(ds.column_names, ds.features, audio, caption, name)
    features = undecoded(ds.features)
    if features is not None:
        ds = ds.cast(features)
    return ds.map(
        lambda ex: to_clip(ex, audio, caption),
        remove_columns=ds.column_names,
        features=CLIP_FEATURES,
        desc="cleaning captions",
    )


def check_source_options(data_args) -> None:
    """Options that only mean something with `dataset_name` are refused without it."""
    if data_args.streaming and data_args.encode_only:
        raise ValueError(
            "encode_only builds a codes cache, which a stream has none of (its audio is encoded on the fly); "
            "drop --streaming to pre-encode the dataset, or drop --encode_only."
        )
    if data_args.dataset_name is not None:
        return
    given = [k for k in ("data_files", "data_dir", "dataset_config_name") if getattr(data_args, k)]
    if data_args.streaming:
        given.append("streaming")
    if given:
        raise ValueError(
            f"{given} apply to --dataset_name only; add e.g. --dataset_name parquet (or webdataset, audiofolder, "
            "json, csv, a Hub id or a local folder), or drop them."
        )
