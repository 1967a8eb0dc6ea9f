"""nginx + Let's Encrypt in front of a node: pure functions from config to text/argv.

:func:`render_nginx_site` and :func:`certbot_command` take every path and port as a
parameter so a test can run them for real (nginx and certbot against Pebble on
loopback); :func:`tls_files` applies them with the on-host defaults.

On the node (``setup-tls.sh``): serve the HTTP-only site, obtain the certificate,
then switch to the TLS site. Renewal is the certbot package's systemd timer, which
re-uses the authenticator and deploy hook recorded at issuance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from .. import ports
from ..config import NodeConfig, TlsConfig
from ..domains import check_domain
from ..roles import NodeRole
from . import paths
from .model import RenderedFile
from .templating import render, render_shell

DEPLOY_HOOK = "systemctl reload nginx"
"""Run by certbot after each issuance or renewal, so nginx serves the new certificate."""

# nginx has no quoting we rely on: values are refused if they could end a directive.
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9._/-]*$")
_SAFE_UPSTREAM = re.compile(r"^http://[A-Za-z0-9.:\[\]-]+(/[A-Za-z0-9._/-]*)?$")
_SAFE_SIZE = re.compile(r"^[0-9]+[kKmMgG]?$")


@dataclass(frozen=True)
class Location:
    """One proxied path prefix of the TLS site."""

    path: str
    """nginx prefix location, e.g. ``/`` or ``/feed``; the path is passed on unchanged."""
    upstream: str
    """``http://host:port`` of the backend, e.g. ``http://127.0.0.1:9944``."""


def _check(value: str, pattern: re.Pattern[str], what: str) -> str:
    if not pattern.match(value):
        raise ValueError(f"{what} {value!r} is not allowed in an nginx config")
    return value


def _listen(port: int, bind: str | None, ipv6: bool, suffix: str = "") -> str:
    if bind is not None:
        return f"listen {bind}:{port}{suffix};"
    lines = [f"listen {port}{suffix};"] + ([f"listen [::]:{port}{suffix};"] if ipv6 else [])
    return "\n    ".join(lines)


def render_nginx_site(
    domain: str,
    locations: Sequence[Location],
    cert_dir: str,
    webroot: str,
    *,
    tls: bool = True,
    http_port: int = ports.HTTP,
    https_port: int = ports.HTTPS,
    bind: str | None = None,
    ipv6: bool = True,
    max_body_size: str = "15m",
    read_timeout_s: int = 3600,
) -> str:
    """An nginx site (``server`` blocks for the ``http`` context).

    Port ``http_port`` serves ``/.well-known/acme-challenge/`` from ``webroot`` and
    redirects the rest to HTTPS. With ``tls`` (default), port ``https_port`` proxies
    each location to its upstream with WebSocket upgrade, long timeouts for
    subscriptions and HSTS, using ``cert_dir``'s ``fullchain.pem``/``privkey.pem``.
    ``bind`` listens on one address instead of all (IPv4, and IPv6 unless ``ipv6``
    is false). ``max_body_size`` matches the node's own 15 MiB request limit.
    """
    domain = check_domain(domain)
    _check(webroot, _SAFE_PATH, "webroot")
    site = render(
        "nginx-http.conf",
        domain=domain,
        webroot=webroot,
        http_port=http_port,
        listen_http=_listen(http_port, bind, ipv6),
        https_port_suffix="" if https_port == ports.HTTPS else f":{https_port}",
    )
    if not tls:
        return site
    if not locations:
        raise ValueError("a TLS site needs at least one location")
    blocks = "\n".join(
        f"    location {_check(loc.path, _SAFE_PATH, 'location')} {{\n"
        f"        proxy_pass {_check(loc.upstream, _SAFE_UPSTREAM, 'upstream')};\n"
        f"    }}"
        for loc in locations
    )
    return site + "\n" + render(
        "nginx-tls.conf",
        domain=domain,
        cert_dir=_check(cert_dir, _SAFE_PATH, "cert_dir"),
        listen_https=_listen(https_port, bind, ipv6, " ssl"),
        max_body_size=_check(max_body_size, _SAFE_SIZE, "max_body_size"),
        read_timeout=f"{int(read_timeout_s)}s",
        locations=blocks,
    )


def certbot_command(
    tls: TlsConfig,
    webroot: str,
    config_dir: str | None = None,
    work_dir: str | None = None,
    logs_dir: str | None = None,
    server: str | None = None,
    deploy_hook: str | None = DEPLOY_HOOK,
) -> list[str]:
    """argv obtaining ``tls.domain``'s certificate (idempotent: an existing one is
    kept until it is due for renewal). http-01 writes the challenge into
    ``webroot``; dns-01 writes a Route53 TXT record with the instance role."""
    argv = [
        "certbot", "certonly", "--non-interactive", "--agree-tos",
        "--email", tls.email,
        "-d", tls.domain,
        # Names the lineage after the domain: the certificate is at live/<domain>/.
        "--cert-name", tls.domain,
        "--server", server or tls.acme_server,
        "--keep-until-expiring",
    ]
    if tls.challenge == "http-01":
        argv += ["--webroot", "-w", webroot]
    else:
        argv += ["--dns-route53"]
    for flag, value in (("--config-dir", config_dir), ("--work-dir", work_dir), ("--logs-dir", logs_dir)):
        if value is not None:
            argv += [flag, value]
    if deploy_hook is not None:
        argv += ["--deploy-hook", deploy_hook]
    return argv


def cert_dir(domain: str, config_dir: str = paths.LETSENCRYPT_DIR) -> str:
    """Where certbot keeps the current certificate (``--cert-name`` is the domain)."""
    return f"{config_dir}/live/{domain}"


def site_locations(config: NodeConfig) -> list[Location]:
    """What the TLS site proxies: the node's RPC, or the three telemetry services."""
    local = "http://127.0.0.1"
    if config.role is NodeRole.TELEMETRY:
        return [
            Location("/submit", f"{local}:{ports.TELEMETRY_SHARD}"),
            Location("/feed", f"{local}:{ports.TELEMETRY_CORE}"),
            Location("/", f"{local}:{ports.TELEMETRY_FRONTEND}"),
        ]
    return [Location("/", f"{local}:{config.effective_ports.rpc}")]


def tls_packages(config: NodeConfig) -> list[str]:
    if config.tls is None:
        return []
    dns = ["python3-certbot-dns-route53"] if config.tls.challenge == "dns-01" else []
    return ["nginx", "certbot", *dns]


def tls_files(config: NodeConfig, env_file: str) -> list[RenderedFile]:
    if config.tls is None:
        return []
    domain, locations = config.tls.domain, site_locations(config)
    site = dict(domain=domain, locations=locations, cert_dir=cert_dir(domain), webroot=paths.ACME_WEBROOT)
    return [
        RenderedFile(paths.NGINX_HTTP_SITE, render_nginx_site(**site, tls=False)),
        RenderedFile(paths.NGINX_TLS_SITE, render_nginx_site(**site)),
        RenderedFile(paths.SETUP_TLS_SCRIPT, render_shell("setup-tls.sh", env_file=env_file), "0755"),
    ]
