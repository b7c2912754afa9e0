"""Reading an audiocraft `xp.cfg` (Hydra/omegaconf YAML) from an untrusted checkpoint, with bounds.

The text is size-limited; `${a.b}` interpolations are resolved once per key, and a cycle (`a: ${b}`,
`b: ${a}`) is an error naming the keys. YAML aliases share one object, which is resolved once, so a
"billion laughs" file stays as small as its text; an interpolated string that would grow past
`MAX_TEXT_CHARS` (`x: ${y}${y}`, `y: ${z}${z}`, ...) is refused. Fields are then read through typed
accessors (`section`, `integer`, `number`, `integers`, `text`) whose errors name the field and its problem.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

from .errors import CheckpointError

__all__ = ["REQUIRED", "flag", "get", "integer", "integers", "number", "parse_xp_cfg", "section", "text"]

MAX_CFG_CHARS = 1 << 20  # audiocraft's own xp.cfg is about 10 kB
MAX_TEXT_CHARS = 1 << 16  # one resolved string
MAX_DEPTH = 64  # nesting of sections / lists
MAX_SIZE = 1 << 24  # any size, count or rate read from xp.cfg
_REFERENCE = re.compile(r"\$\{([\w.]+)\}")
REQUIRED = object()


class _Resolver:
    """Resolves `${a.b}` references of one parsed config; each node and each referenced key is resolved once."""

    def __init__(self, root: dict):
        self.root = root
        self.done: dict[int, Any] = {}  # id(raw node) -> resolved node (aliases share one)
        self.keys: dict[str, Any] = {}  # dotted key -> resolved value
        self.resolving: list[str] = []  # dotted keys being resolved (a cycle shows up here)
        self.containers: set[int] = set()  # containers being resolved (a recursive alias shows up here)

    def key(self, dotted: str) -> Any:
        if dotted in self.keys:
            return self.keys[dotted]
        if dotted in self.resolving:
            chain = " -> ".join([*self.resolving[self.resolving.index(dotted) :], dotted])
            raise CheckpointError(
                f"the checkpoint's xp.cfg interpolations form a cycle ({chain}); it is corrupt."
            )
        node: Any = self.root
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                self.keys[dotted] = None
                return None
            node = node[part]
        self.resolving.append(dotted)
        try:
            value = self.node(node, 0)
        finally:
            self.resolving.pop()
        self.keys[dotted] = value
        return value

    def node(self, node: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise CheckpointError(
                f"the checkpoint's xp.cfg nests deeper than {MAX_DEPTH} levels; it is corrupt."
            )
        if isinstance(node, str):
            return self.string(node)
        if not isinstance(node, (dict, list)):
            return node
        if id(node) in self.done:
            return self.done[id(node)]
        if id(node) in self.containers:
            raise CheckpointError(
                "the checkpoint's xp.cfg contains itself (a recursive YAML alias); it is corrupt."
            )
        self.containers.add(id(node))
        if isinstance(node, dict):
            resolved: Any = {k: self.node(v, depth + 1) for k, v in node.items()}
        else:
            resolved = [self.node(v, depth + 1) for v in node]
        self.containers.discard(id(node))
        self.done[id(node)] = resolved
        return resolved

    def string(self, text: str) -> Any:
        whole = _REFERENCE.fullmatch(text)
        if whole:
            return self.key(whole.group(1))

        def substitute(match: re.Match) -> str:
            value = self.key(match.group(1))
            if isinstance(value, (dict, list)):
                raise CheckpointError(
                    f"the checkpoint's xp.cfg puts the section ${{{match.group(1)}}} inside a text; it is corrupt."
                )
            return str(value)

        parts, end = [], 0
        size = 0
        for match in _REFERENCE.finditer(text):
            piece = text[end : match.start()] + substitute(match)
            size += len(piece)
            if size > MAX_TEXT_CHARS:
                raise CheckpointError(
                    f"an interpolated text of the checkpoint's xp.cfg grows past {MAX_TEXT_CHARS} characters "
                    f"({text[:60]!r}...); the file is corrupt or hostile."
                )
            parts.append(piece)
            end = match.end()
        return "".join(parts) + text[end:]


def parse_xp_cfg(text: Any) -> dict:
    """The exported Hydra config (YAML) with `${a.b}` interpolations resolved, within the bounds above."""
    if not isinstance(text, str):
        raise CheckpointError(
            f"the checkpoint's xp.cfg is a {type(text).__name__}, not YAML text; it is corrupt."
        )
    if len(text) > MAX_CFG_CHARS:
        raise CheckpointError(
            f"the checkpoint's xp.cfg is {len(text)} characters (at most {MAX_CFG_CHARS}); it is corrupt or hostile."
        )
    try:
        config = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError) as error:  # RecursionError: nested too deeply to read
        detail = " ".join(str(error).split()) or "nested too deeply"
        raise CheckpointError(
            f"the checkpoint's xp.cfg is not valid YAML ({detail}); it is corrupt."
        ) from error
    if not isinstance(config, dict):
        raise CheckpointError("the checkpoint's xp.cfg is not a mapping.")
    return _Resolver(config).node(config, 0)


# ------------------------------------------------------------------------------------------------ reading
def get(config: dict, dotted: str, default: Any = None) -> Any:
    """The value at `a.b.c` of a resolved config, or `default` when absent or null."""
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return default if node is None else node


def _required(config: dict, dotted: str, default: Any) -> Any:
    value = get(config, dotted, default)
    if value is REQUIRED:
        raise CheckpointError(f"xp.cfg has no `{dotted}`; the export is incomplete or not AudioGen/MAGNeT.")
    return value


def _wrong(dotted: str, needs: str, value: Any) -> CheckpointError:
    return CheckpointError(f"xp.cfg field `{dotted}` must be {needs}, got {value!r}; the export is corrupt.")


def section(config: dict, dotted: str, default: Any = REQUIRED) -> dict:
    value = _required(config, dotted, default)
    if not isinstance(value, dict):
        raise _wrong(dotted, "a section (mapping)", value)
    return value


def _integer(dotted: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_SIZE:
        raise _wrong(dotted, f"an integer in [{minimum}, {MAX_SIZE}]", value)
    return value


def integer(config: dict, dotted: str, default: Any = REQUIRED, minimum: int = 1) -> int:
    """An int (not a bool) in `[minimum, MAX_SIZE]`."""
    return _integer(dotted, _required(config, dotted, default), minimum)


def number(config: dict, dotted: str, default: Any = REQUIRED, minimum: float = 0.0) -> float:
    """A finite int or float (not a bool) in `[minimum, MAX_SIZE]`."""
    value = _required(config, dotted, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _wrong(dotted, "a number", value)
    if not math.isfinite(value) or not minimum <= value <= MAX_SIZE:
        raise _wrong(dotted, f"a finite number in [{minimum}, {MAX_SIZE}]", value)
    return float(value)


def integers(config: dict, dotted: str, minimum: int = 1, length: int | None = None) -> list[int]:
    """A list of ints, each in `[minimum, MAX_SIZE]` (of `length` items when given)."""
    value = _required(config, dotted, REQUIRED)
    if not isinstance(value, list) or not value or (length is not None and len(value) != length):
        raise _wrong(dotted, f"a list of {length or 'one or more'} integers", value)
    return [_integer(f"{dotted}[{i}]", v, minimum) for i, v in enumerate(value)]


def text(config: dict, dotted: str, default: Any = REQUIRED) -> str:
    value = _required(config, dotted, default)
    if not isinstance(value, str):
        raise _wrong(dotted, "a text", value)
    return value


def flag(config: dict, dotted: str, default: Any = REQUIRED) -> bool:
    value = _required(config, dotted, default)
    if not isinstance(value, bool):
        raise _wrong(dotted, "true or false", value)
    return value
