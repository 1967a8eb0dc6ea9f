"""The standalone node's TLS option for real, on loopback: our nginx site and certbot
invocation obtain a certificate from Pebble over HTTP-01, then carry JSON-RPC over HTTPS
and WSS to a real Substrate JSON-RPC server (Chopsticks).

The site and argv come from the library functions the bootstrap uses
(:func:`render_nginx_site`, :func:`certbot_command`, :func:`tls.cert_dir`); only ports,
paths, the ACME directory and the deploy hook (which reloads this nginx instead of the
system one) differ. The sequence is ``setup-tls.sh``'s: HTTP-only site, certificate,
TLS site.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from tls_e2e_support import (
    LOOPBACK, Nginx, Pebble, WebSocket, clean_env, free_ports, http_request, tail, tls_socket, wait_for,
)

from constructs_substrate.bootstrap import Location, certbot_command, render_nginx_site
from constructs_substrate.bootstrap.tls import cert_dir
from constructs_substrate.config import TlsConfig

pytestmark = pytest.mark.integration

DOMAIN = "node.example.test"
CERTBOT_TIMEOUT = 60.0
PROBE = "/.well-known/acme-challenge/tls-e2e-probe"


@dataclass
class Site:
    nginx: Nginx
    pebble: Pebble
    http_port: int
    https_port: int
    webroot: Path
    live: Path
    context: ssl.SSLContext
    """Trusts only Pebble's issuing root."""
    certbot_argv: list[str]
    certbot_env: dict[str, str]
    certbot_dirs: list[str]
    certbot_output: str
    reloads_by_certbot: int
    before_certificate: dict

    def https(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        sock = tls_socket(self.https_port, DOMAIN, self.context)
        return http_request(sock, f"{DOMAIN}:{self.https_port}", method, path, body, headers)

    def http(self, method: str, path: str, body: bytes | None = None):
        return plain_http(self.http_port, method, path, body)

    def served_certificate(self) -> dict:
        with tls_socket(self.https_port, DOMAIN, self.context) as sock:
            return sock.getpeercert()

    def run_certbot(self, argv: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(argv, env=self.certbot_env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=CERTBOT_TIMEOUT)


def plain_http(port: int, method: str, path: str, body: bytes | None = None):
    sock = socket.create_connection((LOOPBACK, port), timeout=10)
    return http_request(sock, DOMAIN, method, path, body)


def _https_refused(port: int) -> bool:
    try:
        socket.create_connection((LOOPBACK, port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def _write_probe(webroot: Path) -> None:
    probe = webroot / PROBE.lstrip("/")
    probe.parent.mkdir(parents=True, exist_ok=True)
    probe.write_text("probe-token")


@pytest.fixture(scope="module")
def site(tools, chopsticks, tmp_path_factory):
    """HTTP-only site -> certbot against Pebble -> TLS site, as setup-tls.sh does it."""
    tmp = tmp_path_factory.mktemp("tls_e2e")
    seconds: dict[str, float] = {}
    t0 = time.monotonic()
    dns, acme, management, tls_alpn, dns_management, http_port, https_port = free_ports(7, udp_too=1)

    # certbot's --config-dir/--work-dir/--logs-dir, and the webroot, all in tmp.
    webroot, letsencrypt = tmp / "acme-webroot", tmp / "letsencrypt"
    webroot.mkdir()
    dirs = [str(letsencrypt / "config"), str(letsencrypt / "work"), str(letsencrypt / "logs")]
    live = Path(cert_dir(DOMAIN, dirs[0]))  # where --cert-name puts it, as the bootstrap assumes
    site_args = dict(
        domain=DOMAIN, locations=[Location("/", chopsticks.url)], cert_dir=str(live), webroot=str(webroot),
        http_port=http_port, https_port=https_port, bind=LOOPBACK,
    )
    http_site, tls_site = render_nginx_site(**site_args, tls=False), render_nginx_site(**site_args)

    nginx = Nginx(tools["nginx"], tmp / "nginx")
    pebble: Pebble | None = None
    certbot_log = letsencrypt / "logs" / "letsencrypt.log"
    try:
        # 1. HTTP-only site: challenges from the webroot, everything else redirected.
        nginx.enable_site("http.conf", http_site)
        nginx.start(ready=lambda: socket.create_connection((LOOPBACK, http_port), timeout=1).close() or True)
        _write_probe(webroot)
        before = {
            "redirect": plain_http(http_port, "GET", "/some/path?x=1")[:2],
            "probe": plain_http(http_port, "GET", PROBE),
            "https_refused": _https_refused(https_port),
        }
        seconds["nginx (HTTP site)"] = time.monotonic() - t0

        # 2. Pebble, resolving every name to 127.0.0.1 and validating on our HTTP port.
        t = time.monotonic()
        pebble = Pebble(tmp / "pebble", tools, http_port, [dns, acme, management, tls_alpn, dns_management])
        # Pebble's issuing root and nothing else: what clients verify our nginx against.
        context = ssl.create_default_context(cadata=pebble.issuing_root())
        seconds["pebble + challtestsrv"] = time.monotonic() - t

        # 3. The certificate, with the bootstrap's argv: ACME server from TlsConfig,
        #    temp dirs, and a deploy hook that reloads this nginx.
        t = time.monotonic()
        tls = TlsConfig(domain=DOMAIN, email="ops@example.test", acme_server=pebble.directory_url)
        argv = certbot_command(tls, str(webroot), *dirs, deploy_hook=nginx.reload_command())
        assert argv[0] == "certbot"
        argv[0] = tools["certbot"]
        env = clean_env(REQUESTS_CA_BUNDLE=str(pebble.ca))
        reloads = nginx.reloads()
        result = subprocess.run(argv, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                timeout=CERTBOT_TIMEOUT)
        assert result.returncode == 0, f"certbot failed:\n{result.stdout}\n{result.stderr}\n{tail(certbot_log)}"
        # The hook's signal is asynchronous: wait (bounded) for the master to act on it.
        wait_for("deploy hook reloading our nginx", lambda: nginx.reloads() > reloads, 10)
        reloads_by_certbot = nginx.reloads() - reloads
        seconds["certbot certonly"] = time.monotonic() - t

        # 4. Switch to the TLS site and reload, as setup-tls.sh's enable_site does.
        t = time.monotonic()
        assert (live / "fullchain.pem").is_file() and (live / "privkey.pem").is_file(), sorted(letsencrypt.rglob("*"))
        nginx.enable_site("tls.conf", tls_site)

        def serving_tls() -> bool:
            with tls_socket(https_port, DOMAIN, context, timeout=2):
                return True

        nginx.reload(ready=serving_tls)
        seconds["switch to TLS site"] = time.monotonic() - t
        seconds["fixture total"] = time.monotonic() - t0
        yield_site = Site(
            nginx=nginx, pebble=pebble, http_port=http_port, https_port=https_port, webroot=webroot,
            live=live, context=context, certbot_argv=argv, certbot_env=env,
            certbot_dirs=dirs, certbot_output=result.stdout + result.stderr,
            reloads_by_certbot=reloads_by_certbot, before_certificate=before,
        )
    except BaseException as exc:
        nginx.stop()
        if pebble is not None:
            pebble.stop()
        if not isinstance(exc, Exception):
            raise
        logs = [nginx.logs(), pebble.logs() if pebble else "", f"--- certbot log\n{tail(certbot_log)}"]
        pytest.fail(f"{type(exc).__name__}: {exc}\n" + "\n".join(logs), pytrace=False)
    try:
        yield yield_site
    finally:
        print("\ntls_e2e timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in seconds.items()))
        nginx.stop()
        pebble.stop()


def _redirect_target(site: Site, path: str) -> str:
    return f"https://{DOMAIN}:{site.https_port}{path}"


def test_http_only_site_serves_challenges_and_redirects_before_any_certificate(site):
    before = site.before_certificate
    assert before["https_refused"], "the HTTP-only site must not listen on the HTTPS port"
    status, headers = before["redirect"]
    assert status == 308 and headers["location"] == _redirect_target(site, "/some/path?x=1")
    status, _, body = before["probe"]
    assert (status, body) == (200, b"probe-token")


def test_certificate_obtained_over_http01_from_pebble(site):
    """certbot used the webroot our nginx serves; its deploy hook reloaded our nginx;
    nginx now serves that certificate, which chains to Pebble's root for DOMAIN."""
    assert site.reloads_by_certbot == 1, site.certbot_output
    # Pebble's validator fetched the token through our nginx, from certbot's webroot.
    fetched = re.findall(r'"GET /\.well-known/acme-challenge/([A-Za-z0-9_-]{20,}) HTTP/1\.1" 200 .*Pebble-VA',
                         site.nginx.access_log())
    assert fetched, site.nginx.access_log()
    assert "set VALID by completed challenge" in site.pebble.log.read_text(errors="replace")
    served = site.served_certificate()  # handshake verified against Pebble's root, SNI = DOMAIN
    assert ("DNS", DOMAIN) in served["subjectAltName"]
    issuer = dict(item for rdn in served["issuer"] for item in rdn)
    assert "Pebble" in issuer.get("commonName", ""), issuer
    on_disk = ssl.PEM_cert_to_DER_cert((site.live / "cert.pem").read_text())
    with tls_socket(site.https_port, DOMAIN, site.context) as sock:
        assert sock.getpeercert(binary_form=True) == on_disk
        assert sock.version() in ("TLSv1.2", "TLSv1.3")
    # What renewal (the certbot timer) will re-use: webroot, Pebble, our deploy hook.
    renewal = (Path(site.certbot_dirs[0]) / "renewal" / f"{DOMAIN}.conf").read_text()
    assert "authenticator = webroot" in renewal
    assert f"server = {site.pebble.directory_url}" in renewal
    assert f"renew_hook = {site.nginx.reload_command()}" in renewal


def test_certificate_is_checked_against_the_name(site):
    """The verification above is real: the same certificate fails for another name."""
    with pytest.raises(ssl.SSLCertVerificationError):
        tls_socket(site.https_port, "other.example.test", site.context).close()


def test_plain_http_redirects_to_https_except_acme_challenges(site):
    for method, path, body in (("GET", "/", None), ("GET", "/a/b?c=d&e=f", None),
                               ("POST", "/", b'{"jsonrpc":"2.0","id":1,"method":"system_health"}'),
                               ("GET", "/.well-known/other", None)):
        status, headers, _ = site.http(method, path, body)
        assert status == 308, (method, path, status)
        assert headers["location"] == _redirect_target(site, path)
    _write_probe(site.webroot)
    status, headers, body = site.http("GET", PROBE)
    assert (status, body) == (200, b"probe-token")
    assert headers["content-type"].startswith("text/plain")


def test_jsonrpc_over_https(site, chopsticks):
    request = {"jsonrpc": "2.0", "id": 7, "method": "system_health", "params": []}
    status, headers, body = site.https("POST", "/", json.dumps(request).encode(),
                                       {"Content-Type": "application/json"})
    assert status == 200, body
    reply = json.loads(body)
    assert reply["id"] == 7 and reply["result"] == chopsticks.rpc("system_health")
    assert set(reply["result"]) >= {"peers", "isSyncing", "shouldHavePeers"}
    assert headers["strict-transport-security"] == "max-age=63072000"


def test_jsonrpc_over_wss_call_and_subscription(site, chopsticks):
    sock = tls_socket(site.https_port, DOMAIN, site.context)
    ws = WebSocket(sock, f"{DOMAIN}:{site.https_port}")
    try:
        header = ws.call(1, "chain_getHeader")["result"]
        assert header == chopsticks.rpc("chain_getHeader")
        assert re.fullmatch(r"0x[0-9a-f]+", header["number"]) and re.fullmatch(r"0x[0-9a-f]{64}", header["parentHash"])

        # A subscription stays open through the proxy and carries pushed notifications.
        subscription = ws.call(2, "chain_subscribeNewHeads")["result"]
        target = int(header["number"], 16) + 1
        chopsticks.new_block()
        deadline = time.monotonic() + 10
        while True:
            note = ws.next_notification("chain_newHead")
            assert note["params"]["subscription"] == subscription
            if int(note["params"]["result"]["number"], 16) >= target:
                break
            assert time.monotonic() < deadline, "no notification of the new block"
    finally:
        ws.close()


def test_rerun_keeps_the_certificate_and_skips_the_hook(site):
    """setup-tls.sh re-runs the same argv on every boot: nothing changes."""
    cert, reloads = (site.live / "cert.pem").read_bytes(), site.nginx.reloads()
    result = site.run_certbot(site.certbot_argv)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not yet due for renewal" in result.stdout + result.stderr
    assert (site.live / "cert.pem").read_bytes() == cert
    time.sleep(0.3)  # a (wrong) hook's reload would show up in the log by now
    assert site.nginx.reloads() == reloads


def test_renewal_reuses_the_recorded_webroot_and_deploy_hook(site):
    """`certbot renew` (what the package's timer runs), forced: a new certificate over
    HTTP-01 again, and the recorded deploy hook makes nginx serve it."""
    old_serial = site.served_certificate()["serialNumber"]
    reloads = site.nginx.reloads()
    config_dir, work_dir, logs_dir = site.certbot_dirs
    result = site.run_certbot([
        site.certbot_argv[0], "renew", "--force-renewal", "--no-random-sleep-on-renew",
        "--config-dir", config_dir, "--work-dir", work_dir, "--logs-dir", logs_dir,
    ])
    assert result.returncode == 0, result.stdout + result.stderr
    wait_for("deploy hook reloading our nginx", lambda: site.nginx.reloads() > reloads, 10)
    def renewed_everywhere():
        # A graceful reload lets old workers finish for a moment: wait until several
        # connections in a row see the new certificate.
        serials = {site.served_certificate()["serialNumber"] for _ in range(5)}
        return len(serials) == 1 and old_serial not in serials and serials.pop()

    new_serial = wait_for("nginx serving the renewed certificate on every connection", renewed_everywhere, 15)
    with tls_socket(site.https_port, DOMAIN, site.context) as sock:
        assert sock.getpeercert()["serialNumber"] == new_serial
        assert sock.getpeercert(binary_form=True) == ssl.PEM_cert_to_DER_cert((site.live / "cert.pem").read_text())
