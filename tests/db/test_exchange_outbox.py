"""The outbox's delivery rules, one pass at a time (`exchange.deliver_once`, what `geo-grid outbox
deliver` runs) against a real HTTP receiver: a non-2xx answer is retried with exponential backoff, a
later message of a report never overtakes an earlier undelivered one, after N attempts a message fails
for good (visible to an admin: API and CLI) and can be re-delivered."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from typer.testing import CliRunner

from geo_grid import db
from geo_grid.cli import app
from geo_grid.embedded import free_port
from geo_grid.services import exchange
from geo_grid.settings import Settings
from tests.support.api import bearer, create_tokens
from tests.support.report_helpers import interior_point
from tests.support.webhook import Receiver

MICRO = "410105012004003005"


def test_backoff_doubles_up_to_the_cap_then_gives_up() -> None:
    s = Settings(outbox_backoff_s=5, outbox_backoff_max_s=60, outbox_max_attempts=6)
    delays = [exchange.backoff(s, n) for n in range(1, 7)]
    assert delays[:5] == [timedelta(seconds=x) for x in (5, 10, 20, 40, 60)]
    assert delays[5] is None


def test_signature_is_hmac_sha256_of_timestamp_and_body() -> None:
    import hashlib
    import hmac

    sig = exchange.sign("k", "1700000000", b'{"a":1}')
    assert sig == "sha256=" + hmac.new(b"k", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert exchange.verify("k", "1700000000", b'{"a":1}', sig)
    assert not exchange.verify("k", "1700000001", b'{"a":1}', sig)


def _run(url: str, *args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"GEO_GRID_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    return result.output


def test_failures_retry_in_order_fail_for_good_and_redeliver(
    db_factory: Callable[[], str], make_client: Callable[..., Any]
) -> None:
    url = db_factory()
    tokens = create_tokens(url)
    receiver = Receiver(free_port(), status=500)
    receiver.start()
    out = _run(url, "exchange", "source", "add", "district", "--webhook", receiver.url)
    api_key = next(line.split("\t")[1] for line in out.splitlines() if line.startswith("api_key\t"))
    settings = Settings(
        database_url=url, outbox_backoff_s=0.01, outbox_backoff_max_s=0.01, outbox_max_attempts=3
    )
    engine = db.make_engine(url, pool_size=2)
    factory = db.make_session_factory(engine)
    try:
        with make_client(url, outbox_poll_s=0) as client:
            lon, lat = interior_point(MICRO)
            body = {"category": "noise", "channel": "hotline", "lon": lon, "lat": lat, "source": "district",
                    "external_id": "Q-1"}  # fmt: skip
            rid = client.post("/reports", json=body, headers={"X-Api-Key": api_key}).json()["id"]
            for step in ("accepted", "registered"):
                r = client.post(
                    f"/reports/{rid}/transitions", json={"to": step}, headers=bearer(tokens["dispatcher"])
                )
                assert r.status_code == 200
            first = exchange.deliver_once(factory, settings)
            # Only the report's first message is tried; the second waits behind it.
            assert (first.delivered, first.retried, first.failed_for_good) == (0, 1, 0)
            assert [m.body["to_status"] for m in receiver.snapshot()] == ["accepted"]
            with engine.begin() as conn:
                conn.execute(text("UPDATE outbox SET next_attempt_at = geo_grid_now() - interval '1 s'"))
            for _ in range(5):
                exchange.deliver_once(factory, settings)
                with engine.begin() as conn:
                    conn.execute(text("UPDATE outbox SET next_attempt_at = geo_grid_now() - interval '1 s'"))
            assert [m.body["to_status"] for m in receiver.snapshot()] == [
                "accepted"
            ] * 3  # 3 attempts, then no more
            admin = bearer(tokens["admin"])
            failed = client.get("/exchange/outbox", params={"state": "failed"}, headers=admin).json()
            assert failed["total"] == 1 and failed["items"][0]["attempts"] == 3
            assert failed["items"][0]["last_error"].startswith("HTTP 500")
            assert failed["counts"] == {"pending": 1, "delivered": 0, "failed": 1}
            assert "report:" in _run(url, "outbox", "list", "--state", "failed")
            # The receiver is fixed; an admin re-delivers; both messages go, in order.
            receiver.status = 200
            r = client.post("/exchange/outbox/redeliver", json={"source": "district"}, headers=admin)
            assert r.json() == {"redelivered": 1}
            assert '"delivered": 2' in _run(url, "outbox", "deliver")
            assert [m.body["to_status"] for m in receiver.snapshot()] == ["accepted"] * 4 + ["registered"]
            assert (
                client.get("/exchange/outbox", params={"state": "pending"}, headers=admin).json()["total"]
                == 0
            )
            assert '"delivered": 0' in _run(url, "outbox", "deliver")  # nothing is sent twice
    finally:
        engine.dispose()
        receiver.stop()
