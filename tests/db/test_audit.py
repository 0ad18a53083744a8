"""One audit log (audit_log, migration 0003_privacy): every write in the request's own transaction, every
read of unmasked personal data (queued, flushed in the background), token create/revoke; the actor is the
token's id. Token revocation takes effect within the cache TTL; while PostgreSQL is down a known token
keeps working for lookups and its audit rows wait in memory."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from geo_grid.api.app import create_app
from geo_grid.api.runtime import runtime_of
from geo_grid.cli import app as cli
from geo_grid.embedded import EmbeddedCluster, free_port
from geo_grid.settings import Settings
from tests.support.api import bearer, create_tokens
from tests.support.report_helpers import interior_point
from tests.support.sql import query as _query

MICRO = "410105012004003005"


def _token_id(url: str, name: str) -> int:
    return int(_query(url, "SELECT id FROM api_tokens WHERE name = :n AND revoked_at IS NULL", n=name)[0].id)


def _entries(url: str, **where: Any) -> list[Any]:
    cond = " AND ".join(f"{k} = :{k}" for k in where) or "true"
    return _query(url, f"SELECT * FROM audit_log WHERE {cond} ORDER BY id", **where)


@pytest.fixture(scope="module")
def env(
    db_factory: Callable[[], str], make_client: Callable[..., Any]
) -> Iterator[tuple[TestClient, dict[str, str], str]]:
    url = db_factory()
    tokens = create_tokens(url)
    with make_client(url) as client:
        yield client, tokens, url


def _report(client: TestClient) -> int:
    lon, lat = interior_point(MICRO)
    r = client.post("/reports", json={"category": "noise", "channel": "hotline", "lon": lon, "lat": lat})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_writes_are_audited_with_the_token_id(env: tuple[TestClient, dict[str, str], str]) -> None:
    client, tokens, url = env
    rid = _report(client)
    intake = _entries(url, subject=f"report:{rid}", action="POST /reports")
    assert len(intake) == 1 and intake[0].actor == "public" and intake[0].actor_token_id is None
    r = client.post(
        f"/reports/{rid}/transitions", json={"to": "accepted"}, headers=bearer(tokens["dispatcher"])
    )
    assert r.status_code == 200
    rows = _entries(url, subject=f"report:{rid}", action="POST /reports/{report_id}/transitions")
    assert len(rows) == 1  # written in the request's transaction: there at once
    assert rows[0].actor_token_id == _token_id(url, "test-dispatcher") and rows[0].actor == "test-dispatcher"
    # A refused write leaves nothing (its transaction is rolled back with it).
    bad = client.post(
        f"/reports/{rid}/transitions", json={"to": "closed"}, headers=bearer(tokens["dispatcher"])
    )
    assert bad.status_code == 409
    assert len(_entries(url, subject=f"report:{rid}", action="POST /reports/{report_id}/transitions")) == 1
    # Facilities and boundary work are in the same log.
    planner = bearer(tokens["planner"])
    f = client.post(
        "/facilities",
        headers=planner,
        json={"kind": "charging_station", "name": "审计测试充电站",
              "geometry": {"type": "Point", "coordinates": list(interior_point(MICRO))}},
    )  # fmt: skip
    assert f.status_code == 201, f.text
    g = client.post("/generations", headers=planner, json={"note": "审计"})
    assert g.status_code in (200, 201), g.text
    pid = _token_id(url, "test-planner")
    actions = {r.action for r in _entries(url, actor_token_id=pid)}
    assert {"POST /facilities", "POST /generations"} <= actions


def test_personal_reads_are_audited_public_reads_are_not(env: tuple[TestClient, dict[str, str], str]) -> None:
    client, tokens, url = env
    rid = _report(client)
    queue = runtime_of(client.app).audit_queue
    queue.flush()
    before = len(_entries(url, action="read_personal"))
    assert client.get(f"/reports/{rid}").status_code == 200  # public: masked, not audited
    assert client.get(f"/reports/{rid}", headers=bearer(tokens["dispatcher"])).status_code == 200
    lon, lat = interior_point(MICRO)
    assert (
        client.get("/lookup", params={"lon": lon, "lat": lat}, headers=bearer(tokens["admin"])).status_code
        == 200
    )
    csv = client.get("/reports", params={"format": "csv", "limit": 3}, headers=bearer(tokens["dispatcher"]))
    assert csv.status_code == 200
    queue.flush()
    rows = _entries(url, action="read_personal")[before:]
    assert len(rows) == 3
    by_subject = {r.subject: r for r in rows}
    read = by_subject[f"report:{rid}"]
    assert read.actor_token_id == _token_id(url, "test-dispatcher") and read.detail["method"] == "GET"
    lookup = next(r for r in rows if r.detail["path"] == "/lookup")
    assert lookup.actor_token_id == _token_id(url, "test-admin") and f"lon={lon}"[:10] in lookup.subject
    export = next(r for r in rows if r.detail["path"] == "/reports")
    assert export.detail["format"] == "csv" and len(export.detail["ids"]) == 3


def test_token_create_and_revoke_are_audited_and_revocation_is_quick(
    db_url: str, make_client: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEO_GRID_DATABASE_URL", db_url)
    runner = CliRunner()
    made = runner.invoke(cli, ["token", "create", "--role", "dispatcher", "--name", "值班员甲"])
    assert made.exit_code == 0, made.output
    token = made.output.strip().splitlines()[-1]
    tid = _token_id(db_url, "值班员甲")
    ttl = 1.0
    with make_client(db_url, token_cache_ttl_s=ttl) as client:
        assert client.get("/reports", params={"limit": 1}, headers=bearer(token)).status_code == 200
        revoked = runner.invoke(cli, ["token", "revoke", str(tid)])  # another process's connection
        assert revoked.exit_code == 0, revoked.output
        time.sleep(ttl + 0.2)
        r = client.get("/reports", params={"limit": 1}, headers=bearer(token))
        assert r.status_code == 401 and r.json()["code"] == "not_authenticated"
    rows = _entries(db_url, subject=f"token:{tid}")
    assert [r.action for r in rows] == ["token_create", "token_revoke"]
    assert all(r.actor.startswith("cli:") for r in rows) and rows[0].detail["name"] == "值班员甲"


@pytest.fixture
def live(db_url: str) -> Iterator[tuple[str, Any]]:
    settings = Settings(database_url=db_url, db_pool_size=2, db_connect_timeout_s=1, token_cache_ttl_s=0.5)
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", app
    server.should_exit = True
    thread.join(10)


def test_known_token_keeps_working_for_lookups_while_the_database_is_down(
    live: tuple[str, Any], db_url: str, pg_cluster: EmbeddedCluster
) -> None:
    base, app = live
    token = create_tokens(db_url)["dispatcher"]
    lon, lat = interior_point(MICRO)
    with httpx.Client(base_url=base, timeout=10, headers=bearer(token)) as http:
        assert http.get("/lookup", params={"lon": lon, "lat": lat}).status_code == 200
        runtime_of(app).audit_queue.flush()
        try:
            pg_cluster.stop("fast")
            time.sleep(1.0)  # past the token cache TTL: the token must be re-validated, and cannot be
            for _ in range(5):
                r = http.get("/lookup", params={"lon": lon, "lat": lat})
                assert r.status_code == 200, r.text
                people = r.json()["people"]
                assert any(p["phone"] and "****" not in p["phone"] for p in people)  # still the dispatcher
            write = http.post("/reports/1/transitions", json={"to": "accepted"})
            assert write.status_code == 503  # writes need the database
            assert len(runtime_of(app).audit_queue) >= 5  # the reads' audit rows wait in memory
        finally:
            if not pg_cluster.running():
                pg_cluster.start()
        deadline = time.monotonic() + 20
        while True:
            try:
                runtime_of(app).audit_queue.flush()
                break
            except Exception:
                assert time.monotonic() < deadline, "the audit queue did not flush after the restart"
                time.sleep(0.3)
    tid = _token_id(db_url, "test-dispatcher")
    rows = _entries(db_url, actor_token_id=tid, action="read_personal")
    assert len(rows) >= 6 and all(r.detail["path"] == "/lookup" for r in rows)


def test_the_background_writer_stores_the_same_rows_as_an_insert(
    env: tuple[TestClient, dict[str, str], str],
) -> None:
    """The audit queue's writer (`add_many_json`: one JSON document) stores what `add_many` (the ORM's
    INSERT) stores, in the same order, for awkward values: tabs, newlines, backslashes, `\\N`, quotes,
    Chinese, nulls, int keys; a row without a time gets the database's."""
    from geo_grid import clock, db
    from geo_grid.repository import audit as audit_repo

    _, _, url = env
    tid = _token_id(url, "test-dispatcher")
    at = clock.now()
    rows: list[dict[str, Any]] = [
        {"at": at, "actor": "a\tb\\N", "actor_token_id": tid, "action": "writer_test", "subject": "x\ny\r\\z",
         "detail": {"query": 'lon=1&q="引号"\t\\', "ids": [1, 2], "none": None,
                    "nested": {"k": "\\N", 7: "int key"}}},
        {"at": at, "actor": "街道", "action": "writer_test", "subject": None, "grid_code": MICRO, "detail": {}},
        {"actor": "cli:root", "action": "writer_test", "subject": "", "detail": {"count": 3}},  # no time: DB's
    ]  # fmt: skip
    engine = db.make_engine(url, pool_size=1)
    factory = db.make_session_factory(engine)
    try:
        for write in (audit_repo.add_many, audit_repo.add_many_json):
            with db.transaction(factory) as session:
                write(session, [{**r, "action": f"writer_test_{write.__name__}"} for r in rows])
    finally:
        engine.dispose()
    cols = ("actor", "actor_token_id", "actor_user_id", "subject", "generation_id", "grid_code", "detail")

    def written(action: str) -> list[tuple[Any, ...]]:
        got = _entries(url, action=action)
        assert len(got) == 3
        return [(r.at == at,) + tuple(getattr(r, c) for c in cols) for r in got]  # in id order

    inserted = written("writer_test_add_many")
    assert written("writer_test_add_many_json") == inserted
    assert sum(r[0] for r in inserted) == 2  # the given times kept
    assert {r[1] for r in inserted} == {"a\tb\\N", "街道", "cli:root"}


def test_a_lookup_is_audited_only_when_it_showed_people_unmasked(
    db_factory: Callable[[], str], make_client: Callable[..., Any], tmp_path: Any
) -> None:
    """A dispatcher of the sample: its lookup in its own subdistrict (phones unmasked) writes one entry;
    at a neighbour's point (masked) or outside every grid (no people), none — by the fast path and by
    the route alike (`via=route`: a parameter the fast path leaves to the route)."""
    from tests.support import district
    from tests.support.accounts import create_token

    url = db_factory()
    admin = create_token(url, "admin", "audit-setup", subdistrict=None)
    with make_client(url) as client:
        built = district.add_second_subdistrict(client, admin, url, tmp_path)
        own = create_token(url, "dispatcher", "own-dispatcher", subdistrict="410105012")
        tid = _token_id(url, "own-dispatcher")
        queue = runtime_of(client.app).audit_queue
        neighbour = next(iter(built.micro.values())).representative_point()
        points = {
            "own": interior_point(MICRO),
            "neighbour": (neighbour.x, neighbour.y),
            "outside": (113.5, 34.6),
        }
        for where, (lon, lat) in points.items():
            for extra in ({}, {"via": "route"}):
                queue.flush()
                before = len(_entries(url, actor_token_id=tid))
                params = {"lon": lon, "lat": lat, **extra}
                r = client.get("/lookup", params=params, headers=bearer(own))
                assert r.status_code == 200, r.text
                body = r.json()
                unmasked = [p for p in body["people"] if p["phone"] and "****" not in p["phone"]]
                queue.flush()
                rows = _entries(url, actor_token_id=tid)[before:]
                if where == "own":
                    assert unmasked and [row.action for row in rows] == ["read_personal"], extra
                    query = r.request.url.query.decode()
                    assert rows[0].subject == f"/lookup?{query}"
                    assert rows[0].detail == {"method": "GET", "path": "/lookup", "query": query}
                else:
                    assert not unmasked and rows == [], (where, extra)
        assert body["outside"] and body["people"] == []
