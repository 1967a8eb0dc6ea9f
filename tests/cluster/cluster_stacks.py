"""The cluster configurations and stacks the tests synthesize (once per session: see
``conftest.py``). A module of its own, not ``conftest``: several test folders have a
``conftest.py``, and ``from conftest import ...`` would find whichever came first.

- ``default``: one cluster with its own ALB, an extra name, WAF, an EBS snapshot from
  SSM, monitoring access;
- ``shared``: two clusters (polkadot with Spot, kusama) on one shared ApiLoadBalancer;
- ``archive``: an archive cluster with a warm pool, a snapshot archive, an existing
  SNS topic, a parachain with an embedded relay, and a long lifecycle timeout.
"""

from __future__ import annotations

from helpers import synth

from constructs_substrate.cluster import ApiClusterConfig, LoadBalancerConfig
from constructs_substrate.config import NodeConfig

ZONE_ID = "Z0123456789ABCDEFGHIJ"
ZONE = "rpc.example.com"
SHA = "0123456789abcdef" * 4
TOPIC = "arn:aws:sns:eu-central-1:123456789012:oncall"
MONITORING_SG = "sg-0123456789abcdef0"


def cluster_config(**changes) -> ApiClusterConfig:
    values = dict(
        node=NodeConfig(role="rpc", name="polkadot-rpc", chain="polkadot"),
        domain_name=f"eu-central-1.polkadot.{ZONE}",
        zone_name=ZONE,
        hosted_zone_id=ZONE_ID,
    )
    return ApiClusterConfig(**{**values, **changes})


CONFIGS = {
    "default": cluster_config(
        node=NodeConfig(role="rpc", name="polkadot-rpc", chain="polkadot",
                        monitoring={"security_group_id": MONITORING_SG, "cidrs": ("10.0.0.0/16",)}),
        extra_names=(f"polkadot.{ZONE}",),
        load_balancer=LoadBalancerConfig(waf_rate_limit_per_5min=6000),
        snapshot={"ssm_parameter_name": "/substrate/polkadot/data-snapshot"},
    ),
    "shared-polkadot": cluster_config(
        spot={"instance_types": ("m7i.2xlarge", "m7a.2xlarge", "m6i.2xlarge"), "on_demand_base_capacity": 2},
        listener_rule_priority=10,
    ),
    "shared-kusama": cluster_config(
        node=NodeConfig(role="rpc", name="kusama-rpc", chain="kusama"),
        domain_name=f"eu-central-1.kusama.{ZONE}", listener_rule_priority=20, scale_in=False,
    ),
    "archive": cluster_config(
        node=NodeConfig(role="archive", name="ah-archive", chain="asset-hub-polkadot"),
        domain_name=f"eu-central-1.asset-hub.{ZONE}",
        min_size=1, max_size=3,
        lifecycle_timeout_seconds=21600,
        warm_pool={"min_size": 1},
        snapshot={"archive_url": "https://snapshots.example.com/asset-hub/archive.tar.zst", "archive_sha256": SHA},
        alarms={"topic_arn": TOPIC},
        target_requests_per_instance=None,
        load_balancer=LoadBalancerConfig(waf_rate_limit_per_5min=None),  # opted out
    ),
}


def _build_default(stack):
    from constructs_substrate.cluster import AutoscalingApiCluster
    from constructs_substrate.network import NodeNetwork

    network = NodeNetwork(stack, "network")
    AutoscalingApiCluster(stack, "api", config=CONFIGS["default"], vpc_id=network.vpc.id, subnet_ids=network.subnet_ids)


def _build_shared(stack):
    from constructs_substrate.cluster import ApiLoadBalancer, AutoscalingApiCluster, DnsValidatedCertificate
    from constructs_substrate.network import NodeNetwork

    network = NodeNetwork(stack, "network", az_count=3)
    certificate = DnsValidatedCertificate(stack, "alb-certificate", names=[f"eu-central-1.{ZONE}"], zone_id=ZONE_ID)
    alb = ApiLoadBalancer(
        stack, "alb", config=LoadBalancerConfig(idle_timeout_seconds=1800), vpc_id=network.vpc.id,
        subnet_ids=network.subnet_ids, certificate_arn=certificate.certificate_arn,
    )
    for key in ("polkadot", "kusama"):
        AutoscalingApiCluster(
            stack, key, config=CONFIGS[f"shared-{key}"], vpc_id=network.vpc.id,
            subnet_ids=network.subnet_ids, load_balancer=alb,
        )


def _build_archive(stack):
    from constructs_substrate.cluster import AutoscalingApiCluster

    AutoscalingApiCluster(
        stack, "archive", config=CONFIGS["archive"], vpc_id="vpc-0123456789abcdef0",
        subnet_ids=["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
    )


def synth_all() -> dict[str, dict]:
    return {
        "default": synth(_build_default),
        "shared": synth(_build_shared),
        "archive": synth(_build_archive),
    }
