"""The option tables of ``docs/autoscaling-api-cluster.md``, generated from the
models so the documented defaults cannot drift from the code.

    python -m constructs_substrate.cluster.reference   # rewrites the tables in the doc

``tests/cluster/test_cluster_docs.py`` fails when the tables are stale or a field lacks a
description.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Iterable

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from . import config

MODELS: tuple[type[BaseModel], ...] = (
    config.ApiClusterConfig,
    config.HealthCheckConfig,
    config.LoadBalancerConfig,
    config.RollingUpdateConfig,
    config.LivenessConfig,
    config.WarmPoolConfig,
    config.SpotConfig,
    config.ChainSnapshot,
    config.AlarmConfig,
)
DOC = Path(__file__).resolve().parents[2] / "docs" / "autoscaling-api-cluster.md"
BEGIN = "<!-- options:begin (generated: python -m constructs_substrate.cluster.reference) -->"
END = "<!-- options:end -->"


def _text(value: str) -> str:
    text = re.sub(r":class:`~?([A-Za-z_.]+)`", r"`\1`", " ".join(value.split()))
    return text.replace("``", "`").replace("|", "\\|")


def _type(annotation) -> str:
    text = getattr(annotation, "__name__", None) if not getattr(annotation, "__args__", None) else None
    text = text or str(annotation)
    text = re.sub(r"(typing|constructs_substrate(\.[a-z_]+)*)\.", "", text)
    text = re.sub(r"Literal\[(.*)\]", lambda m: " or ".join(m.group(1).split(", ")), text)
    return text.replace("|", "\\|")


def _default(field) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "**required**"
    value = field.default
    if isinstance(value, BaseModel):
        return f"`{type(value).__name__}()`"
    return f"`{value!r}`"


def model_table(model: type[BaseModel]) -> Iterable[str]:
    yield f"### `{model.__name__}`"
    yield ""
    yield _text((model.__doc__ or "").split("\n\n")[0])
    yield ""
    yield "| option | type | default | meaning and why |"
    yield "| --- | --- | --- | --- |"
    for name, field in model.model_fields.items():
        yield f"| `{name}` | {_type(field.annotation)} | {_default(field)} | {_text(field.description or '')} |"
    yield ""


def render_tables() -> str:
    lines = [BEGIN, ""]
    for model in MODELS:
        lines += model_table(model)
    return "\n".join(lines + [END])


def with_tables(document: str) -> str:
    """``document`` with the text between the markers replaced by fresh tables."""
    start, end = document.index(BEGIN), document.index(END) + len(END)
    return document[:start] + render_tables() + document[end:]


def undocumented() -> list[str]:
    return [
        f"{model.__name__}.{name}"
        for model in MODELS
        for name, field in model.model_fields.items()
        if "Default" not in (field.description or "") and field.is_required() is False
    ] + [
        f"{model.__name__}.{name}"
        for model in MODELS
        for name, field in model.model_fields.items()
        if not (field.description or "").strip()
    ]


if __name__ == "__main__":
    DOC.write_text(with_tables(DOC.read_text()))
    sys.stdout.write(f"updated {DOC}\n")
