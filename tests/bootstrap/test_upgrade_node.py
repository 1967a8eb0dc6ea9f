"""In-place upgrade and rollback (constructs_substrate/upgrade.py), run for real.

Each test runs the SSM documents' own ``runCommand`` (joined as the agent joins it, under
``sh``) in a temporary root: the real install-binaries.sh and the real curl download fake
releases from a loopback HTTPS server (a throwaway certificate trusted through
``CURL_CA_BUNDLE``), and a fake ``systemctl`` first on PATH really starts and stops the
installed ``current`` binary. Each fake release is a small JSON-RPC server on
127.0.0.1 answering ``system_version`` with its own version (``--version`` prints it
too), or one that exits at once (a broken release).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from bootstrap_support import require, script, self_signed_certificate, write_env, write_executable

from constructs_substrate import layout
from constructs_substrate.bootstrap import paths, render_bootstrap
from constructs_substrate.bootstrap.templating import template
from constructs_substrate.chains import Chain, DbSizes
from constructs_substrate.config import NodeConfig
from constructs_substrate.release import Artifact, BinaryRelease
from constructs_substrate.upgrade import SCRIPT, rollback_document, upgrade_document

FAKE_SYSTEMCTL = r"""#!/bin/bash
# Test double for systemctl: one unit, the node; start runs $FAKE_NODE_BINARY detached.
set -euo pipefail
echo "$*" >> "$FAKE_SYSTEMD/calls"
command=$1; shift
[[ ${1:-} != --quiet ]] || shift
pidfile=$FAKE_SYSTEMD/node.pid
alive() {  # running, and not a zombie nobody reaped
  local pid
  [[ -f $pidfile ]] && pid=$(cat "$pidfile") && [[ -r /proc/$pid/stat ]] || return 1
  ! grep -q '^[^)]*) Z' "/proc/$pid/stat"
}
case $command in
  start) alive || { setsid "$FAKE_NODE_BINARY" >> "$FAKE_SYSTEMD/node.log" 2>&1 < /dev/null & echo $! > "$pidfile"; } ;;
  stop) if alive; then kill "$(cat "$pidfile")"; while alive; do sleep 0.05; done; fi; rm -f "$pidfile" ;;
  is-active) alive ;;
  is-failed) exit 1 ;;
  show)  # --property=NAME --value UNIT
    case $1 in
      --property=NRestarts) echo 0 ;;
      --property=SubState) if alive; then echo running; elif [[ -f $pidfile ]]; then echo auto-restart; else echo dead; fi ;;
    esac ;;
  *) echo "fake systemctl: $command?" >&2; exit 2 ;;
esac
"""

RPC_SERVER = r"""
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
port, version = int(sys.argv[1]), sys.argv[2]
class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass
    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": version}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""


def fake_node(version: str, port: int, broken: bool = False) -> bytes:
    run = "exit 1" if broken else f"exec python3 -c {_sq(RPC_SERVER)} {port} {version}"
    return f'#!/bin/bash\nif [[ ${{1:-}} == --version ]]; then echo "fakenode {version}-abc"; exit 0; fi\n{run}\n'.encode()


def _sq(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ReleaseServer:
    """HTTPS on 127.0.0.1 serving ``files`` (path -> bytes); counts requests."""

    def __init__(self, cert: Path, key: Path):
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                server.requests.append(self.path)
                body = server.files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    cert, key = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    served = ReleaseServer(cert, key)
    served.cert = cert
    yield served
    served.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Node:
    """One host under ``root``: the env file, the installer, the fake systemd."""

    def __init__(self, root: Path, server: ReleaseServer):
        self.root, self.server, self.port = root, server, free_port()
        self.systemd = root / "systemd"
        self.systemd.mkdir(parents=True)
        write_executable(root / "fakes/systemctl", FAKE_SYSTEMCTL)

    def config(self, version: str) -> NodeConfig:
        release = BinaryRelease(version=version, artifacts=(
            Artifact(name="mynode", url=f"{self.server.url}/{version}/mynode", sha256=sha256(self.binary(version))),
        ))
        chain = Chain(name="mychain", chain_id="dev", release=release, db_size_gib=DbSizes(pruned=10, archive=20))
        return NodeConfig(role="validator", name="val-1", chain=chain)

    def binary(self, version: str, broken: bool = False) -> bytes:
        return fake_node(version, self.port, broken)

    def publish(self, version: str, data: bytes | None = None) -> None:
        self.server.files[f"/{version}/mynode"] = data if data is not None else self.binary(version)

    @property
    def env_file(self) -> Path:
        return self.root / "bootstrap.env"

    def dirs(self) -> dict[str, str]:
        r = self.root
        return {
            "RELEASES_DIR": str(r / "opt/releases"), "CURRENT_RELEASE": str(r / "opt/current"),
            "PREVIOUS_RELEASE": str(r / "opt/previous"), "SELECTED_RELEASE_FILE": str(r / "etc/release.env"),
            "BIN_DIR": str(r / "bin"), "NODE_BINARY": str(r / "bin/mynode"), "CHAIN_SPEC_FILE": str(r / "etc/spec.json"),
            "SCRIPTS_DIR": str(r / "scripts"), "RPC_PORT": str(self.port),
        }

    def env(self) -> dict[str, str]:
        environment = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        return environment | {
            "PATH": f"{self.root / 'fakes'}:{os.environ['PATH']}", "CURL_CA_BUNDLE": str(self.server.cert),
            "FAKE_SYSTEMD": str(self.systemd), "FAKE_NODE_BINARY": str(self.root / "bin/mynode"),
        }

    def boot(self, version: str) -> None:
        """First boot: the bootstrap's install (the user data's pin), then the node."""
        config = self.config(version)
        self.publish(version)
        (self.root / "etc").mkdir(exist_ok=True)
        write_env(config, self.env_file, **self.dirs(), HEALTH_POLL_SECONDS="0.2", HEALTH_SETTLE_CHECKS=2)
        script(render_bootstrap(config), paths.INSTALL_SCRIPT, self.root / "scripts")
        assert self.install().returncode == 0
        subprocess.run(["systemctl", "start", "node"], env=self.env(), check=True)
        assert self.answers() == version

    def install(self) -> subprocess.CompletedProcess:
        """install-binaries.sh as substrate-install.service runs it on every boot."""
        return subprocess.run([str(self.root / "scripts/install-binaries.sh"), str(self.env_file)],
                              env=self.env(), capture_output=True, text=True)

    def run(self, content: str, parameters: dict[str, str] | None = None, agent_env: bool = True) -> subprocess.CompletedProcess:
        """A document's runCommand as the SSM agent runs it: lines joined, under sh, the
        parameters in SSM_<name> (agent >= 3.3.2746.0) or substituted into {{ }} (older)."""
        document = json.loads(content)
        values = {name: p["default"] for name, p in document["parameters"].items()} | (parameters or {})
        for name, value in values.items():
            assert re.fullmatch(document["parameters"][name]["allowedPattern"], value), (name, value)
        text = "\n".join(document["mainSteps"][0]["inputs"]["runCommand"])
        env = self.env()
        if agent_env:
            env |= {f"SSM_{name}": value for name, value in values.items()}
        else:
            text = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: values[m.group(1)], text)
        return subprocess.run(["sh", "-c", text], env=env, capture_output=True, text=True, timeout=120)

    def upgrade(self, version: str, **kwargs) -> subprocess.CompletedProcess:
        return self.run(upgrade_document(self.config(version), env_file=str(self.env_file)), **kwargs)

    def rollback(self, **kwargs) -> subprocess.CompletedProcess:
        return self.run(rollback_document(self.config("v1"), env_file=str(self.env_file)), **kwargs)

    def answers(self, wait: float = 10) -> str | None:
        """system_version from whatever listens on the node's RPC port now."""
        deadline = time.monotonic() + wait
        request = b'{"jsonrpc":"2.0","id":1,"method":"system_version","params":[]}'
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as connection:
                    connection.sendall(b"POST / HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: "
                                       + str(len(request)).encode() + b"\r\n\r\n" + request)
                    reply = b""
                    while chunk := connection.recv(4096):
                        reply += chunk
                return json.loads(reply.split(b"\r\n\r\n", 1)[1])["result"]
            except OSError:
                time.sleep(0.1)
        return None

    def current(self) -> str:
        return (self.root / "opt/current").readlink().name

    def previous(self) -> str | None:
        link = self.root / "opt/previous"
        return link.readlink().name if link.is_symlink() else None

    def selected(self) -> str:
        text = (self.root / "etc/release.env").read_text()
        return re.search(r"^RELEASE_VERSION=(\S+)$", text, re.M).group(1)

    def calls(self) -> list[str]:
        return (self.systemd / "calls").read_text().splitlines()

    def pid(self) -> str:
        return (self.systemd / "node.pid").read_text()

    def stop(self) -> None:
        subprocess.run(["systemctl", "stop", "node"], env=self.env())


@pytest.fixture
def node(tmp_path, server):
    require("curl")
    require("flock")
    host = Node(tmp_path, server)
    host.boot("v1")
    yield host
    host.stop()


def test_upgrade_switches_in_place_keeps_the_previous_release_and_survives_a_reboot(node):
    node.publish("v2")
    result = node.upgrade("v2")
    assert result.returncode == 0, result.stderr
    assert "upgraded from v1 to v2" in result.stderr
    assert node.answers() == "v2"
    assert node.current() == "v2" and node.previous() == "v1" and node.selected() == "v2"
    assert (node.root / "opt/releases/v1/mynode").exists()
    # A reboot: the boot install keeps the selected release, not the user data's pin (v1).
    rebooted = node.install()
    assert rebooted.returncode == 0, rebooted.stderr
    assert node.current() == "v2" and f"release from {node.root / 'etc/release.env'}" in rebooted.stderr


def test_rerunning_the_upgrade_changes_nothing(node):
    node.publish("v2")
    assert node.upgrade("v2").returncode == 0
    pid, calls, requests = node.pid(), len(node.calls()), len(node.server.requests)
    again = node.upgrade("v2")
    assert again.returncode == 0, again.stderr
    assert "already running" in again.stderr
    assert node.pid() == pid and not any(c.startswith(("stop", "start")) for c in node.calls()[calls:])
    assert len(node.server.requests) == requests  # nothing downloaded
    assert node.current() == "v2" and node.previous() == "v1"


def test_a_release_failing_verification_leaves_the_running_node_alone(node):
    node.publish("v2", b"#!/bin/sh\necho tampered\n")
    pid, calls = node.pid(), len(node.calls())
    result = node.upgrade("v2")
    assert result.returncode != 0
    assert "SHA-256 does not match the pinned value" in result.stderr
    assert "v1 is still running, untouched" in result.stderr
    assert node.pid() == pid and not any(c.startswith("stop") for c in node.calls()[calls:])
    assert node.current() == "v1" and node.answers() == "v1"
    assert not (node.root / "opt/releases/v2").exists()


def test_a_release_that_does_not_come_back_healthy_is_rolled_back(node):
    broken = node.binary("v2", broken=True)
    node.publish("v2", broken)
    content = upgrade_document(node.config("v2"), env_file=str(node.env_file))
    # The document of a release pinned to the broken binary's digest: it verifies, then crashes.
    started = time.monotonic()
    result = node.run(content, {"sha256s": sha256(broken)})
    assert result.returncode != 0
    assert "release v2 failed its health gate" in result.stderr and "exited after the switch" in result.stderr
    assert time.monotonic() - started < 60  # seen at once, not at the 600 s deadline
    assert "rolled back: v1 is running and healthy" in result.stderr
    assert node.current() == "v1" and node.selected() == "v1" and node.answers() == "v1"
    assert node.previous() is None  # nothing was upgraded


def test_rollback_restores_the_previous_binary_and_is_idempotent(node):
    node.publish("v2")
    assert node.upgrade("v2").returncode == 0
    result = node.rollback()
    assert result.returncode == 0, result.stderr
    assert "rolled back from v2 to v1" in result.stderr
    assert node.answers() == "v1" and node.current() == "v1" and node.selected() == "v1"
    assert (node.root / "bin/mynode").resolve().read_bytes() == node.binary("v1")
    again = node.rollback()
    assert again.returncode == 0 and "already rolled back to v1" in again.stderr
    assert node.current() == "v1"
    # Forward again: v2 is still installed, so no download.
    requests = len(node.server.requests)
    assert node.upgrade("v2").returncode == 0 and node.answers() == "v2"
    assert len(node.server.requests) == requests


def test_rollback_without_an_upgrade_fails_and_changes_nothing(node):
    result = node.rollback()
    assert result.returncode != 0 and "no previous release to roll back to (running v1)" in result.stderr
    assert node.current() == "v1" and node.answers() == "v1"


def test_an_operator_names_another_release_and_its_digest_older_agent(node):
    """The v1 document (the deployed pin), parameters naming v3: {version} in the URLs,
    the digests given; substituted as agents before 3.3.2746.0 do."""
    node.publish("v3")
    content = upgrade_document(node.config("v1"), env_file=str(node.env_file))
    result = node.run(content, {"releaseVersion": "v3", "sha256s": sha256(node.binary("v3")).upper()}, agent_env=False)
    assert result.returncode == 0, result.stderr
    assert node.answers() == "v3" and node.previous() == "v1"
    assert "/v3/mynode" in node.server.requests


def test_another_release_without_its_digest_is_refused_by_the_pin(node):
    node.publish("v3")
    result = node.upgrade("v1", parameters={"releaseVersion": "v3"})
    assert result.returncode != 0 and "SHA-256 does not match the pinned value" in result.stderr
    assert node.current() == "v1"


def test_the_wrong_number_of_digests_is_refused(node):
    result = node.upgrade("v1", parameters={"releaseVersion": "v2", "sha256s": f"{'a' * 64} {'b' * 64}"})
    assert result.returncode != 0 and "2 SHA-256 digests for 1 artifacts (mynode)" in result.stderr


def test_upgrades_never_touch_the_user_data_pin_file(node):
    before = node.env_file.read_text()
    node.publish("v2")
    assert node.upgrade("v2").returncode == 0
    assert node.env_file.read_text() == before


# ---------------------------------------------------------------- the documents


def documents() -> dict[str, dict]:
    config = NodeConfig(role="validator", name="val-1")
    return {"upgrade": json.loads(upgrade_document(config)), "rollback": json.loads(rollback_document(config))}


@pytest.mark.parametrize("kind", ["upgrade", "rollback"])
def test_documents_are_valid_command_documents(kind):
    """SSM Command document, schema 2.2 (AWS Systems Manager User Guide, "Data elements
    and parameters"): String parameters whose defaults match their allowedPattern and
    that are passed as environment variables; every {{ }} names a declared parameter."""
    document = documents()[kind]
    assert document["schemaVersion"] == "2.2" and document["description"]
    assert set(document) == {"schemaVersion", "description", "parameters", "mainSteps"}
    for name, parameter in document["parameters"].items():
        assert re.fullmatch(r"[A-Za-z0-9]+", name)
        assert parameter["type"] == "String" and parameter["interpolationType"] == "ENV_VAR"
        assert re.fullmatch(parameter["allowedPattern"], parameter["default"]) is not None
        for bad in ("x'; reboot; '", "$(reboot)", "`reboot`", 'a"b'):
            assert re.fullmatch(parameter["allowedPattern"], bad) is None
    (step,) = document["mainSteps"]
    assert step["action"] == "aws:runShellScript" and re.fullmatch(r"[A-Za-z0-9_.-]+", step["name"])
    commands = step["inputs"]["runCommand"]
    assert all(isinstance(line, str) for line in commands)
    named = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", "\n".join(commands)))
    assert named == set(document["parameters"])
    assert int(step["inputs"]["timeoutSeconds"]) <= 172800
    assert len(json.dumps(document)) < 64 * 1024


def test_the_pin_is_the_upgrade_documents_default():
    document = documents()["upgrade"]
    release = NodeConfig(role="validator", name="val-1").chain.release
    assert document["parameters"]["releaseVersion"]["default"] == release.version
    text = "\n".join(document["mainSteps"][0]["inputs"]["runCommand"])
    assert "ARTIFACT_URLS=('https://github.com/paritytech/polkadot-sdk/releases/download/{version}/polkadot'" in text
    urls = [line for line in text.splitlines() if line.startswith("ARTIFACT_") and "https://" in line]
    assert len(urls) == 3 and not any(release.version in line for line in urls)  # {version}, not the pin


def test_shellcheck_on_the_upgrade_script_and_the_documents_commands(tmp_path):
    shellcheck = require("shellcheck")
    upgrade_script = tmp_path / SCRIPT
    upgrade_script.write_text(template(SCRIPT))
    checked = [subprocess.run([shellcheck, "--severity=style", str(upgrade_script)], capture_output=True, text=True)]
    for kind, document in documents().items():
        commands = document["mainSteps"][0]["inputs"]["runCommand"]
        wrapper = tmp_path / f"{kind}.sh"
        # Only the sh wrapper (the here-documents are data, and the script is checked above).
        wrapper.write_text("#!/bin/sh\n" + "\n".join(commands) + "\n")
        checked.append(subprocess.run([shellcheck, "--severity=style", "--shell=sh", str(wrapper)], capture_output=True, text=True))
    assert [r.stdout for r in checked if r.returncode] == []


def test_the_upgrade_script_travels_in_the_documents_not_the_user_data(rendered):
    for bootstrap in rendered.values():
        assert not any(f.path.endswith(SCRIPT) for f in bootstrap.files)
    env = rendered["validator"].file(layout.BOOTSTRAP_ENV_FILE).content
    assert f"SELECTED_RELEASE_FILE={layout.SELECTED_RELEASE_FILE}" in env
    assert "PREVIOUS_RELEASE" not in env  # the documents set it:
    for document in documents().values():
        assert f"export PREVIOUS_RELEASE={layout.PREVIOUS_RELEASE}" in document["mainSteps"][0]["inputs"]["runCommand"]
