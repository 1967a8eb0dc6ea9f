"""Real servers for the loopback ACME test: a throwaway CA, Pebble with
pebble-challtestsrv as its DNS, an nginx instance of our own, a minimal WebSocket client.

Everything listens on 127.0.0.1 high ports picked by the kernel, keeps its files in a
temp folder, and is stopped by the caller (``stop()``), never by name. Every wait is
bounded.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import shlex
import signal
import socket
import ssl
import struct
import subprocess
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Callable, TypeVar

LOOPBACK = "127.0.0.1"
START_TIMEOUT = 15.0
T = TypeVar("T")


class NotReady(RuntimeError):
    pass


def wait_for(what: str, check: Callable[[], T], timeout: float, alive: Callable[[], bool] = lambda: True,
              interval: float = 0.05) -> T:
    """Poll ``check`` until it returns a truthy value without raising OSError/NotReady;
    fail after ``timeout`` seconds, or at once when ``alive()`` turns false."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        try:
            result = check()
            if result:
                return result
        except (OSError, NotReady, http.client.HTTPException) as exc:
            last = exc
        if not alive():
            raise RuntimeError(f"{what}: the process exited (last error: {last})")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {timeout:g}s (last error: {last})")
        time.sleep(interval)


def free_ports(count: int, udp_too: int = 0) -> list[int]:
    """``count`` distinct free TCP ports on 127.0.0.1 (the first ``udp_too`` are free for
    UDP as well): all sockets are held until every port is chosen, then released."""
    ports: list[int] = []
    with ExitStack() as stack:
        while len(ports) < count:
            tcp = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            tcp.bind((LOOPBACK, 0))
            port = tcp.getsockname()[1]
            if len(ports) < udp_too:
                udp = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
                try:
                    udp.bind((LOOPBACK, port))
                except OSError:
                    continue  # taken for UDP: keep the TCP socket bound and try another
            ports.append(port)
    return ports


def terminate(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL of the process's own group (it was started in a new session,
    so the group is exactly what we started)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # leftovers, e.g. nginx workers of a killed master
    except (ProcessLookupError, PermissionError):
        pass
    if process.poll() is None:
        process.wait(timeout=timeout)


def start(argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True)


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without proxies (everything here is on loopback)."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["NO_PROXY"] = env["no_proxy"] = "*"
    env.update(extra)
    return env


# --- throwaway CA for Pebble's own HTTPS listener -------------------------------------

def make_ca_and_server_cert(openssl: str, directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a ``localhost``/``127.0.0.1`` certificate it signed; returns
    (ca.pem, cert.pem, key.pem)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (directory / n for n in ("ca.key", "ca.pem", "key.pem", "cert.csr", "cert.pem"))
    ext = directory / "server.ext"
    ext.write_text(
        "basicConstraints = critical, CA:FALSE\n"
        "keyUsage = critical, digitalSignature\n"
        "extendedKeyUsage = serverAuth\n"
        "subjectAltName = DNS:localhost, IP:127.0.0.1\n"
        "authorityKeyIdentifier = keyid\n"
        "subjectKeyIdentifier = hash\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for argv in (
        [openssl, "req", "-x509", *ec, "-days", "2", "-subj", "/CN=tls_e2e throwaway CA",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
         "-keyout", str(ca_key), "-out", str(ca)],
        [openssl, "req", "-new", *ec, "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(csr)],
        [openssl, "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
         "-days", "2", "-extfile", str(ext), "-out", str(cert)],
    ):
        subprocess.run(argv, check=True, capture_output=True, timeout=30)
    return ca, cert, key


# --- DNS: challtestsrv must answer before Pebble validates ----------------------------

def dns_a(name: str, server: tuple[str, int], timeout: float = 1.0) -> list[str]:
    """A records of ``name`` from ``server`` (one UDP query, stdlib only)."""
    qid = os.getpid() & 0xFFFF
    question = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"
    query = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + question + struct.pack("!HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(query, server)
        reply = sock.recv(4096)
    rid, flags, _, ancount, _, _ = struct.unpack("!HHHHHH", reply[:12])
    if rid != qid or flags & 0x000F:
        raise NotReady(f"DNS reply id {rid} rcode {flags & 0xF}")
    # Skip the echoed question, then read answers (names are compressed pointers here).
    offset, addresses = 12 + len(question) + 4, []
    for _ in range(ancount):
        while reply[offset] not in (0,) and reply[offset] & 0xC0 != 0xC0:
            offset += reply[offset] + 1
        offset += 2 if reply[offset] & 0xC0 == 0xC0 else 1
        rtype, _, _, rdlength = struct.unpack("!HHIH", reply[offset:offset + 10])
        offset += 10
        if rtype == 1 and rdlength == 4:
            addresses.append(socket.inet_ntoa(reply[offset:offset + 4]))
        offset += rdlength
    return addresses


class Pebble:
    """pebble-challtestsrv (DNS: every name is 127.0.0.1) and Pebble, which fetches
    HTTP-01 challenges from ``http_port`` (our nginx's HTTP port)."""

    def __init__(self, tmp: Path, tools: dict[str, str], http_port: int, ports: list[int]) -> None:
        """``ports``: five free ports, the first free for UDP too (DNS)."""
        self.tmp = tmp
        self.ca, cert, key = make_ca_and_server_cert(tools["openssl"], tmp / "pebble-tls")
        dns, acme, management, tls_port, challtestsrv_management = ports
        self.dns = (LOOPBACK, dns)
        self.directory_url = f"https://{LOOPBACK}:{acme}/dir"
        self.management_url = f"https://{LOOPBACK}:{management}"
        config = tmp / "pebble-config.json"
        config.write_text(json.dumps({"pebble": {
            "listenAddress": f"{LOOPBACK}:{acme}",
            "managementListenAddress": f"{LOOPBACK}:{management}",
            "certificate": str(cert),
            "privateKey": str(key),
            "httpPort": http_port,
            "tlsPort": tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }}))
        self.dns_log, self.log = tmp / "challtestsrv.log", tmp / "pebble.log"
        self.processes: list[subprocess.Popen] = []
        self.context = ssl.create_default_context(cafile=str(self.ca))
        try:
            self._start(tools, config, dns, challtestsrv_management)
        except BaseException:
            self.stop()
            raise

    def _start(self, tools: dict[str, str], config: Path, dns: int, dns_management: int) -> None:
        challtestsrv = start(
            [tools["pebble-challtestsrv"], "-defaultIPv4", LOOPBACK, "-defaultIPv6", "",
             "-dns01", f"{LOOPBACK}:{dns}", "-http01", "", "-https01", "", "-tlsalpn01", "",
             "-management", f"{LOOPBACK}:{dns_management}"],
            self.dns_log, clean_env(),
        )
        self.processes.append(challtestsrv)
        wait_for("pebble-challtestsrv DNS answering node names with 127.0.0.1",
                 lambda: dns_a("probe.example.test", self.dns) == [LOOPBACK],
                 START_TIMEOUT, alive=lambda: challtestsrv.poll() is None)
        # No random validation sleeps, no deliberately rejected nonces: fast and repeatable.
        env = clean_env(PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0")
        pebble = start([tools["pebble"], "-config", str(config), "-dnsserver", f"{LOOPBACK}:{dns}"], self.log, env)
        self.processes.append(pebble)
        wait_for("Pebble serving its ACME directory", lambda: "newOrder" in self.get(self.directory_url),
                 START_TIMEOUT, alive=lambda: pebble.poll() is None)

    def get(self, url: str, timeout: float = 5.0) -> str:
        """GET over HTTPS trusting only the throwaway CA (Pebble's own listeners)."""
        host, _, rest = url.removeprefix("https://").partition("/")
        name, _, port = host.partition(":")
        conn = http.client.HTTPSConnection(name, int(port), context=self.context, timeout=timeout)
        try:
            conn.request("GET", "/" + rest)
            response = conn.getresponse()
            body = response.read().decode()
            if response.status != 200:
                raise NotReady(f"GET {url}: HTTP {response.status}: {body[:200]}")
            return body
        finally:
            conn.close()

    def issuing_root(self) -> str:
        """PEM of the root that Pebble's certificates chain to (management API)."""
        return self.get(f"{self.management_url}/roots/0")

    def stop(self) -> None:
        for process in reversed(self.processes):
            terminate(process)

    def logs(self) -> str:
        return f"--- pebble.log\n{tail(self.log)}\n--- challtestsrv.log\n{tail(self.dns_log)}"


class Nginx:
    """nginx with its own prefix, config, pid, logs and temp paths; runs the enabled
    site (a symlink, switched as ``setup-tls.sh`` does). Never touches /etc/nginx."""

    def __init__(self, binary: str, prefix: Path) -> None:
        self.binary, self.prefix = binary, prefix
        self.conf, self.error_log = prefix / "nginx.conf", prefix / "logs" / "error.log"
        self.enabled = prefix / "sites-enabled" / "substrate.conf"
        for sub in ("logs", "temp", "sites-available", "sites-enabled"):
            (prefix / sub).mkdir(parents=True, exist_ok=True)
        # Run as root (CI), the workers would drop to "nobody", who cannot enter pytest's
        # 0700 temp folders to read the webroot.
        user = "user root;\n" if os.geteuid() == 0 else ""
        temp_paths = "".join(f"  {kind}_temp_path temp/{kind};\n"
                             for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        self.conf.write_text(
            f"{user}daemon off;\nworker_processes 1;\npid nginx.pid;\n"
            "error_log logs/error.log notice;\n"
            "events { worker_connections 64; }\n"
            "http {\n"
            "  access_log logs/access.log;\n"
            f"{temp_paths}"
            f"  include {self.enabled};\n"
            "}\n"
        )
        self.process: subprocess.Popen | None = None

    @property
    def base_argv(self) -> list[str]:
        return [self.binary, "-p", f"{self.prefix}/", "-c", str(self.conf), "-e", str(self.error_log)]

    def reload_command(self) -> str:
        """A shell command reloading this instance (our stand-in for ``systemctl reload nginx``)."""
        return shlex.join([*self.base_argv, "-s", "reload"])

    def enable_site(self, name: str, content: str) -> None:
        """Write the site, switch the enabled symlink atomically, ``nginx -t``: what
        ``setup-tls.sh``'s enable_site does before reloading."""
        site = self.prefix / "sites-available" / name
        site.write_text(content)
        new = self.enabled.with_suffix(".new")
        new.unlink(missing_ok=True)
        new.symlink_to(site)
        new.replace(self.enabled)
        check = subprocess.run([*self.base_argv, "-t", "-q"], capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            raise AssertionError(f"nginx -t refused site {name}:\n{check.stderr}\n{content}")

    def start(self, ready: Callable[[], bool]) -> None:
        self.process = start(self.base_argv, self.prefix / "logs" / "stdout.log")
        wait_for("nginx serving", ready, START_TIMEOUT, alive=lambda: self.process.poll() is None)

    def reloads(self) -> int:
        """How many reloads (SIGHUP) the master has acted on."""
        try:
            return self.error_log.read_text(errors="replace").count("(SIGHUP) received")
        except FileNotFoundError:
            return 0

    def reload(self, ready: Callable[[], bool]) -> None:
        before = self.reloads()
        subprocess.run(shlex.split(self.reload_command()), check=True, capture_output=True, timeout=30)
        wait_for("nginx reloaded", lambda: self.reloads() > before, START_TIMEOUT,
                 alive=lambda: self.process.poll() is None)
        wait_for("nginx serving the new site", ready, START_TIMEOUT, alive=lambda: self.process.poll() is None)

    def stop(self) -> None:
        if self.process is not None:
            terminate(self.process)

    def access_log(self) -> str:
        return (self.prefix / "logs" / "access.log").read_text(errors="replace")

    def logs(self) -> str:
        return f"--- nginx error.log\n{tail(self.error_log)}"


# --- clients --------------------------------------------------------------------------

def tls_socket(port: int, server_name: str, context: ssl.SSLContext, timeout: float = 10.0) -> ssl.SSLSocket:
    """TLS to 127.0.0.1:port with SNI and certificate verification for ``server_name``."""
    raw = socket.create_connection((LOOPBACK, port), timeout=timeout)
    try:
        return context.wrap_socket(raw, server_hostname=server_name)
    except BaseException:
        raw.close()
        raise


def http_request(sock: socket.socket, host: str, method: str, path: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 request over an already connected (maybe TLS) socket."""
    conn = http.client.HTTPConnection(host, timeout=sock.gettimeout())
    conn.sock = sock
    try:
        conn.request(method, path, body=body, headers={"Host": host, **(headers or {})})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


class WebSocket:
    """A minimal RFC 6455 client (text frames, ping/pong, close) over a connected socket."""

    GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self, sock: socket.socket, host: str, path: str = "/") -> None:
        self.sock, self.buffer = sock, b""
        self.pending: list = []  # messages received while waiting for a reply
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode())
        head = self._read_until(b"\r\n\r\n").decode("latin-1")
        status, *header_lines = head.split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines if line)}
        self.handshake_status, self.handshake_headers = status, headers
        if status.split()[1:2] != ["101"]:
            raise AssertionError(f"WebSocket upgrade refused: {head!r}")
        expected = base64.b64encode(hashlib.sha1((key + self.GUID).encode()).digest()).decode()
        if headers.get("sec-websocket-accept") != expected:
            raise AssertionError(f"bad Sec-WebSocket-Accept in {head!r}")

    def _read_exact(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("WebSocket closed by peer")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed before {marker!r}")
            self.buffer += chunk
        data, _, self.buffer = self.buffer.partition(marker)
        return data + marker

    def _send(self, opcode: int, payload: bytes) -> None:
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)  # clients must mask every frame
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _frame(self) -> tuple[bool, int, bytes]:
        b0, b1 = self._read_exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read_exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read_exact(8))[0]
        mask = self._read_exact(4) if b1 & 0x80 else None
        payload = self._read_exact(n)
        if mask:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return bool(b0 & 0x80), b0 & 0x0F, payload

    def send_json(self, message: object) -> None:
        self._send(0x1, json.dumps(message).encode())

    def recv_json(self) -> object:
        """The next text message (fragments joined; pings answered)."""
        parts: list[bytes] = []
        while True:
            fin, opcode, payload = self._frame()
            if opcode == 0x9:
                self._send(0xA, payload)
            elif opcode == 0x8:
                raise ConnectionError(f"WebSocket closed by peer: {payload!r}")
            elif opcode in (0x1, 0x0):
                parts.append(payload)
                if fin:
                    return json.loads(b"".join(parts))

    def call(self, request_id: int, method: str, params: list | None = None) -> dict:
        """A JSON-RPC request; returns its reply (notifications seen meanwhile are kept)."""
        self.send_json({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or []})
        while True:
            message = self.recv_json()
            if isinstance(message, dict) and message.get("id") == request_id:
                return message
            self.pending.append(message)

    def next_notification(self, method: str) -> dict:
        while True:
            message = self.pending.pop(0) if self.pending else self.recv_json()
            if isinstance(message, dict) and message.get("method") == method:
                return message

    def close(self) -> None:
        try:
            self._send(0x8, struct.pack("!H", 1000))
            while self._frame()[1] != 0x8:
                pass
        except OSError:
            pass
        finally:
            self.sock.close()
