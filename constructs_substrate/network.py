"""``NodeNetwork``: a small dual-AZ+ public VPC for nodes, used by the example apps.

Bring your own VPC in production if you have one: every construct takes subnet ids.
This one exists so an example deploys on an empty account: public subnets (p2p needs
inbound from the internet), IPv4 only, the default security group emptied, and VPC
flow logs of rejected traffic to an encrypted, expiring CloudWatch log group.
"""

from __future__ import annotations

import ipaddress

from . import arguments
from ._framework import Construct, Fn, aws
from .errors import ConfigError
from .iam import policy_document
from .kms import LogsKey
from .naming import name_prefix
from .observability.config import LOG_RETENTION_DAYS


class NodeNetwork(Construct):
    """Attributes: ``vpc``, ``subnets`` (public, one per AZ), ``subnet_ids``,
    ``internet_gateway``, ``route_table``, ``flow_log``, ``flow_log_group``."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cidr: str = "10.40.0.0/16",
        az_count: int = 2,
        flow_log_retention_days: int = 30,
        provider=None,
    ) -> None:
        problems = arguments.integer(az_count, "az_count", 2, 6) + arguments.integer(
            flow_log_retention_days, "flow_log_retention_days", 1, 3653,
        )
        if not problems and flow_log_retention_days not in LOG_RETENTION_DAYS:
            problems.append(arguments.Problem(
                "flow_log_retention_days",
                f"CloudWatch Logs keeps logs {', '.join(map(str, LOG_RETENTION_DAYS))} days; pick one, e.g. 30",
            ))
        if problems:
            raise ConfigError(problems, "NodeNetwork")
        try:
            network = ipaddress.ip_network(cidr)
        except (TypeError, ValueError):
            raise ConfigError.of("cidr", f"{cidr!r} is not a CIDR block like '10.40.0.0/16'", "NodeNetwork") from None
        if network.version != 4 or not 16 <= network.prefixlen <= 24:
            raise ConfigError.of("cidr", "must be an IPv4 block between /16 and /24", "NodeNetwork")
        if not 2 <= az_count <= 6:
            raise ConfigError.of("az_count", "must be 2..6 (an ALB needs two AZs)", "NodeNetwork")
        super().__init__(scope, id)
        prefix = name_prefix(self)
        self.vpc = aws("vpc").Vpc(
            self, "vpc", cidr_block=cidr, enable_dns_hostnames=True, enable_dns_support=True,
            tags={"Name": f"{prefix}vpc"}, provider=provider,
        )
        # Remove every rule from the default security group so nothing uses it by accident.
        aws("default_security_group").DefaultSecurityGroup(
            self, "default-sg", vpc_id=self.vpc.id, ingress=[], egress=[], provider=provider
        )
        azs = aws("data_aws_availability_zones").DataAwsAvailabilityZones(
            self, "azs", state="available", provider=provider
        )
        self.internet_gateway = aws("internet_gateway").InternetGateway(
            self, "igw", vpc_id=self.vpc.id, provider=provider
        )
        self.route_table = aws("route_table").RouteTable(
            self, "public", vpc_id=self.vpc.id,
            route=[{"cidrBlock": "0.0.0.0/0", "gatewayId": self.internet_gateway.id}],
            provider=provider,
        )
        blocks = list(network.subnets(new_prefix=min(network.prefixlen + 4, 28)))
        self.subnets = []
        for index in range(az_count):
            subnet = aws("subnet").Subnet(
                self, f"public-{index}", vpc_id=self.vpc.id, cidr_block=str(blocks[index]),
                availability_zone=Fn.element(azs.names, index),
                # Nodes need a public address to dial and be dialled by peers.
                map_public_ip_on_launch=True,
                tags={"Name": f"{prefix}public-{index}"}, provider=provider,
            )
            aws("route_table_association").RouteTableAssociation(
                self, f"public-{index}-routes", subnet_id=subnet.id,
                route_table_id=self.route_table.id, provider=provider,
            )
            self.subnets.append(subnet)
        self.subnet_ids = [s.id for s in self.subnets]
        self._flow_logs(prefix, flow_log_retention_days, provider)

    def _flow_logs(self, prefix: str, retention_days: int, provider) -> None:
        key = LogsKey(self, "flow-log-key", description="VPC flow logs", provider=provider)
        self.flow_log_group = aws("cloudwatch_log_group").CloudwatchLogGroup(
            self, "flow-log-group", name_prefix=f"/substrate/{prefix}flow-",
            retention_in_days=retention_days, kms_key_id=key.key.arn, provider=provider,
        )
        role = aws("iam_role").IamRole(
            self, "flow-log-role", name_prefix=f"{prefix}flow"[:38],
            description="VPC flow logs: write rejected-traffic records to the flow log group",
            assume_role_policy=policy_document([{
                "Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }]),
            provider=provider,
        )
        aws("iam_role_policy").IamRolePolicy(
            self, "flow-log-policy", role=role.id, name="write-flow-logs",
            policy=policy_document([{
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                "Resource": [f"{self.flow_log_group.arn}:*"],
            }]),
            provider=provider,
        )
        self.flow_log = aws("flow_log").FlowLog(
            self, "flow-log", vpc_id=self.vpc.id, traffic_type="REJECT",
            log_destination=self.flow_log_group.arn, iam_role_arn=role.arn, provider=provider,
        )
