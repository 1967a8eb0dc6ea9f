"""Security invariants over every synthesized cluster stack: the internet reaches only
the load balancer's 80/443 and the nodes' p2p port; RPC and the probe only from the
load balancer; metrics only from the monitoring source."""

from __future__ import annotations

import pytest
from cluster_stacks import MONITORING_SG
from helpers import resources

from constructs_substrate import ports

STACKS = ["default", "shared", "archive"]
INTERNET = {"0.0.0.0/0", "::/0"}


def groups(document: dict) -> tuple[set[str], set[str]]:
    """References of the load balancers' and of the instances' security groups."""
    alb, nodes = set(), set()
    for name in resources(document, "aws_security_group"):
        reference = f"${{aws_security_group.{name}.id}}"
        (alb if "load-balancer" in name or name.startswith("alb_") else nodes).add(reference)
    return alb, nodes


def ingress(document: dict) -> list[dict]:
    return list(resources(document, "aws_vpc_security_group_ingress_rule").values())


def from_internet(rule: dict) -> bool:
    return rule.get("cidr_ipv4") in INTERNET or rule.get("cidr_ipv6") in INTERNET


@pytest.mark.parametrize("stack", STACKS)
def test_internet_reaches_only_https_http_and_p2p(stacks, stack):
    document = stacks[stack]
    alb, nodes = groups(document)
    assert alb and nodes
    for rule in filter(from_internet, ingress(document)):
        assert rule["from_port"] == rule["to_port"]
        if rule["security_group_id"] in alb:
            assert rule["from_port"] in (ports.HTTP, ports.HTTPS) and rule["ip_protocol"] == "tcp"
        else:
            assert rule["security_group_id"] in nodes
            assert rule["from_port"] in (ports.P2P, ports.RELAY_P2P), rule
    public_alb = {(r["from_port"], r.get("cidr_ipv4") or r.get("cidr_ipv6")) for r in filter(from_internet, ingress(document))
                  if r["security_group_id"] in alb}
    assert public_alb == {(p, c) for p in (ports.HTTP, ports.HTTPS) for c in INTERNET}


@pytest.mark.parametrize("stack", STACKS)
def test_rpc_and_probe_only_from_the_load_balancer(stacks, stack):
    document = stacks[stack]
    alb, nodes = groups(document)
    guarded = [r for r in ingress(document) if r["from_port"] in (ports.RPC, ports.PROBE)]
    assert {r["from_port"] for r in guarded} == {ports.RPC, ports.PROBE}
    for rule in guarded:
        assert rule["security_group_id"] in nodes
        assert rule["referenced_security_group_id"] in alb
        assert "cidr_ipv4" not in rule and "cidr_ipv6" not in rule
    assert len(guarded) == 2 * len(nodes)


@pytest.mark.parametrize("stack", STACKS)
def test_load_balancer_sends_only_to_rpc_and_probe_of_the_nodes(stacks, stack):
    document = stacks[stack]
    alb, nodes = groups(document)
    egress = [r for r in resources(document, "aws_vpc_security_group_egress_rule").values() if r["security_group_id"] in alb]
    assert {(r["from_port"], r["to_port"]) for r in egress} == {(ports.RPC, ports.RPC), (ports.PROBE, ports.PROBE)}
    assert all(r["referenced_security_group_id"] in nodes for r in egress)
    for name, group in resources(document, "aws_security_group").items():
        assert "ingress" not in group and "egress" not in group, name


def test_metrics_only_from_the_monitoring_source(stacks):
    document = stacks["default"]
    metrics = [r for r in ingress(document) if r["from_port"] in (ports.PROMETHEUS, ports.NODE_EXPORTER)]
    assert metrics
    for rule in metrics:
        assert rule.get("referenced_security_group_id") == MONITORING_SG or rule.get("cidr_ipv4") == "10.0.0.0/16"
    for stack in ("shared", "archive"):
        assert not [r for r in ingress(stacks[stack]) if r["from_port"] in (ports.PROMETHEUS, ports.NODE_EXPORTER)]


@pytest.mark.parametrize("stack", STACKS)
def test_no_ssh_and_imdsv2_everywhere(stacks, stack):
    document = stacks[stack]
    assert all(r["from_port"] != 22 for r in ingress(document))
    for template in resources(document, "aws_launch_template").values():
        assert template["metadata_options"]["http_tokens"] == "required"
        assert "key_name" not in template
        assert all(m["ebs"]["encrypted"] == "true" for m in template["block_device_mappings"])
