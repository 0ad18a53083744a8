"""Rate limits per caller (api/limits.py): 429 `rate_limited` with Retry-After and a Chinese message,
stricter for anonymous callers, counted per client address or per token, and 0 turns a limit off.
Also the request-header timeout of `geo-grid up` (api/header_timeout.py), with a raw socket."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from starlette.testclient import TestClient

from geo_grid.api import limits
from geo_grid.api.header_timeout import h11_protocol_class, protocol_class
from geo_grid.api.limits import TokenBuckets
from tests.support.api import bearer, create_tokens

BATCH = {"points": [[113.7, 34.76]]}


@pytest.fixture(scope="module")
def limited(db_factory: Any, make_client: Any) -> Iterator[tuple[TestClient, dict[str, str]]]:
    url = db_factory()
    tokens = create_tokens(url)
    # Time stands still for these buckets: a slow machine (a first batch that starts the worker
    # processes) must not refill a token between the calls the test counts.
    frozen = pytest.MonkeyPatch()
    frozen.setattr(limits, "monotonic", lambda: 1000.0)
    settings = {
        "rate_anonymous_batches_per_min": 2,
        "rate_token_batches_per_min": 4,
        "rate_anonymous_writes_per_min": 2,
        "rate_token_writes_per_min": 0,  # off
    }
    try:
        with make_client(url, **settings) as client:
            yield client, tokens
    finally:
        frozen.undo()


def test_anonymous_batches_get_429_with_retry_after_and_a_chinese_message(limited) -> None:
    client, tokens = limited
    assert [client.post("/lookup/batch", json=BATCH).status_code for _ in range(2)] == [200, 200]
    r = client.post("/lookup/batch", json=BATCH)
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    retry = int(r.headers["Retry-After"])
    assert 1 <= retry <= 30  # 2 per minute: one comes back every 30 s
    assert "请求过于频繁" in r.json()["message"] and r.json()["detail"]["limit_per_min"] == 2
    # The address batch is a batch too (same bucket).
    assert client.post("/lookup/address/batch", json={"queries": ["民航路"]}).status_code == 429
    # A token holder on the same address has its own, higher limit.
    h = bearer(tokens["dispatcher"])
    codes = [client.post("/lookup/batch", json=BATCH, headers=h).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 200, 429]
    # Another token is unaffected; an invented token counts as anonymous (already limited here).
    assert client.post("/lookup/batch", json=BATCH, headers=bearer(tokens["planner"])).status_code == 200
    assert client.post("/lookup/batch", json=BATCH, headers=bearer("made-up")).status_code == 429
    # Reads are not limited.
    assert client.get("/lookup", params={"lon": 113.7, "lat": 34.76}).status_code == 200


def test_another_client_address_is_unaffected(limited) -> None:
    client, tokens = limited
    # Writes: 2 per minute per address. An invalid report (422) still counts: the limit comes first.
    assert [client.post("/reports", json={}).status_code for _ in range(2)] == [422, 422]
    r = client.post("/reports", json={})
    assert r.status_code == 429 and "写入请求" in r.json()["message"] and r.headers["Retry-After"]
    other = TestClient(client.app, client=("192.0.2.7", 50001))  # same app, another caller's address
    assert other.post("/reports", json={}).status_code == 422
    # A token whose write limit is 0 (off) is never limited.
    h = bearer(tokens["dispatcher"])
    assert {client.post("/reports", json={}, headers=h).status_code for _ in range(5)} == {422}


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    buckets = TokenBuckets(clock=lambda: now[0])
    key = ("batch", "addr:x")
    assert [buckets.take(key, 6) for _ in range(6)] == [0.0] * 6  # a burst of the per-minute amount
    assert buckets.take(key, 6) == pytest.approx(10.0)  # 6 per minute: the next in 10 s
    now[0] = 10.0
    assert buckets.take(key, 6) == 0.0
    assert buckets.take(("batch", "addr:y"), 6) == 0.0


# ------------------------------------------------------------------------------ header timeout


async def _hello(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture(params=["auto", "h11"])
def slow_server(request: Any) -> Iterator[int]:
    from geo_grid.embedded import free_port

    port = free_port()
    make = protocol_class if request.param == "auto" else h11_protocol_class
    config = uvicorn.Config(_hello, host="127.0.0.1", port=port, http=make(0.5), log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield port
    server.should_exit = True
    thread.join(10)


def _read_until_closed(sock: socket.socket, limit_s: float) -> tuple[bytes, float]:
    start = time.monotonic()
    sock.settimeout(limit_s)
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return data, time.monotonic() - start
        data += chunk


def test_half_a_request_line_is_disconnected_after_the_header_timeout(slow_server: int) -> None:
    with socket.create_connection(("127.0.0.1", slow_server)) as sock:
        sock.sendall(b"GET /hea")
        data, waited = _read_until_closed(sock, 10)
    assert data.startswith(b"HTTP/1.1 408") and 0.3 < waited < 5
    # A connection that sends nothing at all is closed too.
    with socket.create_connection(("127.0.0.1", slow_server)) as sock:
        data, waited = _read_until_closed(sock, 10)
    assert data.startswith(b"HTTP/1.1 408") and waited < 5


def test_prompt_requests_and_keep_alive_are_unaffected(slow_server: int) -> None:
    with socket.create_connection(("127.0.0.1", slow_server)) as sock:
        sock.settimeout(5)
        for _ in range(3):
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
            time.sleep(0.8)  # idle between requests is keep-alive time (5 s), not header time
        # Slow headers sent in pieces, but complete within the timeout, are answered.
        sock.sendall(b"GET / HT")
        time.sleep(0.2)
        sock.sendall(b"TP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
