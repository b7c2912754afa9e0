"""Typing the values of a training config file.

`argparse` checks the type of a `--flag value` but not of a default, and a config file's values become the
parser's defaults: without this, `max_steps: 10.5`, `max_steps: null` or `eval_prompts: a dog` reach the
trainer as they are and fail deep inside it. Each value is checked (and, for a number written as text such as
YAML's `1e-4`, converted) against its dataclass field's type; every problem is reported in one line.
"""

from __future__ import annotations

import math
import types
import typing
from dataclasses import fields

from training.errors import UsageError


def field_types(classes) -> dict[str, object]:
    hints = {}
    for cls in classes:
        resolved = typing.get_type_hints(cls)
        hints.update({f.name: resolved[f.name] for f in fields(cls)})
    return hints


def _is_optional(kind) -> tuple[bool, object]:
    """`(optional, inner type)` of `X | None` / `Optional[X]`."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(kind) if a is not type(None)]
        return True, inner[0]
    return False, kind


def _number(value, kind):
    """An int / float (not a bool), or a number written as text; None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value) if kind is float else int(value)
        except ValueError:
            return None
    if kind is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if kind is int and isinstance(value, int):
        return value
    if kind is float and isinstance(value, (int, float)):
        return float(value)
    return None


def convert_value(name: str, value, kind):
    """The value as `kind`, or raise `ValueError` saying what the field needs."""
    optional, kind = _is_optional(kind)
    if value is None:
        if optional:
            return None
        raise ValueError(f"{name} cannot be null")
    origin = typing.get_origin(kind)
    if origin is typing.Literal:
        if value not in typing.get_args(kind):
            raise ValueError(f"{name} must be one of {list(typing.get_args(kind))}, got {value!r}")
        return value
    if origin is list:
        (item,) = typing.get_args(kind)
        if not isinstance(value, list):
            raise ValueError(
                f"{name} must be a list (e.g. [{'1.0' if item is float else 'a dog barks'}]), got {value!r}"
            )
        return [convert_value(f"{name}[{i}]", v, item) for i, v in enumerate(value)]
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false, got {value!r}")
        return value
    if kind in (int, float):
        number = _number(value, kind)
        if number is None:
            raise ValueError(f"{name} must be {'an integer' if kind is int else 'a number'}, got {value!r}")
        if kind is float and not math.isfinite(number):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
        return number
    if kind is str:
        if isinstance(value, (dict, list)):
            raise ValueError(f"{name} must be a string, got {value!r}")
        return str(value)
    return value


def convert_config_values(values: dict, classes, source: str) -> dict:
    """Every value of `values` typed by its field in `classes`; raises `UsageError` naming each bad one."""
    kinds = field_types(classes)
    converted, problems = {}, []
    for name, value in values.items():
        try:
            converted[name] = convert_value(name, value, kinds[name])
        except ValueError as error:
            problems.append(str(error))
    if problems:
        raise UsageError(f"{source}: {'; '.join(problems)}; fix the file or override with --<field> <value>.")
    return converted
