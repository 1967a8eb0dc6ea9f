"""The library's one validation error type.

Every bad input is reported as :class:`ConfigError` (a ``ValueError``) that names the
field and the fix, before any Terraform is written. Pydantic's own
``ValidationError`` never reaches users: :class:`constructs_substrate._model.Model`
converts it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One invalid field, as a dotted path (``data_volume.size_gib``), and what to do."""

    field: str
    message: str


class ConfigError(ValueError):
    """Invalid configuration. ``problems`` lists every invalid field with its fix;
    ``model`` names the configuration class they belong to."""

    def __init__(self, problems: list[Problem] | Problem, model: str | None = None):
        self.problems: tuple[Problem, ...] = (
            (problems,) if isinstance(problems, Problem) else tuple(problems)
        )
        self.model = model
        lines = [f"{self._qualified(p.field)}: {p.message}" for p in self.problems]
        text = lines[0] if len(lines) == 1 else "invalid configuration:\n" + "\n".join(
            f"  - {line}" for line in lines
        )
        super().__init__(text)

    def _qualified(self, field: str) -> str:
        return ".".join(part for part in (self.model, field) if part)

    @classmethod
    def of(cls, field: str, message: str, model: str | None = None) -> "ConfigError":
        return cls(Problem(field, message), model)

    @property
    def fields(self) -> tuple[str, ...]:
        """Fully qualified field names, e.g. ``NodeConfig.data_volume.size_gib``."""
        return tuple(self._qualified(p.field) for p in self.problems)
