"""IAM for nodes: an instance role with SSM Session Manager (instead of SSH) and
only the extra statements a feature needs, each scoped to its resource."""

from __future__ import annotations

import json
from typing import Sequence

from ._framework import Construct, aws

SSM_CORE_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
"""AWS's managed minimum for Session Manager and Run Command (no S3/KMS data access)."""


def _assume_role(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
            ],
        },
        sort_keys=True,
    )


def policy_document(statements: Sequence[dict]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def deny_insecure_transport(bucket_arn: str) -> dict:
    """Bucket policy statement refusing every request made without TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


class NodeInstanceRole(Construct):
    """Instance role + profile. ``statements`` are added as one inline policy.

    Attributes: ``role``, ``instance_profile``, ``policy`` (or ``None``).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name_prefix: str,
        statements: Sequence[dict] = (),
        provider=None,
    ) -> None:
        super().__init__(scope, id)
        self.role = aws("iam_role").IamRole(
            self,
            "role",
            name_prefix=name_prefix[:38],
            assume_role_policy=_assume_role("ec2.amazonaws.com"),
            description="Substrate node: SSM Session Manager and its feature statements",
            provider=provider,
        )
        aws("iam_role_policy_attachment").IamRolePolicyAttachment(
            self, "ssm", role=self.role.name, policy_arn=SSM_CORE_POLICY, provider=provider
        )
        self.policy = None
        if statements:
            self.policy = aws("iam_role_policy").IamRolePolicy(
                self,
                "policy",
                name="node-features",
                role=self.role.id,
                policy=policy_document(statements),
                provider=provider,
            )
        self.instance_profile = aws("iam_instance_profile").IamInstanceProfile(
            self, "profile", name_prefix=name_prefix[:38], role=self.role.name, provider=provider
        )


def route53_dns01_statements(zone_id: str, domain: str) -> list[dict]:
    """What certbot's dns-route53 plugin needs: write the ``_acme-challenge`` TXT record
    of ONE name in ONE zone (listing zones and reading change status are read-only)."""
    return [
        {
            "Sid": "AcmeDns01Write",
            "Effect": "Allow",
            "Action": ["route53:ChangeResourceRecordSets"],
            "Resource": [f"arn:aws:route53:::hostedzone/{zone_id}"],
            "Condition": {
                "ForAllValues:StringEquals": {
                    "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"],
                    "route53:ChangeResourceRecordSetsNormalizedRecordNames": [
                        f"_acme-challenge.{domain}"
                    ],
                }
            },
        },
        {
            "Sid": "AcmeDns01Read",
            "Effect": "Allow",
            "Action": ["route53:GetChange", "route53:ListHostedZones"],
            "Resource": ["*"],
        },
    ]
