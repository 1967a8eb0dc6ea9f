"""Checks of constructs' keyword arguments (those that are not a config model): each
wrong argument becomes a :class:`~constructs_substrate.errors.Problem` naming it and
saying what to pass, so a construct raises one ``ConfigError`` before any resource,
never a ``TypeError`` from deep inside, and never a message per character of a string
given where a list was meant. Values only known at deploy time (tokens) pass."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ._framework import Token, is_token
from ._model import scalar_problem
from .errors import Problem


def _shown(value: Any) -> str:
    return "None" if value is None else f"{type(value).__name__} {value!r}"


def of_type(value: Any, expected: type | tuple[type, ...], field: str, what: str, optional: bool = False) -> list[Problem]:
    """``value`` is an instance of ``expected`` (or ``None`` when ``optional``)."""
    if (optional and value is None) or isinstance(value, expected):
        return []
    return [Problem(field, f"must be {what}, not {_shown(value)}")]


def aws_id(value: Any, prefix: str, field: str) -> list[Problem]:
    """An AWS resource id like ``subnet-0123456789abcdef0`` (or a token)."""
    example = f"{prefix}-0123456789abcdef0"
    if isinstance(value, str) and (is_token(value) or re.match(rf"^{prefix}-[0-9a-f]{{8,17}}$", value)):
        return []
    if value is None:
        return [Problem(field, f"is required: give an id like {example!r}")]
    if isinstance(value, str):
        return [Problem(field, f"{value!r} is not an id like {example!r}")]
    return [Problem(field, f"must be an id like {example!r} (a string), not {_shown(value)}")]


def whole_list_token(values: Any) -> bool:
    """A list only known at deploy time (one ``#{...}`` list token element)."""
    items = values if isinstance(values, (list, tuple)) else [values]
    return len(items) == 1 and isinstance(items[0], str) and items[0].startswith("#{") and Token.is_unresolved(items[0])


def aws_ids(values: Any, prefix: str, field: str, at_least: int = 1, why: str = "") -> list[Problem]:
    """A list of AWS resource ids (tokens pass; so does one token for a whole list)."""
    example = f"['{prefix}-0123456789abcdef0', '{prefix}-0fedcba9876543210']"
    if isinstance(values, str) and not whole_list_token(values):
        return [Problem(field, f"give a list of ids, e.g. {example}, not one string {values!r}")]
    if isinstance(values, (bytes, Mapping)) or not isinstance(values, (Sequence, str)):
        return [Problem(field, f"must be a list of ids, e.g. {example}, not {_shown(values)}")]
    items = [values] if isinstance(values, str) else list(values)
    if whole_list_token(items):
        return []
    problems = []
    if len(items) < at_least:
        reason = f" ({why})" if why else ""
        problems.append(Problem(field, f"give at least {at_least}{reason}, e.g. {example}; got {len(items)}"))
    bad = [v for v in items if aws_id(v, prefix, field)]
    if bad:
        problems.append(Problem(field, f"{', '.join(map(repr, bad))} are not ids like '{prefix}-0123456789abcdef0'"))
    literal = [v for v in items if isinstance(v, str) and not is_token(v)]
    if len(set(literal)) != len(literal):
        problems.append(Problem(field, "lists an id twice; list each once"))
    return problems


def statements(value: Any, field: str = "statements") -> list[Problem]:
    """A list of IAM policy statements (dicts)."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        return [Problem(field, f"must be a list of IAM statement dicts, e.g. [{{'Effect': 'Allow', ...}}], not {_shown(value)}")]
    bad = [i for i, s in enumerate(value) if not isinstance(s, Mapping)]
    return [Problem(f"{field}.{i}", f"must be an IAM statement dict, not {_shown(value[i])}") for i in bad]


def integer(value: Any, field: str, low: int, high: int) -> list[Problem]:
    """A whole number from ``low`` to ``high``."""
    message = scalar_problem(int, low, value) if value is not None else f"is required: give a whole number like {low}"
    if message is None and not low <= value <= high:
        message = f"must be from {low} to {high} (got {value!r})"
    return [Problem(field, message)] if message else []
