"""The public-snapshot restore for real on loopback: the downloader as shipped
(run by ``python3``) against a server of a generated database in Parity's layout
(``benchmarks/public_layout.py``), the restore script's choice of source, the node's
start gate, and the config's refusals.
"""

from __future__ import annotations

import ast
import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.public_layout import BASE, SNAPSHOT, SnapshotServer, generate
from constructs_substrate.bootstrap import cluster_extension as ext
from constructs_substrate.bootstrap.templating import shell_assignments
from constructs_substrate.cluster.config import ApiClusterConfig
from constructs_substrate.config import NodeConfig
from constructs_substrate.errors import ConfigError

SIZE = 6 << 20
FILE = 1 << 20
CLUSTER = {"domain_name": "eu.polkadot.rpc.example.com", "zone_name": "rpc.example.com",
           "hosted_zone_id": "Z0123456789ABCDEFGHIJ"}
PUBLIC = f"https://snapshots.polkadot.io/{BASE}"


def cluster(snapshot: dict, **node) -> ApiClusterConfig:
    return ApiClusterConfig(node=NodeConfig(**{"role": "rpc", "name": "rpc", **node}),
                            snapshot=snapshot, **CLUSTER)


@pytest.fixture(scope="module")
def shipped(tmp_path_factory) -> Path:
    """The downloader exactly as the user data ships it."""
    path = tmp_path_factory.mktemp("bin") / "public_snapshot.py"
    path.write_text(ext.public_snapshot_source())
    return path


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "www"
    sizes = generate(root, SIZE, file_bytes=FILE)
    with SnapshotServer(root) as server:
        yield server, sizes, root / BASE / SNAPSHOT


def download(shipped: Path, url: str, data: Path, *, retries: int = 1) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(shipped), "--url", url, "--dest", str(data / "chains/polkadot/db"),
         "--work", str(data / ".restore"), "--marker", str(data / ".snapshot-restored"),
         "--connections", "4", "--retries", str(retries)],
        capture_output=True, text=True, timeout=120,
    )


def node_may_start(data: Path) -> bool:
    """Runs the node drop-in's ``ExecStartPre`` with the marker moved to ``data``."""
    line = next(line for line in ext.node_drop_in().splitlines() if line.startswith("ExecStartPre="))
    command = line.split("=", 1)[1].replace(ext.RESTORE_MARKER, str(data / ".snapshot-restored"))
    return subprocess.run(shlex.split(command)).returncode == 0


def metadata_bytes(source: Path) -> int:
    """The pointer, list and checksums a restore reads besides the database files."""
    return sum(path.stat().st_size for path in
               (source.parent / "latest_version.meta.txt", source / "files.txt", source / "files.sha256"))


def on_disk(data: Path) -> int:
    return sum(path.stat().st_size for path in (data / ".restore").rglob("*") if path.is_file()
               and path.parent != data / ".restore")


def test_restores_the_newest_snapshot_verified_then_marks_it_last(shipped, served, tmp_path):
    server, sizes, source = served
    data = tmp_path / "data"
    result = download(shipped, f"{server.url}/{BASE}", data)
    assert result.returncode == 0, result.stderr
    database = data / "chains/polkadot/db"
    for name, size in sizes.items():
        assert (database / name).read_bytes() == (source / name).read_bytes()
    assert not list(database.rglob("*.part")) and not (data / ".restore").exists()
    marker = json.loads((data / ".snapshot-restored").read_text())
    assert marker == {"source": "public", "snapshot": f"{server.url}/{BASE}/{SNAPSHOT}", "files": len(sizes),
                      "bytes_downloaded": sum(sizes.values()), "verified": "sha256"}
    assert server.bytes_served - metadata_bytes(source) == sum(sizes.values())
    assert node_may_start(data)
    assert "SHA-256 of every file published" in result.stderr


def test_a_truncated_file_is_refused_and_the_node_does_not_start(shipped, served, tmp_path):
    server, _, _ = served
    server.faults.truncate = {"000012.sst"}  # the body stops halfway, every time
    data = tmp_path / "data"
    result = download(shipped, f"{server.url}/{BASE}", data, retries=2)
    assert result.returncode == 1, result.stderr
    assert "000012.sst: incomplete after 3 attempts" in result.stderr
    assert not (data / "chains").exists() and not (data / ".snapshot-restored").exists()
    assert not node_may_start(data)


def test_a_corrupted_file_is_refused_and_deleted(shipped, served, tmp_path):
    server, _, source = served
    target = source / "full/000011.sst"
    content = bytearray(target.read_bytes())
    content[1000] ^= 0xFF  # same length, one byte flipped: only the checksum sees it
    target.write_bytes(bytes(content))
    data = tmp_path / "data"
    result = download(shipped, f"{server.url}/{BASE}", data)
    assert result.returncode == 1
    assert "full/000011.sst: SHA-256 mismatch" in result.stderr
    assert not (data / "chains").exists() and not (data / ".snapshot-restored").exists()
    assert not (data / ".restore/tree/full/000011.sst.part").exists()
    assert not node_may_start(data)


def test_an_interrupted_restore_resumes_with_only_what_is_missing(shipped, served, tmp_path):
    server, sizes, source = served
    total = sum(sizes.values())
    server.faults.budget = total // 2 + 12345  # the connection dies mid-file, then nothing
    data = tmp_path / "data"
    first = download(shipped, f"{server.url}/{BASE}", data, retries=0)
    assert first.returncode == 1 and not (data / ".snapshot-restored").exists()
    kept = on_disk(data)
    assert 0 < kept < total and list((data / ".restore").rglob("*.part"))
    server.faults.budget = None
    before = server.bytes_served
    second = download(shipped, f"{server.url}/{BASE}", data)
    assert second.returncode == 0, second.stderr
    assert server.bytes_served - before - metadata_bytes(source) == total - kept
    assert any(header for _, header in server.requests[-len(sizes) - 3:]), "a partial file resumes with Range"
    assert node_may_start(data)


def test_a_pinned_snapshot_is_used_as_given(shipped, served, tmp_path):
    server, sizes, _ = served
    data = tmp_path / "data"
    result = download(shipped, f"{server.url}/{BASE}/{SNAPSHOT}", data)
    assert result.returncode == 0, result.stderr
    assert f"{BASE}/latest_version.meta.txt" not in [path for path, _ in server.requests]


@pytest.mark.parametrize("fault", ["down", "no list"])
def test_an_unavailable_source_exits_3_so_the_restore_falls_back(shipped, served, tmp_path, fault):
    server, _, source = served
    if fault == "down":
        server.faults.down = True
    else:
        (source / "files.txt").unlink()
    data = tmp_path / "data"
    result = download(shipped, f"{server.url}/{BASE}", data)
    assert result.returncode == ext.PUBLIC_UNAVAILABLE, result.stderr
    assert not (data / ".snapshot-restored").exists()


def test_refuses_unsafe_names_in_the_list(shipped, served, tmp_path):
    server, _, source = served
    (source / "files.txt").write_text("full/CURRENT\n../../etc/passwd\n")
    result = download(shipped, f"{server.url}/{BASE}", tmp_path / "data")
    assert result.returncode == 1 and "unsafe names: ../../etc/passwd" in result.stderr


# ---- the restore script's choice of source ------------------------------------------------------


def restore(tmp_path: Path, config: ApiClusterConfig, shipped: Path, *, public_url: str = "") -> tuple:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    script = tmp_path / "restore-snapshot.sh"
    script.write_text(ext.shipped(ext.RESTORE_SNAPSHOT_SH))
    script.chmod(0o755)
    env = ext.restore_env(config)
    env.update(DATA_DIR=str(data), MARKER=str(data / ".snapshot-restored"), PUBLIC_SCRIPT=str(shipped),
               MAX_TRIES=1)  # retries 0.5 s then 1 s apart, not the instance's ten
    if public_url:
        env["PUBLIC_URL"] = public_url
    env_file = tmp_path / "restore.env"
    env_file.write_text(shell_assignments(env))
    result = subprocess.run([str(script), str(env_file)], capture_output=True, text=True, timeout=120)
    marker = data / ".snapshot-restored"
    return result, data, json.loads(marker.read_text()) if marker.exists() else None


BOTH = {"ssm_parameter_name": "/substrate/polkadot/data-snapshot", "public_url": PUBLIC}


def test_source_order_the_volume_from_ebs_first(shipped, served, tmp_path):
    server, _, _ = served
    existing = tmp_path / "data/chains/polkadot/db/full"
    existing.mkdir(parents=True)
    (existing / "CURRENT").write_text("from the EBS snapshot")
    result, data, marker = restore(tmp_path, cluster(BOTH), shipped, public_url=f"{server.url}/{BASE}")
    assert result.returncode == 0, result.stderr
    assert marker == {"source": "volume"} and server.requests == []
    assert (existing / "CURRENT").read_text() == "from the EBS snapshot"
    assert "holds a database (from the EBS snapshot" in result.stderr


def test_source_order_then_the_public_snapshot(shipped, served, tmp_path):
    server, sizes, _ = served
    result, data, marker = restore(tmp_path, cluster(BOTH), shipped, public_url=f"{server.url}/{BASE}")
    assert result.returncode == 0, result.stderr
    assert "no EBS snapshot in /substrate/polkadot/data-snapshot yet; trying the next source" in result.stderr
    assert marker["source"] == "public" and (data / "chains/polkadot/db/full/CURRENT").exists()
    assert len(list((data / "chains/polkadot/db").rglob("*"))) == len(sizes) + 1  # + full/


def test_source_order_then_warp_sync(shipped, served, tmp_path):
    server, _, _ = served
    server.faults.down = True
    result, data, marker = restore(tmp_path, cluster(BOTH), shipped, public_url=f"{server.url}/{BASE}")
    assert result.returncode == 0, result.stderr
    assert "unavailable; falling back to a warp sync from the network" in result.stderr
    assert marker == {"source": "sync"} and not (data / "chains").exists()


def test_source_order_a_bad_public_snapshot_fails_the_unit(shipped, served, tmp_path):
    server, _, _ = served
    server.faults.truncate = {"000010.sst"}
    result, data, marker = restore(tmp_path, cluster(BOTH), shipped, public_url=f"{server.url}/{BASE}")
    assert result.returncode == 1 and marker is None
    assert "the node is not started" in result.stderr
    assert not node_may_start(data)


def test_source_order_ebs_only_falls_back_to_warp(shipped, tmp_path):
    result, _, marker = restore(tmp_path, cluster({"ssm_parameter_name": "/s"}), shipped)
    assert result.returncode == 0, result.stderr
    assert marker == {"source": "sync"} and "syncs from the network (warp sync)" in result.stderr


# ---- what the cluster ships and refuses ---------------------------------------------------------


def test_the_cluster_ships_the_downloader_and_its_settings():
    config = cluster(BOTH, database="rocksdb")
    files = {f.path: f for f in ext.cluster_extension(config, group_name="g", hook_name="h").files}
    assert ext.PUBLIC_SNAPSHOT_SCRIPT in files
    env = files[ext.RESTORE_ENV].content
    assert f"PUBLIC_URL={PUBLIC}" in env and "PUBLIC_DIR=chains/polkadot/db" in env
    assert "ExecStartPre=/usr/bin/test -f /data/.snapshot-restored" in files[ext.NODE_DROP_IN].content
    plain = cluster({"ssm_parameter_name": "/s"})
    assert ext.PUBLIC_SNAPSHOT_SCRIPT not in {f.path for f in ext.cluster_extension(plain, group_name="g", hook_name="h").files}


@pytest.mark.parametrize(("chain", "url", "directory"), [
    ("kusama", "https://snapshots.polkadot.io/kusama-paritydb-prune", "chains/ksmcc3/paritydb"),
    ("westend", "https://snapshots.polkadot.io/westend-rocksdb-prune/20261202-120000", "chains/westend2/db"),
])
def test_the_database_directory_follows_the_chain_spec_id(chain, url, directory):
    database = "paritydb" if "paritydb" in url else "rocksdb"
    config = cluster({"public_url": url}, chain=chain, database=database)
    assert config.public_snapshot_dir == directory


@pytest.mark.parametrize(("snapshot", "node", "field"), [
    ({"public_url": "https://snapshots.polkadot.io/polkadot-paritydb-prune"}, {}, "node.database"),
    ({"public_url": "https://snapshots.polkadot.io/polkadot-rocksdb-archive"}, {}, "snapshot.public_url"),
    ({"public_url": PUBLIC}, {"role": "archive", "name": "a"}, "snapshot.public_url"),
    ({"public_url": "https://snapshots.polkadot.io/kusama-rocksdb-prune"}, {}, "snapshot.public_url"),
    ({"public_url": "https://mirror.example.com/db"}, {}, "snapshot.public_database"),
    ({"public_url": "http://snapshots.polkadot.io/polkadot-rocksdb-prune"}, {}, "snapshot.public_url"),
    ({"public_url": PUBLIC, "archive_url": "https://x.example.com/a.tar", "archive_sha256": "0" * 64}, {},
     "snapshot.public_url"),
])
def test_refuses_a_snapshot_the_node_cannot_open(snapshot, node, field):
    with pytest.raises(ConfigError) as error:
        cluster(snapshot, **node)
    assert field in str(error.value)


def test_a_named_database_kind_must_match_too():
    config = cluster({"public_url": "https://mirror.example.com/db", "public_database": "paritydb",
                      "public_archive": False}, database="paritydb")
    assert config.public_snapshot_dir == "chains/polkadot/paritydb"
    with pytest.raises(ConfigError, match="node.database"):
        cluster({"public_url": "https://mirror.example.com/db", "public_database": "paritydb", "public_archive": False})


def test_the_restore_script_passes_shellcheck(tmp_path):
    script = tmp_path / "restore-snapshot.sh"
    script.write_text(ext.shipped(ext.RESTORE_SNAPSHOT_SH))
    result = subprocess.run(["shellcheck", "--severity=style", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_the_downloader_uses_only_the_standard_library():
    tree = ast.parse(Path(ext.__file__).with_name("public_snapshot.py").read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported
