"""The stacks the Terraform tests run: every stack of every example app (synthesized
the way a user does, by :mod:`gates.synthesis`), plus one user-written stack per
construct and role, built with the same helper the synth tests use
(:func:`helpers.synth`) and, for the clusters, the stacks of ``tests/cluster``.

User stacks are self-contained (their own :class:`NodeNetwork`), so the same stack
validates and applies against the emulator; only the Route53 zone is a parameter
(seeded in the emulator under the id the cluster stacks use).
"""

from __future__ import annotations

from pathlib import Path

from cluster.cluster_stacks import ZONE_ID
from cluster.cluster_stacks import synth_all as synth_cluster_stacks
from gates.synthesis import VARIANTS, discover_apps, synthesize
from helpers import synth

from constructs_substrate import NodeConfig, SubstrateNode
from constructs_substrate.network import NodeNetwork

ZONE_NAME = "example.com"
"""The zone every user stack and the default apps use (the apps look it up by name);
the emulator seeds it under :data:`ZONE_ID`, the id the cluster stacks use."""
DIGEST = "ab" * 32
TELEMETRY = {
    "backend_image": f"docker.io/parity/substrate-telemetry-backend@sha256:{DIGEST}",
    "frontend_image": f"docker.io/parity/substrate-telemetry-frontend@sha256:{DIGEST}",
}


def node_configs(zone_id: str) -> dict[str, NodeConfig]:
    """One SubstrateNode per role, plus TLS with each ACME challenge."""
    dns = lambda name: {"zone_id": zone_id, "name": f"{name}.{ZONE_NAME}"}  # noqa: E731
    tls = lambda name, **kw: {"domain": f"{name}.{ZONE_NAME}", "email": f"ops@{ZONE_NAME}", **kw}  # noqa: E731
    return {
        "node-validator": NodeConfig(role="validator", name="val-1"),
        "node-rpc": NodeConfig(role="rpc", name="rpc-1"),
        "node-archive": NodeConfig(role="archive", name="arc-1"),
        "node-bootnode": NodeConfig(role="bootnode", name="boot-1", elastic_ip=True, dns=dns("boot")),
        "node-telemetry": NodeConfig(
            role="telemetry", name="tel-1", elastic_ip=True, dns=dns("telemetry"),
            tls=tls("telemetry"), telemetry_server=TELEMETRY,
        ),
        "node-tls-http01": NodeConfig(role="rpc", name="rpc-http", elastic_ip=True, dns=dns("rpc-http"), tls=tls("rpc-http")),
        "node-tls-dns01": NodeConfig(
            role="rpc", name="rpc-dns", elastic_ip=True, dns=dns("rpc-dns"),
            tls=tls("rpc-dns", challenge="dns-01", hosted_zone_id=zone_id),
        ),
    }


def _node_stack(config: NodeConfig):
    def build(stack):
        network = NodeNetwork(stack, "network")
        SubstrateNode(stack, "node", config=config, subnet_id=network.subnet_ids[0])
    return build


def _snapshot_source_stack(stack):
    from constructs_substrate.snapshots import SnapshotSource, SnapshotSourceConfig

    network = NodeNetwork(stack, "network")
    SnapshotSource(stack, "snapshots", config=SnapshotSourceConfig(node=NodeConfig(role="rpc", name="snap-1")),
                   subnet_id=network.subnet_ids[0])


def _global_stack(policy: str, zone_id: str):
    from constructs_substrate.global_endpoint import GlobalEndpoint, GlobalEndpointConfig, RegionalTarget

    config = GlobalEndpointConfig(
        chain="polkadot", domain=f"polkadot.{ZONE_NAME}", zone_name=ZONE_NAME, policy=policy,
        regions=("eu-central-1", "us-east-1", "ap-southeast-1"),
    )
    targets = {r: RegionalTarget(alb_dns_name=f"alb-{r}.elb.amazonaws.com") for r in config.regions}
    return lambda stack: GlobalEndpoint(stack, "global", config=config, hosted_zone_id=zone_id, targets=targets)


def _monitoring_stack(stack):
    from constructs_substrate.observability import Monitoring, MonitoringConfig

    Monitoring(stack, "monitoring", config=MonitoringConfig(
        name="polkadot-eu",
        notifications={"emails": [f"ops@{ZONE_NAME}"]},
        load_balancers=[{"name": "rpc", "load_balancer_arn_suffix": "app/rpc/0123", "target_group_arn_suffix": "targetgroup/rpc/4567"}],
        auto_scaling_groups=["polkadot-rpc"],
        budget={"limit_usd": 1500},
        canary={"endpoints": [f"wss://polkadot.{ZONE_NAME}"]},
        expected_nodes=["val-1"],
    ))


def user_stacks(zone_id: str = ZONE_ID) -> dict[str, dict]:
    """Stack name -> synthesized document (region eu-central-1)."""
    # Each under its own stack name: the node stacks apply side by side in one emulator
    # account, where same-named buckets and SSM documents would collide.
    documents = {name: synth(_node_stack(config), stack_name=name) for name, config in node_configs(zone_id).items()}
    documents.update({f"cluster-{key}": doc for key, doc in synth_cluster_stacks().items()})
    documents["global-geolocation"] = synth(_global_stack("geolocation", zone_id))
    documents["global-latency"] = synth(_global_stack("latency", zone_id))
    documents["monitoring"] = synth(_monitoring_stack)
    documents["node-snapshot-source"] = synth(_snapshot_source_stack, stack_name="node-snapshot-source")
    return documents


USER_STACKS = (
    *node_configs(ZONE_ID), "cluster-default", "cluster-shared", "cluster-archive",
    "global-geolocation", "global-latency", "monitoring", "node-snapshot-source",
)


def synthesize_app(app: str, variant: str, outdir: Path, extra: dict[str, str] | None = None):
    """One app synthesized as a user does (``python apps/<app>.py``) with the variant's
    settings plus ``extra``; raises with its output when it fails."""
    run = synthesize(app, variant, outdir, extra=extra)
    assert run.returncode == 0, f"{run.label} failed to synthesize:\n{run.output[-3000:]}"
    return run


APPS = discover_apps()
APP_VARIANTS = tuple(VARIANTS)
