"""The clips a bulk run is asked for: a prompts file (plain text or JSONL) or a list, read into `ClipRequest`s.

Why its own reader: a bulk prompts file carries per-prompt settings (seed, duration, negative prompt, name) and a
typo there must stop the run before any model loads, naming the line and the fix.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

JSONL_FIELDS = ("prompt", "seed", "duration", "negative_prompt", "name")


@dataclass(frozen=True)
class ClipRequest:
    """One prompt of a bulk run; `None` fields take the run's defaults."""

    prompt: str
    seed: int | None = None
    duration: float | None = None
    negative_prompt: str | None = None
    name: str | None = None


def _field(record: Mapping, key: str, kinds: tuple[type, ...], where: str):
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, kinds):
        expected = " or ".join(k.__name__ for k in kinds)
        raise ValueError(f"{where}: '{key}' must be {expected}, got {value!r}.")
    return value


def request_from_record(record: Mapping, where: str = "prompt") -> ClipRequest:
    """A `ClipRequest` from a dict with `prompt` and optional `seed`, `duration`, `negative_prompt`, `name`."""
    if not isinstance(record, Mapping):
        raise ValueError(
            f'{where}: expected a JSON object such as {{"prompt": "a dog barks"}}, got {record!r}.'
        )
    unknown = sorted(set(record) - set(JSONL_FIELDS))
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {unknown}; the fields are {list(JSONL_FIELDS)}.")
    prompt = _field(record, "prompt", (str,), where)
    if not prompt or not prompt.strip():
        raise ValueError(f"{where}: 'prompt' is missing or empty; every line needs a text prompt.")
    duration = _field(record, "duration", (int, float), where)
    if duration is not None and not (math.isfinite(duration) and duration > 0):
        raise ValueError(f"{where}: 'duration' must be a number of seconds > 0, got {duration!r}.")
    name = _field(record, "name", (str,), where)
    if name is not None and not name.strip():
        raise ValueError(f"{where}: 'name' is empty; leave it out to name the file after the prompt.")
    return ClipRequest(
        prompt=prompt.strip(),
        seed=_field(record, "seed", (int,), where),
        duration=None if duration is None else float(duration),
        negative_prompt=_field(record, "negative_prompt", (str,), where),
        name=name,
    )


def _is_jsonl(path: Path, lines: list[str]) -> bool:
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return True
    first = next((line.strip() for line in lines if line.strip()), "")
    return first.startswith("{")


def read_prompts_file(path: str | os.PathLike) -> list[ClipRequest]:
    """Plain text (one prompt per line; blank lines and lines starting with '#' skipped) or JSONL (a `.jsonl`
    file, or one whose first line is a JSON object): one object per line with `prompt` and optional `seed`,
    `duration`, `negative_prompt`, `name`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"prompts file '{path}' does not exist; pass --prompts-file a text file (one prompt per line) or a "
            'JSONL file (one {"prompt": ...} object per line).'
        )
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise ValueError(f"prompts file '{path}' is not UTF-8 text ({error}); save it as UTF-8.") from None
    jsonl = _is_jsonl(path, lines)
    requests = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or (not jsonl and text.startswith("#")):
            continue
        where = f"{path}, line {number}"
        if not jsonl:
            requests.append(ClipRequest(prompt=text))
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"{where} is not valid JSON ({error.msg}); a JSONL prompts file holds one object per line, "
                'e.g. {"prompt": "a dog barks", "seed": 3}.'
            ) from None
        requests.append(request_from_record(record, where))
    if not requests:
        raise ValueError(f"prompts file '{path}' holds no prompt; write one prompt per line.")
    return requests


def as_requests(prompts: Iterable[str | Mapping | ClipRequest]) -> list[ClipRequest]:
    """Strings, dicts (the JSONL fields) or `ClipRequest`s as a list of `ClipRequest`s."""
    requests = []
    for index, item in enumerate(prompts):
        if isinstance(item, ClipRequest):
            requests.append(item)
        elif isinstance(item, str):
            requests.append(request_from_record({"prompt": item}, f"prompt {index}"))
        else:
            requests.append(request_from_record(item, f"prompt {index}"))
    if not requests:
        raise ValueError("no prompts given; pass at least one prompt.")
    return requests
