"""install-binaries.sh, run for real against local files.

How downloads are faked without weakening production: the script calls plain
``curl``/``gpg`` with production flags. The tests put a directory first on PATH
holding a fake ``curl`` that serves ``https://HOST/PATH`` from ``web/HOST/PATH``
(and refuses to run unless the production flags ``--proto =https --proto-redir
=https --fail`` are present), and a ``gpg`` wrapper that answers ``--recv-keys``
by importing local public keys (no keyserver) and passes everything else to the real
gpg. The installed script has no test switch: under systemd, PATH is systemd's.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from bootstrap_support import custom_chain, path_with, require, script, write_env, write_executable

from constructs_substrate.bootstrap import paths, render_bootstrap
from constructs_substrate.chains import Chain, DbSizes
from constructs_substrate.config import NodeConfig
from constructs_substrate.release import Artifact, BinaryRelease

FAKE_CURL = r"""#!/bin/bash
# Test double for curl: serves https://HOST/PATH from $FAKE_WEB/HOST/PATH.
set -euo pipefail
args=" $* "
for flag in "--proto =https" "--proto-redir =https" "--fail"; do
  [[ $args == *" $flag "* ]] || { echo "fake curl: missing $flag" >&2; exit 98; }
done
out= url=
while (( $# )); do
  case $1 in
    --output) out=$2; shift 2 ;;
    *) url=$1; shift ;;
  esac
done
[[ $url == https://* ]] || { echo "fake curl: not https: $url" >&2; exit 1; }
echo "$url" >> "$FAKE_CURL_LOG"
src=$FAKE_WEB/${url#https://}
[[ -f $src ]] || { echo "fake curl: 404 $url" >&2; exit 22; }
cp "$src" "$out"
"""

FAKE_GPG = r"""#!/bin/bash
# Test double for gpg: --recv-keys imports every key in $FAKE_KEYS instead of asking a
# keyserver (as if it returned more than the requested key), after failing the first
# $FAKE_RECV_FAILURES calls (logged in $FAKE_GPG_LOG); the rest is real gpg.
for arg in "$@"; do
  if [[ $arg == --recv-keys ]]; then
    echo recv-keys >> "$FAKE_GPG_LOG"
    if (( $(wc -l < "$FAKE_GPG_LOG") <= FAKE_RECV_FAILURES )); then
      echo "gpg: keyserver receive failed: Server indicated a failure" >&2
      exit 2
    fi
    exec "$REAL_GPG" --batch --quiet --import "$FAKE_KEYS"/*.asc
  fi
done
exec "$REAL_GPG" "$@"
"""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Host:
    """A fake host: the web it downloads from, and where it installs."""

    root: Path
    config: NodeConfig

    @property
    def web(self) -> Path:
        return self.root / "web"

    @property
    def releases(self) -> Path:
        return self.root / "opt/releases"

    @property
    def current(self) -> Path:
        return self.root / "opt/current"

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def chain_spec(self) -> Path:
        return self.root / "etc/chain-spec.json"

    @property
    def curl_log(self) -> Path:
        return self.root / "curl.log"

    def serve(self, url: str, data: bytes) -> None:
        target = self.web / url.removeprefix("https://")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    @property
    def gpg_log(self) -> Path:
        return self.root / "gpg.log"

    def keyserver_calls(self) -> int:
        return len(self.gpg_log.read_text().splitlines()) if self.gpg_log.exists() else 0

    def downloads(self) -> list[str]:
        return self.curl_log.read_text().splitlines() if self.curl_log.exists() else []

    def install(
        self, config: NodeConfig | None = None, keys: Path | None = None, recv_failures: int = 0, **overrides: object
    ) -> subprocess.CompletedProcess:
        config = config or self.config
        fakes = self.root / "fakes"
        write_executable(fakes / "curl", FAKE_CURL)
        write_executable(fakes / "gpg", FAKE_GPG)
        (self.root / "etc").mkdir(exist_ok=True)
        env_file = write_env(
            config, self.root / "bootstrap.env",
            **_dirs(self),
            DOWNLOAD_RETRIES=1,  # the keyserver fallback's retries: 2 s, not minutes
            **overrides,
        )
        bootstrap = render_bootstrap(config)
        installer = script(bootstrap, paths.INSTALL_SCRIPT, self.root / "scripts")
        if paths.RELEASE_KEY_FILE in {f.path for f in bootstrap.files} and "GPG_KEY_FILE" not in overrides:
            # The shipped key, where the rendered env file says it is (under the root).
            key = self.root / paths.RELEASE_KEY_FILE.lstrip("/")
            key.parent.mkdir(parents=True, exist_ok=True)
            key.write_text(bootstrap.file(paths.RELEASE_KEY_FILE).content)
            env_file = write_env(config, env_file, **{**_dirs(self), "DOWNLOAD_RETRIES": 1, "GPG_KEY_FILE": str(key), **overrides})
        self.curl_log.unlink(missing_ok=True)
        self.gpg_log.unlink(missing_ok=True)
        env = {
            **path_with(fakes), "FAKE_WEB": str(self.web), "FAKE_CURL_LOG": str(self.curl_log),
            "FAKE_KEYS": str(keys or self.root / "nokeys"), "REAL_GPG": require("gpg"),
            "FAKE_GPG_LOG": str(self.gpg_log), "FAKE_RECV_FAILURES": str(recv_failures),
        }
        return subprocess.run([str(installer), str(env_file)], env=env, capture_output=True, text=True)


def _dirs(host: Host) -> dict[str, str]:
    return {
        "RELEASES_DIR": str(host.releases), "CURRENT_RELEASE": str(host.current),
        "BIN_DIR": str(host.bin), "CHAIN_SPEC_FILE": str(host.chain_spec),
    }


NODE = b"#!/bin/sh\necho fake node v1\n"
SPEC = b'{"name": "mychain"}\n'


def pinned_host(tmp_path: Path, served: bytes = NODE, pinned: bytes = NODE, version: str = "v1.0.0") -> Host:
    chain = custom_chain(version=version, sha256=sha256(pinned), spec_sha256=sha256(SPEC))
    host = Host(tmp_path, NodeConfig(role="rpc", name="rpc-1", chain=chain))
    host.serve(chain.release.artifacts[0].url, served)
    host.serve(chain.chain_spec.url, SPEC)
    return host


# ---------------------------------------------------------------- pinned SHA-256


def test_good_hash_installs_and_switches_current(tmp_path):
    host = pinned_host(tmp_path)
    result = host.install()
    assert result.returncode == 0, result.stderr
    release = host.releases / "v1.0.0"
    assert (release / "mynode").read_bytes() == NODE
    assert os.stat(release / "mynode").st_mode & 0o777 == 0o755
    assert host.current.readlink() == release
    assert (host.bin / "mynode").readlink() == host.current / "mynode"
    assert subprocess.run([str(host.bin / "mynode")], capture_output=True, text=True).stdout == "fake node v1\n"
    assert (release / "SHA256SUMS").read_text() == f"{sha256(NODE)}  mynode\n"
    assert host.chain_spec.read_bytes() == SPEC
    assert set(host.downloads()) == {
        "https://downloads.example.com/v1.0.0/mynode", "https://downloads.example.com/mychain.json",
    }


def test_rerun_with_the_same_release_downloads_nothing(tmp_path):
    host = pinned_host(tmp_path)
    assert host.install().returncode == 0
    result = host.install()
    assert result.returncode == 0, result.stderr
    assert host.downloads() == []
    assert "nothing to download" in result.stderr


def test_bad_hash_fails_and_installs_nothing(tmp_path):
    host = pinned_host(tmp_path, served=b"#!/bin/sh\necho tampered\n")
    result = host.install()
    assert result.returncode != 0
    assert "SHA-256 does not match the pinned value" in result.stderr
    assert not (host.releases / "v1.0.0").exists() and not (host.releases / "v1.0.0.partial").exists()
    assert not host.current.exists() and not (host.bin / "mynode").exists()


def test_a_changed_file_on_disk_is_downloaded_again(tmp_path):
    host = pinned_host(tmp_path)
    assert host.install().returncode == 0
    (host.releases / "v1.0.0/mynode").write_bytes(b"changed on disk")
    result = host.install()
    assert result.returncode == 0, result.stderr
    assert host.downloads() == ["https://downloads.example.com/v1.0.0/mynode"]
    assert (host.releases / "v1.0.0/mynode").read_bytes() == NODE


def test_upgrade_switches_and_rollback_needs_no_download(tmp_path):
    v1 = pinned_host(tmp_path)
    assert v1.install().returncode == 0
    v2_bytes = b"#!/bin/sh\necho fake node v2\n"
    v2 = pinned_host(tmp_path, served=v2_bytes, pinned=v2_bytes, version="v2.0.0")
    assert v2.install().returncode == 0
    assert v2.current.readlink() == v2.releases / "v2.0.0"
    assert (v2.releases / "v1.0.0/mynode").exists()  # the previous release stays for rollback
    result = v1.install()
    assert result.returncode == 0 and v1.downloads() == []
    assert v1.current.readlink() == v1.releases / "v1.0.0"


def test_bad_upgrade_keeps_the_running_release(tmp_path):
    assert pinned_host(tmp_path).install().returncode == 0
    bad = pinned_host(tmp_path, served=b"evil", pinned=b"v2", version="v2.0.0")
    assert bad.install().returncode != 0
    assert bad.current.readlink() == bad.releases / "v1.0.0"
    assert not (bad.releases / "v2.0.0").exists()


def test_chain_spec_with_a_bad_hash_is_refused(tmp_path):
    host = pinned_host(tmp_path)
    host.serve("https://downloads.example.com/mychain.json", b'{"name": "other"}')
    result = host.install()
    assert result.returncode != 0 and "chain spec" in result.stderr
    assert not host.chain_spec.exists() and not host.current.exists()


def test_missing_download_fails(tmp_path):
    host = pinned_host(tmp_path)
    shutil.rmtree(host.web / "downloads.example.com/v1.0.0")
    assert host.install().returncode != 0
    assert not host.current.exists()


# ---------------------------------------------------------------- GPG


class Keys:
    """Two throwaway signing keys in their own short-pathed GNUPGHOME."""

    def __init__(self, home: Path):
        self.home = home
        self.gpg = require("gpg")
        self.a = self._generate("Release Key A <a@example.com>")
        self.b = self._generate("Someone Else B <b@example.com>")
        self.public = home / "public"
        self.public.mkdir()
        for name, fpr in (("a", self.a), ("b", self.b)):
            (self.public / f"{name}.asc").write_bytes(self._run("--armor", "--export", fpr).stdout)

    def _run(self, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.gpg, "--batch", "--pinentry-mode", "loopback", "--passphrase", "", *args],
            env={**os.environ, "GNUPGHOME": str(self.home)}, input=input, capture_output=True, check=True,
        )

    def _generate(self, uid: str) -> str:
        self._run("--quick-generate-key", uid, "ed25519", "sign", "never")
        listing = self._run("--with-colons", "--list-secret-keys", uid).stdout.decode()
        return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))

    def sign(self, fingerprint: str, data: bytes) -> bytes:
        return self._run("--local-user", fingerprint, "--armor", "--detach-sign", "--output", "-", input=data).stdout

    def close(self) -> None:
        subprocess.run(["gpgconf", "--kill", "all"], env={**os.environ, "GNUPGHOME": str(self.home)})
        shutil.rmtree(self.home, ignore_errors=True)


@pytest.fixture(scope="module")
def keys():
    import tempfile

    # gpg-agent's socket path must stay short: not under pytest's deep tmp_path.
    keys = Keys(Path(tempfile.mkdtemp(prefix="gpg", dir="/tmp")))
    yield keys
    keys.close()


BASE = "https://releases.example.com/v3"


def gpg_host(
    tmp_path: Path, keys: Keys, signer: str, published_sha: str | None = None, signing_key: str | None = None
) -> Host:
    release = BinaryRelease(
        version="v3",
        gpg_fingerprint=keys.a,
        signing_key=signing_key,
        artifacts=tuple(
            Artifact(name=name, url=f"{BASE}/{name}", sha256_url=f"{BASE}/{name}.sha256", signature_url=f"{BASE}/{name}.asc")
            for name in ("node", "node-execute-worker")
        ),
    )
    chain = Chain(name="gpgchain", chain_id="dev", release=release, db_size_gib=DbSizes(pruned=10, archive=20))
    host = Host(tmp_path, NodeConfig(role="rpc", name="rpc-1", chain=chain))
    for name in ("node", "node-execute-worker"):
        data = f"#!/bin/sh\necho {name}\n".encode()
        host.serve(f"{BASE}/{name}", data)
        host.serve(f"{BASE}/{name}.asc", keys.sign(signer, data))
        host.serve(f"{BASE}/{name}.sha256", f"{published_sha or sha256(data)}  {name}\n".encode())
    return host


def test_gpg_signature_by_the_configured_key_installs(tmp_path, keys):
    host = gpg_host(tmp_path, keys, signer=keys.a)
    result = host.install(keys=keys.public)
    assert result.returncode == 0, result.stderr
    assert host.current.readlink() == host.releases / "v3"
    assert sorted(p.name for p in host.bin.iterdir()) == ["node", "node-execute-worker"]


def test_gpg_signature_by_another_key_is_refused_even_if_gpg_accepts_it(tmp_path, keys):
    host = gpg_host(tmp_path, keys, signer=keys.b)
    # Both keys end up in the keyring, so "gpg --verify" alone succeeds: only the
    # VALIDSIG fingerprint check stands between this binary and the node.
    verify_home = tmp_path / "verify-home"
    verify_home.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(verify_home)}
    subprocess.run([keys.gpg, "--batch", "--import", *map(str, keys.public.glob("*.asc"))], env=env, check=True, capture_output=True)
    plain = subprocess.run(
        [keys.gpg, "--batch", "--verify", str(host.web / "releases.example.com/v3/node.asc"), str(host.web / "releases.example.com/v3/node")],
        env=env, capture_output=True,
    )
    subprocess.run(["gpgconf", "--kill", "all"], env=env)
    assert plain.returncode == 0

    result = host.install(keys=keys.public)
    assert result.returncode != 0
    assert f"no valid signature by {keys.a}" in result.stderr
    assert not host.current.exists() and not (host.releases / "v3").exists()


def test_gpg_good_signature_but_wrong_published_sha256_is_refused(tmp_path, keys):
    host = gpg_host(tmp_path, keys, signer=keys.a, published_sha="f" * 64)
    result = host.install(keys=keys.public)
    assert result.returncode != 0 and "published .sha256" in result.stderr
    assert not host.current.exists()


def test_gpg_without_the_key_is_refused(tmp_path, keys):
    host = gpg_host(tmp_path, keys, signer=keys.a)
    empty = tmp_path / "nokeys"
    empty.mkdir()
    (empty / "none.asc").write_text("")
    assert host.install(keys=empty).returncode != 0
    assert not host.current.exists()


def test_gpg_without_the_key_fails_after_its_keyserver_retries(tmp_path, keys):
    host = gpg_host(tmp_path, keys, signer=keys.a)
    result = host.install(keys=keys.public, recv_failures=99)
    assert result.returncode != 0
    assert host.keyserver_calls() == 2  # DOWNLOAD_RETRIES=1: one retry, 2 s later
    assert f"cannot fetch key {keys.a}" in result.stderr and "(2 attempts)" in result.stderr
    assert host.downloads() == [] and not host.current.exists()


def test_the_keyserver_fallback_is_retried(tmp_path, keys):
    host = gpg_host(tmp_path, keys, signer=keys.a)
    result = host.install(keys=keys.public, recv_failures=1)
    assert result.returncode == 0, result.stderr
    assert host.keyserver_calls() == 2
    assert "no release key shipped" in result.stderr


# ---------------------------------------------------------------- the key in the user data


def test_a_shipped_key_is_written_and_the_keyserver_is_never_asked(tmp_path, keys):
    armored = (keys.public / "a.asc").read_text()
    host = gpg_host(tmp_path, keys, signer=keys.a, signing_key=armored)
    bootstrap = render_bootstrap(host.config)
    assert bootstrap.file(paths.RELEASE_KEY_FILE).content.strip() == armored.strip()
    assert f"GPG_KEY_FILE={paths.RELEASE_KEY_FILE}" in bootstrap.file("/etc/substrate/bootstrap.env").content
    # recv_failures=99: any keyserver call would fail the install.
    result = host.install(keys=keys.public, recv_failures=99)
    assert result.returncode == 0, result.stderr
    assert host.keyserver_calls() == 0
    assert sorted(p.name for p in host.bin.iterdir()) == ["node", "node-execute-worker"]


def test_a_shipped_key_still_refuses_a_signature_by_another_key(tmp_path, keys):
    armored = (keys.public / "a.asc").read_text()
    host = gpg_host(tmp_path, keys, signer=keys.b, signing_key=armored)
    result = host.install(keys=keys.public, recv_failures=99)
    assert result.returncode != 0 and f"no valid signature by {keys.a}" in result.stderr
    assert host.keyserver_calls() == 0 and not host.current.exists()


def test_a_key_file_without_the_fingerprint_is_refused_on_the_host(tmp_path, keys):
    host = gpg_host(tmp_path, keys, signer=keys.a, signing_key=(keys.public / "a.asc").read_text())
    result = host.install(keys=keys.public, recv_failures=99, GPG_KEY_FILE=str(keys.public / "b.asc"))
    assert result.returncode != 0 and f"no key {keys.a} in the keyring" in result.stderr
    assert host.keyserver_calls() == 0 and not host.current.exists()


def test_without_gpg_verification_no_key_is_shipped(rendered):
    bootstrap = rendered["custom-chain"]  # every artifact pinned by SHA-256
    assert paths.RELEASE_KEY_FILE not in {f.path for f in bootstrap.files}
    assert "GPG_KEY_FILE=''" in bootstrap.file("/etc/substrate/bootstrap.env").content
