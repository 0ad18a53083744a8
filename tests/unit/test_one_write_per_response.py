"""`geo-grid up`'s HTTP protocol (api/header_timeout.py) writes a response's head together with its first
body part: one write per small answer instead of two, and the same bytes on the wire in every case —
plain, HEAD, streamed, an application error before or after the head, pipelined requests, connection
close. A real uvicorn server on a socket (asyncio loop, so that the transport's writes can be counted)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from geo_grid.api.header_timeout import protocol_class
from geo_grid.embedded import free_port

WRITES: list[bytes] = []


async def _app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/fail":
        raise RuntimeError("before the head")
    if path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-kind", b"stream")]})
        for part in (b"one,", b"two,", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    body = b'{"ok":true}'
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    if path == "/close":
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if path == "/fail-after-head":
        raise RuntimeError("after the head")
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def server() -> Iterator[int]:
    base = protocol_class(5.0)

    class Counting(base):  # type: ignore[valid-type,misc]
        def connection_made(self, transport: Any) -> None:
            write = transport.write

            def counted(data: bytes) -> None:
                WRITES.append(bytes(data))
                write(data)

            transport.write = counted
            super().connection_made(transport)

    port = free_port()
    config = uvicorn.Config(
        _app, host="127.0.0.1", port=port, http=Counting, loop="asyncio", log_level="critical"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield port
    server.should_exit = True
    thread.join(10)


def _exchange(port: int, raw: bytes, until: bytes | None = None) -> bytes:
    """Send `raw`, read until the server closes or `until` has been seen."""
    WRITES.clear()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(5)
        sock.sendall(raw)
        data = b""
        while until is None or until not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    time.sleep(0.05)
    return data


def test_a_small_answer_is_one_write(server: int) -> None:
    data = _exchange(server, b"GET /plain HTTP/1.1\r\nHost: x\r\n\r\n", until=b'{"ok":true}')
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(b'\r\n\r\n{"ok":true}')
    assert b"content-length: 11\r\n" in data and b"content-type: application/json\r\n" in data
    assert len(WRITES) == 1 and WRITES[0] == data


def test_head_pipelined_and_close(server: int) -> None:
    head = _exchange(server, b"HEAD /plain HTTP/1.1\r\nHost: x\r\n\r\n", until=b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and head.endswith(b"\r\n\r\n") and len(WRITES) == 1
    two = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"
    data = _exchange(server, two + b"GET /close HTTP/1.1\r\nHost: x\r\n\r\n")  # the server closes
    assert data.count(b"HTTP/1.1 200 OK") == 3 and data.count(b'{"ok":true}') == 3
    assert b"connection: close" in data and len(WRITES) == 3


def test_a_streamed_answer_keeps_its_chunks(server: int) -> None:
    data = _exchange(server, b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n", until=b"0\r\n\r\n")
    assert b"transfer-encoding: chunked\r\n" in data and b"x-kind: stream\r\n" in data
    assert data.endswith(b"\r\n\r\n4\r\none,\r\n4\r\ntwo,\r\n5\r\nthree\r\n0\r\n\r\n")
    assert len(WRITES) == 4  # the head with the first chunk, two more chunks, the end


def test_application_errors_are_answered_as_before(server: int) -> None:
    data = _exchange(server, b"GET /fail HTTP/1.1\r\nHost: x\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 500") and data.endswith(b"Internal Server Error")
    # A head that was never followed by its body: it never went out; the client gets the 500 instead of
    # a head without its promised body.
    data = _exchange(server, b"GET /fail-after-head HTTP/1.1\r\nHost: x\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 500") and b"application/json" not in data
