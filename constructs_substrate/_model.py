"""Base class for every public configuration model.

Frozen (props are values, not mutable state), ``extra="forbid"`` (a typo in a field
name is an error, not a silently ignored option), and pydantic's errors turned into
:class:`~constructs_substrate.errors.ConfigError` with the full field path and a
message that says what to type, with an example (never a raw regular expression).

Counts, sizes and flags take only their own types: an ``int`` field refuses ``"2"``,
``2.0`` and ``True``; a ``bool`` field refuses ``"yes"`` and ``1``; a ``float`` field
takes an ``int`` or a ``float``. Pydantic's lax mode would coerce them silently (a
``"2"`` from a template, a ``True`` from a wrong variable). Values that arrive as text
(environment variables) are converted where they are read (:mod:`.settings`).

Validators report problems by raising ``ConfigError`` with field paths relative to
their own model; nested models' problems are re-rooted under the parent's field.
"""

from __future__ import annotations

import difflib
import enum
import math
import re
import types
import typing
from typing import Any, Literal, Union

import annotated_types
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic.fields import FieldInfo

from .errors import ConfigError, Problem

_PREFIXES = ("Value error, ", "Assertion failed, ")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _join(*parts: str) -> str:
    return ".".join(p for p in parts if p)


# ---- strict scalar types ----------------------------------------------------------

_KIND = {int: "a whole number", float: "a number", bool: "True or False"}
_EXAMPLE = {int: 2, float: 2.5, bool: None}


def scalar_kind(annotation: Any) -> tuple[type, Any] | None:
    """``(int | float | bool, example)`` when the field holds exactly that scalar
    (optionally ``None``, or an int ``Literal``), else ``None`` (other fields keep
    pydantic's rules)."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return scalar_kind(options[0]) if len(options) == 1 else None
    if origin is Literal:
        values = typing.get_args(annotation)
        return (int, values[0]) if all(type(v) is int for v in values) else None
    if origin is typing.Annotated:
        return scalar_kind(typing.get_args(annotation)[0])
    return (annotation, _EXAMPLE[annotation]) if annotation in _KIND else None


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, bool):
        return str(value)
    return f"{type(value).__name__} {value!r}"


def scalar_problem(kind: type, example: Any, value: Any) -> str | None:
    """Why ``value`` is not a ``kind`` (``int``, ``float``, ``bool``), or ``None``."""
    if value is None:
        return None  # a required/Optional question: pydantic decides
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        return None
    example = _EXAMPLE[kind] if example is None else example
    like = f" like {example!r}" if example is not None else ""
    return f"must be {_KIND[kind]}{like}, not {_describe(value)}"


# ---- pydantic errors into messages that say what to type ---------------------------

def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _field_at(model: type[BaseModel] | None, loc: tuple) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    """The model owning the last named part of ``loc`` and that field (``None`` when
    ``loc`` leaves the models, e.g. into a dict)."""
    field = None
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        if field is not None:
            nested = _models_in(field.annotation)
            if not nested:
                return None, None
            model = nested[0]
        field = model.model_fields.get(str(part))
        if field is None:
            return model, None
    return model, field


def _bounds(field: FieldInfo | None) -> str:
    low = high = None
    for item in field.metadata if field else ():
        if isinstance(item, annotated_types.Ge):
            low = f"from {item.ge}"
        elif isinstance(item, annotated_types.Gt):
            low = f"above {item.gt}"
        elif isinstance(item, annotated_types.Le):
            high = f"at most {item.le}"
        elif isinstance(item, annotated_types.Lt):
            high = f"below {item.lt}"
    if low and high and low.startswith("from") and high.startswith("at most"):
        return f"{low} to {high[len('at most '):]}"
    return ", ".join(filter(None, (low, high)))


def example_of(field: FieldInfo | None) -> str | None:
    """What to show as an example of a text field: its ``examples``, else its default."""
    if field is None:
        return None
    if field.examples:
        return field.examples[0]
    return field.default if isinstance(field.default, str) and field.default else None


def _example(field: FieldInfo | None) -> str:
    example = example_of(field)
    return f", e.g. {example!r}" if example is not None else ""


def _message(item: dict, model: type[BaseModel] | None, field: FieldInfo | None, name: str) -> str:
    kind, value, ctx = item["type"], item.get("input"), item.get("ctx") or {}
    if kind == "missing":
        options = _options(field)
        return f"is required: one of {options}" if options else f"is required{_example(field)}"
    if kind == "extra_forbidden":
        options = sorted(model.model_fields) if model else []
        close = difflib.get_close_matches(name, options, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"is not an option of {model.__name__ if model else 'this model'}; {hint}options: {', '.join(options)}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        default = field.default if field is not None else None
        example = f", e.g. {default!r}" if isinstance(default, (int, float)) and not isinstance(default, bool) else ""
        return f"must be {_bounds(field) or item['msg'].removeprefix('Input should be ')}{example} (got {value!r})"
    if kind == "string_pattern_mismatch":
        return f"{value!r} does not have the expected form{_example(field) or ''}"
    if kind in ("literal_error", "enum"):
        return f"must be {ctx.get('expected', item['msg'])} (got {value!r})"
    if kind in ("tuple_type", "list_type") and isinstance(value, str):
        return f"give a list of values, e.g. ({value!r},), not one string {value!r}"
    if kind in ("too_short", "too_long"):
        count = len(value) if hasattr(value, "__len__") else value
        if kind == "too_short":
            return f"give at least {ctx.get('min_length')} (got {count})"
        return f"give at most {ctx.get('max_length')} (got {count})"
    if kind == "model_type":
        expected = ctx.get("class_name", "the model")
        return f"must be a {expected} (or a dict of its fields), not {_describe(value)}"
    message = item["msg"]
    for prefix in _PREFIXES:
        message = message.removeprefix(prefix)
    if kind.endswith("_type") or kind.endswith("_parsing"):
        message = f"{message.replace('Input should be', 'must be')}{_example(field)} (got {_describe(value)})"
    return message


def _options(field: FieldInfo | None) -> str:
    """The allowed values of an enum or ``Literal`` field, quoted, or ``""``."""
    annotation = field.annotation if field is not None else None
    values: list = []
    for option in [annotation, *typing.get_args(annotation)]:
        if isinstance(option, type) and issubclass(option, enum.Enum):
            values += [member.value for member in option]
        elif typing.get_origin(option) is Literal:
            values += list(typing.get_args(option))
    return ", ".join(repr(v) for v in values)


def problems_from(error: ValidationError, model: type[BaseModel] | None = None) -> list[Problem]:
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        path = ".".join(str(p) for p in loc)
        raised = (item.get("ctx") or {}).get("error")
        if isinstance(raised, ConfigError):
            problems.extend(Problem(_join(path, p.field), p.message) for p in raised.problems)
            continue
        owner, field = _field_at(model, loc)
        problems.append(Problem(path, _message(item, owner, field, str(loc[-1]) if loc else "")))
    return problems


# ---- shared value checks -------------------------------------------------------------

def is_deploy_time(value: str) -> bool:
    """True for a Terraform reference (``${...}``, only known at deploy time): such
    values are checked by AWS, not by our validators. Framework-free on purpose."""
    return "${" in value


def sha256_hex(value: str, what: str = "the file") -> str:
    """A SHA-256 digest as 64 lowercase hex digits (upper case is accepted and
    lowered: ``sha256sum`` prints lower case, other tools upper), or ``ValueError``."""
    digest = value.strip().lower() if isinstance(value, str) else value
    if not isinstance(digest, str) or not _SHA256.match(digest):
        raise ValueError(
            f"{value!r} is not a SHA-256 digest: give the 64 hex digits `sha256sum` prints for "
            f"{what}, e.g. '{'9f86d081884c7d65' * 4}'"
        )
    return digest


class Model(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_default=True,
        use_attribute_docstrings=True,
    )

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as error:
            raise ConfigError(problems_from(error, type(self)), type(self).__name__) from None

    @model_validator(mode="before")
    @classmethod
    def _strict_scalars(cls, data: Any) -> Any:
        """Counts, sizes and flags take only their own types (see the module docstring)."""
        if not isinstance(data, dict):
            return data
        problems = []
        for name, value in data.items():
            field = cls.model_fields.get(name)
            scalar = scalar_kind(field.annotation) if field is not None else None
            message = scalar_problem(*scalar, value) if scalar is not None else None
            if message:
                problems.append(Problem(name, message))
        if problems:
            raise ConfigError(problems)
        return data

    def replace(self, **changes: Any):
        """A validated copy with ``changes`` applied (``model_copy`` does not validate)."""
        fields = {name: getattr(self, name) for name in self.model_fields_set}
        return type(self)(**{**fields, **changes})
