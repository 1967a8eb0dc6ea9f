"""Shared test helpers: synthesize a stack and query its JSON."""

from __future__ import annotations

import json
from typing import Any, Callable, Iterator

from constructs_substrate._framework import App, SynthTesting, TerraformStack, aws


def synth(build: Callable[[TerraformStack], Any], region: str = "eu-central-1", stack_name: str = "test") -> dict:
    """Build a stack with a default AWS provider, return the synthesized JSON as a dict.
    ``stack_name``: distinct names give distinct resource names (stacks applied side by
    side in one emulator account must not collide, as two real stacks would not)."""
    app = App(stack_traces=False)
    stack = TerraformStack(app, stack_name)
    aws("provider").AwsProvider(stack, "aws", region=region)
    build(stack)
    return json.loads(SynthTesting.synth(stack))


def resources(document: dict, kind: str) -> dict[str, dict]:
    return document.get("resource", {}).get(kind, {})


def only(document: dict, kind: str) -> dict:
    items = resources(document, kind)
    assert len(items) == 1, f"expected one {kind}, found {sorted(items)}"
    return next(iter(items.values()))


def booted_text(document: dict, user_data_base64: str) -> str:
    """What an instance with this user data boots with: the cloud-config text, then
    every file of the bootstrap bundle it pins (the stack's ``aws_s3_object`` with the
    key and SHA-256 its ``bundle.json`` names), each after a ``# <path>`` line."""
    import base64
    import gzip
    import hashlib

    import yaml

    from constructs_substrate.bootstrap import bundle

    text = gzip.decompress(base64.b64decode(user_data_base64)).decode()
    (config,) = [json.loads(f["content"]) for f in yaml.safe_load(text)["write_files"] if f["path"] == bundle.BOOT_CONFIG]
    (data,) = [base64.b64decode(o["content_base64"]) for o in resources(document, "aws_s3_object").values()
               if o.get("key") == config["key"]]
    assert hashlib.sha256(data).hexdigest() == config["sha256"], "the user data pins another bundle"
    return "\n".join([text, *(f"# {path}\n{content}" for path, content in bundle.unpacked(data))])


def walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)
