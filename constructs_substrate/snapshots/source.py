"""``SnapshotSource``: one node outside every serving group that keeps a fresh,
consistent EBS snapshot of its chain database and publishes it in an SSM parameter
that clusters read (docs/snapshot-source.md)."""

from __future__ import annotations

from typing import Sequence

from .._framework import Construct, TerraformOutput, TerraformResourceLifecycle, aws
from ..errors import ConfigError
from ..iam import policy_document
from ..node import SubstrateNode
from ..observability import AgentConfig
from .config import SnapshotSourceConfig
from .extension import snapshot_extension
from .producer import NO_SNAPSHOT, TAG_SOURCE


def producer_statements(*, partition: str, region: str, account: str, volume_arn: str,
                        parameter_name: str, source: str, fast_restore: bool) -> list[dict]:
    """What ``snapshot_producer.py`` may do: snapshot ONE volume (only with this
    source's tag), delete and (optionally) fast-restore only snapshots carrying that
    tag, read and move ONE parameter; the Describe calls have no resource-level
    permissions."""
    snapshots = f"arn:{partition}:ec2:{region}::snapshot/*"
    own = {"StringEquals": {f"aws:ResourceTag/{TAG_SOURCE}": source}}
    statements = [
        {"Sid": "SnapshotTheDataVolume", "Effect": "Allow", "Action": ["ec2:CreateSnapshot"],
         "Resource": [volume_arn]},
        {"Sid": "CreateOnlyTaggedSnapshots", "Effect": "Allow", "Action": ["ec2:CreateSnapshot"],
         "Resource": [snapshots], "Condition": {"StringEquals": {f"aws:RequestTag/{TAG_SOURCE}": source}}},
        {"Sid": "TagSnapshotsAtCreation", "Effect": "Allow", "Action": ["ec2:CreateTags"],
         "Resource": [snapshots], "Condition": {"StringEquals": {"ec2:CreateAction": "CreateSnapshot"}}},
        {"Sid": "DeleteOwnSnapshots", "Effect": "Allow", "Action": ["ec2:DeleteSnapshot"],
         "Resource": [snapshots], "Condition": own},
        {"Sid": "ReadVolumesAndSnapshots", "Effect": "Allow",
         "Action": ["ec2:DescribeSnapshots", "ec2:DescribeVolumes"], "Resource": ["*"]},
        {"Sid": "PublishSnapshotId", "Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:PutParameter"],
         "Resource": [f"arn:{partition}:ssm:{region}:{account}:parameter{parameter_name}"]},
    ]
    if fast_restore:
        statements += [
            {"Sid": "FastRestoreOwnSnapshots", "Effect": "Allow",
             "Action": ["ec2:EnableFastSnapshotRestores", "ec2:DisableFastSnapshotRestores"],
             "Resource": [snapshots], "Condition": own},
            {"Sid": "ReadGroupZones", "Effect": "Allow", "Action": ["autoscaling:DescribeAutoScalingGroups"],
             "Resource": ["*"]},
        ]
    return statements


class SnapshotSource(Construct):
    """A :class:`SubstrateNode` (``config.node``) whose data volume is snapshotted every
    ``config.interval_hours``, with the node stopped only until the snapshot is
    initiated; the newest complete snapshot is published in an SSM parameter.

    :param subnet_id: subnet of the source node (any AZ: snapshots are regional).
    :param agents: / :param statements: as for :class:`SubstrateNode`.

    Attributes: ``source_node`` (:class:`SubstrateNode`), ``parameter`` (``aws_ssm_parameter``),
    ``parameter_name``, ``policy`` (the producer's ``aws_iam_role_policy``), ``config``,
    ``source_name`` (the ``substrate:snapshot-source`` tag of its snapshots).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: SnapshotSourceConfig,
        subnet_id: str,
        agents: AgentConfig | None = None,
        statements: Sequence[dict] = (),
        provider=None,
    ) -> None:
        if not isinstance(config, SnapshotSourceConfig):
            raise ConfigError.of("config", "must be a constructs_substrate.snapshots.SnapshotSourceConfig", "SnapshotSource")
        super().__init__(scope, id)
        self.config = config
        self.source_name = config.node.name
        self.parameter_name = config.effective_parameter_name
        node = config.node
        self.source_node = SubstrateNode(
            self, "node", config=node, subnet_id=subnet_id, agents=agents, statements=statements,
            extensions=[snapshot_extension(config, source=self.source_name)], provider=provider,
        )
        tags = {"Name": self.source_name, "substrate:chain": node.chain.name, TAG_SOURCE: self.source_name}
        self.parameter = aws("ssm_parameter").SsmParameter(
            self, "parameter", name=self.parameter_name, type="String", insecure_value=NO_SNAPSHOT,
            description=f"EBS snapshot id of a {node.chain.name} {node.database} data volume, or 'none' "
                        f"(published by {self.source_name})",
            tags=tags,
            # The producer moves the value; an apply must never put it back to 'none'.
            lifecycle=TerraformResourceLifecycle(ignore_changes=["insecure_value"]),
            provider=provider,
        )
        partition = aws("data_aws_partition").DataAwsPartition(self, "partition", provider=provider).partition
        region = aws("data_aws_region").DataAwsRegion(self, "region", provider=provider).region
        account = aws("data_aws_caller_identity").DataAwsCallerIdentity(self, "account", provider=provider).account_id
        self.policy = aws("iam_role_policy").IamRolePolicy(
            self, "producer-policy", name="snapshot-producer", role=self.source_node.role.role.id,
            policy=policy_document(producer_statements(
                partition=partition, region=region, account=account, volume_arn=self.source_node.data_volume.arn,
                parameter_name=self.parameter_name, source=self.source_name,
                fast_restore=config.fast_restore_group is not None,
            )),
            provider=provider,
        )
        TerraformOutput(self, "parameter_name", value=self.parameter.name,
                        description=f"{self.source_name}: SSM parameter with the published snapshot id")

    def feed(self, consumer: Construct) -> list:
        """Make every read of this source's parameter below ``consumer`` (a cluster
        with ``ChainSnapshot(ssm_parameter_name=source.parameter_name)``) wait for the
        parameter: on the first deploy it is created in the same apply, and a plan-time
        read would fail (ParameterNotFound). Returns the reads it found."""
        kind = aws("data_aws_ssm_parameter").DataAwsSsmParameter
        reads = [c for c in consumer.node.find_all() if isinstance(c, kind) and c.name_input == self.parameter_name]
        address = f"{self.parameter.terraform_resource_type}.{self.parameter.friendly_unique_id}"
        for read in reads:
            read.add_override("depends_on", [address])
        return reads
