"""IAM statements the observability pieces need, each scoped to its resource.

No write action is granted on ``*``: remote_write on one workspace, log streams of
one log group, index writes on one domain. ``cloudwatch:PutMetricData`` has no
resource-level permissions, so the canary's statement is narrowed by namespace.
"""

from __future__ import annotations


def agent_statements(
    *,
    workspace_arn: str | None = None,
    log_group_arn: str | None = None,
    opensearch_domain_arn: str | None = None,
) -> list[dict]:
    """What a node's agents need, for ``NodeInstanceRole(statements=...)``:
    ``aps:RemoteWrite`` on the AMP workspace, ``logs:CreateLogStream`` and
    ``logs:PutLogEvents`` on the streams of the log group (``log_group_arn`` is the
    group's ARN without ``:*``), ``es:ESHttpPost``/``ESHttpPut`` on an OpenSearch domain.
    Values may be Terraform references."""
    statements = []
    if workspace_arn is not None:
        statements.append({
            "Sid": "MetricsRemoteWrite",
            "Effect": "Allow",
            "Action": ["aps:RemoteWrite"],
            "Resource": [workspace_arn],
        })
    if log_group_arn is not None:
        statements.append({
            "Sid": "JournalToCloudWatchLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [log_group_arn, f"{log_group_arn}:log-stream:*"],
        })
    if opensearch_domain_arn is not None:
        statements.append({
            "Sid": "JournalToOpenSearch",
            "Effect": "Allow",
            "Action": ["es:ESHttpPost", "es:ESHttpPut"],
            "Resource": [f"{opensearch_domain_arn}/*"],
        })
    return statements


def canary_statements(
    *, bucket_arn: str, artifact_prefix: str, log_group_arn_prefix: str, kms_key_arn: str | None = None
) -> list[dict]:
    """The Synthetics canary's execution role: write its run artifacts under one prefix
    of its bucket, its Lambda's logs, and metrics in the ``CloudWatchSynthetics``
    namespace only. ``log_group_arn_prefix`` is
    ``arn:aws:logs:<region>:<account>:log-group:/aws/lambda/cwsyn-<canary name>``;
    ``kms_key_arn`` the bucket's key, when artifacts are SSE-KMS encrypted."""
    statements = [
        {
            "Sid": "WriteRunArtifacts",
            "Effect": "Allow",
            "Action": ["s3:PutObject"],
            "Resource": [f"{bucket_arn}/{artifact_prefix}*"],
        },
        {
            "Sid": "LocateArtifactBucket",
            "Effect": "Allow",
            "Action": ["s3:GetBucketLocation"],
            "Resource": [bucket_arn],
        },
        {
            # Read-only: the runtime lists buckets before it uploads artifacts.
            "Sid": "ListBuckets",
            "Effect": "Allow",
            "Action": ["s3:ListAllMyBuckets"],
            "Resource": ["*"],
        },
        {
            "Sid": "CanaryLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"{log_group_arn_prefix}-*", f"{log_group_arn_prefix}-*:log-stream:*"],
        },
        {
            "Sid": "CanaryMetrics",
            "Effect": "Allow",
            "Action": ["cloudwatch:PutMetricData"],
            "Resource": ["*"],
            "Condition": {"StringEquals": {"cloudwatch:namespace": "CloudWatchSynthetics"}},
        },
    ]
    if kms_key_arn is not None:
        statements.append({
            "Sid": "EncryptRunArtifacts",
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": [kms_key_arn],
        })
    return statements
