"""Generates the option tables in ``docs/configuration.md`` from the models themselves,
so the documented defaults cannot drift from the code.

    python -m constructs_substrate.docgen > docs/configuration.md

``tests/unit/test_docs.py`` fails when the file is stale or a field lacks a description.
"""

from __future__ import annotations

import sys
from typing import Iterable, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from . import config, ports, release
from .chains import CATALOG, Chain, ChainSpecSource, DbSizes
from .global_endpoint_config import GlobalEndpointConfig
from .settings import DeploymentSettings

MODELS: tuple[type[BaseModel], ...] = (
    config.NodeConfig,
    config.DataVolumeConfig,
    config.RpcConfig,
    config.MonitoringAccess,
    config.DnsConfig,
    config.TlsConfig,
    config.TelemetryServerConfig,
    ports.NodePorts,
    Chain,
    DbSizes,
    ChainSpecSource,
    release.BinaryRelease,
    release.Artifact,
    GlobalEndpointConfig,
    DeploymentSettings,
)


def _default(field) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "**required**"
    if field.default_factory is not None:
        value = field.default_factory()
        return f"`{getattr(value, 'name', value)!s}`"
    value = field.default
    if isinstance(value, BaseModel):
        return f"`{type(value).__name__}()`"
    return f"`{value!r}`"


def _type(annotation) -> str:
    plain = get_origin(annotation) is None and hasattr(annotation, "__name__")
    text = annotation.__name__ if plain else str(annotation)
    for noise in ("typing.", "constructs_substrate.", "config.", "ports.", "chains.", "release.", "roles."):
        text = text.replace(noise, "")
    return text.replace("|", "\\|")


def model_table(model: type[BaseModel]) -> Iterable[str]:
    yield f"## `{model.__name__}`"
    yield ""
    yield (model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
    yield ""
    yield "| field | type | default | description |"
    yield "| --- | --- | --- | --- |"
    for name, field in model.model_fields.items():
        description = " ".join((field.description or "").split()).replace("|", "\\|")
        yield f"| `{name}` | {_type(field.annotation)} | {_default(field)} | {description} |"
    yield ""


def catalog_table() -> Iterable[str]:
    yield "## Chain catalog"
    yield ""
    yield "| name | `--chain` | binary | release | relay chain | pruned DB (GiB) | archive DB (GiB) |"
    yield "| --- | --- | --- | --- | --- | --- | --- |"
    for chain in CATALOG.values():
        yield (
            f"| `{chain.name}` | `{chain.chain_id}` | `{chain.binary}` | `{chain.release.version}` "
            f"| {chain.relay_chain or '-'} | {chain.db_size_gib.pruned} | {chain.db_size_gib.archive} |"
        )
    yield ""


def render() -> str:
    lines = [
        "# Configuration reference",
        "",
        "Generated from the models by `python -m constructs_substrate.docgen`; do not edit by hand.",
        "Every model is frozen and rejects unknown fields; invalid values raise",
        "`constructs_substrate.ConfigError` naming the field and the fix.",
        "",
    ]
    lines += catalog_table()
    for model in MODELS:
        lines += model_table(model)
    return "\n".join(lines).rstrip() + "\n"


def undocumented() -> list[str]:
    return [
        f"{model.__name__}.{name}"
        for model in MODELS
        for name, field in model.model_fields.items()
        if not (field.description or "").strip()
    ]


if __name__ == "__main__":
    sys.stdout.write(render())
