"""The Fluent Bit configuration of one node: journald in, one destination out.

Only the listed units are kept (a ``grep`` filter on ``SYSTEMD_UNIT``); to CloudWatch
only each entry's ``MESSAGE`` is sent, one log stream per instance and unit
(``<instance id>/journal.<unit>``). ``${INSTANCE_ID}`` and ``${AWS_REGION}`` are
environment variables Fluent Bit expands, from the ``host.env`` the install step writes.
No request payload is ever in these logs: the node does not log RPC requests at its
default level, and nginx access logs are files, which are not read.
"""

from __future__ import annotations

from ..config import NodeConfig
from . import yamltext
from .agent_config import AgentConfig, CloudWatchLogs, LokiLogs, OpenSearchLogs
from .prometheus_agent import external_labels

STATE_DIR = "/var/lib/fluent-bit"
TAG_PREFIX = "journal"


def fluent_bit_config(agent: AgentConfig, node: NodeConfig) -> dict:
    logs = agent.logs
    if logs is None:
        raise ValueError("AgentConfig.logs is not set: there is nothing to ship")
    units = "|".join(unit.replace(".", "[.]") for unit in agent.journal_units)
    output: dict
    if isinstance(logs, CloudWatchLogs):
        output = {
            "name": "cloudwatch_logs",
            "region": "${AWS_REGION}",
            "log_group_name": logs.log_group_name,
            "log_stream_prefix": "${INSTANCE_ID}/",
            "log_key": "MESSAGE",
            "auto_create_group": False,
        }
    elif isinstance(logs, LokiLogs):
        labels = {"job": "substrate-journal", **external_labels(node), "instance": "${INSTANCE_ID}"}
        output = {
            "name": "loki",
            "host": logs.host,
            "port": logs.port,
            "tls": True,
            "tls.verify": True,
            "labels": ", ".join(f"{k}={v}" for k, v in labels.items()),
            "label_keys": "$SYSTEMD_UNIT",
            "line_format": "key_value",
            "drop_single_key": "raw",
        }
        if logs.username:
            output |= {"http_user": logs.username, "http_passwd": "${LOKI_PASSWORD}"}
    else:
        assert isinstance(logs, OpenSearchLogs)
        output = {
            "name": "opensearch",
            "host": logs.host,
            "port": logs.port,
            "index": logs.index,
            "tls": True,
            "tls.verify": True,
            "suppress_type_name": True,
            "aws_auth": logs.aws_auth,
        }
        if logs.aws_auth:
            output["aws_region"] = "${AWS_REGION}"
    output = {**output, "match": f"{TAG_PREFIX}.*", "retry_limit": "no_limits"}
    return {
        "service": {"flush": 5, "storage.path": f"{STATE_DIR}/buffer"},
        "pipeline": {
            "inputs": [
                {
                    "name": "systemd",
                    "tag": f"{TAG_PREFIX}.*",
                    "db": f"{STATE_DIR}/journal.db",
                    "strip_underscores": True,
                    "storage.type": "filesystem",
                }
            ],
            "filters": [
                {"name": "grep", "match": f"{TAG_PREFIX}.*", "regex": f"SYSTEMD_UNIT ^({units})$"}
            ],
            "outputs": [output],
        },
    }


def render_fluent_bit_config(agent: AgentConfig, node: NodeConfig) -> str:
    return yamltext.dump(fluent_bit_config(agent, node))
