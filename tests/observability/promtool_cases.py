"""Synthetic series for ``promtool test rules``: for EVERY alert, one group of series
that makes it fire and one that keeps it quiet, with the exact labels and summary
expected. Summaries are written out by hand: they check the templates, too."""

from __future__ import annotations

from dataclasses import dataclass

from constructs_substrate.observability.config import AlertThresholds

THRESHOLDS = AlertThresholds(minimum_node_version="1.16.0")
EXPECTED_NODES = ("val-1",)
L = {"instance": "i-0abc", "network": "polkadot", "node": "rpc-1", "role": "rpc"}
NODE = {"job": "substrate", **L}
HOST = {"job": "node-exporter", **L}


def series(name: str, labels: dict, values: str) -> dict:
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{inner}}}", "values": values}


@dataclass(frozen=True)
class Case:
    alert: str
    eval_minutes: int
    firing: list[dict]
    quiet: list[dict]
    labels: dict
    summary: str


def rpc_calls(errors_per_minute: int, ok_per_minute: int) -> list[dict]:
    common = {"method": "chain_getBlock", "protocol": "ws", "is_rate_limited": "false", **NODE}
    return [
        series("substrate_rpc_calls_finished", {**common, "is_error": "true"}, f"0+{errors_per_minute}x40"),
        series("substrate_rpc_calls_finished", {**common, "is_error": "false"}, f"0+{ok_per_minute}x40"),
    ]


CASES = [
    Case("SubstrateNodeDown", 5,
         [series("up", NODE, "0x10")], [series("up", NODE, "1x10")],
         {"severity": "critical", **NODE},
         "Node rpc-1 (i-0abc, substrate) does not answer metrics scrapes"),
    Case("SubstrateNodeMissing", 20,
         [series("up", {"job": "node-exporter", "node": "val-1", "instance": "i-0val"}, "1 1 1 1 1")],
         [series("up", {"job": "node-exporter", "node": "val-1", "instance": "i-0val"}, "1x30")],
         {"severity": "critical", "job": "node-exporter", "node": "val-1"},
         "No metrics at all from expected node val-1 for 10 minutes"),
    Case("SubstrateNodeBehind", 15,
         [series("substrate_block_height", {"status": "sync_target", **NODE}, "100+10x30"),
          series("substrate_block_height", {"status": "best", **NODE}, "50+10x30")],
         [series("substrate_block_height", {"status": "sync_target", **NODE}, "100+10x30"),
          series("substrate_block_height", {"status": "best", **NODE}, "95+10x30")],
         {"severity": "critical", **NODE},
         "Node rpc-1 (i-0abc) is 50 blocks behind the network"),
    Case("SubstrateNodeMajorSyncing", 15,
         [series("substrate_sub_libp2p_is_major_syncing", NODE, "1x30")],
         [series("substrate_sub_libp2p_is_major_syncing", NODE, "0x30")],
         {"severity": "warning", **L},
         "Node rpc-1 (i-0abc) is major-syncing"),
    Case("SubstrateBestBlockStalled", 10,
         [series("substrate_block_height", {"status": "best", **NODE}, "100x30")],
         [series("substrate_block_height", {"status": "best", **NODE}, "100+1x30")],
         {"severity": "critical", "status": "best", **NODE},
         "Best block of rpc-1 (i-0abc) has not advanced for 3 minutes"),
    Case("SubstrateFinalityLag", 10,
         [series("substrate_block_height", {"status": "best", **NODE}, "100+1x30"),
          series("substrate_block_height", {"status": "finalized", **NODE}, "50+1x30")],
         [series("substrate_block_height", {"status": "best", **NODE}, "100+1x30"),
          series("substrate_block_height", {"status": "finalized", **NODE}, "98+1x30")],
         {"severity": "critical", **NODE},
         "Node rpc-1 (i-0abc) finalized block lags best by 50 blocks"),
    Case("SubstrateLowPeers", 15,
         [series("substrate_sub_libp2p_peers_count", NODE, "2x30")],
         [series("substrate_sub_libp2p_peers_count", NODE, "30x30")],
         {"severity": "warning", **NODE},
         "Node rpc-1 (i-0abc) has only 2 peers"),
    Case("SubstrateNotReady", 15,
         [series("substrate_probe_ready", {"job": "readiness-probe", **L}, "0x30")],
         [series("substrate_probe_ready", {"job": "readiness-probe", **L}, "1x30")],
         {"severity": "warning", "job": "readiness-probe", **L},
         "Readiness probe of rpc-1 (i-0abc) answers not ready"),
    Case("HostDiskWillFill", 40,
         [series("node_filesystem_avail_bytes", {"mountpoint": "/data", **HOST}, "100000000000-1000000000x60")],
         [series("node_filesystem_avail_bytes", {"mountpoint": "/data", **HOST}, "100000000000x60")],
         {"severity": "critical", "mountpoint": "/data", **HOST},
         "/data on rpc-1 (i-0abc) will be full within 24 hours"),
    Case("HostHighCpu", 25,
         [series("node_cpu_seconds_total", {"cpu": "0", "mode": "idle", **HOST}, "0+3x40")],
         [series("node_cpu_seconds_total", {"cpu": "0", "mode": "idle", **HOST}, "0+60x40")],
         {"severity": "warning", **L},
         "CPU of rpc-1 (i-0abc) is 95% busy"),
    Case("HostHighMemory", 20,
         [series("node_memory_MemAvailable_bytes", HOST, "5x30"), series("node_memory_MemTotal_bytes", HOST, "100x30")],
         [series("node_memory_MemAvailable_bytes", HOST, "50x30"), series("node_memory_MemTotal_bytes", HOST, "100x30")],
         {"severity": "warning", **HOST},
         "Memory of rpc-1 (i-0abc) is 95% used"),
    Case("SubstrateRpcErrors", 25,
         rpc_calls(600, 5400), rpc_calls(60, 5400),
         {"severity": "warning", **L},
         "10.0% of RPC calls on rpc-1 (i-0abc) fail"),
    Case("SubstrateNodeOutdated", 20,
         [series("substrate_build_info", {"name": "rpc-1", "version": "1.15.2-abcdef0", **NODE}, "1x30")],
         [series("substrate_build_info", {"name": "rpc-1", "version": "1.16.0-abcdef0", **NODE}, "1x30"),
          series("substrate_build_info", {"name": "rpc-2", "version": "1.100.0-abcdef0", **{**NODE, "node": "rpc-2"}}, "1x30")],
         {"severity": "warning", "name": "rpc-1", "version": "1.15.2-abcdef0", **NODE},
         "Node rpc-1 (i-0abc) runs 1.15.2-abcdef0, older than 1.16.0"),
]


def promtool_groups(rules_by_name: dict) -> list[dict]:
    """promtool ``tests:`` entries: a firing and a quiet group per case."""
    groups = []
    for case in CASES:
        rule = rules_by_name[case.alert]
        annotations = {
            "summary": case.summary,
            "runbook": rule["annotations"]["runbook"],
            "runbook_url": rule["annotations"]["runbook_url"],
        }
        for name, input_series, expected in (
            ("firing", case.firing, [{"exp_labels": case.labels, "exp_annotations": annotations}]),
            ("quiet", case.quiet, []),
        ):
            groups.append({
                "name": f"{case.alert} {name}",
                "interval": "1m",
                "input_series": input_series,
                "alert_rule_test": [{"eval_time": f"{case.eval_minutes}m", "alertname": case.alert, "exp_alerts": expected}],
            })
    return groups
