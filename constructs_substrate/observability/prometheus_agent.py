"""The Prometheus agent-mode configuration of one node: what is scraped, with which
labels, and where it is written (``remote_write``).

Every series gets ``instance`` (the EC2 instance id) and the external labels
``network`` (catalog chain name), ``role`` and ``node`` (``NodeConfig.name``), which the
alert rules and dashboards group by. The instance id and a remote_write URL delivered
at boot are only known on the host: the rendered text keeps the placeholders below,
which ``render-prometheus-agent.sh`` fills before each start.
"""

from __future__ import annotations

from ..config import NodeConfig
from . import yamltext
from .agent_config import AMP_URL, AgentConfig, AmpRemoteWrite, label_value

INSTANCE_ID = "@INSTANCE_ID@"
REMOTE_WRITE_URL = "@REMOTE_WRITE_URL@"
SIGV4_REGION = "@SIGV4_REGION@"
AGENT_LISTEN_PORT = 9090
"""The agent's own web port, on localhost only."""

JOB_NODE = "substrate"
JOB_RELAY = "substrate-relay"
JOB_NODE_EXPORTER = "node-exporter"
JOB_PROBE = "readiness-probe"
JOBS = (JOB_NODE, JOB_RELAY, JOB_NODE_EXPORTER, JOB_PROBE)


def scrape_targets(node: NodeConfig) -> list[tuple[str, int]]:
    """``(job, port)`` pairs this node exposes, all scraped on 127.0.0.1."""
    p = node.effective_ports
    targets = [(JOB_NODE_EXPORTER, p.node_exporter)]
    if node.profile.runs_chain_node:
        targets.append((JOB_NODE, p.prometheus))
        if node.embedded_relay:
            targets.append((JOB_RELAY, p.relay_prometheus))
        if node.profile.rpc_external:
            targets.append((JOB_PROBE, p.probe))
    return targets


def external_labels(node: NodeConfig) -> dict[str, str]:
    return {
        "network": label_value(node.chain.name),
        "role": node.role.value,
        "node": label_value(node.name.replace(" ", "_")),
    }


def prometheus_config(
    agent: AgentConfig,
    node: NodeConfig,
    *,
    instance_id: str = INSTANCE_ID,
    remote_write_url: str | None = None,
    sigv4_region: str | None = None,
) -> dict:
    """The agent config as a dict. Without ``remote_write_url`` the configured URL is
    used, or the placeholder filled at boot; ``sigv4_region`` likewise."""
    metrics = agent.metrics
    url = remote_write_url or metrics.url or REMOTE_WRITE_URL
    interval = f"{agent.scrape_interval_seconds}s"
    write: dict = {"url": url}
    if isinstance(metrics, AmpRemoteWrite):
        match = AMP_URL.match(url)
        region = sigv4_region or (match.group("region") if match else SIGV4_REGION)
        write["sigv4"] = {"region": region}
    else:
        write["basic_auth"] = {"username": metrics.username, "password_file": metrics.password_file}
    return {
        "global": {
            "scrape_interval": interval,
            "scrape_timeout": f"{min(10, agent.scrape_interval_seconds)}s",
            "external_labels": external_labels(node),
        },
        "scrape_configs": [
            {
                "job_name": job,
                "static_configs": [
                    {"targets": [f"127.0.0.1:{port}"], "labels": {"instance": instance_id}}
                ],
            }
            for job, port in scrape_targets(node)
        ],
        "remote_write": [write],
    }


def render_prometheus_config(agent: AgentConfig, node: NodeConfig, **values) -> str:
    """The YAML text (no comments: every byte counts in the 16 KiB user data)."""
    return yamltext.dump(prometheus_config(agent, node, **values))

