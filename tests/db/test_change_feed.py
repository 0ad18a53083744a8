"""The change feed (migration 0008, api/runtime.follow_changes): changes made by another process reach a
running service through PostgreSQL LISTEN/NOTIFY, with the poll switched off and the token cache's
lifetime at its maximum, so nothing but a notification can explain the service noticing."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from geo_grid import db
from geo_grid.api.runtime import runtime_of
from geo_grid.cli import app
from geo_grid.services import generations as generation_service
from geo_grid.settings import Settings
from tests.support.api import bearer, create_tokens

runner = CliRunner()
FEED_ONLY = {"generation_poll_s": 0, "token_cache_ttl_s": 60}
FEED = "application_name = 'geo_grid change feed' AND state IS NOT NULL"
DEADLINE_S = 15.0  # a generous bound for a loaded CI machine; the figure printed is what it took


def _until(check: Callable[[], bool], what: str) -> float:
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < DEADLINE_S, f"{what}: not noticed within {DEADLINE_S} s"
        time.sleep(0.02)
    took = time.monotonic() - start
    print(f"{what}: noticed after {took * 1000:.0f} ms")
    return took


def _feed_listening(client: Any) -> None:
    """Wait until the app's change feed has its LISTEN in place (it starts with the lifespan)."""
    url = str(runtime_of(client.app).settings.database_url)
    engine = db.make_engine(url, pool_size=1)
    sql = text(f"SELECT count(*) FROM pg_stat_activity WHERE {FEED}")

    def listening() -> bool:
        with engine.connect() as conn:  # a new transaction each time: pg_stat_activity is a snapshot
            return bool(conn.execute(sql).scalar())

    try:
        _until(listening, "change feed listening")
    finally:
        engine.dispose()


def test_a_revoked_token_is_refused_at_once_by_a_service_that_cached_it(
    db_url: str, make_client: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    token = create_tokens(db_url)["dispatcher"]
    with make_client(db_url, **FEED_ONLY) as client:
        _feed_listening(client)
        assert client.get("/reports", headers=bearer(token)).status_code == 200  # now cached for 60 s
        monkeypatch.setenv("GEO_GRID_DATABASE_URL", db_url)
        listed = runner.invoke(app, ["token", "list"]).output
        token_id = next(line.split()[0] for line in listed.splitlines() if "test-dispatcher" in line)
        assert runner.invoke(app, ["token", "revoke", token_id]).exit_code == 0
        _until(lambda: client.get("/reports", headers=bearer(token)).status_code == 401, "token revoked")


def test_an_activation_elsewhere_swaps_the_snapshot_without_a_poll(
    db_url: str, make_client: Callable[..., Any]
) -> None:
    with make_client(db_url, **FEED_ONLY) as client:
        _feed_listening(client)
        assert client.get("/health").json()["active_generation"] == 1
        engine = db.make_engine(db_url, pool_size=1)
        factory = db.make_session_factory(engine)
        with db.transaction(factory) as session:  # what `geo-grid generations open` does
            draft = generation_service.open_draft(session, "feed-test").id
        with db.transaction(factory) as session:  # what `geo-grid generations activate N --commit` does
            generation_service.activate(session, draft, "feed-test", Settings().near_boundary_m)
        engine.dispose()
        _until(lambda: client.get("/health").json()["active_generation"] == draft, "activation")


def test_an_address_import_elsewhere_rebuilds_the_book_without_a_poll(
    db_url: str, make_client: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    header = "address_id,address,road,number,courtyard,building,unit,lon,lat\n"
    row = "T00001,经三路999号试点小区1号楼1单元,经三路,999号,试点小区,1号楼,1单元,113.6862721,34.7679479\n"
    path = tmp_path / "a.csv"
    path.write_text(header + row, encoding="utf-8")
    with make_client(db_url, **FEED_ONLY) as client:
        _feed_listening(client)
        query = {"q": "经三路999号试点小区1号楼1单元"}
        assert "T00001" not in client.get("/lookup/address", params=query).text
        monkeypatch.setenv("GEO_GRID_DATABASE_URL", db_url)
        result = runner.invoke(app, ["import", "addresses", str(path)])
        assert result.exit_code == 0, result.output
        _until(lambda: "T00001" in client.get("/lookup/address", params=query).text, "address import")


def test_the_feed_listens_again_after_its_connection_is_cut(
    db_url: str, make_client: Callable[..., Any]
) -> None:
    token = create_tokens(db_url)["dispatcher"]
    with make_client(db_url, **FEED_ONLY) as client:
        _feed_listening(client)
        engine = db.make_engine(db_url, pool_size=1)
        with engine.begin() as conn:  # what a database restart does to the feed's connection
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {FEED}"))
        _feed_listening(client)
        assert client.get("/reports", headers=bearer(token)).status_code == 200
        with engine.begin() as conn:
            conn.execute(text("UPDATE api_tokens SET revoked_at = geo_grid_now()"))
        engine.dispose()
        _until(
            lambda: client.get("/reports", headers=bearer(token)).status_code == 401,
            "revoked after re-listen",
        )
