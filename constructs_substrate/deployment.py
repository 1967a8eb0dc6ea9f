"""``deploy_chain``: the composition every network app uses.

For one chain: one stack per region (a VPC, an :class:`AutoscalingApiCluster` serving
``<chain>-<region>.<domain>`` and ``<chain>.<domain>``; validators and a telemetry
node in the first region), a ``<chain>-global`` stack with the georouted
``<chain>.<domain>`` records (:class:`GlobalEndpoint`), and a ``<chain>-validation``
stack, applied before the regions, that owns the ACM validation record of
``<chain>.<domain>`` (every region's certificate carries that name). Apps stay a few
lines: they choose the chain, the node settings and how many validators.

The hosted zone is looked up by name in each stack (``data aws_route53_zone``), or
taken from ``settings.hosted_zone_id``: regional stacks never depend on the global
one, so there is no cross-stack cycle (the global stack reads the regional ALB names).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._framework import App, aws
from .chains import Chain, get_chain
from .cluster import ApiClusterConfig, ChainSnapshot
from .cluster.api_cluster import AutoscalingApiCluster
from .cluster.certificate import DnsValidatedCertificate
from .cluster.config import AlarmConfig, public_snapshot_url
from .config import DnsConfig, NodeConfig, TelemetryServerConfig, TlsConfig
from .errors import ConfigError
from .global_endpoint import GlobalEndpoint, GlobalEndpointConfig, RegionalTarget
from .naming import deployment_name
from .network import NodeNetwork
from .node import SubstrateNode
from .observability import BudgetConfig, CanaryConfig, HealthCheckWatch, Monitoring, MonitoringConfig, Notifications
from .observability.alarms import AwsAlarms
from .observability.notifications import AlertTopic
from .roles import NodeRole
from .settings import DeploymentSettings
from .snapshots import SnapshotSource, SnapshotSourceConfig
from .stacks import region_stack

CHAIN_TAG = "chain"
"""Default tag of every resource of a chain's stacks (``chain=<name>``): what the app's
budget counts, once the key is an activated cost allocation tag."""
BUDGET_HEADROOM = 1.2
"""The default budget limit: the app's cost estimate times this, rounded up to $100."""
NO_ALERT_EMAIL = (
    "example app without alert_email: set SUBSTRATE_ALERT_EMAIL (or \"alert_email\" in "
    "substrate.settings.json); the synth summary warns until then"
)


@dataclass
class ChainDeployment:
    """What ``deploy_chain`` built, for summaries and for other apps (relay URLs)."""

    chain: str
    endpoint: GlobalEndpointConfig
    stacks: dict[str, Any] = field(default_factory=dict)
    clusters: dict[str, Any] = field(default_factory=dict)
    validators: list[Any] = field(default_factory=list)
    telemetry: Any = None
    monitoring: dict[str, Any] = field(default_factory=dict)
    snapshot_sources: dict[str, Any] = field(default_factory=dict)
    """Per region, the :class:`SnapshotSource` whose parameter the region's cluster reads."""
    budget_usd: float | None = None
    """The monthly budget limit (``None`` without monitoring)."""
    cost_estimate: Any = None
    """The :class:`~constructs_substrate.cost.Estimate` the default budget was derived
    from (``None`` when ``settings.monthly_budget_usd`` is set)."""

    def endpoints(self) -> dict[str, list[str]]:
        """Public URLs per stack name."""
        result: dict[str, list[str]] = {}
        for region, cluster in self.clusters.items():
            name = self.endpoint.regional_name(region)
            result[self.stacks[region].node.id] = [f"https://{name}", f"wss://{name}"]
        if self.telemetry is not None:
            first = self.endpoint.regions[0]
            result[self.stacks[first].node.id].append(f"https://{self.telemetry.config.tls.domain}")
        global_name = self.endpoint.global_name
        result[f"{self.chain}-global"] = [f"https://{global_name}", f"wss://{global_name}"]
        return result

    def relay_rpc_urls(self, region: str) -> tuple[str, ...]:
        """This chain's endpoints as a parachain's ``--relay-chain-rpc-urls``: the
        same region's name first (lowest latency), the global name as fallback."""
        return (f"wss://{self.endpoint.regional_name(region)}", f"wss://{self.endpoint.global_name}")


def _zone_id(stack, settings: DeploymentSettings, provider) -> str:
    if settings.hosted_zone_id:
        return settings.hosted_zone_id
    return aws("data_aws_route53_zone").DataAwsRoute53Zone(
        stack, "zone", name=settings.effective_zone_name, private_zone=False, provider=provider
    ).zone_id


def deploy_chain(
    app: App,
    *,
    chain: str | Chain,
    settings: DeploymentSettings,
    rpc_node: dict[str, Any] | None = None,
    validators: int = 0,
    relay: ChainDeployment | None = None,
    monitoring: bool = True,
) -> ChainDeployment:
    """Build every stack of one chain.

    :param chain: a catalog name (``"polkadot"``) or your own :class:`Chain`
        (docs/chains.md); its ``name`` names the stacks and endpoints.
    :param settings: the deployment's settings; ``settings.release`` (when set) moves
        the chain's nodes to that polkadot-sdk release.
    :param rpc_node: extra ``NodeConfig`` fields for the cluster nodes (role ``rpc``).
    :param validators: validators in the first region (0 for parachains).
    :param relay: the relay chain's deployment; its endpoints become the cluster
        nodes' ``--relay-chain-rpc-urls`` (no embedded relay database).
    :param monitoring: per region, a :class:`Monitoring` (managed Prometheus with the
        chain alerts, alerts to SNS, node logs, a WebSocket canary on the regional
        endpoint, capacity alarms; the cost budget in the first region) and the agents
        on every node.
    """
    chain_config = _chain(chain, settings)
    chain = chain_config.name
    endpoint = GlobalEndpointConfig(
        chain=chain, domain=settings.domain, zone_name=settings.effective_zone_name,
        regions=settings.regions, policy=settings.routing_policy,
    )
    deployment = ChainDeployment(chain=chain, endpoint=endpoint)
    deployment.stacks["validation"] = validation = _global_name_validation(app, chain, endpoint, settings)
    telemetry_url = None
    for index, region in enumerate(settings.regions):
        stack, provider = region_stack(app, f"{chain}-{region}", region, {CHAIN_TAG: chain}, settings)
        deployment.stacks[region] = stack
        # Its certificate carries the global name, whose validation record that stack owns.
        stack.add_dependency(validation)
        zone_id = _zone_id(stack, settings, provider)
        network = NodeNetwork(stack, "network", provider=provider)
        observed: dict[str, Any] = {}
        if monitoring:
            watch = _monitoring(stack, chain, region, index, settings, endpoint, validators, provider)
            deployment.monitoring[region] = watch
            observed = {"agents": watch.agent_config(), "statements": watch.node_statements()}
        if index == 0 and settings.telemetry_enabled:
            deployment.telemetry = _telemetry_node(stack, chain_config, settings, zone_id, network, provider, observed)
            telemetry_url = f"wss://{deployment.telemetry.config.tls.domain}/submit"
        node_fields = {"role": NodeRole.RPC, "name": f"{chain}-rpc-{region}", "chain": chain_config,
                       "telemetry_url": telemetry_url, **(rpc_node or {})}
        if relay is not None:
            node_fields["relay_chain_rpc_urls"] = relay.relay_rpc_urls(region)
        # Fast start: the region's own EBS snapshots of a node like the cluster's (docs/snapshot-source.md).
        deployment.snapshot_sources[region] = SnapshotSource(
            stack, "snapshots", config=SnapshotSourceConfig(node=NodeConfig(**{**node_fields, "name": f"{chain}-snapshot-{region}"})),
            subnet_id=network.subnet_ids[-1], provider=provider, **observed,
        )
        cluster_node = NodeConfig(**node_fields)
        deployment.clusters[region] = AutoscalingApiCluster(
            stack, "rpc",
            config=ApiClusterConfig(
                node=cluster_node,
                # New instances start from the region's newest snapshot once there is one,
                # before that from Parity's public snapshot where the chain has one.
                snapshot=_fast_start(deployment.snapshot_sources[region], cluster_node),
                domain_name=endpoint.regional_name(region),
                zone_name=settings.effective_zone_name,
                hosted_zone_id=zone_id,
                extra_names=(endpoint.global_name,),
                validated_elsewhere=(endpoint.global_name,),
                min_size=settings.rpc_min_size,
                max_size=settings.rpc_max_size,
                # The cluster's alarms notify the region's alert topic (its receivers), not a topic of their own.
                **({"alarms": AlarmConfig(topic_arn=deployment.monitoring[region].topic.arn)} if monitoring else {}),
            ),
            vpc_id=network.vpc.id, subnet_ids=network.subnet_ids, provider=provider, **observed,
        )
        deployment.snapshot_sources[region].feed(deployment.clusters[region])
        if monitoring:
            # The group's name exists only once the cluster does: its capacity alarm comes after.
            watch = deployment.monitoring[region]
            AwsAlarms(
                stack, "capacity-alarms",
                config=MonitoringConfig(name=watch.config.name, auto_scaling_groups=(deployment.clusters[region].group.name,)),
                name_prefix=f"{watch.config.name}-", topic_arn=watch.topic.arn, provider=provider,
            )
        if index == 0:
            for number in range(1, validators + 1):
                deployment.validators.append(SubstrateNode(
                    stack, f"validator-{number}",
                    config=NodeConfig(role=NodeRole.VALIDATOR, name=f"{chain}-validator-{number}",
                                      chain=chain_config, telemetry_url=telemetry_url),
                    subnet_id=network.subnet_ids[(number - 1) % len(network.subnet_ids)],
                    provider=provider, **observed,
                ))

    global_stack, provider = region_stack(app, f"{chain}-global", "us-east-1", {CHAIN_TAG: chain}, settings)
    routing = GlobalEndpoint(
        global_stack, "endpoint", config=endpoint, hosted_zone_id=_zone_id(global_stack, settings, provider),
        targets={r: RegionalTarget(c.load_balancer.load_balancer.dns_name) for r, c in deployment.clusters.items()},
        provider=provider,
    )
    if monitoring:
        # Route53 health-check metrics exist only in us-east-1, where this stack lives.
        name = deployment_name(chain, "global")
        topic = AlertTopic(
            global_stack, "alerts", name_prefix=f"{name}-",
            notifications=_notifications(settings), provider=provider,
        )
        AwsAlarms(
            global_stack, "health-check-alarms",
            config=MonitoringConfig(name=name, health_checks=tuple(
                HealthCheckWatch(name=region, health_check_id=check.id)
                for region, check in routing.health_checks.items()
            )),
            name_prefix=f"{name}-", topic_arn=topic.arn, us_east_1_topic_arn=topic.arn, provider=provider,
        )
    deployment.stacks["global"] = global_stack
    if monitoring:
        _budget(deployment, chain, settings)
    if settings.cost_tag_owner == chain:
        # Account-wide and deactivated on destroy: exactly one app (settings.cost_tag_owner) owns it.
        aws("ce_cost_allocation_tag").CeCostAllocationTag(
            global_stack, "cost-allocation-tag", tag_key=CHAIN_TAG, status="Active", provider=provider,
        )
    return deployment


def _fast_start(source: SnapshotSource, node: NodeConfig) -> ChainSnapshot:
    """The cluster's data sources, fastest first: the region's own EBS snapshot, then
    Parity's public snapshot of the same database kind and pruning (if the chain has
    one), then sync (docs/autoscaling-api-cluster.md, "Fast start")."""
    public = public_snapshot_url(node.chain.name, node.database, node.profile.archive)
    return ChainSnapshot(ssm_parameter_name=source.parameter_name, public_url=public)


def _notifications(settings: DeploymentSettings) -> Notifications:
    """The example apps' receiver: ``alert_email``, or none with the reason (the summary
    warns about it, see :mod:`constructs_substrate.apps`)."""
    if settings.alert_email:
        return Notifications(emails=(settings.alert_email,))
    return Notifications(no_receiver_reason=NO_ALERT_EMAIL)


def _budget(deployment: ChainDeployment, chain: str, settings: DeploymentSettings) -> None:
    """One budget per app (budgets are per account), in its first region, counting the
    costs tagged ``chain=<chain>``; the limit is ``settings.monthly_budget_usd``, or the
    estimate of every stack just built x :data:`BUDGET_HEADROOM`."""
    from .cost import budget_limit, estimate

    limit = settings.monthly_budget_usd
    if limit is None:
        documents = {stack.node.id: stack.to_terraform() for stack in deployment.stacks.values()}
        deployment.cost_estimate = estimate(documents)
        limit = budget_limit(deployment.cost_estimate.monthly_usd, headroom=BUDGET_HEADROOM)
    deployment.budget_usd = float(limit)
    deployment.monitoring[settings.regions[0]].add_budget(
        BudgetConfig(limit_usd=limit, cost_allocation_tag=(CHAIN_TAG, chain))
    )


def _chain(chain: str | Chain, settings: DeploymentSettings) -> Chain:
    """The chain to deploy: a catalog name or a :class:`Chain`, on ``settings.release``."""
    if not isinstance(settings, DeploymentSettings):
        raise ConfigError.of("settings", "must be a DeploymentSettings (e.g. load_settings('.'))", "deploy_chain")
    if not isinstance(chain, (str, Chain)):
        raise ConfigError.of(
            "chain", f"must be a catalog name like 'polkadot' or a constructs_substrate.Chain, not {type(chain).__name__}",
            "deploy_chain",
        )
    try:
        resolved = get_chain(chain)
    except ConfigError as error:
        raise ConfigError(error.problems, "deploy_chain") from None
    if settings.release is None:
        return resolved
    try:
        return resolved.with_release(settings.release)
    except ConfigError as error:
        raise ConfigError(error.problems, "DeploymentSettings") from None


def _global_name_validation(app, chain: str, endpoint: GlobalEndpointConfig, settings: DeploymentSettings):
    """The ``<chain>-validation`` stack: the one owner of the global name's ACM
    validation record. ACM gives that name the same CNAME in every region (ACM User
    Guide, "DNS validation"), so each regional certificate validates against this
    record; a certificate of the name in us-east-1 (free, never attached) tells the
    record's name and value. Every regional stack depends on this one (applied first,
    destroyed last): removing a region never deletes a record the others renew with."""
    stack, provider = region_stack(app, f"{chain}-validation", "us-east-1", {CHAIN_TAG: chain}, settings)
    certificate = DnsValidatedCertificate(
        stack, "global-name", names=[endpoint.global_name], zone_id=_zone_id(stack, settings, provider),
        tags={"Name": endpoint.global_name, "substrate:chain": chain}, provider=provider,
    )
    # The sole owner adopts the record if it exists (written by the regional stacks of
    # an older version, docs/global-endpoints.md "Upgrading").
    certificate.records[endpoint.global_name].allow_overwrite = True
    return stack


def _monitoring(stack, chain, region, index, settings, endpoint, validators, provider) -> Monitoring:
    expected = tuple(f"{chain}-validator-{n}" for n in range(1, validators + 1)) if index == 0 else ()
    return Monitoring(
        stack, "monitoring",
        config=MonitoringConfig(
            name=deployment_name(chain, region),
            expected_nodes=expected,
            notifications=_notifications(settings),
            canary=CanaryConfig(endpoints=(f"wss://{endpoint.regional_name(region)}",)),
        ),
        provider=provider,
    )


def _telemetry_node(stack, chain_config, settings, zone_id, network, provider, observed) -> SubstrateNode:
    chain = chain_config.name
    name = f"telemetry.{chain}.{settings.domain}"
    return SubstrateNode(
        stack, "telemetry",
        config=NodeConfig(
            role=NodeRole.TELEMETRY, name=f"{chain}-telemetry", chain=chain_config,
            dns=DnsConfig(zone_id=zone_id, name=name),
            tls=TlsConfig(domain=name, email=settings.acme_email),
            telemetry_server=TelemetryServerConfig(
                backend_image=settings.telemetry_backend_image,
                frontend_image=settings.telemetry_frontend_image,
            ),
        ),
        subnet_id=network.subnet_ids[0], provider=provider, **observed,
    )
