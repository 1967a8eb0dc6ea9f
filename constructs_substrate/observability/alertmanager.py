"""The AMP alert manager definition: every alert to one SNS topic.

AMP's only receiver is SNS, which needs a ``sigv4`` block with the region and the
topic ARN; the topic's policy must let ``aps.amazonaws.com`` publish (see
:mod:`.notifications`). Notifications are grouped per alert and node, resolved alerts
are sent too, and reminders repeat every 4 hours while an alert keeps firing.
"""

from __future__ import annotations

from . import yamltext

SUBJECT = "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} {{ .CommonLabels.network }} {{ .CommonLabels.node }}"


def alertmanager_config(*, topic_arn: str, region: str) -> dict:
    """The ``alertmanager_config`` part, as a dict (values may be Terraform references)."""
    return {
        "route": {
            "receiver": "sns",
            "group_by": ["alertname", "network", "node"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
        },
        "receivers": [
            {
                "name": "sns",
                "sns_configs": [
                    {
                        "topic_arn": topic_arn,
                        "sigv4": {"region": region},
                        "subject": SUBJECT,
                        "send_resolved": True,
                        "attributes": {"source": "amp"},
                    }
                ],
            }
        ],
    }


def alert_manager_definition(*, topic_arn: str, region: str) -> str:
    """The whole definition document AMP takes: ``alertmanager_config`` holds the
    Alertmanager configuration as a YAML string."""
    inner = yamltext.dump(alertmanager_config(topic_arn=topic_arn, region=region))
    return "alertmanager_config: |\n" + "".join(f"  {line}\n" for line in inner.splitlines())
