"""``AutoscalingApiCluster``: a public JSON-RPC endpoint (HTTPS + WSS) of one chain in
one region, served by an Auto Scaling group of ``rpc``/``archive`` nodes behind an
Application Load Balancer that only sends traffic to nodes that are ready.

The system this replaces sent clients to syncing or unhealthy nodes (a TCP check on a
port nothing served, EC2 health checks) and reset the group's size on every apply.
Here a node is in service only after its readiness probe (synced, peers, head
advancing, finality lag bounded) says so, twice over: a launch lifecycle hook holds a
new instance until the probe answers 200, and the target group checks the same probe
with hysteresis. WebSocket clients keep their connections through idle periods (ALB
idle timeout) and get minutes to move during scale-in and upgrades (deregistration
delay). See docs/autoscaling-api-cluster.md.
"""

from __future__ import annotations

from typing import Sequence

from .. import arguments
from .._framework import Construct, TerraformOutput, TerraformResourceLifecycle, aws
from ..bootstrap import render_bootstrap
from ..bootstrap.bundle_bucket import bundle_source
from ..observability import AgentConfig, agent_extension
from ..bootstrap.cluster_extension import cluster_extension
from ..config import NodeConfig
from ..errors import ConfigError, Problem
from ..naming import name_prefix, node_tags
from ..security_groups import INTERNET, Ingress, add_egress_anywhere, add_ingress_rules
from .alarms import ClusterAlarms
from .alb import ApiLoadBalancer, network_problems
from .autoscaling import HOOK_NAME, NodeGroup
from .certificate import DnsValidatedCertificate
from .config import ApiClusterConfig

READY_PATH = "/ready"
"""The readiness probe's endpoint (see docs/probe.md)."""
_MODEL = "AutoscalingApiCluster"


def cluster_ingress(node: NodeConfig, load_balancer_security_group_id: str) -> list[Ingress]:
    """Who may reach which port of a cluster instance: p2p from anywhere, RPC and the
    probe only from the load balancer, metrics only from the monitoring source."""
    p = node.effective_ports
    alb = (load_balancer_security_group_id,)
    rules = [
        Ingress("p2p-tcp", p.p2p, "tcp", "p2p (libp2p TCP and WebSocket)", INTERNET),
        Ingress("p2p-udp", p.p2p, "udp", "p2p (litep2p WebRTC)", INTERNET),
        Ingress("rpc", p.rpc, "tcp", "JSON-RPC (HTTP and WebSocket) from the load balancer", security_group_ids=alb),
        Ingress("probe", p.probe, "tcp", "readiness checks from the load balancer", security_group_ids=alb),
    ]
    if node.embedded_relay:
        rules.append(Ingress("relay-p2p", p.relay_p2p, "tcp", "embedded relay chain p2p", INTERNET))
    monitoring = node.monitoring
    groups = (monitoring.security_group_id,) if monitoring.security_group_id else ()
    if monitoring.cidrs or groups:
        scraped = [("node-exporter", p.node_exporter, "node_exporter metrics"), ("prometheus", p.prometheus, "node metrics")]
        if node.embedded_relay:
            scraped.append(("relay-prometheus", p.relay_prometheus, "embedded relay metrics"))
        rules += [Ingress(key, port, "tcp", what, monitoring.cidrs, groups) for key, port, what in scraped]
    return rules


class AutoscalingApiCluster(Construct):
    """Nodes of ``config.node`` behind an ALB, serving ``https://<domain_name>`` and
    ``wss://<domain_name>``.

    :param config: the cluster (validated before any resource is created).
    :param vpc_id: the VPC of ``subnet_ids``.
    :param subnet_ids: at least two subnets in different AZs, for the ALB (when the
        cluster creates it) and the instances. Public subnets (instances need a public
        address for p2p), as :class:`~constructs_substrate.NodeNetwork` makes.
    :param load_balancer: an :class:`ApiLoadBalancer` to share with other clusters (the
        cluster adds its certificate and a host rule to it). Default: the cluster
        creates its own from ``config.load_balancer``.
    :param agents: metrics and log shipping on every instance, usually
        ``Monitoring.agent_config()``. Default: none.
    :param statements: extra IAM statements for the instance role, usually
        ``Monitoring.node_statements()``. Default: none.
    :param provider: AWS provider. Default: the stack's default provider.

    Attributes (escape hatches): ``config``, ``bootstrap``, ``certificate``
    (:class:`DnsValidatedCertificate`), ``load_balancer`` (:class:`ApiLoadBalancer`),
    ``owns_load_balancer``, ``listener_certificate`` (shared ALB, or ``None``),
    ``security_group``, ``ingress_rules``, ``egress_rules``, ``load_balancer_egress_rules``,
    ``target_group``, ``listener_rule``, ``nodes`` (:class:`NodeGroup`: ``role``,
    ``launch_template``, ``group``, ``request_count_policy``, ``cpu_policy``),
    ``launch_template``, ``group``, ``dns_record``, ``alarms`` (:class:`ClusterAlarms`),
    ``https_url``, ``wss_url``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: ApiClusterConfig,
        vpc_id: str,
        subnet_ids: Sequence[str],
        load_balancer: ApiLoadBalancer | None = None,
        agents: AgentConfig | None = None,
        statements: Sequence[dict] = (),
        provider=None,
    ) -> None:
        if not isinstance(config, ApiClusterConfig):
            raise ConfigError.of("config", "must be a constructs_substrate.cluster.ApiClusterConfig", _MODEL)
        problems = (
            network_problems(vpc_id, subnet_ids)
            + arguments.of_type(load_balancer, ApiLoadBalancer, "load_balancer", "an ApiLoadBalancer to share", optional=True)
            + arguments.of_type(agents, AgentConfig, "agents", "an AgentConfig (Monitoring.agent_config())", optional=True)
            + arguments.statements(statements)
        )
        if isinstance(load_balancer, ApiLoadBalancer) and config.load_balancer_fields_set:
            problems.append(Problem(
                "config.load_balancer",
                f"{', '.join(config.load_balancer_fields_set)} belong to the shared ApiLoadBalancer "
                "(set them on its config); leave config.load_balancer unset",
            ))
        if problems:
            raise ConfigError(problems, _MODEL)
        super().__init__(scope, id)
        self.config = config
        node = config.node
        ports = node.effective_ports
        prefix = name_prefix(self)
        group_name = f"{prefix}nodes"
        # Rendered before any resource: a bootstrap that cannot be built (e.g. over the
        # 16 KiB user data limit) fails here.
        extensions = [cluster_extension(config, group_name=group_name, hook_name=HOOK_NAME)]
        if agents is not None:
            extensions.append(agent_extension(agents, node))
        self.bootstrap = render_bootstrap(node, extensions, source=bundle_source(scope, id, provider))
        tags = node_tags(node)

        self.certificate = DnsValidatedCertificate(
            self, "certificate", names=config.names, zone_id=config.hosted_zone_id,
            validated_elsewhere=config.validated_elsewhere, tags=tags, provider=provider,
        )
        self.owns_load_balancer = load_balancer is None
        if load_balancer is None:
            load_balancer = ApiLoadBalancer(
                self, "load-balancer", config=config.load_balancer, vpc_id=vpc_id, subnet_ids=subnet_ids,
                certificate_arn=self.certificate.certificate_arn, provider=provider,
            )
        self.load_balancer = load_balancer
        self.listener_certificate = None
        if not self.owns_load_balancer:
            # The shared listener's default certificate is another's: add ours for SNI.
            self.listener_certificate = aws("lb_listener_certificate").LbListenerCertificate(
                self, "listener-certificate", listener_arn=load_balancer.https_listener.arn,
                certificate_arn=self.certificate.certificate_arn, provider=provider,
            )

        self.security_group = aws("security_group").SecurityGroup(
            self, "security-group", name_prefix=prefix, vpc_id=vpc_id, tags=tags,
            description=f"Substrate {node.role.value} nodes of {node.name}: p2p, RPC from the load balancer",
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True), provider=provider,
        )
        self.ingress_rules = add_ingress_rules(
            self, self.security_group.id, cluster_ingress(node, load_balancer.security_group_id), provider
        )
        self.egress_rules = add_egress_anywhere(self, self.security_group.id, "peers, releases, packages, AWS APIs", provider)
        egress = aws("vpc_security_group_egress_rule").VpcSecurityGroupEgressRule
        self.load_balancer_egress_rules = [
            egress(
                self, f"load-balancer-out-{key}", security_group_id=load_balancer.security_group_id,
                referenced_security_group_id=self.security_group.id, ip_protocol="tcp", from_port=port,
                to_port=port, description=f"{what} to {node.name}", provider=provider,
            )
            for key, port, what in (("rpc", ports.rpc, "JSON-RPC"), ("probe", ports.probe, "readiness checks"))
        ]

        health = config.health_check
        tg = aws("lb_target_group")
        health_check = tg.LbTargetGroupHealthCheck(
            enabled=True,
            protocol="HTTP",
            port=str(ports.probe),
            path=READY_PATH,
            matcher="200",
            interval=health.interval_seconds,
            timeout=health.timeout_seconds,
            healthy_threshold=health.healthy_threshold,
            unhealthy_threshold=health.unhealthy_threshold,
        )
        self.target_group = tg.LbTargetGroup(
            self,
            "target-group",
            name_prefix="rpc-",
            vpc_id=vpc_id,
            target_type="instance",
            port=ports.rpc,
            # HTTP/1.1 to the node: WebSocket upgrades pass through the ALB.
            protocol="HTTP",
            protocol_version="HTTP1",
            deregistration_delay=str(config.deregistration_delay_seconds),
            load_balancing_algorithm_type="least_outstanding_requests",
            # Subscriptions cannot move between nodes: stickiness would not keep them.
            stickiness=tg.LbTargetGroupStickiness(type="lb_cookie", enabled=False),
            health_check=health_check,
            tags=tags,
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            provider=provider,
        )
        # The region's readiness for Route53 (GlobalEndpoint): https://<name>/ready is
        # answered by a ready node's probe, so it is 200 while at least one node is
        # synced and advancing, and 503 when none is (even when the ALB fails open).
        self.readiness_target_group = tg.LbTargetGroup(
            self,
            "readiness-target-group",
            name_prefix="rdy-",
            vpc_id=vpc_id,
            target_type="instance",
            port=ports.probe,
            protocol="HTTP",
            deregistration_delay="0",
            health_check=health_check,
            tags=tags,
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            provider=provider,
        )
        rule = aws("lb_listener_rule")
        hosts = rule.LbListenerRuleCondition(
            host_header=rule.LbListenerRuleConditionHostHeader(values=list(config.names))
        )
        priority = config.listener_rule_priority
        # The /ready rule must come before the host rule; with automatic priorities the
        # first created gets the lower number, hence depends_on below.
        self.readiness_rule = rule.LbListenerRule(
            self,
            "ready-rule",
            listener_arn=load_balancer.https_listener.arn,
            priority=priority,
            action=[rule.LbListenerRuleAction(type="forward", target_group_arn=self.readiness_target_group.arn)],
            condition=[hosts, rule.LbListenerRuleCondition(
                path_pattern=rule.LbListenerRuleConditionPathPattern(values=[READY_PATH])
            )],
            tags=tags,
            provider=provider,
        )
        self.listener_rule = rule.LbListenerRule(
            self,
            "host-rule",
            listener_arn=load_balancer.https_listener.arn,
            priority=None if priority is None else priority + 1,
            action=[rule.LbListenerRuleAction(type="forward", target_group_arn=self.target_group.arn)],
            condition=[hosts],
            depends_on=[self.readiness_rule],
            tags=tags,
            provider=provider,
        )

        self.nodes = NodeGroup(
            self,
            "nodes",
            config=config,
            group_name=group_name,
            name_prefix=prefix,
            bootstrap=self.bootstrap,
            subnet_ids=subnet_ids,
            security_group_id=self.security_group.id,
            target_group_arns=[self.target_group.arn, self.readiness_target_group.arn],
            request_count_label=f"{load_balancer.arn_suffix}/{self.target_group.arn_suffix}",
            statements=statements,
            agents=agents,
            provider=provider,
        )
        self.launch_template = self.nodes.launch_template
        self.group = self.nodes.group

        record = aws("route53_record")
        self.dns_record = record.Route53Record(
            self, "dns", zone_id=config.hosted_zone_id, name=config.domain_name, type="A",
            alias=record.Route53RecordAlias(
                name=load_balancer.load_balancer.dns_name, zone_id=load_balancer.load_balancer.zone_id,
                # No ready node behind the ALB: the record reports unhealthy to latency/geo routing.
                evaluate_target_health=True,
            ),
            provider=provider,
        )
        self.alarms = ClusterAlarms(
            self, "alarms", config=config.alarms, name_prefix=prefix, min_healthy=config.min_size,
            load_balancer_arn_suffix=load_balancer.arn_suffix,
            target_group_arn_suffix=self.target_group.arn_suffix, provider=provider,
        )
        self.https_url = f"https://{config.domain_name}"
        self.wss_url = f"wss://{config.domain_name}"
        self._outputs()

    def _outputs(self) -> None:
        lb = self.load_balancer
        outputs = {
            "https_url": self.https_url,
            "wss_url": self.wss_url,
            "alb_dns_name": lb.load_balancer.dns_name,
            "alb_zone_id": lb.load_balancer.zone_id,
            "alb_security_group_id": lb.security_group_id,
            "instance_security_group_id": self.security_group.id,
            "target_group_arn": self.target_group.arn,
            "asg_name": self.group.name,
            "alarm_topic_arn": self.alarms.topic_arn,
        }
        for key, value in outputs.items():
            TerraformOutput(self, key, value=value, description=f"{self.config.node.name}: {key}")
