"""The cloud-config: valid for cloud-init, and carrying exactly the rendered files."""

from __future__ import annotations

import json
import subprocess

import yaml

from constructs_substrate import layout
from constructs_substrate.bootstrap import RenderedFile, bundle, paths
from constructs_substrate.bootstrap.cloud_config import render_cloud_config

from bootstrap_support import require


def test_passes_cloud_init_schema(case, tmp_path):
    name, _, bootstrap = case
    path = tmp_path / "user-data.yaml"
    path.write_text(bootstrap.cloud_config)
    result = subprocess.run(
        [require("cloud-init"), "schema", "--config-file", str(path)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid cloud-config" in result.stdout


def test_yaml_carries_the_boot_stage_exactly_and_the_bundle_the_rest(case):
    _, _, bootstrap = case
    document = yaml.safe_load(bootstrap.cloud_config)
    written = document["write_files"]
    assert [w["path"] for w in written] == [f.path for f in bootstrap.boot_files] == list(bundle.BOOT_PATHS)
    for item, entry in zip(bootstrap.boot_files, written):
        assert entry["content"] == item.content, item.path
        assert entry["permissions"] == item.mode
        assert entry["owner"] == item.owner
    # Every other file travels in the bundle, byte for byte, and nothing twice.
    assert bundle.unpacked(bootstrap.bundle.data) == [(f.path, f.content) for f in bootstrap.bundle.files]
    assert [*bootstrap.boot_files, *bootstrap.bundle.files] == list(bootstrap.files)
    config = json.loads(bootstrap.file(bundle.BOOT_CONFIG).content)
    assert (config["sha256"], config["size"]) == (bootstrap.bundle.sha256, bootstrap.bundle.size)
    assert document["runcmd"] == [
        ["python3", bundle.FETCH_SCRIPT, bundle.BOOT_CONFIG, paths.BOOTSTRAP_SCRIPT, layout.BOOTSTRAP_ENV_FILE]
    ]
    assert document["package_update"] is True


def test_service_user_is_a_nologin_system_user(case):
    _, _, bootstrap = case
    users = yaml.safe_load(bootstrap.cloud_config)["users"]
    user = next(u for u in users if isinstance(u, dict) and u["name"] == layout.SERVICE_USER)
    assert user["system"] is True and user["shell"] == "/usr/sbin/nologin"


def test_packages_follow_role_and_tls(case):
    name, config, bootstrap = case
    packages = yaml.safe_load(bootstrap.cloud_config)["packages"]
    assert packages[:4] == ["curl", "gnupg", "ca-certificates", "prometheus-node-exporter"]
    assert ("docker.io" in packages) == (name == "telemetry")
    assert ("nginx" in packages) == ("certbot" in packages) == (config.tls is not None)
    assert ("python3-certbot-dns-route53" in packages) == (name == "tls-dns01")


def test_file_contents_that_yaml_literal_blocks_cannot_carry_still_round_trip():
    tricky = [
        "", "no newline", "two newlines\n\n", "  leading spaces\n", "\nleading blank\n",
        "tab\tinside\n", "carriage\r\nreturn\n", "ends in spaces   \n", "   \n",
    ]
    files = [RenderedFile(f"/tmp/{i}", text) for i, text in enumerate(tricky)]
    document = yaml.safe_load(render_cloud_config(["curl"], "substrate", files, ["/bin/true"]))
    assert [entry["content"] for entry in document["write_files"]] == tricky


def test_files_for_other_users_are_deferred_until_users_exist():
    files = [RenderedFile("/data/x", "x\n", owner="substrate:substrate")]
    document = yaml.safe_load(render_cloud_config(["curl"], "substrate", files, ["/bin/true"]))
    assert document["write_files"][0]["defer"] is True
