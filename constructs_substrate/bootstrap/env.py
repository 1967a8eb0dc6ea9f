"""``bootstrap.env``: every value the bootstrap scripts read, as shell assignments.

The scripts themselves are the same for every node; what differs (release pins,
ports, which steps run) lives here, so a script change and a config change are easy
to tell apart in a diff of the user data.
"""

from __future__ import annotations

from .. import layout
from ..config import NodeConfig
from ..flags import announces_public_addr
from ..roles import NodeRole
from . import paths
from .telemetry import TELEMETRY_UNITS
from .tls import certbot_command, cert_dir

EnvValue = str | int | bool | tuple[str, ...]

DOWNLOAD_RETRIES = 8
"""Retries per download after the first attempt: curl waits 1, 2, 4 ... s between them."""
DOWNLOAD_RETRY_MAX_TIME = 600
"""Seconds after which curl starts no new retry of a download (a running one finishes)."""
IMDS_URL = "http://169.254.169.254"
"""The instance metadata service (IMDSv2)."""
PUBLIC_IP_ATTEMPTS = 30
PUBLIC_IP_RETRY_SECONDS = 10
"""``run-node`` asks the instance metadata for the Elastic IP up to 30 times, 10 s
apart (~5 min), then fails and systemd restarts it (``RestartSec``)."""


def shipped_key(config: NodeConfig) -> str | None:
    """The armored release key written to the host, when GPG verification is used
    and the key is known (``BinaryRelease.effective_signing_key``)."""
    release = config.chain.release
    return release.effective_signing_key if release.verification == "gpg" else None


def bootstrap_env(config: NodeConfig) -> dict[str, EnvValue]:
    """The variables, in file order. Tests run the real scripts with a copy whose
    directories point into a temporary folder."""
    env: dict[str, EnvValue] = {
        "ROLE": config.role.value,
        "SERVICE_USER": layout.SERVICE_USER,
        "DATA_DIR": layout.DATA_DIR,
        "FSTAB": paths.FSTAB,
        "SCRIPTS_DIR": layout.SCRIPTS_DIR,
        "RUNS_NODE": config.profile.runs_chain_node,
        "PROBE": config.profile.rpc_external,
        "TELEMETRY": config.role is NodeRole.TELEMETRY,
        "TLS": config.tls is not None,
        "PREPARE_VOLUME_SCRIPT": paths.PREPARE_VOLUME_SCRIPT,
        "SETUP_TLS_SCRIPT": paths.SETUP_TLS_SCRIPT,
        "EXTENSIONS_SCRIPT": paths.EXTENSIONS_SCRIPT,
        "ON_FAILURE_SCRIPT": paths.ON_FAILURE_SCRIPT,
    }
    if config.profile.runs_chain_node:
        env |= _node(config)
    if config.role is NodeRole.TELEMETRY:
        env["TELEMETRY_UNITS"] = TELEMETRY_UNITS
    if config.tls is not None:
        env |= _tls(config)
    return env


def _node(config: NodeConfig) -> dict[str, EnvValue]:
    release, chain = config.chain.release, config.chain
    artifacts = release.artifacts
    return {
        "NODE_SERVICE": layout.NODE_SERVICE,
        "INSTALL_SERVICE": layout.INSTALL_SERVICE,
        "PROBE_SERVICE": layout.PROBE_SERVICE,
        "NODE_BINARY": f"{paths.BIN_DIR}/{chain.binary}",
        "NODE_ARGS_FILE": layout.NODE_ARGS_FILE,
        # Empty: this role keeps libp2p's default (a fresh key on every start).
        "NODE_KEY_FILE": layout.NODE_KEY_FILE if config.profile.static_node_key else "",
        "ANNOUNCE_PUBLIC_ADDR": announces_public_addr(config),
        "P2P_PORT": config.effective_ports.p2p,
        "IMDS_URL": IMDS_URL,
        "PUBLIC_IP_ATTEMPTS": PUBLIC_IP_ATTEMPTS,
        "PUBLIC_IP_RETRY_SECONDS": PUBLIC_IP_RETRY_SECONDS,
        "RPC_PORT": config.effective_ports.rpc,
        "RELEASE_VERSION": release.version,
        "RELEASES_DIR": layout.RELEASES_DIR,
        "CURRENT_RELEASE": layout.CURRENT_RELEASE,
        # Written by an in-place upgrade (upgrade-node.sh); the install at boot keeps it.
        "SELECTED_RELEASE_FILE": layout.SELECTED_RELEASE_FILE,
        "BIN_DIR": paths.BIN_DIR,
        # Empty when every artifact has a pinned SHA-256: no key is needed then.
        "GPG_FINGERPRINT": release.gpg_fingerprint if release.verification == "gpg" else "",
        # The shipped key (no keyserver at boot); empty: fetched from KEYSERVER.
        "GPG_KEY_FILE": paths.RELEASE_KEY_FILE if shipped_key(config) else "",
        "KEYSERVER": release.keyserver,
        # curl's --retry (exponential backoff from 1 s) and --retry-max-time per download.
        "DOWNLOAD_RETRIES": DOWNLOAD_RETRIES,
        "DOWNLOAD_RETRY_MAX_TIME": DOWNLOAD_RETRY_MAX_TIME,
        # Parallel arrays, one entry per artifact; "" where a value is not set.
        "ARTIFACT_NAMES": tuple(a.name for a in artifacts),
        "ARTIFACT_URLS": tuple(a.url for a in artifacts),
        "ARTIFACT_SHA256S": tuple(a.sha256 or "" for a in artifacts),
        "ARTIFACT_SHA256_URLS": tuple(a.sha256_url or "" for a in artifacts),
        "ARTIFACT_SIGNATURE_URLS": tuple(a.signature_url or "" for a in artifacts),
        "CHAIN_SPEC_URL": chain.chain_spec.url if chain.chain_spec else "",
        "CHAIN_SPEC_SHA256": chain.chain_spec.sha256 if chain.chain_spec else "",
        "CHAIN_SPEC_FILE": layout.CHAIN_SPEC_FILE,
    }


def _tls(config: NodeConfig) -> dict[str, EnvValue]:
    assert config.tls is not None
    return {
        "NGINX_HTTP_SITE": paths.NGINX_HTTP_SITE,
        "NGINX_TLS_SITE": paths.NGINX_TLS_SITE,
        "NGINX_ENABLED_SITE": paths.NGINX_ENABLED_SITE,
        "NGINX_DEFAULT_SITE": paths.NGINX_DEFAULT_SITE,
        "ACME_WEBROOT": paths.ACME_WEBROOT,
        "TLS_CERT_FILE": f"{cert_dir(config.tls.domain)}/fullchain.pem",
        "CERTBOT_COMMAND": tuple(certbot_command(config.tls, paths.ACME_WEBROOT)),
    }
