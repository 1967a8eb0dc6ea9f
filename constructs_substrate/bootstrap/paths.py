"""On-host paths the bootstrap adds to :mod:`constructs_substrate.layout`.

``layout`` holds what the node, its flags and other constructs share; these are the
bootstrap's own files (scripts, units, nginx sites). Everything is derived from
``layout`` where it can be, so no path is typed twice.
"""

from __future__ import annotations

from .. import layout

UNIT_DIR = "/etc/systemd/system"
FSTAB = "/etc/fstab"
BIN_DIR = "/usr/local/bin"
"""Where the node binaries are symlinked (``/usr/local/bin/<binary>``)."""


def script(name: str) -> str:
    return f"{layout.SCRIPTS_DIR}/{name}"


def unit(name: str) -> str:
    return f"{UNIT_DIR}/{name}"


BOOTSTRAP_SCRIPT = script("bootstrap.sh")
PREPARE_VOLUME_SCRIPT = script("prepare-data-volume.sh")
INSTALL_SCRIPT = script("install-binaries.sh")
RUN_NODE_SCRIPT = script("run-node")
ROTATE_KEYS_SCRIPT = script("rotate-session-keys.sh")
"""Run by the construct's SSM document without arguments (see ``node.py``)."""
SETUP_TLS_SCRIPT = script("setup-tls.sh")
EXTENSIONS_SCRIPT = script("extensions.sh")
ON_FAILURE_SCRIPT = script("on-failure.sh")
"""Run by ``bootstrap.sh`` when a step fails, if an extension wrote it."""
PROBE_SCRIPT = script("readiness_probe.py")
RELEASE_KEY_FILE = f"{layout.CONFIG_DIR}/release-key.asc"
"""The release's armored signing key, when it travels with the user data."""

NODE_EXPORTER_DEFAULTS = "/etc/default/prometheus-node-exporter"
"""Read by the Ubuntu package's unit (``$ARGS``); sets the listen port."""

NGINX_SITES_AVAILABLE = "/etc/nginx/sites-available"
NGINX_HTTP_SITE = f"{NGINX_SITES_AVAILABLE}/substrate-http.conf"
"""Port 80 only (ACME challenges + redirect): works before a certificate exists."""
NGINX_TLS_SITE = f"{NGINX_SITES_AVAILABLE}/substrate-tls.conf"
NGINX_ENABLED_SITE = "/etc/nginx/sites-enabled/substrate.conf"
"""Symlink switched from the HTTP site to the TLS site once the certificate exists."""
NGINX_DEFAULT_SITE = "/etc/nginx/sites-enabled/default"
ACME_WEBROOT = "/var/www/acme"
LETSENCRYPT_DIR = "/etc/letsencrypt"

TELEMETRY_NETWORK = "substrate-telemetry"
"""User-defined docker network: the shard reaches the core by container name."""
