"""The release signing key that travels with the user data (``BinaryRelease.signing_key``).

The key's fingerprints are computed in Python from the armored block (no gpg at
synth time); these tests check that computation against gpg itself, and that every
key shipped in ``constructs_substrate/bootstrap/keys/`` is the key its name says.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from importlib.resources import files
from pathlib import Path

import pytest
from bootstrap_support import require

from constructs_substrate.errors import ConfigError
from constructs_substrate.release import (
    KEYS_DIR,
    KEYS_PACKAGE,
    PARITY_RELEASE_KEY,
    Artifact,
    BinaryRelease,
    bundled_key,
    key_fingerprints,
)


@pytest.fixture(scope="module")
def gpg_key():
    """An ed25519 primary key with a signing subkey, and gpg's own fingerprints."""
    gpg = require("gpg")
    home = tempfile.mkdtemp(prefix="gpg", dir="/tmp")  # gpg-agent's socket path must stay short
    env = {**os.environ, "GNUPGHOME": home}
    run = lambda *a: subprocess.run([gpg, "--batch", "--pinentry-mode", "loopback", "--passphrase", "", *a],
                                    env=env, capture_output=True, check=True, text=True).stdout
    run("--quick-generate-key", "Key Test <k@example.com>", "ed25519", "cert", "never")
    primary = re.search(r"^fpr:+([0-9A-F]{40}):", run("--with-colons", "--list-keys"), re.M).group(1)
    run("--quick-add-key", primary, "ed25519", "sign", "never")
    listing = run("--with-colons", "--list-keys")
    fingerprints = re.findall(r"^fpr:+([0-9A-F]{40}):", listing, re.M)
    armored = run("--armor", "--export", primary)
    yield armored, primary, fingerprints[1]
    subprocess.run(["gpgconf", "--kill", "all"], env=env)
    shutil.rmtree(home, ignore_errors=True)


def release(**fields) -> BinaryRelease:
    base = "https://releases.example.com/v1"
    return BinaryRelease(
        version="v1",
        artifacts=(Artifact(name="node", url=f"{base}/node", sha256_url=f"{base}/node.sha256", signature_url=f"{base}/node.asc"),),
        **fields,
    )


def test_fingerprints_match_gpg(gpg_key):
    armored, primary, subkey = gpg_key
    assert key_fingerprints(armored) == ({primary}, {subkey})


def test_a_key_holding_the_fingerprint_is_accepted_as_primary_or_subkey(gpg_key):
    armored, primary, subkey = gpg_key
    for fingerprint in (primary, subkey):
        r = release(gpg_fingerprint=fingerprint, signing_key=armored)
        assert r.effective_signing_key == armored


def test_a_key_without_the_fingerprint_is_a_config_error(gpg_key):
    armored, primary, _ = gpg_key
    with pytest.raises(ConfigError, match=rf"signing_key.*does not hold {PARITY_RELEASE_KEY}.*{primary}"):
        release(gpg_fingerprint=PARITY_RELEASE_KEY, signing_key=armored)


@pytest.mark.parametrize("text", ["", "not a key", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!\n-----END PGP PUBLIC KEY BLOCK-----\n"])
def test_unreadable_keys_are_config_errors(text):
    with pytest.raises(ConfigError, match="signing_key"):
        release(gpg_fingerprint=PARITY_RELEASE_KEY, signing_key=text)


def test_a_key_needs_a_fingerprint(gpg_key):
    with pytest.raises(ConfigError, match="signing_key.*gpg_fingerprint"):
        BinaryRelease(version="v1", artifacts=(Artifact(name="n", url="https://x.example.com/n", sha256="0" * 64),),
                      signing_key=gpg_key[0])


def test_polkadot_sdk_releases_take_the_key(gpg_key):
    armored, _, _ = gpg_key
    with pytest.raises(ConfigError, match="signing_key"):  # not Parity's key
        BinaryRelease.polkadot_sdk("polkadot-stable2606-1", ("polkadot",), signing_key=armored)
    pinned = BinaryRelease.polkadot_sdk("polkadot-stable2606-1", ("polkadot",), sha256={"polkadot": "0" * 64}, signing_key=armored)
    assert pinned.signing_key is None and pinned.effective_signing_key is None  # no GPG, no key


def test_every_bundled_key_is_the_key_its_file_name_says():
    gpg = require("gpg")
    directory = files(KEYS_PACKAGE).joinpath(KEYS_DIR)
    for item in directory.iterdir():
        if not item.name.endswith(".asc"):
            continue
        fingerprint = item.name.removesuffix(".asc")
        text = item.read_text(encoding="ascii")
        primary, _ = key_fingerprints(text)
        assert primary == {fingerprint}, item.name
        shown = subprocess.run([gpg, "--show-keys", "--with-colons"], input=text, capture_output=True, text=True, check=True)
        assert re.search(rf"^fpr:+{fingerprint}:", shown.stdout, re.M), item.name
        assert bundled_key(fingerprint) == text


def test_without_a_known_key_the_keyserver_is_the_fallback():
    r = BinaryRelease.polkadot_sdk("polkadot-stable2606-1", ("polkadot", "polkadot-prepare-worker"))
    assert r.gpg_fingerprint == PARITY_RELEASE_KEY
    # Parity's key is used from the library when shipped there (bootstrap/keys/), else fetched.
    assert r.effective_signing_key == bundled_key(PARITY_RELEASE_KEY)
    assert r.keyserver == "hkps://keyserver.ubuntu.com"


def test_keys_directory_is_package_data():
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    assert '"bootstrap/keys/*"' in pyproject
