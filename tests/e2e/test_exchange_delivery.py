"""The 12345 exchange end to end: `geo-grid up` delivers every status change of an order to the source's
real HTTP webhook, signed; the receiver is down for a while and geo_grid is restarted in between, yet
every message arrives exactly once (the receiver does NOT deduplicate: it counts every POST it gets) and
in order per report."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from geo_grid import db
from geo_grid.embedded import free_port
from geo_grid.services import exchange
from tests.support.api import bearer, create_tokens
from tests.support.report_helpers import interior_point
from tests.support.webhook import Receiver

MICROS = ("410105012004003005", "410105012001001001", "410105012002001001")
STEPS = ("accepted", "registered", "dispatched", "in_progress", "feedback", "verified", "closed")


def _start(url: str, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEO_GRID_")}
    env.update(
        GEO_GRID_DATABASE_URL=url,
        GEO_GRID_OUTBOX_POLL_S="0.2",
        GEO_GRID_OUTBOX_BACKOFF_S="0.2",
        GEO_GRID_OUTBOX_BACKOFF_MAX_S="1",
        GEO_GRID_OUTBOX_MAX_ATTEMPTS="10000",
        GEO_GRID_RATE_ANONYMOUS_WRITES_PER_MIN="0",
    )
    geo_grid = Path(sys.executable).parent / "geo-grid"
    proc = subprocess.Popen([str(geo_grid), "up", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    out = proc.stdout.read() if proc.poll() is not None and proc.stdout else ""
    proc.kill()
    raise AssertionError(f"geo-grid up never became healthy: {out}")


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out


def _outbox(url: str) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            sql = "SELECT id, report_id, delivered_at, attempts, payload FROM outbox ORDER BY id"
            return list(conn.execute(text(sql)))
    finally:
        engine.dispose()


def _wait(what: Callable[[], bool], seconds: float, why: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if what():
            return
        time.sleep(0.2)
    raise AssertionError(why)


@pytest.mark.slow
def test_every_message_arrives_once_in_order_through_receiver_downtime_and_a_restart(
    db_factory: Callable[[], str],
) -> None:
    url = db_factory()
    tokens = create_tokens(url)
    receiver = Receiver(free_port())
    engine = db.make_engine(url, pool_size=1)
    with db.transaction(db.make_session_factory(engine)) as session:
        source = exchange.add_source(session, "12345", receiver.url, "test")
    engine.dispose()
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    disp = bearer(tokens["dispatcher"])
    receiver.start()
    proc = _start(url, port)
    try:
        ids = []
        for n, micro in enumerate(MICROS):
            lon, lat = interior_point(micro)
            body = {"category": "littering", "channel": "hotline", "lon": lon, "lat": lat,
                    "description": f"工单 {n}", "source": "12345", "external_id": f"E2E-{n}"}  # fmt: skip
            r = httpx.post(f"{api}/reports", json=body, headers={"X-Api-Key": source.api_key}, timeout=10)
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])

        def advance(steps: tuple[str, ...]) -> None:
            for step in steps:
                for rid in ids:
                    r = httpx.post(
                        f"{api}/reports/{rid}/transitions", json={"to": step}, headers=disp, timeout=10
                    )
                    assert r.status_code == 200, r.text

        # Phase 1: the receiver is up, messages flow.
        advance(STEPS[:2])
        _wait(lambda: len(receiver.snapshot()) >= 2 * len(ids), 30, "the first messages never arrived")
        # Phase 2: the receiver goes down; changes keep being made and retried.
        receiver.stop()
        advance(STEPS[2:4])
        _wait(
            lambda: any(r.attempts >= 2 and r.delivered_at is None for r in _outbox(url)),
            30,
            "no retries seen",
        )
        # Phase 3: geo_grid restarts while the receiver is still down; more changes after the restart.
        _stop(proc)
        proc = _start(url, port)
        advance(STEPS[4:])
        time.sleep(1.5)
        assert all(r.delivered_at is None for r in _outbox(url) if r.payload["to_status"] in STEPS[2:])
        # Phase 4: the receiver comes back; everything is delivered.
        receiver.start()
        _wait(
            lambda: all(r.delivered_at is not None for r in _outbox(url)), 60, "not everything was delivered"
        )
        time.sleep(1.0)  # give a (wrong) duplicate the chance to show up
    finally:
        if proc.poll() is None:
            _stop(proc)
        receiver.stop()

    rows = _outbox(url)
    assert len(rows) == len(ids) * len(STEPS)
    got = receiver.snapshot()
    message_ids = [m.body["message_id"] for m in got]
    assert sorted(message_ids) == [r.id for r in rows]  # every message exactly once: no loss, no duplicate
    by_report: dict[int, list[str]] = defaultdict(list)
    for m in got:
        timestamp = m.headers["X-GeoGrid-Timestamp"]
        assert exchange.verify(source.secret, timestamp, m.raw, m.headers["X-GeoGrid-Signature"])
        assert m.headers["X-GeoGrid-Message-Id"] == str(m.body["message_id"])
        assert m.body["source"] == "12345" and m.body["external_id"].startswith("E2E-")
        by_report[m.body["report_id"]].append(m.body["to_status"])
    assert {rid: by_report[rid] for rid in ids} == {rid: list(STEPS) for rid in ids}  # in order per report
    assert max(r.attempts for r in rows) >= 2  # some really were retried
