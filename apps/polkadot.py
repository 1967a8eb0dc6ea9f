"""Polkadot example: a validator, a bootnode and a public TLS RPC node in one region.

    python3 apps/polkadot.py            # synthesizes into cdktf.out/ and prints a summary
    cdktf deploy                        # deploys it (cdktf.json points here)

Settings come from the environment (defaults in brackets):
    SUBSTRATE_REGION [eu-central-1]   AWS region
    SUBSTRATE_DOMAIN []               e.g. example.com; enables DNS names and TLS
    SUBSTRATE_ZONE_ID []              Route53 hosted zone id of SUBSTRATE_DOMAIN
    SUBSTRATE_ACME_EMAIL []           Let's Encrypt account e-mail (needed with a domain)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from constructs_substrate import (  # noqa: E402
    DnsConfig,
    NodeConfig,
    NodeNetwork,
    NodeRole,
    SubstrateNode,
    TlsConfig,
)
from constructs_substrate._framework import App  # noqa: E402
from constructs_substrate.stacks import region_stack  # noqa: E402
from constructs_substrate.summary import summarize  # noqa: E402

CHAIN = "polkadot"


def build(app: App) -> dict[str, list[str]]:
    region = os.environ.get("SUBSTRATE_REGION", "eu-central-1")
    domain = os.environ.get("SUBSTRATE_DOMAIN", "")
    zone_id = os.environ.get("SUBSTRATE_ZONE_ID", "")
    email = os.environ.get("SUBSTRATE_ACME_EMAIL", "")

    stack, _ = region_stack(app, f"{CHAIN}-{region}", region, {"chain": CHAIN})
    network = NodeNetwork(stack, "network")

    SubstrateNode(stack, "validator-1", config=NodeConfig(role=NodeRole.VALIDATOR, name=f"{CHAIN}-validator-1", chain=CHAIN), subnet_id=network.subnet_ids[0])
    SubstrateNode(stack, "bootnode-1", config=NodeConfig(role=NodeRole.BOOTNODE, name=f"{CHAIN}-bootnode-1", chain=CHAIN), subnet_id=network.subnet_ids[1])

    endpoints: list[str] = []
    rpc = dict(role=NodeRole.RPC, name=f"{CHAIN}-rpc-1", chain=CHAIN)
    if domain:
        name = f"rpc-1.{CHAIN}.{domain}"
        rpc.update(dns=DnsConfig(zone_id=zone_id, name=name), tls=TlsConfig(domain=name, email=email))
        endpoints += [f"https://{name}", f"wss://{name}"]
    SubstrateNode(stack, "rpc-1", config=NodeConfig(**rpc), subnet_id=network.subnet_ids[0])
    return {stack.node.id: endpoints}


def main() -> None:
    app = App()
    endpoints = build(app)
    app.synth()
    print(summarize(app.outdir, endpoints))


if __name__ == "__main__":
    main()
