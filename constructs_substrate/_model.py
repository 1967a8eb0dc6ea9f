"""Base class for every public configuration model.

Frozen (props are values, not mutable state), ``extra="forbid"`` (a typo in a field
name is an error, not a silently ignored option), and pydantic's errors turned into
:class:`~constructs_substrate.errors.ConfigError` with the full field path.

Validators report problems by raising ``ConfigError`` with field paths relative to
their own model; nested models' problems are re-rooted under the parent's field.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import ConfigError, Problem

_PREFIXES = ("Value error, ", "Assertion failed, ")


def _join(*parts: str) -> str:
    return ".".join(p for p in parts if p)


def problems_from(error: ValidationError) -> list[Problem]:
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        path = ".".join(str(p) for p in item["loc"])
        raised = (item.get("ctx") or {}).get("error")
        if isinstance(raised, ConfigError):
            problems.extend(Problem(_join(path, p.field), p.message) for p in raised.problems)
            continue
        message = item["msg"]
        for prefix in _PREFIXES:
            if message.startswith(prefix):
                message = message[len(prefix):]
        problems.append(Problem(path, message))
    return problems


def is_deploy_time(value: str) -> bool:
    """True for a Terraform reference (``${...}``, only known at deploy time): such
    values are checked by AWS, not by our validators. Framework-free on purpose."""
    return "${" in value


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
            raise ConfigError(problems_from(error), type(self).__name__) from None

    def replace(self, **changes: Any):
        """A validated copy with ``changes`` applied (``model_copy`` does not validate)."""
        fields = {name: getattr(self, name) for name in self.model_fields_set}
        return type(self)(**{**fields, **changes})
