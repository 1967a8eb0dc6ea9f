"""What the rendered files say: node flags per role, units, telemetry, determinism
and the 16 KiB user-data limit."""

from __future__ import annotations

import ast
import base64
import gzip
import os
import subprocess
import sys
from importlib.resources import files

import pytest
from bootstrap_support import CONFIGS

from constructs_substrate import layout, ports
from constructs_substrate.bootstrap import (
    USER_DATA_LIMIT,
    BootstrapExtension,
    RenderedFile,
    paths,
    render_bootstrap,
)
from constructs_substrate.bootstrap.env import bootstrap_env
from constructs_substrate.bootstrap.node_files import probe_source
from constructs_substrate.errors import ConfigError

UNITS = "/etc/systemd/system/"


def args(bootstrap) -> str:
    return bootstrap.file(layout.NODE_ARGS_FILE).content


# ------------------------------------------------------------------ node flags


def test_validator_flags(rendered):
    text = args(rendered["validator"])
    assert "--validator\n" in text
    assert "--rpc-methods\n" in text
    assert "--rpc-external" not in text and "--unsafe-rpc-external" not in text
    assert f"--node-key-file\n{layout.NODE_KEY_FILE}\n" in text


def test_rpc_flags(rendered):
    text = args(rendered["rpc"])
    # Two listeners (docs/probe.md): public with safe methods and no cors key (no Host
    # filter, permissive CORS: `--rpc-cors all`), and the probe's on localhost only.
    assert f"--experimental-rpc-endpoint\nlisten-addr=0.0.0.0:{ports.RPC},methods=safe,max-connections=" in text
    assert f"--experimental-rpc-endpoint\nlisten-addr=127.0.0.1:{ports.PROBE_RPC},methods=safe," in text
    assert "cors" not in text
    for replaced in ("--rpc-port", "--unsafe-rpc-external", "--rpc-methods", "--rpc-max-connections"):
        assert replaced not in text
    assert "--validator" not in text
    assert "--telemetry-url\nwss://telemetry.example.com/submit 0\n" in text


def test_archive_flags(rendered):
    text = args(rendered["archive"])
    assert "--state-pruning\narchive\n--blocks-pruning\narchive\n" in text
    assert "--sync\nwarp" not in text


def test_parachain_flags_embed_the_relay_chain(rendered):
    text = args(rendered["parachain-rpc"])
    assert text.startswith("--chain\nasset-hub-polkadot\n")
    assert "\n--\n--chain\npolkadot\n" in text


def test_custom_chain_uses_the_verified_chain_spec(rendered):
    bootstrap = rendered["custom-chain"]
    assert args(bootstrap).startswith(f"--chain\n{layout.CHAIN_SPEC_FILE}\n")
    env = bootstrap.file(layout.BOOTSTRAP_ENV_FILE).content
    assert "CHAIN_SPEC_URL=https://downloads.example.com/mychain.json\n" in env
    assert f"ARTIFACT_SHA256S=({'0' * 64})\n" in env
    assert "GPG_FINGERPRINT=''\n" in env  # every artifact pinned: no key fetched


def test_telemetry_node_runs_no_chain_node(rendered):
    files = {f.path for f in rendered["telemetry"].files}
    assert layout.NODE_ARGS_FILE not in files and UNITS + layout.NODE_SERVICE not in files


# ------------------------------------------------------------------ units


def test_node_unit(rendered):
    unit = rendered["validator"].file(UNITS + layout.NODE_SERVICE).content
    for line in (
        f"User={layout.SERVICE_USER}", f"Requires={layout.INSTALL_SERVICE}",
        f"After={layout.INSTALL_SERVICE} network-online.target", f"RequiresMountsFor={layout.DATA_DIR}",
        "Restart=always", "RestartSec=120", "LimitNOFILE=65536", f"ReadWritePaths={layout.DATA_DIR}",
        "ProtectSystem=strict", "NoNewPrivileges=true", "PrivateTmp=true", "RestrictNamespaces=false",
        f"ExecStart={paths.RUN_NODE_SCRIPT} {layout.BOOTSTRAP_ENV_FILE}",
    ):
        assert f"\n{line}\n" in unit, line


def test_probe_unit_points_at_the_node_rpc(rendered):
    unit = rendered["archive"].file(UNITS + layout.PROBE_SERVICE).content
    assert (
        f"ExecStart=/usr/bin/python3 {paths.PROBE_SCRIPT} --rpc-url http://127.0.0.1:{ports.PROBE_RPC} "
        f"--listen 0.0.0.0:{ports.PROBE} --max-network-lag 10\n"
    ) in unit
    assert "DynamicUser=true\n" in unit


@pytest.mark.parametrize("name", ["validator", "bootnode", "telemetry"])
def test_no_probe_where_nothing_is_load_balanced(rendered, name):
    assert all("probe" not in f.path for f in rendered[name].files)


def test_telemetry_units(rendered):
    bootstrap = rendered["telemetry"]
    core = bootstrap.file(UNITS + "substrate-telemetry-core.service").content
    shard = bootstrap.file(UNITS + "substrate-telemetry-shard.service").content
    frontend = bootstrap.file(UNITS + "substrate-telemetry-frontend.service").content
    backend = CONFIGS["telemetry"]().telemetry_server.backend_image
    assert f"-p 127.0.0.1:8000:8000 {backend} telemetry_core --listen 0.0.0.0:8000\n" in core
    assert f"-p 127.0.0.1:8001:8001 {backend} telemetry_shard --listen 0.0.0.0:8001 --core http://telemetry-core:8000/shard_submit\n" in shard
    assert "--env SUBSTRATE_TELEMETRY_URL=wss://telemetry.example.com/feed " in frontend
    assert f"-p 127.0.0.1:{ports.TELEMETRY_FRONTEND}:8000 " in frontend
    for unit in (core, shard, frontend):
        assert "docker run --rm --read-only " in unit and "Restart=always\n" in unit
        assert "@sha256:" in unit


def test_node_exporter_listens_on_the_configured_port(rendered):
    assert rendered["rpc"].file(paths.NODE_EXPORTER_DEFAULTS).content == f'ARGS="--web.listen-address=:{ports.NODE_EXPORTER}"\n'


# ------------------------------------------------------------------ determinism and size


def test_rendering_is_byte_deterministic(case):
    name, config, bootstrap = case
    again = render_bootstrap(CONFIGS[name]())
    assert again.cloud_config == bootstrap.cloud_config
    assert again.user_data_base64() == bootstrap.user_data_base64()


def test_rendering_is_deterministic_across_processes(rendered):
    """No hash-seed or set-order dependence: another interpreter renders the same bytes."""
    code = (
        "import sys; sys.path[:0] = sys.argv[1:]\n"
        "from bootstrap_support import CONFIGS\n"
        "from constructs_substrate.bootstrap import render_bootstrap\n"
        "print(render_bootstrap(CONFIGS['tls-dns01']()).user_data_base64())"
    )
    here = os.path.dirname(__file__)
    root = os.path.dirname(os.path.dirname(here))
    out = subprocess.run(
        [sys.executable, "-c", code, here, root], capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    ).stdout.strip()
    assert out == rendered["tls-dns01"].user_data_base64()


def test_user_data_is_gzip_of_the_cloud_config(rendered):
    bootstrap = rendered["validator"]
    data = base64.b64decode(bootstrap.user_data_base64())
    assert gzip.decompress(data).decode() == bootstrap.cloud_config
    assert len(data) == bootstrap.gzip_size()


def test_every_config_fits_ec2_user_data_with_room_for_extensions(rendered):
    sizes = {name: b.gzip_size() for name, b in rendered.items()}
    print(f"\ngzipped user data (bytes): {sizes}")
    # The largest (TLS + probe) must leave room for an extension of a couple of KB.
    assert max(sizes.values()) <= USER_DATA_LIMIT - 2048, sizes


def test_an_autoscaling_cluster_instance_fits():
    """The real cluster extension (lifecycle hook + snapshot restore) on an archive node."""
    cluster = pytest.importorskip("constructs_substrate.bootstrap.cluster_extension")
    from constructs_substrate.cluster.config import ApiClusterConfig, ChainSnapshot

    node = CONFIGS["archive"]()
    config = ApiClusterConfig(
        node=node, domain_name="eu.rpc.example.com", zone_name="rpc.example.com", hosted_zone_id="Z123",
        snapshot=ChainSnapshot(archive_url="https://snapshots.example.com/polkadot.tar.zst", archive_sha256="a" * 64),
    )
    extension = cluster.cluster_extension(config, group_name="group", hook_name="hook")
    size = render_bootstrap(node, [extension]).gzip_size()
    print(f"\nautoscaling-cluster archive instance: {size} bytes gzipped")
    # Lifecycle hook, fail-fast abandon, liveness watcher and snapshot restore: the
    # fullest user data we render; keep a margin for small changes.
    assert size <= USER_DATA_LIMIT - 512, size


def test_shipped_files_drop_comments_but_keep_directives(rendered):
    template = files("constructs_substrate.bootstrap").joinpath("templates", "install-binaries.sh").read_text()
    shipped = rendered["rpc"].file(paths.INSTALL_SCRIPT).content
    assert template.count("\n#") > 5  # the templates carry the explanations...
    lines = shipped.splitlines()
    assert lines[0] == "#!/bin/bash"
    assert lines[1] == "# Commented source: constructs_substrate/bootstrap/templates/install-binaries.sh (docs/bootstrap.md)"
    comments = [line for line in lines[2:] if line.lstrip().startswith("#")]
    assert comments == [line for line in comments if line.startswith("# shellcheck source=")]  # ...not the host


def test_oversized_extension_raises_config_error():
    # Extension files travel in the bootstrap bundle: it has its own bound (bundle.BUNDLE_LIMIT).
    noise = base64.b64encode(os.urandom(270_000)).decode()  # incompressible
    extension = BootstrapExtension(files=(RenderedFile("/usr/local/lib/extra/blob.txt", noise),))
    with pytest.raises(ConfigError, match="gzipped bootstrap bundle is .* bytes"):
        render_bootstrap(CONFIGS["tls-http01"](), [extension])


def test_extension_files_packages_and_commands_are_added():
    extension = BootstrapExtension(
        files=(RenderedFile("/usr/local/lib/extra/hook.sh", "#!/bin/bash\ntrue\n", "0755"),),
        packages=("jq", "curl"),
        commands=("/usr/local/lib/extra/hook.sh",),
    )
    bootstrap = render_bootstrap(CONFIGS["rpc"](), [extension])
    assert bootstrap.file("/usr/local/lib/extra/hook.sh").mode == "0755"
    assert bootstrap.file(paths.EXTENSIONS_SCRIPT).content.endswith("set -euo pipefail\n/usr/local/lib/extra/hook.sh\n")
    assert bootstrap.cloud_config.count('"curl"') == 1 and '"jq"' in bootstrap.cloud_config


def test_extension_cannot_overwrite_a_bootstrap_file():
    extension = BootstrapExtension(files=(RenderedFile(layout.NODE_ARGS_FILE, "--evil\n"),))
    with pytest.raises(ConfigError, match="written twice"):
        render_bootstrap(CONFIGS["rpc"](), [extension])


def test_env_file_sourced_by_bash_gives_back_every_value(case, tmp_path):
    """shlex-quoted assignments: bash reads exactly the Python values, spaces and all
    (e.g. certbot's deploy hook "systemctl reload nginx" stays one array element)."""
    _, config, bootstrap = case
    env = bootstrap_env(config)
    path = tmp_path / "bootstrap.env"
    path.write_text(bootstrap.file(layout.BOOTSTRAP_ENV_FILE).content)
    printer = "; ".join(
        f'printf "%s\\0" "${{{name}[@]}}"' if isinstance(value, tuple) else f'printf "%s\\0" "${name}"'
        for name, value in env.items()
    )
    out = subprocess.run(["bash", "-c", f"set -eu; source {path}; {printer}"], capture_output=True, text=True, check=True).stdout
    expected = []
    for value in env.values():
        if isinstance(value, tuple):
            expected += value
        else:
            expected.append(str(int(value)) if isinstance(value, bool) else str(value))
    assert out.split("\0")[:-1] == expected


def test_a_node_name_with_spaces_is_one_flag_value():
    config = CONFIGS["rpc"]().replace(name="rpc node 1")
    assert "\n--name\nrpc node 1\n" in args(render_bootstrap(config))


# ------------------------------------------------------------------ the shipped probe


def _help(script) -> str:
    result = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_shipped_probe_is_the_library_s_probe(tmp_path):
    """Shipped verbatim (the bundle has room): the region-in-a-box test runs this copy
    against real nodes."""
    source_path = files("constructs_substrate.probe").joinpath("readiness_probe.py")
    assert probe_source() == source_path.read_text()
    probe = tmp_path / "readiness_probe.py"
    probe.write_text(probe_source())
    assert _help(probe) == _help(source_path)


@pytest.mark.parametrize("kwargs", [
    {"path": "relative/file"}, {"path": "/etc/../shadow"}, {"path": "/a b"},
    {"mode": "644x"}, {"owner": "root"},
])
def test_rendered_file_refuses_bad_paths_modes_and_owners(kwargs):
    with pytest.raises(ValueError):
        RenderedFile(**{"path": "/etc/x", "content": "", **kwargs})


def test_extension_refuses_bad_package_names():
    with pytest.raises(ValueError):
        BootstrapExtension(packages=("curl; rm -rf /",))
