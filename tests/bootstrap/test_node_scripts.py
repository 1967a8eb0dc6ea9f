"""run-node, rotate-session-keys.sh and bootstrap.sh, run for real with fakes."""

from __future__ import annotations

import json
import stat
import subprocess
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from bootstrap_support import CONFIGS, loopback_server, path_with, script, write_env, write_executable

from constructs_substrate import layout
from constructs_substrate.bootstrap import BootstrapExtension, paths, render_bootstrap
from constructs_substrate.bootstrap.node_files import args_file
from constructs_substrate.config import NodeConfig

PRINT_ARGS = '#!/bin/bash\nprintf "%s\\0" "$@"\n'  # NUL-separated: shows argument boundaries
FAKE_IMDS = """#!/bin/bash
# Test double for curl against IMDSv2: a token for the PUT, then the public IPv4.
args="$*"
if [[ $args == *"-X PUT"*"/latest/api/token"* ]]; then echo token-123; exit 0; fi
if [[ $args == *"X-aws-ec2-metadata-token: token-123"*"/latest/meta-data/public-ipv4"* ]]; then
  echo 203.0.113.7; exit 0
fi
exit 22
"""


def run_node(config: NodeConfig, tmp_path: Path) -> list[str]:
    bootstrap = render_bootstrap(config)
    (tmp_path / "node.args").write_text(bootstrap.file(layout.NODE_ARGS_FILE).content)
    node = write_executable(tmp_path / "node", PRINT_ARGS)
    env_file = write_env(config, tmp_path / "bootstrap.env", NODE_BINARY=str(node), NODE_ARGS_FILE=str(tmp_path / "node.args"))
    write_executable(tmp_path / "fakes/curl", FAKE_IMDS)
    runner = script(bootstrap, paths.RUN_NODE_SCRIPT, tmp_path)
    result = subprocess.run([str(runner), str(env_file)], env=path_with(tmp_path / "fakes"), capture_output=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.decode().split("\0")[:-1]


def test_run_node_keeps_multi_word_values_as_one_argument(tmp_path):
    config = CONFIGS["rpc"]()
    argv = run_node(config, tmp_path)
    assert argv[argv.index("--telemetry-url") + 1] == "wss://telemetry.example.com/submit 0"
    assert argv == args_file(config).splitlines()
    assert "--public-addr" not in argv


def test_run_node_announces_the_public_ip_from_imdsv2(tmp_path):
    argv = run_node(CONFIGS["validator"](), tmp_path)
    assert argv[-2:] == ["--public-addr", "/ip4/203.0.113.7/tcp/30333"]


def test_public_addr_goes_before_the_embedded_relay_chain_flags(tmp_path):
    argv = run_node(NodeConfig(role="bootnode", name="ah-boot-1", chain="asset-hub-polkadot"), tmp_path)
    relay = argv.index("--")
    assert argv[relay - 2:relay] == ["--public-addr", "/ip4/203.0.113.7/tcp/30333"]
    assert "--public-addr" not in argv[relay:]


# ------------------------------------------------------------ rotate-session-keys


@contextmanager
def fake_rpc(answer: dict | None, status: int = 200):
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            seen.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            body = json.dumps({"jsonrpc": "2.0", "id": seen[-1]["id"], **(answer or {})}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    with loopback_server(Handler) as port:
        yield port, seen


def rotate(tmp_path: Path, port: int) -> subprocess.CompletedProcess:
    config = CONFIGS["validator"]()
    env_file = write_env(config, tmp_path / "bootstrap.env", RPC_PORT=port)
    rotator = script(render_bootstrap(config), paths.ROTATE_KEYS_SCRIPT, tmp_path)
    return subprocess.run([str(rotator), str(env_file)], capture_output=True, text=True)


def test_rotate_session_keys_prints_only_the_public_keys(tmp_path):
    keys = "0x" + "ab12" * 48
    with fake_rpc({"result": keys}) as (port, seen):
        result = rotate(tmp_path, port)
    assert result.returncode == 0, result.stderr
    assert result.stdout == keys + "\n"
    assert seen[0]["method"] == "author_rotateKeys" and seen[0]["params"] == []


@pytest.mark.parametrize("answer, status", [
    ({"error": {"code": -32601, "message": "Method not found"}}, 200),  # RPC methods not unsafe
    ({"result": None}, 200),
    ({"result": "not-hex"}, 200),
    ({"result": "0xab"}, 500),
])
def test_rotate_session_keys_fails_on_errors(tmp_path, answer, status):
    with fake_rpc(answer, status) as (port, _):
        result = rotate(tmp_path, port)
    assert result.returncode != 0
    assert result.stdout == ""


def test_rotate_session_keys_only_for_validators(rendered):
    for name, bootstrap in rendered.items():
        has = any(f.path == paths.ROTATE_KEYS_SCRIPT for f in bootstrap.files)
        assert has == (name == "validator"), name


# ------------------------------------------------------------ bootstrap.sh


def test_bootstrap_runs_steps_in_order_and_keeps_the_node_key_secret(tmp_path):
    """bootstrap.sh with systemctl/runuser stubbed and a fake node binary that prints a
    'secret' on stdout: the key file is 0600, the secret is never in the output."""
    config = CONFIGS["validator"]()
    extension = BootstrapExtension(commands=(f"echo extension-step >> {tmp_path}/calls.log",))
    bootstrap = render_bootstrap(config, [extension])
    log = tmp_path / "calls.log"
    fakes = tmp_path / "fakes"
    write_executable(fakes / "systemctl", f'#!/bin/bash\necho "systemctl $*" >> {log}\n')
    write_executable(fakes / "runuser", f'#!/bin/bash\necho "runuser $1 $2" >> {log}\nshift 3\nexec "$@"\n')
    prepare = write_executable(tmp_path / "prepare", f'#!/bin/bash\necho "prepare $*" >> {log}\n')
    node = write_executable(tmp_path / "node", (
        '#!/bin/bash\n[[ "$1 $2" == "key generate-node-key" && $3 == --file ]] || exit 1\n'
        'echo -n 0123456789abcdef > "$4"\necho "SECRET-ON-STDOUT"\necho "12D3KooWPeerId" >&2\n'
    ))
    extensions = script(bootstrap, paths.EXTENSIONS_SCRIPT, tmp_path / "ext")
    key_file = tmp_path / "data/node-key"
    key_file.parent.mkdir()
    env_file = write_env(
        config, tmp_path / "bootstrap.env", PREPARE_VOLUME_SCRIPT=str(prepare), NODE_BINARY=str(node),
        NODE_KEY_FILE=str(key_file), EXTENSIONS_SCRIPT=str(extensions),
    )
    runner = script(bootstrap, paths.BOOTSTRAP_SCRIPT, tmp_path)
    result = subprocess.run([str(runner), str(env_file)], env=path_with(fakes), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "SECRET" not in result.stdout + result.stderr
    assert key_file.read_text() == "0123456789abcdef"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    calls = log.read_text().splitlines()
    assert calls == [
        f"prepare {env_file}",
        "systemctl daemon-reload",
        "systemctl enable prometheus-node-exporter.service",
        "systemctl restart prometheus-node-exporter.service",
        f"systemctl enable {layout.INSTALL_SERVICE}",
        f"systemctl start {layout.INSTALL_SERVICE}",
        f"runuser -u {layout.SERVICE_USER}",
        f"systemctl enable --now {layout.NODE_SERVICE}",
        "extension-step",
    ]
    # A re-run keeps the existing key.
    assert subprocess.run([str(runner), str(env_file)], env=path_with(fakes), capture_output=True).returncode == 0
    assert key_file.read_text() == "0123456789abcdef"
    assert log.read_text().count("runuser") == 1
