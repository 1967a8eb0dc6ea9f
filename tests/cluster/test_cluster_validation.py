"""Every validation rule of the cluster: a ConfigError naming the field and the fix,
raised before any resource is created."""

from __future__ import annotations

import pytest
from cluster_stacks import SHA, ZONE, cluster_config

from constructs_substrate.cluster import ApiClusterConfig, LoadBalancerConfig
from constructs_substrate.config import NodeConfig
from constructs_substrate.errors import ConfigError

RPC = {"role": "rpc", "name": "polkadot-rpc", "chain": "polkadot"}
ARCHIVE_URL = "https://snapshots.example.com/polkadot.tar.lz4"

CASES = {
    "validator role": ({"node": {"role": "validator", "name": "v"}}, "node.role"),
    "bootnode role": ({"node": {"role": "bootnode", "name": "b"}}, "node.role"),
    "node tls": ({"node": {**RPC, "tls": {"domain": f"x.{ZONE}", "email": "ops@example.com"}}}, "node.tls"),
    "node dns": ({"node": {**RPC, "dns": {"zone_id": "Z1", "name": f"x.{ZONE}"}}}, "node.dns"),
    "elastic ip": ({"node": {**RPC, "elastic_ip": True}}, "node.elastic_ip"),
    "private rpc ingress": ({"node": {**RPC, "rpc": {"ingress_cidrs": ("10.0.0.0/8",)}}}, "node.rpc.ingress_cidrs"),
    "retained volume": ({"node": {**RPC, "data_volume": {"retain": True}}}, "node.data_volume.retain"),
    "domain outside zone": ({"domain_name": "rpc.example.org"}, "domain_name"),
    "bad domain": ({"domain_name": "not a name"}, "domain_name"),
    "extra name outside zone": ({"extra_names": ("rpc.example.org",)}, "extra_names"),
    "extra name repeats domain": ({"extra_names": (f"eu-central-1.polkadot.{ZONE}",)}, "extra_names"),
    "too many names": ({"extra_names": tuple(f"n{i}.{ZONE}" for i in range(5))}, "extra_names"),
    "bad zone id": ({"hosted_zone_id": "zone-1"}, "hosted_zone_id"),
    "min above max": ({"min_size": 4, "max_size": 3}, "max_size"),
    "zero min": ({"min_size": 0}, "min_size"),
    "idle timeout zero": ({"load_balancer": {"idle_timeout_seconds": 0}}, "load_balancer.idle_timeout_seconds"),
    "idle timeout above 4000": ({"load_balancer": {"idle_timeout_seconds": 4001}}, "load_balancer.idle_timeout_seconds"),
    "tls 1.2 policy": ({"load_balancer": {"ssl_policy": "ELBSecurityPolicy-2016-08"}}, "load_balancer.ssl_policy"),
    "waf limit too low": ({"load_balancer": {"waf_rate_limit_per_5min": 5}}, "load_balancer.waf_rate_limit_per_5min"),
    "log retention zero": ({"load_balancer": {"access_log_retention_days": 0}}, "load_balancer.access_log_retention_days"),
    "deregistration above 3600": ({"deregistration_delay_seconds": 3601}, "deregistration_delay_seconds"),
    "lifecycle too short": ({"lifecycle_timeout_seconds": 60}, "lifecycle_timeout_seconds"),
    "lifecycle above 48 h": ({"lifecycle_timeout_seconds": 172801}, "lifecycle_timeout_seconds"),
    "health timeout not below interval": ({"health_check": {"interval_seconds": 5, "timeout_seconds": 5}}, "health_check.timeout_seconds"),
    "health threshold 1": ({"health_check": {"healthy_threshold": 1}}, "health_check.healthy_threshold"),
    "no room to refresh": ({"rolling_update": {"min_healthy_percentage": 100, "max_healthy_percentage": 100}}, "rolling_update.max_healthy_percentage"),
    "refresh range over 100": ({"rolling_update": {"min_healthy_percentage": 50, "max_healthy_percentage": 200}}, "rolling_update.max_healthy_percentage"),
    "warm pool with spot": ({"warm_pool": {}, "spot": {}}, "warm_pool"),
    "arm spot type": ({"spot": {"instance_types": ("m7g.2xlarge",)}}, "spot.instance_types"),
    "smaller spot type": ({"spot": {"instance_types": ("m7i.xlarge",)}}, "spot.instance_types"),
    "unknown spot type": ({"spot": {"instance_types": ("huge",)}}, "spot.instance_types"),
    "on-demand base above max": ({"spot": {"on_demand_base_capacity": 7}}, "spot.on_demand_base_capacity"),
    "warm pool prepared below min": ({"warm_pool": {"min_size": 2, "max_prepared_capacity": 1}}, "warm_pool.max_prepared_capacity"),
    "two snapshot sources": ({"snapshot": {"ssm_parameter_name": "/a", "archive_url": ARCHIVE_URL, "archive_sha256": SHA}}, "snapshot.ssm_parameter_name"),
    "no snapshot source": ({"snapshot": {}}, "snapshot.ssm_parameter_name"),
    "archive without checksum": ({"snapshot": {"archive_url": ARCHIVE_URL}}, "snapshot.archive_sha256"),
    "archive over http": ({"snapshot": {"archive_url": "http://x.example.com/a.tar", "archive_sha256": SHA}}, "snapshot.archive_url"),
    "archive of unknown format": ({"snapshot": {"archive_url": "https://x.example.com/a.zip", "archive_sha256": SHA}}, "snapshot.archive_url"),
    "bad checksum": ({"snapshot": {"archive_url": ARCHIVE_URL, "archive_sha256": "abc"}}, "snapshot.archive_sha256"),
    "extract outside chains": ({"snapshot": {"archive_url": ARCHIVE_URL, "archive_sha256": SHA, "extract_to": "../etc"}}, "snapshot.extract_to"),
    "snapshot twice": ({"node": {**RPC, "data_volume": {"snapshot_id": "snap-0123456789abcdef0"}}, "snapshot": {"ssm_parameter_name": "/a"}}, "snapshot"),
    "archive without snapshot": ({"node": {"role": "archive", "name": "a"}}, "snapshot"),
    "no scaling policy": ({"target_cpu_percent": None, "target_requests_per_instance": None}, "target_cpu_percent"),
    "bad topic arn": ({"alarms": {"topic_arn": "alerts"}}, "alarms.topic_arn"),
    "unknown option": ({"idle_timeout": 3600}, "idle_timeout"),
}


@pytest.mark.parametrize("changes, field", CASES.values(), ids=CASES.keys())
def test_invalid_config_names_the_field(changes, field):
    if isinstance(changes.get("node"), dict):
        changes = {**changes, "node": NodeConfig(**changes["node"])}
    with pytest.raises(ConfigError) as caught:
        cluster_config(**changes)
    assert f"ApiClusterConfig.{field}" in caught.value.fields, str(caught.value)


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as caught:
        cluster_config(min_size=5, max_size=3, domain_name="rpc.example.org", warm_pool={}, spot={})
    assert {"ApiClusterConfig.max_size", "ApiClusterConfig.domain_name", "ApiClusterConfig.warm_pool"} <= set(caught.value.fields)
    assert str(caught.value).startswith("invalid configuration:")


@pytest.mark.parametrize("changes", [
    {"node": NodeConfig(role="archive", name="a"), "lifecycle_timeout_seconds": 7200},
    {"node": NodeConfig(role="archive", name="a"), "snapshot": {"ssm_parameter_name": "/s"}},
    {"hosted_zone_id": "${TfToken[TOKEN.1]}", "alarms": {"topic_arn": "${TfToken[TOKEN.2]}"}},
    {"min_size": 3, "max_size": 3, "target_cpu_percent": None, "target_requests_per_instance": None},
    {"extra_names": tuple(f"n{i}.{ZONE}" for i in range(4))},
    {"domain_name": ZONE},
])
def test_valid_edge_cases(changes):
    cluster_config(**changes)


def test_archive_format_from_the_url():
    config = cluster_config(snapshot={"archive_url": ARCHIVE_URL + "?sig=1", "archive_sha256": SHA})
    assert config.snapshot.archive_format == "tar.lz4"


# ---- construct arguments (validated before the construct exists) ---------------------------


def _stack():
    from constructs_substrate._framework import App, TerraformStack

    return TerraformStack(App(stack_traces=False), "test")


SUBNETS = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
CONSTRUCT_CASES = {
    "one subnet": (dict(subnet_ids=SUBNETS[:1]), "AutoscalingApiCluster.subnet_ids"),
    "repeated subnet": (dict(subnet_ids=SUBNETS[:1] * 2), "AutoscalingApiCluster.subnet_ids"),
    "bad subnet id": (dict(subnet_ids=["subnet-1", "net-2"]), "AutoscalingApiCluster.subnet_ids"),
    "bad vpc id": (dict(vpc_id="vpc"), "AutoscalingApiCluster.vpc_id"),
    "not a config": (dict(config={"domain_name": "x"}), "AutoscalingApiCluster.config"),
}


@pytest.mark.parametrize("arguments, field", CONSTRUCT_CASES.values(), ids=CONSTRUCT_CASES.keys())
def test_invalid_construct_arguments_name_the_field(arguments, field):
    from constructs_substrate.cluster import AutoscalingApiCluster

    stack = _stack()
    values = {**dict(config=cluster_config(), vpc_id="vpc-0123456789abcdef0", subnet_ids=SUBNETS), **arguments}
    with pytest.raises(ConfigError) as caught:
        AutoscalingApiCluster(stack, "api", **values)
    assert field in caught.value.fields, str(caught.value)
    assert stack.node.try_find_child("api") is None


def test_a_shared_load_balancer_refuses_per_cluster_alb_settings():
    from constructs_substrate.cluster import ApiLoadBalancer, AutoscalingApiCluster

    stack = _stack()
    alb = ApiLoadBalancer(stack, "alb", config=LoadBalancerConfig(), vpc_id="vpc-0123456789abcdef0",
                          subnet_ids=SUBNETS, certificate_arn="arn:aws:acm:eu-central-1:123456789012:certificate/x")
    config = cluster_config(load_balancer={"idle_timeout_seconds": 600})
    with pytest.raises(ConfigError) as caught:
        AutoscalingApiCluster(stack, "api", config=config, vpc_id="vpc-0123456789abcdef0", subnet_ids=SUBNETS, load_balancer=alb)
    assert caught.value.fields == ("AutoscalingApiCluster.config.load_balancer",)
    assert "idle_timeout_seconds" in str(caught.value)


def test_load_balancer_validates_its_network():
    from constructs_substrate.cluster import ApiLoadBalancer

    with pytest.raises(ConfigError) as caught:
        ApiLoadBalancer(_stack(), "alb", config=LoadBalancerConfig(), vpc_id="vpc-0123456789abcdef0",
                        subnet_ids=SUBNETS[:1], certificate_arn="arn")
    assert caught.value.fields == ("ApiLoadBalancer.subnet_ids",)


def test_config_is_frozen():
    config = cluster_config()
    with pytest.raises(Exception):
        config.min_size = 3  # type: ignore[misc]
    assert isinstance(config, ApiClusterConfig)


def test_certificate_names_are_checked():
    from constructs_substrate.cluster import DnsValidatedCertificate

    for names in ([], ["a.example.com", "a.example.com"], ["not a name"]):
        with pytest.raises(ConfigError) as caught:
            DnsValidatedCertificate(_stack(), "certificate", names=names, zone_id="Z1")
        assert caught.value.fields == ("DnsValidatedCertificate.names",)
