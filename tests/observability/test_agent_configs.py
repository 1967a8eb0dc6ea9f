"""The agents rendered into the bootstrap: the Prometheus agent config passes
``promtool check config --agent`` (after the boot-time render script filled it in),
the scripts pass shellcheck, the systemd drop-ins ``systemd-analyze verify``, and the
Fluent Bit config is checked structurally (no fluent-bit binary is installed here: it
is parsed as YAML and its pipeline inspected)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from observability_support import AMP_URL, INSTANCE_ID, NODES

from constructs_substrate.bootstrap import USER_DATA_LIMIT, render_bootstrap
from constructs_substrate.observability import node_agents as ext
from constructs_substrate.observability.agent_config import (
    AgentConfig,
    AmpRemoteWrite,
    BasicAuthRemoteWrite,
    CloudWatchLogs,
    LokiLogs,
    OpenSearchLogs,
)
from constructs_substrate.observability.log_shipper import fluent_bit_config
from constructs_substrate.observability.prometheus_agent import prometheus_config, render_prometheus_config
from constructs_substrate.observability.templating import render_template

from observability_support import require

CLOUDWATCH = CloudWatchLogs(log_group_name="/substrate/polkadot-eu/journal")
METRICS = {
    "amp-delivered": AmpRemoteWrite(),
    "amp-literal": AmpRemoteWrite(url=AMP_URL),
    "basic-auth": BasicAuthRemoteWrite(url="https://metrics.example.com/api/v1/push", username="tenant-1"),
}
LOGS = {
    "cloudwatch": CLOUDWATCH,
    "loki": LokiLogs(host="logs.example.com", username="12345"),
    "opensearch": OpenSearchLogs(host="search-logs-abc.eu-central-1.es.amazonaws.com"),
}


def promtool_agent(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([require("promtool"), "check", "config", "--agent", str(path)], capture_output=True, text=True)


@pytest.mark.parametrize("metrics", METRICS)
@pytest.mark.parametrize("node", NODES)
def test_prometheus_agent_config_passes_promtool(node, metrics, tmp_path):
    config = NODES[node]()
    agent = AgentConfig(metrics=METRICS[metrics])
    path = tmp_path / "agent.yml"
    path.write_text(render_prometheus_config(agent, config, instance_id=INSTANCE_ID, remote_write_url=AMP_URL if metrics == "amp-delivered" else None))
    result = promtool_agent(path)
    assert result.returncode == 0, result.stdout + result.stderr
    document = yaml.safe_load(path.read_text())
    jobs = {job["job_name"]: job["static_configs"][0] for job in document["scrape_configs"]}
    assert jobs["node-exporter"]["targets"] == ["127.0.0.1:9100"]
    assert all(job["labels"] == {"instance": INSTANCE_ID} for job in jobs.values())
    assert ("substrate" in jobs) == config.profile.runs_chain_node
    assert ("readiness-probe" in jobs) == (config.profile.runs_chain_node and config.profile.rpc_external)
    assert ("substrate-relay" in jobs) == config.embedded_relay
    assert document["global"]["external_labels"] == {"network": config.chain.name, "role": config.role.value, "node": config.name}
    write = document["remote_write"][0]
    if metrics.startswith("amp"):
        assert write["sigv4"] == {"region": "eu-central-1"} and write["url"] == AMP_URL
    else:
        assert write["basic_auth"]["password_file"] == "/etc/substrate/observability/remote-write-password"
        assert "sigv4" not in write


def test_promtool_catches_a_broken_agent_config(tmp_path):
    """The check above is sharp: agent mode refuses rule files."""
    document = prometheus_config(AgentConfig(), NODES["rpc"](), instance_id=INSTANCE_ID, remote_write_url=AMP_URL)
    document["rule_files"] = ["rules.yml"]
    path = tmp_path / "agent.yml"
    path.write_text(yaml.safe_dump(document))
    assert promtool_agent(path).returncode != 0


# ---- the boot-time render script ---------------------------------------------------------


def render_script(tmp_path: Path, agent: AgentConfig, node) -> tuple[Path, dict[str, Path]]:
    """The real template rendered with paths inside ``tmp_path`` (the only difference from
    the bootstrap's copy), plus the files it reads."""
    paths = {name: tmp_path / name for name in ("template", "config", "url", "host.env")}
    paths["template"].write_text(render_prometheus_config(agent, node))
    paths["host.env"].write_text(f"INSTANCE_ID={INSTANCE_ID}\nAWS_REGION=eu-central-1\n")
    metrics = agent.metrics
    amp = isinstance(metrics, AmpRemoteWrite)
    script = tmp_path / "render.sh"
    script.write_text(render_template(
        "render-prometheus-agent.sh", shell=True, template=str(paths["template"]), config=str(paths["config"]),
        host_env=str(paths["host.env"]), url=metrics.url or "", url_file=str(paths["url"]) if amp else "", amp=int(amp),
    ))
    return script, paths


def run(script: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(script)], capture_output=True, text=True)


def test_render_script_waits_for_the_url_then_writes_a_valid_config(tmp_path):
    script, paths = render_script(tmp_path, AgentConfig(), NODES["parachain-rpc"]())
    first = run(script)
    assert first.returncode == 1 and "no remote_write URL yet" in first.stderr
    assert not paths["config"].exists()
    paths["url"].write_text(AMP_URL + "\n")
    second = run(script)
    assert second.returncode == 0, second.stderr
    text = paths["config"].read_text()
    assert "@" not in text  # no placeholder left
    assert INSTANCE_ID in text and AMP_URL in text and 'region: "eu-central-1"' in text
    result = promtool_agent(paths["config"])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("url", [
    "https://example.com/api/v1/push",  # not AMP, but the AMP destination was configured
    "https://aps-workspaces.eu-central-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write'; rm -rf /",
    "http://aps-workspaces.eu-central-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write",
])
def test_render_script_refuses_a_bad_url(tmp_path, url):
    script, paths = render_script(tmp_path, AgentConfig(), NODES["rpc"]())
    paths["url"].write_text(url + "\n")
    result = run(script)
    assert result.returncode == 1 and "refusing" in result.stderr
    assert not paths["config"].exists()


def test_render_script_with_a_literal_basic_auth_url(tmp_path):
    agent = AgentConfig(metrics=METRICS["basic-auth"])
    script, paths = render_script(tmp_path, agent, NODES["validator"]())
    result = run(script)
    assert result.returncode == 0, result.stderr
    assert promtool_agent(paths["config"]).returncode == 0


# ---- files, scripts and units -------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered():
    node = NODES["parachain-rpc"]()
    return {f.path: f for f in ext.agent_extension(AgentConfig(logs=CLOUDWATCH), node).files}


def test_scripts_pass_shellcheck(rendered, tmp_path):
    scripts = [f for f in rendered.values() if f.path.endswith(".sh")]
    assert {Path(f.path).name for f in scripts} == {"install-observability.sh", "render-prometheus-agent.sh"}
    for item in scripts:
        path = tmp_path / Path(item.path).name
        path.write_text(item.content)
        assert item.mode == "0755"
        result = subprocess.run([require("shellcheck"), "-s", "bash", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout


STUBS = {
    # IMDSv2: a token, then the instance id and region; the Fluent Bit key from $FAKE_KEY.
    "curl": """#!/bin/bash
echo "curl $*" >>"$LOG"
case "$*" in
  *api/token*) echo TOKEN ;;
  *instance-id*) echo i-0123456789abcdef0 ;;
  *placement/region*) echo eu-central-1 ;;
  *fluentbit.key*) while [[ $1 != -o ]]; do shift; done; cp "$FAKE_KEY" "$2" ;;
  *) exit 22 ;;
esac
""",
    "apt-get": "#!/bin/bash\necho \"apt-get $*\" >>\"$LOG\"\n",
    "systemctl": "#!/bin/bash\necho \"systemctl $*\" >>\"$LOG\"\n",
}


@pytest.fixture(scope="module")
def signing_key(tmp_path_factory):
    """A throwaway OpenPGP key (armored) and its fingerprint, made with the real gpg."""
    gpg = require("gpg")
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    env = {"GNUPGHOME": str(home), "PATH": "/usr/bin:/bin"}
    subprocess.run([gpg, "--batch", "--passphrase", "", "--quick-gen-key", "Test <releases@example.com>", "ed25519", "sign", "never"],
                   env=env, check=True, capture_output=True)
    armored = subprocess.run([gpg, "--batch", "--armor", "--export"], env=env, check=True, capture_output=True).stdout
    listing = subprocess.run([gpg, "--batch", "--with-colons", "--list-keys"], env=env, check=True, capture_output=True, text=True).stdout
    fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, capture_output=True)
    path = home / "key.asc"
    path.write_bytes(armored)
    return path, fingerprint


def run_install(tmp_path: Path, key: Path, expected_fingerprint: str, agent: AgentConfig):
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for name, text in STUBS.items():
        (stubs / name).write_text(text)
        (stubs / name).chmod(0o755)
    files = {n: tmp_path / n for n in ("host.env", "keyring.gpg", "fluent-bit.list", "log")}
    script = tmp_path / "install.sh"
    script.write_text(ext.install_script(
        agent, host_env=str(files["host.env"]), fluent_bit_keyring=str(files["keyring.gpg"]),
        sources_list=str(files["fluent-bit.list"]), fluent_bit_key_fingerprint=expected_fingerprint,
    ))
    env = {"PATH": f"{stubs}:/usr/bin:/bin", "LOG": str(files["log"]), "FAKE_KEY": str(key), "HOME": str(tmp_path)}
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env, timeout=60)
    log = files["log"].read_text() if files["log"].exists() else ""
    return result, files, log


def test_install_script_installs_pinned_versions(tmp_path, signing_key):
    key, fingerprint = signing_key
    result, files, log = run_install(tmp_path, key, fingerprint, AgentConfig(logs=CLOUDWATCH))
    assert result.returncode == 0, result.stderr
    assert files["host.env"].read_text() == "INSTANCE_ID=i-0123456789abcdef0\nAWS_REGION=eu-central-1\n"
    assert "X-aws-ec2-metadata-token: TOKEN" in log  # IMDSv2
    commands = [line for line in log.splitlines() if not line.startswith("curl")]
    assert commands[0].startswith("apt-get install") and commands[0].endswith("prometheus=2.45.3+ds-*")
    assert "systemctl enable prometheus" in commands and "systemctl restart prometheus" in commands
    assert any(c.startswith("apt-get update") and str(files["fluent-bit.list"]) in c for c in commands)
    assert commands[-4].endswith("fluent-bit=4.2.2") and commands[-1] == "systemctl restart fluent-bit"
    assert files["fluent-bit.list"].read_text() == (
        f"deb [signed-by={files['keyring.gpg']}] https://packages.fluentbit.io/ubuntu/noble noble main\n"
    )
    assert files["keyring.gpg"].read_bytes()[:1] != b"-"  # dearmored (binary) keyring


def test_install_script_refuses_an_unexpected_key(tmp_path, signing_key):
    key, _ = signing_key
    result, files, log = run_install(tmp_path, key, "0" * 40, AgentConfig(logs=CLOUDWATCH))
    assert result.returncode == 1 and "refusing the downloaded Fluent Bit key" in result.stderr
    assert not files["keyring.gpg"].exists() and not files["fluent-bit.list"].exists()
    assert "fluent-bit=" not in log and "prometheus=" in log  # metrics were set up before


def test_install_script_without_logs_installs_only_prometheus(tmp_path, signing_key):
    key, fingerprint = signing_key
    result, files, log = run_install(tmp_path, key, fingerprint, AgentConfig())
    assert result.returncode == 0, result.stderr
    assert "fluentbit.key" not in log and "fluent-bit" not in log


def verify_root(rendered: dict, root: Path) -> subprocess.CompletedProcess:
    """The Debian package's prometheus.service (the Ubuntu one's twin) with our drop-in,
    and a stand-in fluent-bit.service, verified in a throwaway root."""
    require("systemd-analyze")
    prometheus_unit = Path("/lib/systemd/system/prometheus.service")
    if not prometheus_unit.exists():
        pytest.skip("the prometheus package (its unit) is not installed")
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    shutil.copy(prometheus_unit, root / "usr/lib/systemd/system/prometheus.service")
    (root / "usr/lib/systemd/system/fluent-bit.service").write_text(
        "[Unit]\nDescription=stand-in\n[Service]\nExecStart=/opt/fluent-bit/bin/fluent-bit -c /etc/fluent-bit/fluent-bit.conf\n"
    )
    for executable in ("usr/bin/prometheus", "opt/fluent-bit/bin/fluent-bit", "bin/sh", "bin/kill"):
        path = root / executable
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    for item in rendered.values():
        path = root / item.path.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(item.content)
        path.chmod(int(item.mode, 8))
    return subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", "--man=no", "--generators=no",
         "prometheus.service", "fluent-bit.service"],
        capture_output=True, text=True,
    )


def test_dropins_pass_systemd_analyze_verify(rendered, tmp_path):
    result = verify_root(rendered, tmp_path)
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stdout + result.stderr
    dropin = rendered[ext.PROMETHEUS_DROPIN].content
    assert "--enable-feature=agent" in dropin and "127.0.0.1:9090" in dropin and "ExecStartPre=+" in dropin


def test_verify_sees_the_dropin(rendered, tmp_path):
    """The check above is sharp: without the render script the drop-in fails verify."""
    result = verify_root({k: v for k, v in rendered.items() if k != ext.RENDER_SCRIPT}, tmp_path)
    assert result.returncode != 0 and "render-prometheus-agent.sh" in result.stderr


# ---- Fluent Bit --------------------------------------------------------------------------


@pytest.mark.parametrize("logs", LOGS)
def test_fluent_bit_config_structure(logs):
    agent = AgentConfig(logs=LOGS[logs])
    text = next(f.content for f in ext.agent_files(agent, NODES["rpc"]()) if f.path == ext.FLUENT_BIT_CONFIG)
    document = yaml.safe_load(text)
    assert document == fluent_bit_config(agent, NODES["rpc"]())
    assert set(document) == {"service", "pipeline"}
    (source,) = document["pipeline"]["inputs"]
    assert source["name"] == "systemd" and source["tag"] == "journal.*" and source["db"].startswith("/var/lib/fluent-bit/")
    (grep,) = document["pipeline"]["filters"]
    key, pattern = grep["regex"].split(" ", 1)
    assert key == "SYSTEMD_UNIT" and grep["name"] == "grep"
    for unit in agent.journal_units:
        assert re.fullmatch(pattern, unit)
    for unit in ("fluent-bit.service", "ssh.service", "substrate-nodeXservice"):
        assert not re.fullmatch(pattern, unit)
    (output,) = document["pipeline"]["outputs"]
    assert output["match"] == "journal.*"
    variables = set(re.findall(r"\$\{([A-Z_]+)\}", text))
    assert variables <= {"INSTANCE_ID", "AWS_REGION", "LOKI_PASSWORD"}
    if logs == "cloudwatch":
        assert output["name"] == "cloudwatch_logs" and output["log_key"] == "MESSAGE"
        assert output["auto_create_group"] is False and output["log_group_name"] == CLOUDWATCH.log_group_name
        assert output["log_stream_prefix"] == "${INSTANCE_ID}/" and output["region"] == "${AWS_REGION}"
    elif logs == "loki":
        assert output["name"] == "loki" and output["tls"] is True and output["http_passwd"] == "${LOKI_PASSWORD}"
    else:
        assert output["name"] == "opensearch" and output["aws_auth"] is True and output["aws_region"] == "${AWS_REGION}"


def test_no_logs_no_fluent_bit():
    files = {f.path: f for f in ext.agent_files(AgentConfig(), NODES["rpc"]())}
    assert ext.FLUENT_BIT_CONFIG not in files and ext.FLUENT_BIT_DROPIN not in files


# ---- the bootstrap --------------------------------------------------------------------------


@pytest.mark.parametrize("node", NODES)
def test_extension_fits_every_bootstrap(node):
    config = NODES[node]()
    extension = ext.agent_extension(AgentConfig(logs=CLOUDWATCH), config)
    bootstrap = render_bootstrap(config, extensions=[extension])
    assert bootstrap.gzip_size() <= USER_DATA_LIMIT
    assert bootstrap.file(ext.INSTALL_SCRIPT).mode == "0755"
    assert bootstrap.file(ext.PROMETHEUS_TEMPLATE).content == render_prometheus_config(AgentConfig(logs=CLOUDWATCH), config)
    assert render_bootstrap(config, extensions=[extension]).user_data() == bootstrap.user_data()  # deterministic
