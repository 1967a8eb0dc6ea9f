"""nginx sites pass ``nginx -t``; certbot's argv for both challenges; the on-node TLS
sequence (HTTP site, certificate with retries, TLS site) with stubbed tools."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from bootstrap_support import CONFIGS, path_with, require, script, write_env, write_executable

from constructs_substrate import ports
from constructs_substrate.bootstrap import Location, certbot_command, paths, render_nginx_site
from constructs_substrate.config import TlsConfig

TLS_CASES = ["tls-http01", "tls-dns01", "telemetry"]


def _self_signed(directory: Path) -> Path:
    directory.mkdir(parents=True)
    subprocess.run(
        [require("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=test.example.com", "-keyout", str(directory / "privkey.pem"),
         "-out", str(directory / "fullchain.pem")],
        check=True, capture_output=True,
    )
    return directory


@pytest.fixture(scope="module")
def cert_dir(tmp_path_factory) -> Path:
    return _self_signed(tmp_path_factory.mktemp("cert") / "live")


def _nginx_t(site: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """nginx -t on a minimal nginx.conf that includes the site, all inside tmp_path."""
    (tmp_path / "logs").mkdir(exist_ok=True)
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        "pid nginx.pid;\nerror_log stderr;\nevents {}\n"
        "http {\n  access_log off;\n  include site.conf;\n}\n"
    )
    return subprocess.run(
        [require("nginx"), "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True, text=True,
    )


@pytest.mark.parametrize("name", TLS_CASES)
def test_rendered_tls_site_passes_nginx_t(name, rendered, cert_dir, tmp_path):
    site = rendered[name].file(paths.NGINX_TLS_SITE).content
    site = site.replace(f"/etc/letsencrypt/live/{CONFIGS[name]().tls.domain}", str(cert_dir))
    result = _nginx_t(site, tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", TLS_CASES)
def test_http_only_site_needs_no_certificate(name, rendered, tmp_path):
    site = rendered[name].file(paths.NGINX_HTTP_SITE).content
    assert "ssl" not in site and "443" not in site
    result = _nginx_t(site, tmp_path)
    assert result.returncode == 0, result.stderr


def test_rpc_site_proxies_websockets_to_the_local_node(rendered):
    site = rendered["tls-http01"].file(paths.NGINX_TLS_SITE).content
    for directive in (
        "listen 443 ssl;", "ssl_protocols TLSv1.2 TLSv1.3;", "Strict-Transport-Security",
        "proxy_http_version 1.1;", "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $substrate_connection_upgrade;",
        "proxy_set_header X-Forwarded-For $remote_addr;", "proxy_read_timeout 3600s;",
        "client_max_body_size 15m;", f"proxy_pass http://127.0.0.1:{ports.RPC};",
        "location /.well-known/acme-challenge/ {", f"root {paths.ACME_WEBROOT};",
        "return 308 https://rpc.example.com$request_uri;",
    ):
        assert directive in site, directive
    assert "TLSv1.1" not in site and "TLSv1 " not in site


def test_telemetry_site_routes_submit_feed_and_ui(rendered):
    site = rendered["telemetry"].file(paths.NGINX_TLS_SITE).content
    assert f"location /submit {{\n        proxy_pass http://127.0.0.1:{ports.TELEMETRY_SHARD};" in site
    assert f"location /feed {{\n        proxy_pass http://127.0.0.1:{ports.TELEMETRY_CORE};" in site
    assert f"location / {{\n        proxy_pass http://127.0.0.1:{ports.TELEMETRY_FRONTEND};" in site


def test_site_is_parametrisable_for_a_loopback_acme_test(cert_dir, tmp_path):
    site = render_nginx_site(
        "node.example.test", [Location("/", "http://127.0.0.1:9944")], str(cert_dir), str(tmp_path / "webroot"),
        http_port=5002, https_port=5443, bind="127.0.0.1",
    )
    assert "listen 127.0.0.1:5002;" in site and "listen 127.0.0.1:5443 ssl;" in site
    assert "return 308 https://node.example.test:5443$request_uri;" in site
    assert "[::]" not in site
    assert _nginx_t(site, tmp_path).returncode == 0


@pytest.mark.parametrize("bad", ["/x; evil", "/x}", "relative/path", "/a b"])
def test_site_refuses_values_that_could_inject_directives(bad, cert_dir):
    with pytest.raises(ValueError):
        render_nginx_site("a.example.com", [Location("/", "http://127.0.0.1:1")], str(cert_dir), bad)
    with pytest.raises(ValueError):
        render_nginx_site("a.example.com", [Location(bad, "http://127.0.0.1:1")], str(cert_dir), "/w")


def test_certbot_http01_argv():
    tls = TlsConfig(domain="rpc.example.com", email="ops@example.com")
    assert certbot_command(tls, "/var/www/acme") == [
        "certbot", "certonly", "--non-interactive", "--agree-tos", "--email", "ops@example.com",
        "-d", "rpc.example.com", "--cert-name", "rpc.example.com",
        "--server", "https://acme-v02.api.letsencrypt.org/directory", "--keep-until-expiring",
        "--webroot", "-w", "/var/www/acme", "--deploy-hook", "systemctl reload nginx",
    ]


def test_certbot_dns01_argv_and_test_overrides():
    tls = TlsConfig(domain="rpc.example.com", email="ops@example.com", challenge="dns-01", hosted_zone_id="Z1")
    argv = certbot_command(
        tls, "/w", config_dir="/t/c", work_dir="/t/w", logs_dir="/t/l",
        server="https://127.0.0.1:14000/dir", deploy_hook=None,
    )
    assert "--dns-route53" in argv and "--webroot" not in argv
    assert argv[argv.index("--server") + 1] == "https://127.0.0.1:14000/dir"
    for flag, value in (("--config-dir", "/t/c"), ("--work-dir", "/t/w"), ("--logs-dir", "/t/l")):
        assert argv[argv.index(flag) + 1] == value
    assert "--deploy-hook" not in argv


def test_setup_tls_serves_http_then_obtains_certificate_then_switches(tmp_path):
    """setup-tls.sh for real, with nginx, systemctl, certbot and sleep stubbed: certbot
    fails twice (DNS not propagated yet) and is retried."""
    config = CONFIGS["tls-http01"]()
    from constructs_substrate.bootstrap import render_bootstrap

    bootstrap = render_bootstrap(config)
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    for tool in ("nginx", "systemctl", "sleep"):
        write_executable(bin_dir / tool, f'#!/bin/bash\necho "{tool} $*" >> {log}\n')
    write_executable(bin_dir / "certbot", (
        f'#!/bin/bash\necho "certbot $*" >> {log}\n'
        f'n=$(grep -c "^certbot" {log})\n'
        f'if (( n < 3 )); then exit 1; fi\n'
        f'mkdir -p {tmp_path}/live && echo cert > {tmp_path}/live/fullchain.pem\n'
    ))
    sites = tmp_path / "sites-enabled"
    sites.mkdir()
    (sites / "default").write_text("")
    env = write_env(
        config, tmp_path / "bootstrap.env",
        NGINX_HTTP_SITE=str(tmp_path / "http.conf"), NGINX_TLS_SITE=str(tmp_path / "tls.conf"),
        NGINX_ENABLED_SITE=str(sites / "substrate.conf"), NGINX_DEFAULT_SITE=str(sites / "default"),
        ACME_WEBROOT=str(tmp_path / "webroot"), TLS_CERT_FILE=str(tmp_path / "live/fullchain.pem"),
    )
    setup = script(bootstrap, paths.SETUP_TLS_SCRIPT, tmp_path)
    result = subprocess.run([str(setup), str(env)], env=path_with(bin_dir), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    certbot = [i for i, c in enumerate(calls) if c.startswith("certbot")]
    assert len(certbot) == 3
    reloads = [i for i, c in enumerate(calls) if c == "systemctl reload-or-restart nginx.service"]
    assert reloads[0] < certbot[0] < certbot[-1] < reloads[1]  # HTTP site first, TLS site after
    assert (sites / "substrate.conf").readlink() == tmp_path / "tls.conf"
    assert not (sites / "default").exists()
    assert (tmp_path / "webroot").is_dir()
    assert "systemctl enable --now certbot.timer" in calls
