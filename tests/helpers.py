"""Shared test helpers: synthesize a stack and query its JSON."""

from __future__ import annotations

import json
from typing import Any, Callable, Iterator

from constructs_substrate._framework import App, SynthTesting, TerraformStack, aws


def synth(build: Callable[[TerraformStack], Any], region: str = "eu-central-1") -> dict:
    """Build a stack with a default AWS provider, return the synthesized JSON as a dict."""
    app = App(stack_traces=False)
    stack = TerraformStack(app, "test")
    aws("provider").AwsProvider(stack, "aws", region=region)
    build(stack)
    return json.loads(SynthTesting.synth(stack))


def resources(document: dict, kind: str) -> dict[str, dict]:
    return document.get("resource", {}).get(kind, {})


def only(document: dict, kind: str) -> dict:
    items = resources(document, kind)
    assert len(items) == 1, f"expected one {kind}, found {sorted(items)}"
    return next(iter(items.values()))


def walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)
