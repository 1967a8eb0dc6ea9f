"""``SubstrateNode``: one EC2 instance running one Polkadot/Substrate node.

Validator, pruned RPC, archive, bootnode or telemetry server, chosen by
``NodeConfig.role``. Secure by default: IMDSv2 only, encrypted volumes, no SSH (SSM
Session Manager), RPC never open to the internet, metrics only to a named monitoring
source. Every created resource is a public attribute (the escape hatch).
"""

from __future__ import annotations

import hashlib
import json
from typing import Sequence

from . import arguments, flags, ports, upgrade
from ._framework import Construct, TerraformOutput, TerraformResourceLifecycle, aws
from .bootstrap import BootstrapExtension, paths, render_bootstrap
from .bootstrap.bundle_bucket import attach_bundle, bundle_source
from .observability import AgentConfig, agent_extension
from .config import NodeConfig
from .errors import ConfigError
from .iam import NodeInstanceRole, route53_dns01_statements
from .naming import name_prefix, node_tags
from .terraform_text import literal
from .roles import NodeRole
from .security_groups import INTERNET, Ingress, add_egress_anywhere, add_ingress_rules

UBUNTU_AMI_PARAMETER = (
    "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id"
)
"""Canonical's public SSM parameter with the current Ubuntu 24.04 LTS AMI."""
SSM_RESERVED_PREFIXES = ("aws", "amazon", "amzn")
"""SSM document names may not start with these (CreateDocument ``Name``), any case."""
SG_RESERVED_PREFIX = "sg-"
"""Security group names may not start with ``sg-`` (CreateSecurityGroup ``GroupName``)."""
BOOTSTRAP_TAG = "substrate:bootstrap"
"""Instance tag: the first 16 hex digits of the SHA-256 of the rendered user data."""
DATA_DEVICE_NAME = "/dev/sdf"
"""Attachment name of the data volume (on Nitro it shows up as an NVMe disk; the
bootstrap finds it by model, not by this name)."""


def _unreserved(name: str, reserved: tuple[str, ...] | str) -> str:
    """``name``, or ``node-<name>`` when it starts with a prefix AWS reserves (a construct
    id such as ``aws-validator`` or ``sg-1`` would otherwise fail at apply, not at synth)."""
    return f"node-{name}" if name.lower().startswith(reserved) else name


def node_ingress(config: NodeConfig) -> list[Ingress]:
    """Who may reach which port of a node of this configuration."""
    p = config.effective_ports
    rules: list[Ingress] = []
    if config.profile.runs_chain_node:
        rules += [
            Ingress("p2p-tcp", p.p2p, "tcp", "p2p (libp2p TCP and WebSocket)", INTERNET),
            Ingress("p2p-udp", p.p2p, "udp", "p2p (litep2p WebRTC)", INTERNET),
        ]
        if config.embedded_relay:
            rules.append(Ingress("relay-p2p", p.relay_p2p, "tcp", "embedded relay chain p2p", INTERNET))
        if config.rpc.ingress_cidrs:
            rules.append(Ingress("rpc", p.rpc, "tcp", "JSON-RPC from private networks", config.rpc.ingress_cidrs))
    if config.tls is not None:
        rules.append(Ingress("https", ports.HTTPS, "tcp", "HTTPS/WSS through nginx", INTERNET))
        if config.tls.challenge == "http-01":
            rules.append(Ingress("http", ports.HTTP, "tcp", "ACME HTTP-01 and redirect to HTTPS", INTERNET))
    monitoring = config.monitoring
    groups = (monitoring.security_group_id,) if monitoring.security_group_id else ()
    if monitoring.cidrs or groups:
        scraped = [("node-exporter", p.node_exporter, "node_exporter metrics")]
        if config.profile.runs_chain_node:
            scraped.append(("prometheus", p.prometheus, "node metrics"))
        if config.embedded_relay:
            scraped.append(("relay-prometheus", p.relay_prometheus, "embedded relay metrics"))
        if config.profile.rpc_external:
            scraped.append(("probe", p.probe, "readiness probe metrics"))
        rules += [Ingress(key, port, "tcp", what, monitoring.cidrs, groups) for key, port, what in scraped]
    return rules


class SubstrateNode(Construct):
    """One node in an existing VPC subnet.

    :param config: what the node is (validated before any resource is created).
    :param subnet_id: subnet to launch in (public subnet for nodes that announce a
        public address or serve TLS; the VPC and AZ are read from it).
    :param agents: metrics and log shipping (Prometheus agent + Fluent Bit), usually
        ``Monitoring.agent_config()``. Default: none (node_exporter and the node's own
        metrics stay local).
    :param statements: extra IAM statements for the instance role, usually
        ``Monitoring.node_statements()``. Default: none.
    :param extensions: more bootstrap steps (files, packages, commands), e.g. a
        :class:`~constructs_substrate.snapshots.SnapshotSource`'s producer. Default: none.
    :param replace_on_bootstrap_change: replace the instance (stop, terminate, launch a
        new one with the new user data) whenever the rendered bootstrap changes, e.g. a
        release pin or a template. Default ``False``: user data changes are ignored by
        Terraform (the running node keeps running; upgrade its release in place with
        ``upgrade_document``). The instance's ``substrate:bootstrap`` tag still shows
        that the rendered bootstrap changed.
    :param provider: AWS provider to use. Default: the stack's default provider.

    Attributes (escape hatches): ``instance``, ``data_volume``, ``volume_attachment``,
    ``security_group``, ``ingress_rules``, ``role`` (:class:`NodeInstanceRole`),
    ``elastic_ip`` / ``eip_association`` / ``dns_record`` / ``rotate_keys_document`` /
    ``upgrade_document`` / ``rollback_document`` (or ``None``), ``bootstrap`` (the
    rendered cloud-init), ``bootstrap_object`` (its bundle, in the stack's
    :class:`~constructs_substrate.bootstrap.bundle_bucket.BootstrapBucket`), ``config``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: NodeConfig,
        subnet_id: str,
        agents: AgentConfig | None = None,
        statements: Sequence[dict] = (),
        extensions: Sequence[BootstrapExtension] = (),
        replace_on_bootstrap_change: bool = False,
        provider=None,
    ) -> None:
        problems = (
            arguments.of_type(config, NodeConfig, "config", "a NodeConfig, e.g. NodeConfig(role='rpc', name='rpc-1')")
            + arguments.aws_id(subnet_id, "subnet", "subnet_id")
            + arguments.of_type(agents, AgentConfig, "agents", "an AgentConfig (Monitoring.agent_config())", optional=True)
            + arguments.statements(statements)
            + arguments.of_type(replace_on_bootstrap_change, bool, "replace_on_bootstrap_change", "True or False")
        )
        if problems:
            raise ConfigError(problems, "SubstrateNode")
        # Render first: a bootstrap that cannot be built must fail before any resource exists.
        source = bundle_source(scope, id, provider)
        self.bootstrap = render_bootstrap(
            config, [*extensions, *([agent_extension(agents, config)] if agents else [])], source=source
        )
        super().__init__(scope, id)
        self.config = config
        prefix = name_prefix(self)
        tags = node_tags(config, agents)

        subnet = aws("data_aws_subnet").DataAwsSubnet(self, "subnet", id=subnet_id, provider=provider)

        self.security_group = aws("security_group").SecurityGroup(
            self,
            "security-group",
            name_prefix=_unreserved(prefix, SG_RESERVED_PREFIX),
            description=f"Substrate {config.role.value} node {config.name}",
            vpc_id=subnet.vpc_id,
            tags=tags,
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            provider=provider,
        )
        self.ingress_rules = add_ingress_rules(self, self.security_group.id, node_ingress(config), provider)
        self.egress_rules = add_egress_anywhere(
            self, self.security_group.id, "peers, releases, packages, ACME", provider
        )

        # The bootstrap's files: one object in the stack's bootstrap bucket, read at first boot.
        self.bootstrap_object, read_bundle = attach_bundle(
            self, "bootstrap-bundle", source=source, bundle=self.bootstrap.bundle, provider=provider
        )
        statements = [read_bundle, *statements]
        if config.tls is not None and config.tls.challenge == "dns-01":
            zone = config.tls.hosted_zone_id or config.dns.zone_id  # validated: one is set
            statements += route53_dns01_statements(zone, config.tls.domain)
        self.role = NodeInstanceRole(self, "iam", name_prefix=prefix, statements=statements, provider=provider)

        ignored = []
        if config.ami_id:
            ami = config.ami_id
        else:
            ami = aws("data_aws_ssm_parameter").DataAwsSsmParameter(
                self, "ami", name=UBUNTU_AMI_PARAMETER, provider=provider
            ).insecure_value
            # A new Ubuntu AMI must not replace a running validator; pin ami_id to upgrade the OS.
            ignored.append("ami")
        if not replace_on_bootstrap_change:
            # With user_data_replace_on_change false, the provider applies a user data
            # change by STOPPING and starting the instance, and cloud-init does not run
            # the new user data on that boot either: minutes offline for nothing.
            ignored.append("user_data_base64")
        if config.use_elastic_ip:
            # Launched without a public IPv4 of its own, so the only one it ever has is
            # the Elastic IP, the one run-node announces (it waits for the association).
            # The provider reads the attribute back as true once the Elastic IP is
            # associated, and a change forces replacement: without ignore_changes every
            # plan would replace the node (terraform-provider-aws #37318).
            ignored.append("associate_public_ip_address")
        user_data = self.bootstrap.user_data_base64()

        self.instance = aws("instance").Instance(
            self,
            "instance",
            ami=ami,
            instance_type=config.effective_instance_type,
            subnet_id=subnet_id,
            associate_public_ip_address=False if config.use_elastic_ip else None,
            vpc_security_group_ids=[self.security_group.id],
            iam_instance_profile=self.role.instance_profile.name,
            ebs_optimized=True,
            monitoring=True,
            metadata_options={
                "http_endpoint": "enabled",
                "http_tokens": "required",
                "http_put_response_hop_limit": 1,
                "instance_metadata_tags": "disabled",
            },
            root_block_device={
                "volume_type": "gp3",
                "volume_size": config.root_volume_gib,
                "encrypted": True,
                "kms_key_id": config.data_volume.kms_key_arn,
                "delete_on_termination": True,
            },
            user_data_base64=user_data,
            # Only on request: the data volume, Elastic IP and node key survive it, but the
            # node is offline for minutes. Otherwise releases change in place (upgrade.py).
            user_data_replace_on_change=replace_on_bootstrap_change,
            # Changes in place (no restart): a plan shows the rendered bootstrap changed
            # even while the user data itself is ignored.
            tags={**tags, BOOTSTRAP_TAG: hashlib.sha256(user_data.encode()).hexdigest()[:16]},
            lifecycle=TerraformResourceLifecycle(ignore_changes=ignored) if ignored else None,
            # The first boot fetches the bundle with the role's policy: both exist first.
            depends_on=[self.bootstrap_object, self.role.policy],
            provider=provider,
        )

        volume = config.data_volume
        self.data_volume = aws("ebs_volume").EbsVolume(
            self,
            "data",
            availability_zone=subnet.availability_zone,
            type="gp3",
            size=config.volume_size_gib,
            iops=volume.iops,
            throughput=volume.throughput_mibps,
            encrypted=True,
            kms_key_id=volume.kms_key_arn,
            snapshot_id=volume.snapshot_id,
            tags={**tags, "Name": f"{config.name}-data"},
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if config.retain_volume else None,
            provider=provider,
        )
        self.volume_attachment = aws("volume_attachment").VolumeAttachment(
            self,
            "data-attachment",
            device_name=DATA_DEVICE_NAME,
            volume_id=self.data_volume.id,
            instance_id=self.instance.id,
            # Stop the node cleanly before detaching so RocksDB is never cut mid-write.
            stop_instance_before_detaching=True,
            provider=provider,
        )

        self.elastic_ip = self.eip_association = None
        public_ip = self.instance.public_ip
        if config.use_elastic_ip:
            self.elastic_ip = aws("eip").Eip(self, "eip", domain="vpc", tags=tags, provider=provider)
            self.eip_association = aws("eip_association").EipAssociation(
                self, "eip-association", allocation_id=self.elastic_ip.id,
                instance_id=self.instance.id, provider=provider,
            )
            public_ip = self.elastic_ip.public_ip
        self.public_ip = public_ip

        self.dns_record = None
        if config.dns is not None:
            # Never the instance's own public_ip: it is "" without one (every re-plan then
            # shows records [] -> [""], and Route53 refuses to delete the record) and it
            # changes with every replacement. config.dns implies an Elastic IP.
            assert self.elastic_ip is not None, "NodeConfig.use_elastic_ip is true with dns"
            self.dns_record = aws("route53_record").Route53Record(
                self, "dns", zone_id=config.dns.zone_id, name=config.dns.name, type="A",
                ttl=config.dns.ttl, records=[self.elastic_ip.public_ip], provider=provider,
            )

        self.upgrade_document = self.rollback_document = None
        if config.profile.runs_chain_node:
            self.upgrade_document, self.rollback_document = (
                aws("ssm_document").SsmDocument(
                    self, key, name=_unreserved(f"{prefix}{key}", SSM_RESERVED_PREFIXES), document_type="Command",
                    document_format="JSON", content=literal(content), tags=tags, provider=provider,
                )
                for key, content in (
                    ("upgrade-release", upgrade.upgrade_document(config)),
                    ("rollback-release", upgrade.rollback_document(config)),
                )
            )

        self.rotate_keys_document = None
        if config.role is NodeRole.VALIDATOR:
            self.rotate_keys_document = aws("ssm_document").SsmDocument(
                self, "rotate-keys", name=_unreserved(f"{prefix}rotate-session-keys", SSM_RESERVED_PREFIXES), document_type="Command",
                document_format="JSON", content=literal(_rotate_keys_document()), tags=tags,
                provider=provider,
            )

        self._outputs()

    @property
    def node_args(self) -> list[str]:
        """The node's flags as rendered into the bootstrap."""
        return flags.node_args(self.config)

    def _outputs(self) -> None:
        outputs = {
            "instance_id": self.instance.id,
            "private_ip": self.instance.private_ip,
            "public_ip": self.public_ip,
            "security_group_id": self.security_group.id,
            "data_volume_id": self.data_volume.id,
        }
        if self.dns_record is not None:
            outputs["dns_name"] = self.dns_record.fqdn
        if self.rotate_keys_document is not None:
            outputs["rotate_keys_document"] = self.rotate_keys_document.name
        if self.upgrade_document is not None and self.rollback_document is not None:
            outputs["upgrade_document"] = self.upgrade_document.name
            outputs["rollback_document"] = self.rollback_document.name
        for key, value in outputs.items():
            TerraformOutput(self, key, value=value, description=f"{self.config.name}: {key}")


def _rotate_keys_document() -> str:
    """SSM Run Command that rotates session keys ON the validator: the script calls
    ``author_rotateKeys`` on localhost and prints only the public keys."""
    return json.dumps(
        {
            "schemaVersion": "2.2",
            "description": "Rotate this validator's session keys; prints the public keys for session.setKeys",
            "mainSteps": [
                {
                    "action": "aws:runShellScript",
                    "name": "rotateSessionKeys",
                    "inputs": {
                        "runCommand": [paths.ROTATE_KEYS_SCRIPT],
                        "timeoutSeconds": "120",
                    },
                }
            ],
        },
        sort_keys=True,
    )
