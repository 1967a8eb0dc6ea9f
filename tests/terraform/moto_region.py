"""The AWS emulator the apply tests run against: moto's server on 127.0.0.1 (a free
port), seeded with what a real account already has, and the override file that points
every aws provider block of a stack at it.

- :func:`start`: ``ThreadedMotoServer`` in this process (so seeds and shims reach its
  backends directly), with ``MOTO_IAM_LOAD_MANAGED_POLICIES=true`` (else attaching
  ``AmazonSSMManagedInstanceCore`` 404s) and ``MOTO_ACM_VALIDATION_WAIT=0`` (certificates
  validate at once); both are read when moto is imported, so they are set first.
- :func:`seed`: the public Route53 zone the stacks use and the Ubuntu AMI SSM parameter
  in every region (moto's PutParameter refuses ``/aws/*`` names, so it goes in through
  the backend, pointing at one of moto's own AMIs).
- :func:`write_override`: ``moto_override.tf.json`` in the scratch copy. Terraform merges
  an ``*_override.tf.json`` file into the configuration; each of its provider blocks
  (matched by alias) sets ``endpoints`` for every service the stack uses
  (:data:`SERVICES`: a type not in it fails, nothing is skipped), dummy keys, the
  ``skip_*`` checks that would reach real AWS, path-style S3 and ``max_retries = 2``
  (an API moto lacks fails in seconds instead of minutes of retries). A stack with S3
  state gets its backend block there too, and :func:`point_remote_state` makes its
  ``terraform_remote_state`` read through the emulator. Both work the same whether
  ``terraform`` or ``cdktf deploy`` runs the stack.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ACCOUNT = "123456789012"
"""moto's default account id."""
ENVIRONMENT = {"MOTO_IAM_LOAD_MANAGED_POLICIES": "true", "MOTO_ACM_VALIDATION_WAIT": "0"}

SERVICES: dict[str, str] = {
    "aws_acm_": "acm",
    "aws_autoscaling_": "autoscaling",
    "aws_budgets_": "budgets",
    "aws_cloudwatch_log_": "logs",
    "aws_cloudwatch_": "cloudwatch",
    "aws_default_security_group": "ec2",
    "aws_ebs_": "ec2",
    "aws_eip": "ec2",
    "aws_flow_log": "ec2",
    "aws_instance": "ec2",
    "aws_internet_gateway": "ec2",
    "aws_launch_template": "ec2",
    "aws_route_table": "ec2",
    "aws_security_group": "ec2",
    "aws_subnet": "ec2",
    "aws_volume_attachment": "ec2",
    "aws_vpc": "ec2",
    "aws_ami": "ec2",
    "aws_availability_zones": "ec2",
    "aws_iam_": "iam",
    "aws_kms_": "kms",
    "aws_lb": "elbv2",
    "aws_prometheus_": "amp",
    "aws_route53_": "route53",
    "aws_s3_": "s3",
    "aws_sns_": "sns",
    "aws_ssm_": "ssm",
    "aws_synthetics_": "synthetics",
    "aws_wafv2_": "wafv2",
    "aws_caller_identity": "sts",
    "aws_grafana_": "grafana",
}
"""Resource/data type prefix -> the provider's ``endpoints`` key (longest prefix wins)."""
OFFLINE_TYPES = {"aws_partition", "aws_region", "terraform_remote_state"}
"""Data sources answered without an API call."""
ALWAYS = ("sts", "iam")
"""The provider itself calls these (caller identity, partition)."""


@dataclass
class Emulator:
    server: object
    url: str

    def backend(self, service: str, region: str = "us-east-1"):
        from moto.backends import get_backend

        return get_backend(service)[ACCOUNT][region]

    def stop(self) -> None:
        self.server.stop()


def start() -> Emulator:
    os.environ.update(ENVIRONMENT)
    from moto.server import ThreadedMotoServer
    from moto_shims import install_all

    install_all()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return Emulator(server, f"http://{host}:{port}")


def reset(emulator: Emulator) -> None:
    """Forget every resource (moto's own reset endpoint); seeds must be laid again."""
    request = urllib.request.Request(f"{emulator.url}/moto-api/reset", data=b"", method="POST")
    urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=30).close()


# ---- seeds: what a real account and region already have ---------------------------


def seed_zone(emulator: Emulator, name: str, zone_id: str | None = None) -> str:
    """A public hosted zone ``name``; with ``zone_id``, under that id (moto's own ids do
    not look like AWS's ``Z...``, which the library's config checks)."""
    route53 = emulator.backend("route53", "global")
    zone = route53.create_hosted_zone(name, private_zone=False)
    if zone_id:
        route53.zones[zone_id] = route53.zones.pop(zone.resource_id)
        zone.resource_id = zone_id
    return zone.resource_id


def seed_parameter(emulator: Emulator, region: str, name: str, value: str) -> None:
    """An SSM parameter by the backend (PutParameter refuses ``/aws/*`` names, which
    AWS itself publishes)."""
    from moto.core.utils import utcnow
    from moto.ssm.models import Parameter

    emulator.backend("ssm", region)._parameters[name].append(Parameter(
        account_id=ACCOUNT, name=name, value=value, parameter_type="String", description=None,
        allowed_pattern=None, keyid=None, last_modified_date=utcnow(), version=1, data_type="aws:ec2:image",
    ))


def seed_security_group(emulator: Emulator, region: str, group_id: str) -> None:
    """An existing security group under ``group_id`` in the default VPC (e.g. the
    monitoring server's group a stack opens metrics ports to)."""
    ec2 = emulator.backend("ec2", region)
    vpc = ec2.default_vpc.id
    group = ec2.create_security_group(name=f"seeded-{group_id}", description="seeded", vpc_id=vpc)
    ec2.groups[vpc][group_id] = ec2.groups[vpc].pop(group.id)
    group.id = group.group_id = group_id


def seed_snapshot(emulator: Emulator, region: str) -> str:
    """An EBS snapshot (of a throwaway volume); returns its id."""
    ec2 = emulator.backend("ec2", region)
    volume = ec2.create_volume(size=8, zone_name=f"{region}a")
    return ec2.create_snapshot(volume.id, "seeded chain database snapshot").id


def seed_ubuntu_ami(emulator: Emulator, regions) -> None:
    """``/aws/service/canonical/ubuntu/...`` (Canonical publishes it) -> one of moto's AMIs."""
    from constructs_substrate.node import UBUNTU_AMI_PARAMETER

    for region in regions:
        amis = emulator.backend("ec2", region).amis
        ami = next(a for a in amis.values() if getattr(a, "architecture", "x86_64") == "x86_64")
        seed_parameter(emulator, region, UBUNTU_AMI_PARAMETER, ami.id)


# ---- the override file ---------------------------------------------------------------


def services_of(document: dict) -> set[str]:
    """Endpoint keys for every resource and data source type of ``document``; a type
    not in :data:`SERVICES` raises (add it there)."""
    found = set(ALWAYS)
    for section in ("resource", "data"):
        for kind in document.get(section) or {}:
            if section == "data" and kind in OFFLINE_TYPES:
                continue
            prefixes = [p for p in SERVICES if kind.startswith(p)]
            if not prefixes:
                raise AssertionError(f"{section}.{kind}: no emulator endpoint known; add it to moto_region.SERVICES")
            found.add(SERVICES[max(prefixes, key=len)])
    return found


def provider_settings(url: str, services: set[str]) -> dict:
    return {
        "access_key": "testing",
        "secret_key": "testing",
        "skip_credentials_validation": True,
        "skip_requesting_account_id": False,  # moto answers STS; without the account id the
        # provider writes cross-account ids ("<account>/sg-...") for security group references
        "skip_metadata_api_check": True,
        "skip_region_validation": True,
        "s3_use_path_style": True,
        "max_retries": 2,
        "endpoints": [{service: url for service in sorted(services)}],
    }


def write_override(folder: Path, document: dict, url: str) -> Path:
    """``moto_override.tf.json`` beside ``cdk.tf.json``: every aws provider block
    (the default one and each alias) pointed at the emulator."""
    providers = (document.get("provider") or {}).get("aws") or [{}]
    providers = [providers] if isinstance(providers, dict) else providers
    services = services_of(document)
    blocks = []
    for provider in providers:
        block = provider_settings(url, services)
        if provider.get("alias"):
            block["alias"] = provider["alias"]
        blocks.append(block)
    override: dict = {"provider": {"aws": blocks}}
    s3_backend = (document.get("terraform", {}).get("backend") or {}).get("s3")
    if s3_backend is not None:
        # A backend block in an override file replaces the original one whole: the
        # synthesized bucket, key, region, encrypt and use_lockfile, plus the emulator.
        override["terraform"] = {"backend": {"s3": {**s3_backend, "endpoints": {"s3": url}, **S3_CLIENT_SETTINGS}}}
    path = Path(folder) / "moto_override.tf.json"
    path.write_text(json.dumps(override, indent=2))
    return path


# ---- S3 state in the emulator ---------------------------------------------------------

S3_CLIENT_SETTINGS = {
    "access_key": "testing",
    "secret_key": "testing",
    "skip_credentials_validation": True,
    "skip_requesting_account_id": True,
    "skip_metadata_api_check": True,
    "skip_region_validation": True,
    "use_path_style": True,
}
"""What the S3 backend needs besides ``endpoints`` to talk to the emulator."""


def point_remote_state(document: dict, url: str) -> int:
    """The ``terraform_remote_state`` data sources with ``backend = "s3"`` read the same
    bucket through the emulator: the same client settings added to their ``config``
    (in the scratch copy). Returns how many."""
    count = 0
    for body in ((document.get("data") or {}).get("terraform_remote_state") or {}).values():
        if body.get("backend") == "s3":
            body["config"] = {**body["config"], "endpoints": {"s3": url}, **S3_CLIENT_SETTINGS}
            count += 1
    return count
