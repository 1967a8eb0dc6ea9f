"""A minimal RFC 6455 WebSocket client, Python standard library only.

Enough for a synthetic check that talks to a Substrate node the way a client does:
the opening handshake (with ``Sec-WebSocket-Accept`` verified), masked client frames,
text and binary messages (fragmented ones reassembled), ping/pong, the closing
handshake, and TLS for ``wss://`` through :mod:`ssl` (certificate and host name
verified). No extensions or subprotocols are offered, so a server that picks one is
refused. Every blocking call takes a deadline: a server that accepts the TCP
connection and then says nothing (a frozen process) times out instead of hanging.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import ssl
import struct
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
"""RFC 6455 section 1.3: appended to the client's key to compute the accept value."""

OP_CONTINUATION, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA
CONTROL_OPCODES = (OP_CLOSE, OP_PING, OP_PONG)
DATA_OPCODES = (OP_CONTINUATION, OP_TEXT, OP_BINARY)

MAX_HANDSHAKE = 16 * 1024
MAX_MESSAGE = 16 * 1024 * 1024
"""Largest message accepted; a Substrate header or health answer is a few hundred bytes."""


class WebSocketError(Exception):
    """Any failure of the connection or the protocol."""


class HandshakeError(WebSocketError):
    """The server did not switch to the WebSocket protocol correctly."""


class ProtocolError(WebSocketError):
    """The server sent something RFC 6455 forbids."""


class WebSocketTimeout(WebSocketError, TimeoutError):
    """No answer before the deadline."""


class ConnectionClosed(WebSocketError):
    """The server closed the connection (``code`` 1006 when it just dropped it)."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"connection closed (code {code}{': ' + reason if reason else ''})")
        self.code = code
        self.reason = reason


def accept_key(key: str) -> str:
    """The ``Sec-WebSocket-Accept`` value a server must answer to ``key``."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode("ascii")).digest()).decode("ascii")


def apply_mask(payload: bytes, mask: bytes) -> bytes:
    """XOR ``payload`` with the 4-byte ``mask`` repeated (masking and unmasking alike)."""
    if len(mask) != 4:
        raise ValueError("a masking key has 4 bytes")
    if not payload:
        return b""
    repeated = (mask * (len(payload) // 4 + 1))[: len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(len(payload), "big")


def encode_frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bytes | None = None) -> bytes:
    """One frame. Clients must mask (``mask`` = 4 random bytes); servers must not."""
    if opcode in CONTROL_OPCODES and (len(payload) > 125 or not fin):
        raise ValueError("control frames carry at most 125 bytes and cannot be fragmented")
    head = bytearray([(0x80 if fin else 0) | opcode])
    mask_bit = 0x80 if mask is not None else 0
    length = len(payload)
    if length < 126:
        head.append(mask_bit | length)
    elif length < 1 << 16:
        head.append(mask_bit | 126)
        head += struct.pack("!H", length)
    else:
        head.append(mask_bit | 127)
        head += struct.pack("!Q", length)
    if mask is None:
        return bytes(head) + payload
    return bytes(head) + mask + apply_mask(payload, mask)


@dataclass(frozen=True)
class Frame:
    fin: bool
    opcode: int
    payload: bytes
    masked: bool = False


def decode_frame(read_exact, *, max_payload: int = MAX_MESSAGE) -> Frame:
    """Read one frame with ``read_exact(n) -> bytes`` and check the RFC's rules for
    frames a client receives (no reserved bits, sane control frames, minimal lengths)."""
    first, second = read_exact(2)
    fin, rsv, opcode = bool(first & 0x80), first & 0x70, first & 0x0F
    masked, length = bool(second & 0x80), second & 0x7F
    if rsv:
        raise ProtocolError("reserved bits set, but no extension was negotiated")
    if opcode not in CONTROL_OPCODES + DATA_OPCODES:
        raise ProtocolError(f"unknown opcode {opcode:#x}")
    if opcode in CONTROL_OPCODES and (not fin or length > 125):
        raise ProtocolError("control frames must be unfragmented and at most 125 bytes")
    if length == 126:
        (length,) = struct.unpack("!H", read_exact(2))
        if length < 126:
            raise ProtocolError("length not minimally encoded")
    elif length == 127:
        (length,) = struct.unpack("!Q", read_exact(8))
        if length >> 63:
            raise ProtocolError("64-bit length with the most significant bit set")
        if length < 1 << 16:
            raise ProtocolError("length not minimally encoded")
    if length > max_payload:
        raise ProtocolError(f"frame of {length} bytes exceeds the {max_payload}-byte limit")
    mask = read_exact(4) if masked else None
    payload = read_exact(length) if length else b""
    if mask is not None:
        payload = apply_mask(payload, mask)
    return Frame(fin, opcode, payload, masked)


def _split_url(url: str) -> tuple[bool, str, int, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"{url!r} is not a ws:// or wss:// URL")
    secure = parts.scheme == "wss"
    port = parts.port or (443 if secure else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return secure, parts.hostname, port, path


class WebSocket:
    """A client connection. Use :meth:`connect`; close with :meth:`close` (or ``with``)."""

    def __init__(self, sock: socket.socket, *, buffered: bytes = b"", max_message: int = MAX_MESSAGE) -> None:
        self.sock = sock
        self._buffer = bytearray(buffered)
        self.max_message = max_message
        self.closed = False
        self.close_code: int | None = None
        self.pongs: list[bytes] = []

    # ---- opening handshake ----------------------------------------------------------

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        headers: dict[str, str] | None = None,
    ) -> "WebSocket":
        """Open ``url`` (``ws://`` or ``wss://``) and complete the handshake within ``timeout``."""
        deadline = time.monotonic() + timeout
        secure, host, port, path = _split_url(url)
        sock = socket.create_connection((host, port), timeout=timeout)
        try:
            if secure:
                context = ssl_context or ssl.create_default_context()
                sock.settimeout(_remaining(deadline))
                sock = context.wrap_socket(sock, server_hostname=host)
            key = base64.b64encode(os.urandom(16)).decode("ascii")
            default_port = 443 if secure else 80
            host_header = host if port == default_port else f"{host}:{port}"
            if ":" in host and not host.startswith("["):
                host_header = f"[{host}]" if port == default_port else f"[{host}]:{port}"
            lines = [
                f"GET {path} HTTP/1.1",
                f"Host: {host_header}",
                "Upgrade: websocket",
                "Connection: Upgrade",
                f"Sec-WebSocket-Key: {key}",
                "Sec-WebSocket-Version: 13",
                *(f"{name}: {value}" for name, value in (headers or {}).items()),
            ]
            _send_all(sock, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), deadline)
            head, rest = _read_head(sock, deadline)
            _check_handshake(head, key)
            return cls(sock, buffered=rest)
        except BaseException:
            sock.close()
            raise

    # ---- sending --------------------------------------------------------------------

    def _send(self, opcode: int, payload: bytes, deadline: float) -> None:
        if self.closed:
            raise ConnectionClosed(self.close_code or 1006, "already closed")
        _send_all(self.sock, encode_frame(opcode, payload, mask=os.urandom(4)), deadline)

    def send_text(self, text: str, *, timeout: float = 10.0) -> None:
        self._send(OP_TEXT, text.encode("utf-8"), time.monotonic() + timeout)

    def send_binary(self, data: bytes, *, timeout: float = 10.0) -> None:
        self._send(OP_BINARY, data, time.monotonic() + timeout)

    def ping(self, payload: bytes = b"", *, timeout: float = 10.0) -> None:
        self._send(OP_PING, payload, time.monotonic() + timeout)

    # ---- receiving ------------------------------------------------------------------

    def _read_exact(self, count: int, deadline: float) -> bytes:
        while len(self._buffer) < count:
            self.sock.settimeout(_remaining(deadline))
            try:
                chunk = self.sock.recv(max(65536, count - len(self._buffer)))
            except (socket.timeout, TimeoutError):
                raise WebSocketTimeout("no data from the server before the deadline") from None
            if not chunk:
                self.closed = True
                raise ConnectionClosed(1006, "the server dropped the connection")
            self._buffer += chunk
        data = bytes(self._buffer[:count])
        del self._buffer[:count]
        return data

    def recv(self, *, timeout: float = 10.0) -> str | bytes:
        """The next message (``str`` for text, ``bytes`` for binary). Pings are
        answered, pongs recorded in ``pongs``; a close frame is answered and raises
        :class:`ConnectionClosed`."""
        deadline = time.monotonic() + timeout
        opcode, parts, size = None, [], 0
        while True:
            frame = decode_frame(lambda n: self._read_exact(n, deadline), max_payload=self.max_message)
            if frame.masked:
                raise ProtocolError("the server masked a frame")
            if frame.opcode == OP_PING:
                self._send(OP_PONG, frame.payload, deadline)
                continue
            if frame.opcode == OP_PONG:
                self.pongs.append(frame.payload)
                continue
            if frame.opcode == OP_CLOSE:
                code, reason = _parse_close(frame.payload)
                if not self.closed:
                    try:
                        self._send(OP_CLOSE, frame.payload[:2], deadline)
                    except (OSError, WebSocketError):
                        pass
                self.closed, self.close_code = True, code
                raise ConnectionClosed(code, reason)
            if frame.opcode == OP_CONTINUATION:
                if opcode is None:
                    raise ProtocolError("continuation frame without a message to continue")
            else:
                if opcode is not None:
                    raise ProtocolError("new message started before the previous one ended")
                opcode = frame.opcode
            size += len(frame.payload)
            if size > self.max_message:
                raise ProtocolError(f"message exceeds {self.max_message} bytes")
            parts.append(frame.payload)
            if frame.fin:
                data = b"".join(parts)
                if opcode == OP_TEXT:
                    try:
                        return data.decode("utf-8")
                    except UnicodeDecodeError:
                        raise ProtocolError("text message is not valid UTF-8") from None
                return data

    # ---- closing --------------------------------------------------------------------

    def close(self, code: int = 1000, reason: str = "", *, timeout: float = 2.0) -> None:
        """Send a close frame, wait briefly for the server's, and close the socket."""
        deadline = time.monotonic() + timeout
        try:
            if not self.closed:
                self._send(OP_CLOSE, struct.pack("!H", code) + reason.encode("utf-8")[:123], deadline)
                self.closed = True
                while time.monotonic() < deadline:
                    frame = decode_frame(lambda n: self._read_exact(n, deadline), max_payload=self.max_message)
                    if frame.opcode == OP_CLOSE:
                        self.close_code = _parse_close(frame.payload)[0]
                        break
        except (OSError, WebSocketError):
            pass
        finally:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass

    def __enter__(self) -> "WebSocket":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---- helpers ---------------------------------------------------------------------------


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise WebSocketTimeout("deadline passed")
    return left


def _send_all(sock: socket.socket, data: bytes, deadline: float) -> None:
    sock.settimeout(_remaining(deadline))
    try:
        sock.sendall(data)
    except (socket.timeout, TimeoutError):
        raise WebSocketTimeout("could not send before the deadline") from None


def _read_head(sock: socket.socket, deadline: float) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > MAX_HANDSHAKE:
            raise HandshakeError("handshake response too large")
        sock.settimeout(_remaining(deadline))
        try:
            chunk = sock.recv(4096)
        except (socket.timeout, TimeoutError):
            raise WebSocketTimeout("no handshake response before the deadline") from None
        if not chunk:
            raise HandshakeError("connection closed during the handshake")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _check_handshake(head: bytes, key: str) -> None:
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(" ", 2)
    if len(status) < 2 or not status[0].startswith("HTTP/1.1") or status[1] != "101":
        raise HandshakeError(f"expected HTTP 101 Switching Protocols, got {lines[0]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise HandshakeError(f"malformed header line {line!r}")
        name = name.strip().lower()
        headers[name] = f"{headers[name]}, {value.strip()}" if name in headers else value.strip()
    if headers.get("upgrade", "").lower() != "websocket":
        raise HandshakeError("missing 'Upgrade: websocket'")
    if "upgrade" not in [token.strip().lower() for token in headers.get("connection", "").split(",")]:
        raise HandshakeError("missing 'Connection: Upgrade'")
    if headers.get("sec-websocket-accept") != accept_key(key):
        raise HandshakeError("Sec-WebSocket-Accept does not match the key sent")
    if headers.get("sec-websocket-extensions"):
        raise HandshakeError("the server chose an extension that was not offered")
    if headers.get("sec-websocket-protocol"):
        raise HandshakeError("the server chose a subprotocol that was not offered")


def _parse_close(payload: bytes) -> tuple[int, str]:
    if not payload:
        return 1005, ""
    if len(payload) == 1:
        raise ProtocolError("close frame with a 1-byte payload")
    (code,) = struct.unpack("!H", payload[:2])
    return code, payload[2:].decode("utf-8", errors="replace")
