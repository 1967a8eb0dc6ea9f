"""A failed bootstrap abandons the launch lifecycle action at once (cluster instances).

systemd starts ``substrate-launch-failed@<unit>.service`` (``OnFailure=`` of the
install, node and restore units) when one of them fails; it runs the rendered
``lifecycle-ready.sh`` with the failed unit's name. These tests run that script for
real against a fake IMDSv2 + EC2 Auto Scaling endpoint (SigV4 checked), with
``journalctl`` stubbed on PATH to return the journal of a REAL failed
``install-binaries.sh`` run, and measure the time from the failed install to the
abandon. The unit wiring is checked with ``systemd-analyze verify``.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from bootstrap_support import CONFIGS, path_with, require, script, write_env, write_executable
from fake_aws import INSTANCE, FakeAws

from constructs_substrate import layout
from constructs_substrate.bootstrap import paths, render_bootstrap
from constructs_substrate.bootstrap import cluster_extension as ext
from constructs_substrate.bootstrap.templating import shell_assignments
from constructs_substrate.cluster.config import ApiClusterConfig, ChainSnapshot

GROUP, HOOK = "api-nodes", "wait-until-ready"
FAILED = ext.ON_FAILURE.split("=", 1)[1]


def cluster_config() -> ApiClusterConfig:
    return ApiClusterConfig(
        node=CONFIGS["archive"](), domain_name="eu.rpc.example.com", zone_name="rpc.example.com", hosted_zone_id="Z123",
        snapshot=ChainSnapshot(archive_url="https://snapshots.example.com/polkadot.tar.zst", archive_sha256="a" * 64),
    )


@pytest.fixture(scope="module")
def cluster():
    config = cluster_config()
    extension = ext.cluster_extension(config, group_name=GROUP, hook_name=HOOK)
    return config, render_bootstrap(config.node, [extension])


class ReadyProbe:
    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ready"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


STUB_JOURNALCTL = """#!/bin/bash
# Stand-in for journalctl: records its arguments, prints the unit's "journal".
set -euo pipefail
printf '%s\\n' "$*" >> "$STUB_LOG"
cat "$STUB_JOURNAL"
"""

STUB_SYSTEMCTL = """#!/bin/bash
# Stand-in for systemctl: the install unit has failed; records every call.
set -euo pipefail
printf '%s\\n' "$*" >> "$STUB_LOG"
case $1 in
  is-failed) [[ $* == *substrate-install.service* ]] && { echo failed; exit 0; }; echo active; exit 1 ;;
  *) exit 0 ;;
esac
"""


def run_lifecycle(bootstrap, tmp_path: Path, aws: FakeAws, *args: str, probe_url: str = "http://127.0.0.1:9/ready",
                  journal: str = "", systemctl: str = STUB_SYSTEMCTL, timeout: int | None = None,
                  restarts: str = "0") -> subprocess.CompletedProcess:
    files = {f.path: f for f in bootstrap.files}
    lifecycle = write_executable(tmp_path / "lifecycle-ready.sh", files[ext.LIFECYCLE_SCRIPT].content)
    action = tmp_path / "lifecycle_action.py"
    action.write_text(files[ext.LIFECYCLE_ACTION].content)
    (tmp_path / "uptime").write_text("1.50 0.00\n")
    (tmp_path / "journal").write_text(journal)
    stubs = tmp_path / "stubs"
    write_executable(stubs / "journalctl", STUB_JOURNALCTL)
    write_executable(stubs / "systemctl", systemctl)
    env = ext.lifecycle_env(cluster_config(), group_name=GROUP, hook_name=HOOK)
    if timeout is not None:
        env["TIMEOUT_SECONDS"] = timeout
    env.update(PROBE_URL=probe_url, POLL_SECONDS=1, ACTION_SCRIPT=str(action), IMDS_URL=aws.url, ENDPOINT_URL=aws.url,
               UPTIME_FILE=str(tmp_path / "uptime"))
    env_file = tmp_path / "lifecycle.env"
    env_file.write_text(shell_assignments(env))
    environment = {k: v for k, v in path_with(stubs).items() if not k.lower().endswith("_proxy")}
    environment |= {"STUB_LOG": str(tmp_path / "stub.log"), "STUB_JOURNAL": str(tmp_path / "journal"),
                    "STUB_RESTARTS": restarts}
    return subprocess.run([str(lifecycle), str(env_file), *args], capture_output=True, text=True, timeout=60, env=environment)


def failed_install(tmp_path: Path) -> subprocess.CompletedProcess:
    """The real install-binaries.sh refusing a tampered binary (a local fake web)."""
    config = CONFIGS["custom-chain"]()
    artifact, spec = config.chain.release.artifacts[0], config.chain.chain_spec
    web = tmp_path / "web"
    for url, data in ((artifact.url, b"tampered"), (spec.url, b"{}")):
        target = web / url.removeprefix("https://")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    spec_sha = hashlib.sha256(b"{}").hexdigest()
    config = config.model_copy(update={"chain": config.chain.replace(chain_spec=spec.replace(sha256=spec_sha))})
    fakes = tmp_path / "fakes"
    write_executable(fakes / "curl", '#!/bin/bash\nset -euo pipefail\nout=$(sed -n "s/.*--output \\([^ ]*\\) .*/\\1/p" <<<"$*")\n'
                     'cp "$FAKE_WEB/${!##https://}" "$out"\n')
    env_file = write_env(config, tmp_path / "bootstrap.env", RELEASES_DIR=str(tmp_path / "opt/releases"),
                         CURRENT_RELEASE=str(tmp_path / "opt/current"), BIN_DIR=str(tmp_path / "bin"),
                         CHAIN_SPEC_FILE=str(tmp_path / "chain-spec.json"))
    installer = script(render_bootstrap(config), paths.INSTALL_SCRIPT, tmp_path / "scripts")
    return subprocess.run([str(installer), str(env_file)], env={**path_with(fakes), "FAKE_WEB": str(web)},
                          capture_output=True, text=True)


# ---- behaviour --------------------------------------------------------------------------------


def test_a_failed_install_abandons_the_launch_at_once_with_the_reason_in_the_journal(cluster, tmp_path):
    _, bootstrap = cluster
    install = failed_install(tmp_path / "install")
    assert install.returncode != 0 and "SHA-256 does not match the pinned value" in install.stderr
    failed_at = time.monotonic()
    with FakeAws() as aws:
        result = run_lifecycle(bootstrap, tmp_path, aws, layout.INSTALL_SERVICE, journal=install.stderr)
    assert result.returncode == 0, result.stderr
    assert aws.results() == ["ABANDON"]  # exactly one call: CompleteLifecycleAction, ABANDON
    (call,) = aws.calls
    assert call["signed"] and call["params"]["Action"] == "CompleteLifecycleAction"
    assert call["params"]["InstanceId"] == INSTANCE and call["params"]["AutoScalingGroupName"] == GROUP
    seconds = call["time"] - failed_at
    print(f"\nfailed install -> abandon recorded: {seconds:.2f} s")
    assert seconds < 10, seconds
    # The reason, in this unit's journal: the failed unit and its last log lines.
    assert f"{layout.INSTALL_SERVICE} failed; abandoning the launch now" in result.stderr
    assert f"{layout.INSTALL_SERVICE}: " in result.stderr and "SHA-256 does not match the pinned value" in result.stderr
    (journal_args,) = (tmp_path / "stub.log").read_text().splitlines()
    assert f"--unit={layout.INSTALL_SERVICE}" in journal_args and f"--lines={ext.FAILURE_LOG_LINES}" in journal_args


def test_the_abandon_is_retried_when_the_api_fails(cluster, tmp_path):
    _, bootstrap = cluster
    with FakeAws(answers=[(500, "<Error>InternalFailure</Error>")]) as aws:
        result = run_lifecycle(bootstrap, tmp_path, aws, layout.NODE_SERVICE, journal="start request repeated too quickly\n")
    assert result.returncode == 0, result.stderr
    assert aws.results() == ["ABANDON", "ABANDON"] and "abandon attempt 1 failed" in result.stderr


def test_an_action_no_longer_pending_is_not_an_error(cluster, tmp_path):
    """A unit failing on a later boot of an instance in service: nothing to abandon."""
    _, bootstrap = cluster
    not_pending = (400, f"<Error><Message>No active Lifecycle Action found with instance ID {INSTANCE}</Message></Error>")
    with FakeAws(answers=[not_pending]) as aws:
        result = run_lifecycle(bootstrap, tmp_path, aws, layout.INSTALL_SERVICE, journal="x\n")
    assert result.returncode == 0 and aws.results() == ["ABANDON"] and "nothing to do" in result.stderr


def test_install_ok_and_probe_ready_continues(cluster, tmp_path):
    _, bootstrap = cluster
    probe = ReadyProbe()
    try:
        with FakeAws() as aws:
            result = run_lifecycle(bootstrap, tmp_path, aws, probe_url=probe.url)
    finally:
        probe.server.shutdown()
        probe.server.server_close()
    assert result.returncode == 0, result.stderr
    assert aws.results() == ["CONTINUE"] and aws.calls[0]["signed"]


# ---- wiring -------------------------------------------------------------------------------------


def test_install_node_and_restore_units_trigger_the_abandon_on_failure(cluster):
    _, bootstrap = cluster
    for unit in (layout.INSTALL_SERVICE, layout.NODE_SERVICE):
        drop_in = bootstrap.file(ext.on_failure_drop_in_path(unit)).content
        assert f"[Unit]\n{ext.ON_FAILURE}\n" in drop_in
    assert ext.ON_FAILURE in bootstrap.file(paths.unit(ext.RESTORE_SERVICE)).content
    unit = bootstrap.file(paths.unit(ext.LAUNCH_FAILED_SERVICE)).content
    assert f"ExecStart={ext.LIFECYCLE_SCRIPT} {ext.LIFECYCLE_ENV} %i\n" in unit
    assert "DynamicUser" not in unit and "CapabilityBoundingSet=\n" in unit and "OnFailure" not in unit


def test_a_standalone_node_has_no_abandon_wiring(rendered):
    for name in ("rpc", "archive", "validator"):
        texts = [f.content for f in rendered[name].files]
        assert not any("OnFailure" in text or "launch-failed" in text for text in texts), name


def test_the_failure_unit_passes_systemd_analyze(cluster, tmp_path):
    analyze = require("systemd-analyze")
    _, bootstrap = cluster
    copy = write_executable(tmp_path / "bin/lifecycle-ready.sh", bootstrap.file(ext.LIFECYCLE_SCRIPT).content)
    text = bootstrap.file(paths.unit(ext.LAUNCH_FAILED_SERVICE)).content.replace(ext.LIFECYCLE_SCRIPT, str(copy))
    units = tmp_path / "units"
    units.mkdir()
    (units / ext.LAUNCH_FAILED_SERVICE).write_text(text)
    instance = units / ext.LAUNCH_FAILED_SERVICE.replace("@", f"@{layout.INSTALL_SERVICE}")
    instance.symlink_to(units / ext.LAUNCH_FAILED_SERVICE)
    verify = subprocess.run([analyze, "verify", "--man=no", str(instance)], capture_output=True, text=True)
    assert verify.returncode == 0 and "launch-failed" not in verify.stderr, verify.stderr
    security = subprocess.run([analyze, "security", "--offline=yes", str(instance)], capture_output=True, text=True)
    exposure = float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", security.stdout).group(1))
    print(f"\n{ext.LAUNCH_FAILED_SERVICE} exposure: {exposure}")
    assert exposure <= 2.0, security.stdout


# ---- bootstrap.sh: any failed step runs the failure hook (the cluster's: abandon) ----------------


def run_bootstrap(tmp_path: Path, *, prepare_fails: bool = False, install_fails: bool = False):
    config = CONFIGS["rpc"]()
    bootstrap = render_bootstrap(config)
    log = tmp_path / "calls.log"
    fakes = tmp_path / "fakes"
    write_executable(fakes / "systemctl", (
        f'#!/bin/bash\necho "systemctl $*" >> {log}\n'
        f'[[ "$*" == "start {layout.INSTALL_SERVICE}" && {int(install_fails)} == 1 ]] && exit 1\nexit 0\n'
    ))
    prepare = write_executable(tmp_path / "prepare", f'#!/bin/bash\necho "prepare" >> {log}\nexit {int(prepare_fails)}\n')
    hook = write_executable(tmp_path / "on-failure.sh", f'#!/bin/bash\necho "failure hook" >> {log}\n')
    env_file = write_env(config, tmp_path / "bootstrap.env", PREPARE_VOLUME_SCRIPT=str(prepare),
                         ON_FAILURE_SCRIPT=str(hook), EXTENSIONS_SCRIPT=str(tmp_path / "none"))
    runner = script(bootstrap, paths.BOOTSTRAP_SCRIPT, tmp_path)
    result = subprocess.run([str(runner), str(env_file)], env=path_with(fakes), capture_output=True, text=True)
    return result, log.read_text().splitlines()


def test_a_failed_bootstrap_step_runs_the_failure_hook_once(tmp_path):
    result, calls = run_bootstrap(tmp_path, prepare_fails=True)
    assert result.returncode != 0
    assert calls == ["prepare", "failure hook"]
    assert re.search(r"ERROR: the bootstrap failed at line \d+ \(exit status 1\)", result.stderr)


def test_a_failed_install_is_left_to_its_unit(tmp_path):
    """The install unit's OnFailure= abandons; the bootstrap must not abandon a second time."""
    result, calls = run_bootstrap(tmp_path, install_fails=True)
    assert result.returncode == 1
    assert "failure hook" not in calls and calls[-1] == f"systemctl start {layout.INSTALL_SERVICE}"
    assert f"ERROR: see journalctl -u {layout.INSTALL_SERVICE}" in result.stderr


def test_a_good_bootstrap_never_runs_the_hook(tmp_path):
    result, calls = run_bootstrap(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "failure hook" not in calls


def test_the_cluster_failure_hook_starts_the_abandon_for_the_bootstrap(cluster, tmp_path):
    _, bootstrap = cluster
    hook = write_executable(tmp_path / "on-failure.sh", bootstrap.file(paths.ON_FAILURE_SCRIPT).content)
    stubs = tmp_path / "stubs"
    write_executable(stubs / "systemctl", STUB_SYSTEMCTL)
    result = subprocess.run([str(hook)], env={**path_with(stubs), "STUB_LOG": str(tmp_path / "log")},
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    instance = ext.LAUNCH_FAILED_SERVICE.replace("@", f"@{ext.BOOTSTRAP_UNIT}")
    assert (tmp_path / "log").read_text() == f"start --no-block {instance}\n"
    # That instance runs lifecycle-ready.sh with cloud-final.service: its journal is the reason.
    with FakeAws() as aws:
        result = run_lifecycle(bootstrap, tmp_path, aws, ext.BOOTSTRAP_UNIT,
                               journal="bootstrap: ERROR: the bootstrap failed at line 40 (exit status 1)\n")
    assert result.returncode == 0 and aws.results() == ["ABANDON"]
    assert "cloud-final.service: bootstrap: ERROR: the bootstrap failed" in result.stderr


def test_the_cluster_scripts_pass_shellcheck(cluster, tmp_path):
    shellcheck = require("shellcheck")
    _, bootstrap = cluster
    scripts = [f for f in bootstrap.files if f.content.startswith("#!/bin/bash\n")]
    assert {ext.LIFECYCLE_SCRIPT, paths.ON_FAILURE_SCRIPT} <= {f.path for f in scripts}
    written = [str(write_executable(tmp_path / Path(f.path).name, f.content)) for f in scripts]
    result = subprocess.run([shellcheck, "--severity=style", "--shell=bash", "--external-sources", *written],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_whole_cluster_instance_passes_systemd_analyze_verify(cluster, tmp_path):
    """Every unit with its drop-ins in one root (as test_units does for plain nodes).
    verify does not check that an OnFailure= target exists, so that is asserted apart."""
    from test_units import SYSTEMD_UNITS, _root

    analyze = require("systemd-analyze")
    _, bootstrap = cluster
    import shutil

    units_copy = tmp_path / "systemd"
    shutil.copytree(SYSTEMD_UNITS, units_copy, symlinks=True)
    root = tmp_path / "root"
    units = _root(bootstrap, units_copy, root)
    units = [u for u in units if not u.endswith("@.service")]
    instance = ext.LAUNCH_FAILED_SERVICE.replace("@", f"@{layout.INSTALL_SERVICE}")
    assert {layout.INSTALL_SERVICE, layout.NODE_SERVICE, ext.RESTORE_SERVICE} <= set(units)
    result = subprocess.run([analyze, "verify", f"--root={root}", "--man=no", "--generators=no", *units, instance],
                            capture_output=True, text=True)
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stdout + result.stderr
    assert (root / paths.unit(ext.LAUNCH_FAILED_SERVICE).lstrip("/")).is_file()


STUB_SYSTEMCTL_RESTARTS = """#!/bin/bash
# Stand-in for systemctl show: the node unit has restarted $STUB_RESTARTS times.
set -euo pipefail
printf '%s\\n' "$*" >> "$STUB_LOG"
[[ $1 == show && $* == *--property=NRestarts* ]] && { echo "$STUB_RESTARTS"; exit 0; }
exit 1
"""


@pytest.mark.parametrize("restarts", ["3", "1", "", "[not set]"])
def test_a_crash_looping_node_abandons_while_launching(cluster, tmp_path, restarts):
    _, bootstrap = cluster
    with FakeAws() as aws:
        started = time.monotonic()
        # The probe never answers; the deadline: 63 s budget - 1 s uptime - 60 s = about 2 s.
        result = run_lifecycle(bootstrap, tmp_path, aws, systemctl=STUB_SYSTEMCTL_RESTARTS, timeout=63, restarts=restarts)
    elapsed = time.monotonic() - started
    assert aws.results() == ["ABANDON"], result.stderr
    if restarts == "3":
        assert result.returncode == 0 and elapsed < 2, elapsed  # at the first poll
        assert f"{layout.NODE_SERVICE} restarted 3 times while launching" in result.stderr
    else:  # not crash-looping (or systemctl unusable): only the deadline abandons
        assert result.returncode == 1 and "not ready in time" in result.stderr
