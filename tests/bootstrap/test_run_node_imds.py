"""run-node against a fake IMDSv2 on loopback: the Elastic IP is announced only once it
is associated (issue 12 item 9), and a cluster instance's --name carries its instance
id (item 11). The real script, the real curl, a real HTTP server."""

from __future__ import annotations

import subprocess
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from bootstrap_support import loopback_server, script, write_env, write_executable

from constructs_substrate import layout
from constructs_substrate.bootstrap import paths, render_bootstrap
from constructs_substrate.bootstrap.cluster_extension import NAME_DROP_IN, cluster_extension
from constructs_substrate.cluster.config import ApiClusterConfig
from constructs_substrate.config import NodeConfig

PRINT_ARGS = '#!/bin/bash\nprintf "%s\\0" "$@"\n'
EIP = "198.51.100.23"
TOKEN = "imds-token-1"


class FakeImds:
    """IMDSv2: PUT /latest/api/token, then GETs with the token. ``public-ipv4`` answers
    404 (no public address yet) until ``eip_after`` requests have been made."""

    def __init__(self, eip_after: int | None = 0, instance_id: str = "i-0123456789abcdef0") -> None:
        self.eip_after, self.instance_id = eip_after, instance_id
        self.seen: list[str] = []

    def answer(self, method: str, path: str, headers) -> tuple[int, str]:
        self.seen.append(f"{method} {path}")
        if method == "PUT" and path == "/latest/api/token":
            return (200, TOKEN) if headers.get("X-aws-ec2-metadata-token-ttl-seconds") else (400, "")
        if headers.get("X-aws-ec2-metadata-token") != TOKEN:
            return 401, ""
        if path == "/latest/meta-data/instance-id":
            return 200, self.instance_id
        if path == "/latest/meta-data/public-ipv4":
            asked = sum(1 for s in self.seen if s.endswith("/public-ipv4"))
            if self.eip_after is not None and asked > self.eip_after:
                return 200, EIP
            return 404, "Not Found"
        return 404, ""


@contextmanager
def serving(imds: FakeImds):
    class Handler(BaseHTTPRequestHandler):
        def _reply(self):
            status, body = imds.answer(self.command, self.path, self.headers)
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = _reply

        def log_message(self, *args):
            pass

    with loopback_server(Handler) as port:
        yield f"http://127.0.0.1:{port}"


def run(config: NodeConfig, tmp_path: Path, imds: FakeImds, *, extensions=(), unit_env: dict | None = None,
        attempts: int = 5) -> subprocess.CompletedProcess:
    bootstrap = render_bootstrap(config, list(extensions))
    (tmp_path / "node.args").write_text(bootstrap.file(layout.NODE_ARGS_FILE).content)
    node = write_executable(tmp_path / "node", PRINT_ARGS)
    runner = script(bootstrap, paths.RUN_NODE_SCRIPT, tmp_path)
    with serving(imds) as url:
        env_file = write_env(
            config, tmp_path / "bootstrap.env", NODE_BINARY=str(node), NODE_ARGS_FILE=str(tmp_path / "node.args"),
            IMDS_URL=url, PUBLIC_IP_ATTEMPTS=attempts, PUBLIC_IP_RETRY_SECONDS=0,
        )
        env = {"PATH": "/usr/bin:/bin", **(unit_env or {})}
        return subprocess.run([str(runner), str(env_file)], env=env, capture_output=True, timeout=60)


def argv(result: subprocess.CompletedProcess) -> list[str]:
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode().split("\0")[:-1]


def test_waits_for_the_elastic_ip_and_announces_only_it(tmp_path):
    imds = FakeImds(eip_after=3)  # the association lands after three polls
    result = run(NodeConfig(role="validator", name="val-1"), tmp_path, imds)
    args = argv(result)
    assert args[args.index("--public-addr") + 1] == f"/ip4/{EIP}/tcp/30333"
    assert args.count("--public-addr") == 1
    assert sum(1 for s in imds.seen if s.endswith("/public-ipv4")) == 4
    assert result.stderr.decode().count("the Elastic IP is not associated yet") == 3


def test_no_elastic_ip_means_no_node_rather_than_a_wrong_address(tmp_path):
    imds = FakeImds(eip_after=None)
    result = run(NodeConfig(role="bootnode", name="boot-1"), tmp_path, imds, attempts=3)
    assert result.returncode != 0 and result.stdout == b""  # the node binary never ran
    assert "no Elastic IP" in result.stderr.decode()
    assert sum(1 for s in imds.seen if s.endswith("/public-ipv4")) == 3


def test_every_metadata_read_uses_an_imdsv2_token(tmp_path):
    imds = FakeImds()
    argv(run(NodeConfig(role="validator", name="val-1"), tmp_path, imds))
    gets = [s for s in imds.seen if s.startswith("GET")]
    puts = [s for s in imds.seen if s.startswith("PUT")]
    assert gets and len(puts) == len(gets)


def cluster_instance(tmp_path: Path, instance_id: str) -> list[str]:
    config = ApiClusterConfig(
        node=NodeConfig(role="rpc", name="polkadot-rpc", chain="asset-hub-polkadot"),
        domain_name="rpc.example.com", zone_name="example.com", hosted_zone_id="Z0123456789ABCDEFGHIJ",
    )
    extension = cluster_extension(config, group_name="group", hook_name="hook")
    (drop_in,) = [f for f in extension.files if f.path == NAME_DROP_IN]
    # What systemd gives the unit: the drop-in's Environment= lines.
    unit_env = dict(
        line.split("=", 1)[1].split("=", 1) for line in drop_in.content.splitlines() if line.startswith("Environment=")
    )
    directory = tmp_path / instance_id
    directory.mkdir()
    return argv(run(config.node, directory, FakeImds(instance_id=instance_id), extensions=[extension], unit_env=unit_env))


def test_each_cluster_instance_has_its_own_name(tmp_path):
    first = cluster_instance(tmp_path, "i-0123456789abcdef0")
    second = cluster_instance(tmp_path, "i-0fedcba9876543210")
    assert first[first.index("--name") + 1] == "polkadot-rpc-i-0123456789abcdef0"
    assert second[second.index("--name") + 1] == "polkadot-rpc-i-0fedcba9876543210"
    relay = first[first.index("--"):]
    assert "--name" not in relay and "--public-addr" not in first


def test_a_single_node_keeps_its_name(tmp_path):
    args = argv(run(NodeConfig(role="rpc", name="rpc-1"), tmp_path, FakeImds()))
    assert args[args.index("--name") + 1] == "rpc-1"


@pytest.mark.parametrize("instance_id", ["", "not-an-id"])
def test_a_bad_instance_id_stops_the_start(tmp_path, instance_id):
    config = NodeConfig(role="rpc", name="rpc-1")
    result = run(config, tmp_path, FakeImds(instance_id=instance_id), unit_env={"NODE_NAME_SUFFIX": "instance-id"})
    assert result.returncode != 0 and result.stdout == b""
    assert "no instance id" in result.stderr.decode()
