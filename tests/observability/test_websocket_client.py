"""The stdlib WebSocket client: RFC 6455 framing, the handshake and the message loop,
against in-process fake servers (real sockets, scripted answers)."""

from __future__ import annotations

import base64
import socket
import struct
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from constructs_substrate.observability.canary import websocket as ws
from constructs_substrate.observability.canary.websocket import (
    ConnectionClosed,
    HandshakeError,
    ProtocolError,
    WebSocket,
    WebSocketTimeout,
    accept_key,
    apply_mask,
    decode_frame,
    encode_frame,
)


def reader(data: bytes):
    view = memoryview(data)
    position = 0

    def read_exact(count: int) -> bytes:
        nonlocal position
        if position + count > len(view):
            raise EOFError
        chunk = bytes(view[position:position + count])
        position += count
        return chunk

    return read_exact


# ---- framing -----------------------------------------------------------------------------


def test_accept_key_matches_rfc_6455_example():
    # RFC 6455 section 1.3.
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_rfc_examples_of_frames():
    # RFC 6455 section 5.7: unmasked and masked "Hello", a ping.
    assert encode_frame(ws.OP_TEXT, b"Hello") == bytes.fromhex("810548656c6c6f")
    assert encode_frame(ws.OP_TEXT, b"Hello", mask=bytes.fromhex("37fa213d")) == bytes.fromhex("818537fa213d7f9f4d5158")
    masked = decode_frame(reader(bytes.fromhex("818537fa213d7f9f4d5158")))
    assert masked == ws.Frame(True, ws.OP_TEXT, b"Hello", masked=True)
    assert encode_frame(ws.OP_PING, b"Hello") == bytes.fromhex("890548656c6c6f")


@pytest.mark.parametrize("length,header", [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10), (70000, 10)])
def test_length_encodings(length, header):
    payload = bytes(range(256)) * (length // 256) + bytes(range(length % 256))
    frame = encode_frame(ws.OP_BINARY, payload, mask=b"\x01\x02\x03\x04")
    assert len(frame) == header + 4 + length
    assert frame[1] & 0x80, "client frames are masked"
    assert decode_frame(reader(frame)).payload == payload


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=70000), st.binary(min_size=4, max_size=4), st.booleans(),
       st.sampled_from([ws.OP_TEXT, ws.OP_BINARY, ws.OP_CONTINUATION]))
def test_frames_round_trip(payload, mask, fin, opcode):
    frame = decode_frame(reader(encode_frame(opcode, payload, fin=fin, mask=mask)))
    assert (frame.fin, frame.opcode, frame.payload, frame.masked) == (fin, opcode, payload, True)


@given(st.binary(max_size=300), st.binary(min_size=4, max_size=4))
def test_masking_is_its_own_inverse(payload, mask):
    masked = apply_mask(payload, mask)
    assert apply_mask(masked, mask) == payload
    assert all(m == p ^ mask[i % 4] for i, (m, p) in enumerate(zip(masked, payload)))


@pytest.mark.parametrize("data,message", [
    (bytes([0xC1, 0x00]), "reserved bits"),
    (bytes([0x83, 0x00]), "unknown opcode"),
    (bytes([0x09, 0x00]), "control frames"),  # fragmented ping
    (bytes([0x89, 0x7E, 0x00, 0x7E]) + b"x" * 126, "control frames"),  # ping > 125 bytes
    (bytes([0x82, 0x7E, 0x00, 0x05]) + b"hello", "minimally"),
    (bytes([0x82, 0x7F]) + struct.pack("!Q", 5) + b"hello", "minimally"),
    (bytes([0x82, 0x7F]) + struct.pack("!Q", 1 << 63), "most significant bit"),
])
def test_forbidden_frames(data, message):
    with pytest.raises(ProtocolError, match=message):
        decode_frame(reader(data))


def test_oversized_frame_refused_before_reading_it():
    with pytest.raises(ProtocolError, match="limit"):
        decode_frame(reader(bytes([0x82, 0x7F]) + struct.pack("!Q", 1 << 40)), max_payload=1024)


def test_control_frames_cannot_be_built_too_large():
    with pytest.raises(ValueError):
        encode_frame(ws.OP_PING, b"x" * 126)


# ---- the message loop (a socket pair: we play the server) --------------------------------


@pytest.fixture
def pair():
    client, server = socket.socketpair()
    server.settimeout(5)
    yield WebSocket(client), server
    client.close()
    server.close()


def read_client_frame(server: socket.socket) -> ws.Frame:
    buffer = b""

    def read_exact(count):
        nonlocal buffer
        while len(buffer) < count:
            buffer += server.recv(65536)
        chunk, buffer = buffer[:count], buffer[count:]
        return chunk

    return decode_frame(read_exact)


def test_fragmented_text_with_a_ping_in_between(pair):
    client, server = pair
    server.sendall(
        encode_frame(ws.OP_TEXT, "héllo ".encode()[:3], fin=False)
        + encode_frame(ws.OP_PING, b"are you there")
        + encode_frame(ws.OP_CONTINUATION, "héllo ".encode()[3:], fin=False)
        + encode_frame(ws.OP_CONTINUATION, b"world")
    )
    assert client.recv(timeout=2) == "héllo world"
    pong = read_client_frame(server)
    assert (pong.opcode, pong.payload, pong.masked) == (ws.OP_PONG, b"are you there", True)


def test_binary_and_pong_recorded(pair):
    client, server = pair
    server.sendall(encode_frame(ws.OP_PONG, b"p") + encode_frame(ws.OP_BINARY, b"\x00\xff"))
    assert client.recv(timeout=2) == b"\x00\xff"
    assert client.pongs == [b"p"]


def test_client_sends_masked_text(pair):
    client, server = pair
    client.send_text('{"id":1}')
    frame = read_client_frame(server)
    assert frame.masked and frame.opcode == ws.OP_TEXT and frame.payload == b'{"id":1}'


def test_server_close_is_answered_and_raised(pair):
    client, server = pair
    server.sendall(encode_frame(ws.OP_CLOSE, struct.pack("!H", 1001) + b"going away"))
    with pytest.raises(ConnectionClosed) as info:
        client.recv(timeout=2)
    assert (info.value.code, info.value.reason) == (1001, "going away")
    echo = read_client_frame(server)
    assert echo.opcode == ws.OP_CLOSE and echo.payload[:2] == struct.pack("!H", 1001)


def test_client_close_handshake(pair):
    client, server = pair

    def answer():
        frame = read_client_frame(server)
        server.sendall(encode_frame(ws.OP_CLOSE, frame.payload[:2]))

    thread = threading.Thread(target=answer)
    thread.start()
    client.close(1000, "bye", timeout=2)
    thread.join(5)
    assert client.closed and client.close_code == 1000


@pytest.mark.parametrize("data,message", [
    (encode_frame(ws.OP_TEXT, b"x", mask=b"abcd"), "masked"),
    (encode_frame(ws.OP_TEXT, b"\xff\xfe"), "UTF-8"),
    (encode_frame(ws.OP_CONTINUATION, b"x"), "continuation"),
    (encode_frame(ws.OP_TEXT, b"a", fin=False) + encode_frame(ws.OP_TEXT, b"b"), "new message"),
])
def test_protocol_violations(pair, data, message):
    client, server = pair
    server.sendall(data)
    with pytest.raises(ProtocolError, match=message):
        client.recv(timeout=2)


def test_silence_times_out(pair):
    client, _ = pair
    with pytest.raises(WebSocketTimeout):
        client.recv(timeout=0.3)


def test_dropped_connection(pair):
    client, server = pair
    server.close()
    with pytest.raises(ConnectionClosed) as info:
        client.recv(timeout=2)
    assert info.value.code == 1006


# ---- the opening handshake (a TCP server thread) -------------------------------------------


def serve_once(respond):
    """Accept one connection on 127.0.0.1, read the request, send ``respond(key)``."""
    listener = socket.create_server(("127.0.0.1", 0))
    seen = {}

    def run():
        conn, _ = listener.accept()
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(4096)
            lines = request.decode().split("\r\n")
            seen["request_line"] = lines[0]
            seen["headers"] = {k.lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:] if l)}
            answer = respond(seen["headers"].get("sec-websocket-key", ""))
            if answer is not None:
                conn.sendall(answer)
            conn.recv(4096) if answer else threading.Event().wait(2)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return f"ws://127.0.0.1:{listener.getsockname()[1]}/rpc?x=1", seen, thread, listener


def switching(key: str, extra: str = "", accept: str | None = None) -> bytes:
    return (
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept or accept_key(key)}\r\n{extra}\r\n"
    ).encode() + encode_frame(ws.OP_TEXT, b"early")


def test_handshake_and_buffered_first_message():
    url, seen, thread, listener = serve_once(switching)
    with WebSocket.connect(url, timeout=3) as client:
        assert client.recv(timeout=2) == "early"  # sent right behind the 101 response
    thread.join(5)
    listener.close()
    headers = seen["headers"]
    assert seen["request_line"] == "GET /rpc?x=1 HTTP/1.1"
    assert headers["upgrade"] == "websocket" and headers["connection"] == "Upgrade"
    assert headers["sec-websocket-version"] == "13" and headers["host"].startswith("127.0.0.1:")
    assert len(base64.b64decode(headers["sec-websocket-key"])) == 16


@pytest.mark.parametrize("respond,message", [
    (lambda key: switching(key, accept=accept_key("AAAAAAAAAAAAAAAAAAAAAA==")), "Accept"),
    (lambda key: b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "101"),
    (lambda key: switching(key, extra="Sec-WebSocket-Extensions: permessage-deflate\r\n"), "extension"),
    (lambda key: b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n", "Upgrade"),
])
def test_bad_handshakes_are_refused(respond, message):
    url, _, thread, listener = serve_once(respond)
    with pytest.raises(HandshakeError, match=message):
        WebSocket.connect(url, timeout=3)
    thread.join(5)
    listener.close()


def test_silent_server_times_out_during_handshake():
    url, _, thread, listener = serve_once(lambda key: None)
    with pytest.raises(WebSocketTimeout):
        WebSocket.connect(url, timeout=0.5)
    thread.join(5)
    listener.close()


def test_only_ws_urls():
    with pytest.raises(ValueError):
        WebSocket.connect("https://example.com", timeout=1)
