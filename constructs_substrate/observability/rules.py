"""The Prometheus alert rules: chain health, host health and RPC service, as data.

Each :class:`AlertRule` carries its expression, hold time, ``severity`` label and the
``summary`` and ``runbook`` annotations; :func:`rules_document` is the rules file AMP
(or any Prometheus ruler) loads, and docs/observability.md is generated from the same
list. Series carry the agent's labels: ``job``, ``instance`` (EC2 instance id),
``network``, ``role`` and ``node``; alerts keep ``instance``/``node`` so a page names
the machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

from . import yamltext
from .config import AlertThresholds
from .prometheus_agent import JOB_NODE, JOB_NODE_EXPORTER, JOB_PROBE, JOB_RELAY
from .versions import older_than_regex

GROUP_NAME = "substrate"
BY = "instance, node, network, role"
"""The labels aggregations keep: one alert per machine."""
RUNBOOK_BASE = "docs/observability.md#runbook-"


@dataclass(frozen=True)
class AlertRule:
    name: str
    expr: str
    for_minutes: int
    severity: Literal["critical", "warning"]
    summary: str
    """One line, with ``{{ $labels.x }}`` / ``{{ $value }}`` templates."""
    runbook: str
    """What to check and do, in prose (rendered in the docs and the annotation)."""

    def to_dict(self) -> dict:
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": f"{self.for_minutes}m",
            "labels": {"severity": self.severity},
            "annotations": {
                "summary": self.summary,
                "runbook": self.runbook,
                "runbook_url": RUNBOOK_BASE + self.name.lower(),
            },
        }


def alert_rules(thresholds: AlertThresholds = AlertThresholds(), expected_nodes: Sequence[str] = ()) -> list[AlertRule]:
    """Every rule for these thresholds; ``SubstrateNodeMissing`` only with
    ``expected_nodes``, ``SubstrateNodeOutdated`` only with a minimum version."""
    t = thresholds
    node_jobs = f'job=~"{JOB_NODE}|{JOB_RELAY}"'
    best = f'substrate_block_height{{status="best",{node_jobs}}}'
    rules = [
        AlertRule(
            "SubstrateNodeDown",
            f"up{{{node_jobs}}} == 0",
            t.node_down_minutes, "critical",
            "Node {{ $labels.node }} ({{ $labels.instance }}, {{ $labels.job }}) does not answer metrics scrapes",
            "The agent on the host runs but the node's metrics port does not answer: the node "
            "process is down, restarting or hung. Check `systemctl status substrate-node` and "
            "`journalctl -u substrate-node` (CloudWatch log stream `<instance>/journal.substrate-node.service`); "
            "a crash loop after an upgrade means a bad release pin, a full disk means HostDiskWillFill was missed.",
        ),
    ]
    if expected_nodes:
        rules.append(AlertRule(
            "SubstrateNodeMissing",
            " or ".join(
                f'absent_over_time(up{{job="{JOB_NODE_EXPORTER}",node="{name}"}}[{t.missing_minutes}m])'
                for name in expected_nodes
            ),
            1, "critical",
            "No metrics at all from expected node {{ $labels.node }} for " + f"{t.missing_minutes} minutes",
            "Nothing arrives from the host: instance stopped or terminated, network lost, or the "
            "agent is down. Check the instance in EC2 (status checks), then `systemctl status "
            "prometheus` over SSM Session Manager. A validator must never be replaced by a "
            "second copy with the same keys: fix or reattach, do not clone.",
        ))
    rules += [
        AlertRule(
            "SubstrateNodeBehind",
            f'substrate_block_height{{status="sync_target",{node_jobs}}} - ignoring(status) {best} > {t.max_blocks_behind}',
            t.behind_minutes, "critical",
            "Node {{ $labels.node }} ({{ $labels.instance }}) is {{ $value }} blocks behind the network",
            "The node's best block trails the best block its peers announce. Usually it is still "
            "syncing after a start or restore (watch the gap shrink) or its disk/CPU cannot keep "
            "up (see HostHighCpu, disk IOPS). A load-balanced node is out of the target group "
            "meanwhile (the readiness probe refuses it).",
        ),
        AlertRule(
            "SubstrateNodeMajorSyncing",
            f'max by ({BY}) (substrate_sub_libp2p_is_major_syncing{{{node_jobs}}}) == 1',
            t.behind_minutes, "warning",
            "Node {{ $labels.node }} ({{ $labels.instance }}) is major-syncing",
            "Expected for hours after a node starts from an empty or old database; otherwise the "
            "node fell far behind (long downtime, lost peers). Follow the gap on the dashboard; "
            "restore from a recent snapshot if it does not shrink.",
        ),
        AlertRule(
            "SubstrateBestBlockStalled",
            f"changes({best}[{t.stall_minutes}m]) == 0",
            1, "critical",
            "Best block of {{ $labels.node }} ({{ $labels.instance }}) has not advanced for " + f"{t.stall_minutes} minutes",
            "The node imports no blocks: no peers, a stuck import (database corruption, out of "
            "disk), or the whole network stalled (compare with other nodes and a public "
            "explorer). Restart the node if only this one is stuck; a network-wide stall is not "
            "ours to fix.",
        ),
        AlertRule(
            "SubstrateFinalityLag",
            f'{best} - ignoring(status) substrate_block_height{{status="finalized",{node_jobs}}} > {t.max_finality_lag}',
            5, "critical",
            "Node {{ $labels.node }} ({{ $labels.instance }}) finalized block lags best by {{ $value }} blocks",
            "GRANDPA finality is behind. If every node shows it, the network's finality stalled "
            "(wait, watch announcements; validators: check your node votes). If only this node, "
            "it misses justifications: check peers and restart it.",
        ),
        AlertRule(
            "SubstrateLowPeers",
            f"substrate_sub_libp2p_peers_count{{{node_jobs}}} < {t.min_peers}",
            10, "warning",
            "Node {{ $labels.node }} ({{ $labels.instance }}) has only {{ $value }} peers",
            "Check that the p2p port (30333 tcp and udp) is open in the security group and "
            "reachable, that the node's public address is right (validators: --public-addr) and "
            "that the bootnodes of the chain spec answer.",
        ),
        AlertRule(
            "SubstrateNotReady",
            f'substrate_probe_ready{{job="{JOB_PROBE}"}} == 0',
            10, "warning",
            "Readiness probe of {{ $labels.node }} ({{ $labels.instance }}) answers not ready",
            "The load balancer sends this node no traffic. `curl localhost:9955/ready` on the "
            "host lists the reasons (syncing, no peers, stalled head, finality lag, RPC errors).",
        ),
        AlertRule(
            "HostDiskWillFill",
            f'predict_linear(node_filesystem_avail_bytes{{job="{JOB_NODE_EXPORTER}",mountpoint=~"/|/data"}}[6h], '
            f"{t.disk_fill_hours} * 3600) < 0",
            30, "critical",
            "{{ $labels.mountpoint }} on {{ $labels.node }} ({{ $labels.instance }}) will be full within "
            + f"{t.disk_fill_hours} hours",
            "At the current growth rate the filesystem fills up. For /data grow the EBS volume "
            "(`data_volume.size_gib`, then `growpart`/`resize2fs` or `xfs_growfs`) before it "
            "does: a full database disk stops the node and can corrupt RocksDB.",
        ),
        AlertRule(
            "HostHighCpu",
            f'100 * (1 - avg by ({BY}) (rate(node_cpu_seconds_total{{job="{JOB_NODE_EXPORTER}",mode="idle"}}[5m]))) > {t.cpu_percent}',
            15, "warning",
            "CPU of {{ $labels.node }} ({{ $labels.instance }}) is {{ $value | printf \"%.0f\" }}% busy",
            "Sustained CPU saturation slows block import and RPC. For RPC clusters check the "
            "request rate (scale out or raise max size); for validators check the instance type "
            "meets the reference hardware.",
        ),
        AlertRule(
            "HostHighMemory",
            f'100 * (1 - node_memory_MemAvailable_bytes{{job="{JOB_NODE_EXPORTER}"}} / '
            f'node_memory_MemTotal_bytes{{job="{JOB_NODE_EXPORTER}"}}) > {t.memory_percent}',
            15, "warning",
            "Memory of {{ $labels.node }} ({{ $labels.instance }}) is {{ $value | printf \"%.0f\" }}% used",
            "The node may be killed by the OOM killer. Check `journalctl -k` for OOM kills, the "
            "number of RPC connections and subscriptions, and the instance size.",
        ),
        AlertRule(
            "SubstrateRpcErrors",
            f'100 * sum by ({BY}) (rate(substrate_rpc_calls_finished{{job="{JOB_NODE}",is_error="true"}}[10m])) '
            f'/ sum by ({BY}) (rate(substrate_rpc_calls_finished{{job="{JOB_NODE}"}}[10m])) > {t.rpc_error_percent:g} '
            f'and sum by ({BY}) (rate(substrate_rpc_calls_finished{{job="{JOB_NODE}"}}[10m])) > {t.rpc_min_calls_per_second:g}',
            10, "warning",
            "{{ $value | printf \"%.1f\" }}% of RPC calls on {{ $labels.node }} ({{ $labels.instance }}) fail",
            "The dashboard's 'RPC errors by method' panel shows which methods fail. Errors on "
            "state queries after a restore point at pruning (archive data requested from a pruned "
            "node); errors on every method point at the node itself. Client mistakes count too.",
        ),
    ]
    if t.minimum_node_version:
        rules.append(AlertRule(
            "SubstrateNodeOutdated",
            f'substrate_build_info{{{node_jobs},version=~"{older_than_regex(t.minimum_node_version)}"}} == 1',
            15, "warning",
            "Node {{ $labels.node }} ({{ $labels.instance }}) runs {{ $labels.version }}, older than "
            + t.minimum_node_version,
            "Raise the chain's release pin (`POLKADOT_SDK_RELEASE` or `chain.release`) and apply: "
            "single nodes are rebuilt with the new binary, clusters roll by instance refresh.",
        ))
    return rules


def rules_document(rules: Sequence[AlertRule]) -> dict:
    return {"groups": [{"name": GROUP_NAME, "interval": "1m", "rules": [rule.to_dict() for rule in rules]}]}


def rules_yaml(thresholds: AlertThresholds = AlertThresholds(), expected_nodes: Sequence[str] = ()) -> str:
    """The rules file (``promtool check rules`` clean), for AMP or any Prometheus ruler."""
    return yamltext.dump(rules_document(alert_rules(thresholds, expected_nodes)))
