"""Synthesize every catalog chain into some regions and print every literal resource
name as JSON: ``python tests/synth/names_synth.py <region>...``. Used by
test_names_unique.py, which runs it in one process per CPU (synthesis is CPU bound
in the jsii runtime; ~0.3 s per regional stack)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from constructs_substrate._framework import App, SynthTesting  # noqa: E402
from constructs_substrate.chains import CATALOG  # noqa: E402
from constructs_substrate.deployment import deploy_chain  # noqa: E402
from constructs_substrate.settings import DeploymentSettings  # noqa: E402

NAME_ATTRIBUTES = ("name", "name_prefix", "bucket", "bucket_prefix", "alias", "alarm_name", "dashboard_name",
                   "association_name", "function_name")
TELEMETRY = {
    "telemetry_backend_image": "docker.io/parity/substrate-telemetry-backend@sha256:" + "a" * 64,
    "telemetry_frontend_image": "docker.io/parity/substrate-telemetry-frontend@sha256:" + "b" * 64,
}


def collect(regions: tuple[str, ...]) -> dict:
    """``{"stacks": [...], "names": [[stack, region, type, address, attribute, value], ...]}``
    for every catalog chain (relays first, validators and telemetry in the first
    region, monitoring everywhere) deployed into ``regions``."""
    app = App(stack_traces=False)
    settings = DeploymentSettings(
        domain="rpc.example.com", zone_name="example.com", regions=regions, validators=1,
        alert_email="oncall@example.com", **TELEMETRY,
    )
    relays: dict = {}
    stacks = {}
    for chain in sorted(CATALOG.values(), key=lambda c: c.is_parachain):
        deployment = deploy_chain(
            app, chain=chain.name, settings=settings, validators=0 if chain.is_parachain else 1,
            relay=relays.get(chain.relay_chain),
        )
        relays[chain.name] = deployment
        stacks.update({stack.node.id: stack for stack in deployment.stacks.values()})
    names = []
    for stack_name, stack in stacks.items():
        document = json.loads(SynthTesting.synth(stack))
        (provider,) = [p for p in document["provider"]["aws"] if "alias" not in p]
        for kind, items in document.get("resource", {}).items():
            for address, resource in items.items():
                for attribute in NAME_ATTRIBUTES:
                    value = resource.get(attribute)
                    if isinstance(value, str) and "${" not in value:
                        names.append([stack_name, provider["region"], kind, address, attribute, value])
    return {"stacks": sorted(stacks), "names": names}


if __name__ == "__main__":
    json.dump(collect(tuple(sys.argv[1:])), sys.stdout)
