"""``NodeGroup``: the launch template, Auto Scaling group and scaling policies of an
RPC cluster: new instances are held out of service by a launch lifecycle hook until
their node is ready, upgrades roll by instance refresh, the size follows load.

Routing and replacement are separate: the group's health check type is ``EC2``, so a
node failing the target group's readiness check only leaves rotation; an instance is
replaced when EC2's status checks fail or when its liveness watcher reports it
``Unhealthy`` (``SetInstanceHealth``) after its node stayed dead for the liveness
window (docs/autoscaling-api-cluster.md, "Routing and replacement")."""

from __future__ import annotations

from typing import Sequence

from .._framework import Construct, Fn, TerraformResourceLifecycle, Token, aws
from ..bootstrap import Bootstrap
from ..bootstrap.bundle_bucket import attach_bundle
from ..iam import NodeInstanceRole
from ..naming import node_tags
from ..node import DATA_DEVICE_NAME, UBUNTU_AMI_PARAMETER
from ..observability.agent_config import AgentConfig
from .config import ApiClusterConfig

HOOK_NAME = "wait-until-ready"
"""The launch lifecycle hook that ``lifecycle-ready.sh`` completes."""
GROUP_METRICS = (
    "GroupMinSize", "GroupMaxSize", "GroupDesiredCapacity", "GroupInServiceInstances",
    "GroupPendingInstances", "GroupTerminatingInstances", "GroupTotalInstances",
    "WarmPoolMinSize", "WarmPoolDesiredCapacity", "WarmPoolWarmedCapacity", "WarmPoolPendingCapacity",
)
"""1-minute group metrics (free) for dashboards and the scaling-event alerts."""
TERMINATION_POLICIES = ("OldestLaunchTemplate", "NewestInstance")
"""Scale-in removes instances of an outdated launch template first, then the newest
instance: it has gathered the fewest long-lived WebSocket connections."""


def lifecycle_statements(group_arn: str) -> list[dict]:
    """What ``lifecycle_action.py`` needs: complete (and heartbeat) lifecycle actions
    of this one group, and report its own instance unhealthy (the liveness watcher).
    ``SetInstanceHealth`` takes only an instance id; the policy limits it to instances
    of this group (the action supports the ``autoScalingGroup`` resource type)."""
    return [{
        "Sid": "CompleteOwnLaunchLifecycleAction",
        "Effect": "Allow",
        "Action": ["autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"],
        "Resource": [group_arn],
    }, {
        "Sid": "ReportOwnInstanceUnhealthy",
        "Effect": "Allow",
        "Action": ["autoscaling:SetInstanceHealth"],
        "Resource": [group_arn],
    }]


class NodeGroup(Construct):
    """Instances of ``config.node`` in ``subnet_ids``, registered in
    ``target_group_arns`` once ready.

    :param group_name: the Auto Scaling group's name, already rendered into ``bootstrap``.
    :param bootstrap: the rendered user data (node + cluster extension).
    :param security_group_id: the instances' security group.
    :param target_group_arns: where the group registers instances in service.
    :param request_count_label: ``<alb arn suffix>/<target group arn suffix>`` for the
        request-count scaling policy.
    :param agents: the instances' observability agents; their ``instance_tags`` go on
        every instance (the Monitoring's URL delivery finds its nodes by them).

    Attributes: ``role`` (:class:`NodeInstanceRole`), ``bootstrap_object`` (the bundle in
    the stack's ``BootstrapBucket``), ``launch_template``, ``group``,
    ``request_count_policy`` / ``cpu_policy`` (or ``None``), ``group_name``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: ApiClusterConfig,
        group_name: str,
        name_prefix: str,
        bootstrap: Bootstrap,
        subnet_ids: Sequence[str],
        security_group_id: str,
        target_group_arns: Sequence[str],
        request_count_label: str,
        statements: Sequence[dict] = (),
        agents: AgentConfig | None = None,
        provider=None,
    ) -> None:
        super().__init__(scope, id)
        node = config.node
        self.group_name = group_name
        tags = node_tags(node, agents)

        partition = aws("data_aws_partition").DataAwsPartition(self, "partition", provider=provider).partition
        region = aws("data_aws_region").DataAwsRegion(self, "region", provider=provider).region
        account = aws("data_aws_caller_identity").DataAwsCallerIdentity(self, "account", provider=provider).account_id
        group_arn = f"arn:{partition}:autoscaling:{region}:{account}:autoScalingGroup:*:autoScalingGroupName/{group_name}"
        # The bootstrap's files: one object in the stack's bootstrap bucket, read at first boot.
        self.bootstrap_object, read_bundle = attach_bundle(
            self, "bootstrap-bundle", source=bootstrap.source, bundle=bootstrap.bundle, provider=provider
        )
        self.role = NodeInstanceRole(
            self, "iam", name_prefix=name_prefix,
            statements=[read_bundle, *lifecycle_statements(group_arn), *statements], provider=provider,
        )

        ami, ami_lifecycle = self._image(config, provider)
        root_device = aws("data_aws_ami").DataAwsAmi(
            self, "image", filter=[aws("data_aws_ami").DataAwsAmiFilter(name="image-id", values=[ami])],
            provider=provider,
        ).root_device_name
        lt = aws("launch_template")
        volume = node.data_volume
        self.launch_template = lt.LaunchTemplate(
            self,
            "launch-template",
            name_prefix=name_prefix,
            description=f"Substrate {node.role.value} node of {node.chain.name} ({node.name})",
            image_id=ami,
            instance_type=node.effective_instance_type,
            iam_instance_profile=lt.LaunchTemplateIamInstanceProfile(arn=self.role.instance_profile.arn),
            vpc_security_group_ids=[security_group_id],
            monitoring=lt.LaunchTemplateMonitoring(enabled=True),
            metadata_options=lt.LaunchTemplateMetadataOptions(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1,
                instance_metadata_tags="disabled",
            ),
            block_device_mappings=[
                lt.LaunchTemplateBlockDeviceMappings(
                    device_name=root_device,
                    ebs=lt.LaunchTemplateBlockDeviceMappingsEbs(
                        volume_type="gp3", volume_size=node.root_volume_gib, encrypted="true",
                        kms_key_id=volume.kms_key_arn, delete_on_termination="true",
                    ),
                ),
                lt.LaunchTemplateBlockDeviceMappings(
                    # The bootstrap finds the data disk by its EBS model, not by this name.
                    device_name=DATA_DEVICE_NAME,
                    ebs=lt.LaunchTemplateBlockDeviceMappingsEbs(
                        volume_type="gp3", volume_size=config.data_volume_gib, iops=volume.iops,
                        throughput=volume.throughput_mibps, encrypted="true", kms_key_id=volume.kms_key_arn,
                        snapshot_id=self._snapshot_id(config, provider), delete_on_termination="true",
                    ),
                ),
            ],
            user_data=bootstrap.user_data_base64(),
            update_default_version=True,
            tag_specifications=[
                lt.LaunchTemplateTagSpecifications(resource_type="instance", tags=tags),
                lt.LaunchTemplateTagSpecifications(resource_type="volume", tags=tags),
            ],
            tags=tags,
            lifecycle=ami_lifecycle,
            provider=provider,
        )

        asg = aws("autoscaling_group")
        # The template's new version number changes the group, which starts an instance refresh.
        version = Token.as_string(self.launch_template.latest_version)
        mixed = launch = None
        if config.spot is None:
            launch = asg.AutoscalingGroupLaunchTemplate(id=self.launch_template.id, version=version)
        else:
            spot = config.spot
            mixed = asg.AutoscalingGroupMixedInstancesPolicy(
                instances_distribution=asg.AutoscalingGroupMixedInstancesPolicyInstancesDistribution(
                    on_demand_base_capacity=spot.on_demand_base_capacity,
                    on_demand_percentage_above_base_capacity=spot.on_demand_percentage_above_base,
                    spot_allocation_strategy=spot.allocation_strategy,
                ),
                launch_template=asg.AutoscalingGroupMixedInstancesPolicyLaunchTemplate(
                    launch_template_specification=(
                        asg.AutoscalingGroupMixedInstancesPolicyLaunchTemplateLaunchTemplateSpecification(
                            launch_template_id=self.launch_template.id, version=version
                        )
                    ),
                    override=[
                        asg.AutoscalingGroupMixedInstancesPolicyLaunchTemplateOverride(instance_type=name)
                        for name in (spot.instance_types or (node.effective_instance_type,))
                    ],
                ),
            )
        refresh = config.rolling_update
        warm = config.warm_pool
        self.group = asg.AutoscalingGroup(
            self,
            "group",
            name=group_name,
            min_size=config.min_size,
            max_size=config.max_size,
            # No desired_capacity: it starts at min_size and then belongs to the scaling
            # policies; an apply must never reset it (the original module did).
            vpc_zone_identifier=list(subnet_ids),
            launch_template=launch,
            mixed_instances_policy=mixed,
            capacity_rebalance=True if config.spot is not None else None,
            target_group_arns=list(target_group_arns),
            # EC2, not ELB: readiness (the target group) routes, it never terminates.
            # A chain-wide stall makes every target unhealthy at once; with ELB the
            # group would replace the whole fleet and each replacement would sync again.
            # Dead nodes are reported by the liveness watcher (SetInstanceHealth).
            health_check_type="EC2",
            health_check_grace_period=config.health_check_grace_seconds,
            default_instance_warmup=config.health_check_grace_seconds,
            # The hook exists before the first instance launches (a separate hook resource
            # would only be created after the group and its first instances).
            initial_lifecycle_hook=[asg.AutoscalingGroupInitialLifecycleHook(
                name=HOOK_NAME,
                lifecycle_transition="autoscaling:EC2_INSTANCE_LAUNCHING",
                default_result="ABANDON",
                heartbeat_timeout=config.heartbeat_timeout_seconds,
            )],
            instance_refresh=asg.AutoscalingGroupInstanceRefresh(
                strategy="Rolling",
                preferences=asg.AutoscalingGroupInstanceRefreshPreferences(
                    min_healthy_percentage=refresh.min_healthy_percentage,
                    max_healthy_percentage=refresh.max_healthy_percentage,
                    instance_warmup=str(config.health_check_grace_seconds),
                    skip_matching=True,
                ),
            ),
            warm_pool=None if warm is None else asg.AutoscalingGroupWarmPool(
                pool_state="Stopped",
                min_size=warm.min_size,
                max_group_prepared_capacity=warm.max_prepared_capacity,
                instance_reuse_policy=asg.AutoscalingGroupWarmPoolInstanceReusePolicy(
                    reuse_on_scale_in=warm.reuse_on_scale_in
                ),
            ),
            termination_policies=list(TERMINATION_POLICIES),
            enabled_metrics=list(GROUP_METRICS),
            metrics_granularity="1Minute",
            # Instances take up to lifecycle_timeout_seconds to become ready: do not block
            # the apply on it (watch the group's activity instead).
            wait_for_capacity_timeout="0",
            tag=[asg.AutoscalingGroupTag(key=k, value=v, propagate_at_launch=False) for k, v in tags.items()],
            lifecycle=TerraformResourceLifecycle(ignore_changes=["desired_capacity"]),
            # Instances fetch the bundle at first boot with the role's policy: both exist first.
            depends_on=[self.bootstrap_object, self.role.policy],
            provider=provider,
        )

        self.request_count_policy = self.cpu_policy = None
        policy = aws("autoscaling_policy")
        tracking = dict(disable_scale_in=not config.scale_in)
        if config.target_requests_per_instance is not None:
            self.request_count_policy = policy.AutoscalingPolicy(
                self, "request-count", name="alb-requests-per-instance", policy_type="TargetTrackingScaling",
                autoscaling_group_name=self.group.name, provider=provider,
                target_tracking_configuration=policy.AutoscalingPolicyTargetTrackingConfiguration(
                    target_value=config.target_requests_per_instance,
                    predefined_metric_specification=(
                        policy.AutoscalingPolicyTargetTrackingConfigurationPredefinedMetricSpecification(
                            predefined_metric_type="ALBRequestCountPerTarget", resource_label=request_count_label
                        )
                    ),
                    **tracking,
                ),
            )
        if config.target_cpu_percent is not None:
            self.cpu_policy = policy.AutoscalingPolicy(
                self, "cpu", name="average-cpu", policy_type="TargetTrackingScaling",
                autoscaling_group_name=self.group.name, provider=provider,
                target_tracking_configuration=policy.AutoscalingPolicyTargetTrackingConfiguration(
                    target_value=config.target_cpu_percent,
                    predefined_metric_specification=(
                        policy.AutoscalingPolicyTargetTrackingConfigurationPredefinedMetricSpecification(
                            predefined_metric_type="ASGAverageCPUUtilization"
                        )
                    ),
                    **tracking,
                ),
            )

    def _image(self, config: ApiClusterConfig, provider) -> tuple[str, TerraformResourceLifecycle | None]:
        if config.node.ami_id:
            return config.node.ami_id, None
        ami = aws("data_aws_ssm_parameter").DataAwsSsmParameter(
            self, "ami", name=UBUNTU_AMI_PARAMETER, provider=provider
        ).insecure_value
        # As for SubstrateNode: a new Ubuntu AMI alone does not roll the cluster; pin
        # node.ami_id to move to it (the change then rolls by instance refresh).
        return ami, TerraformResourceLifecycle(ignore_changes=["image_id"])

    def _snapshot_id(self, config: ApiClusterConfig, provider) -> str | None:
        snapshot = config.snapshot
        if snapshot is not None and snapshot.ssm_parameter_name is not None:
            # Read on every plan: updating the parameter moves new instances (and, through
            # a new launch template version, an instance refresh) to the newer snapshot.
            value = aws("data_aws_ssm_parameter").DataAwsSsmParameter(
                self, "snapshot", name=snapshot.ssm_parameter_name, provider=provider
            ).insecure_value
            # Before its first snapshot a snapshot source holds "none" (anything not
            # "snap-..."): the volume starts empty and the instance's restore falls back
            # to the next source (public snapshot, then sync) instead of failing to launch.
            return Token.as_string(Fn.conditional(Fn.startswith(value, "snap-"), value, Token.null_value()))
        return config.node.data_volume.snapshot_id
