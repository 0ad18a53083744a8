"""The 12345 exchange, intake side: orders pushed by another system are idempotent on (source,
external_id) — through POST /reports and `geo-grid import reports --source` — an update applies to the
same report, a 退单 rejects it through the workflow; every status change of such a report is enqueued in
the outbox by the trigger of migration 0005, in the same transaction (and only for sourced reports)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from geo_grid.cli import app
from tests.support.api import bearer, create_tokens
from tests.support.report_helpers import interior_point

MICRO = "410105012004003005"


def _sql(url: str, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            return list(conn.execute(text(sql), params))
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def env(db_factory: Callable[[], str], make_client: Callable[..., Any]) -> Iterator[dict[str, Any]]:
    url = db_factory()
    tokens = create_tokens(url)
    with make_client(url, outbox_poll_s=0) as client:
        r = client.post("/exchange/sources", json={"name": "12345", "webhook_url": "http://127.0.0.1:9/hook"},
                        headers=bearer(tokens["admin"]))  # fmt: skip
        assert r.status_code == 201, r.text
        yield {"client": client, "tokens": tokens, "url": url, "source": r.json()}


def _order(external_id: str, description: str = "小区门口占道经营", **extra: Any) -> dict[str, Any]:
    lon, lat = interior_point(MICRO)
    return {"category": "road_occupation", "channel": "hotline", "lon": lon, "lat": lat,
            "description": description, "source": "12345", "external_id": external_id, **extra}  # fmt: skip


def test_source_is_configured_once_and_its_secrets_are_shown_once(env: dict[str, Any]) -> None:
    client, tokens = env["client"], env["tokens"]
    assert env["source"]["secret"].startswith("whsec_") and env["source"]["api_key"].startswith("o311_")
    listed = client.get("/exchange/sources", headers=bearer(tokens["admin"])).json()
    assert [s["name"] for s in listed] == ["12345"] and "secret" not in listed[0]
    again = client.post("/exchange/sources", json={"name": "12345"}, headers=bearer(tokens["admin"]))
    assert again.status_code == 409
    assert client.get("/exchange/sources", headers=bearer(tokens["dispatcher"])).status_code == 403
    assert client.get("/exchange/outbox").status_code == 401


def test_same_order_twice_is_one_report_and_an_update_applies(env: dict[str, Any]) -> None:
    client, key = env["client"], {"X-Api-Key": env["source"]["api_key"]}
    first = client.post("/reports", json=_order("GD-0001"), headers=key)
    assert first.status_code == 201, first.text
    assert first.json()["intake"] == "created" and first.json()["tracking_code"]
    again = client.post("/reports", json=_order("GD-0001"), headers=key)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"] and again.json()["intake"] == "unchanged"
    assert "tracking_code" not in again.json()
    changed = client.post("/reports", json=_order("GD-0001", "小区门口占道经营，已持续三天"), headers=key)
    assert changed.status_code == 200 and changed.json()["intake"] == "updated"
    assert changed.json()["description"] == "小区门口占道经营，已持续三天"
    assert [e["kind"] for e in changed.json()["history"]][-1] == "order_update"
    photo = ["https://img.example.cn/gd-0001.jpg"]
    with_photo = client.post(
        "/reports", json=_order("GD-0001", "小区门口占道经营，已持续三天", photo_urls=photo), headers=key
    )
    assert with_photo.json()["intake"] == "updated" and with_photo.json()["photo_urls"] == photo
    rows = _sql(env["url"], "SELECT count(*) FROM reports WHERE source = '12345' AND external_id = 'GD-0001'")
    assert rows[0][0] == 1


def test_an_order_needs_the_sources_key_or_a_dispatcher(env: dict[str, Any]) -> None:
    client, tokens = env["client"], env["tokens"]
    assert client.post("/reports", json=_order("GD-0002")).status_code == 401
    assert (
        client.post("/reports", json=_order("GD-0002"), headers={"X-Api-Key": "o311_wrong"}).status_code
        == 403
    )
    assert client.post("/reports", json=_order("GD-0002", source="nobody")).status_code == 422
    half = {k: v for k, v in _order("GD-0002").items() if k != "source"}
    assert client.post("/reports", json=half).status_code == 422
    r = client.post("/reports", json=_order("GD-0002"), headers=bearer(tokens["dispatcher"]))
    assert r.status_code == 201, r.text
    # The same external_id from another source (or without one) is another order.
    plain = {k: v for k, v in _order("GD-0002").items() if k not in ("source", "external_id")}
    assert client.post("/reports", json=plain).status_code == 201


def test_cancel_by_the_hotline_rejects_through_the_workflow(env: dict[str, Any]) -> None:
    client, key = env["client"], {"X-Api-Key": env["source"]["api_key"]}
    rid = client.post("/reports", json=_order("GD-0003"), headers=key).json()["id"]
    r = client.post(
        "/reports", json=_order("GD-0003", cancel=True, cancel_reason="市民已自行解决"), headers=key
    )
    assert r.status_code == 200, r.text
    assert r.json()["id"] == rid and r.json()["intake"] == "cancelled" and r.json()["status"] == "rejected"
    last = r.json()["history"][-1]
    assert (
        last["kind"] == "transition" and last["to_status"] == "rejected" and "市民已自行解决" in last["note"]
    )
    again = client.post("/reports", json=_order("GD-0003", cancel=True), headers=key)
    assert again.status_code == 200 and again.json()["intake"] == "unchanged"
    unknown = client.post("/reports", json=_order("GD-9999", cancel=True), headers=key)
    assert unknown.status_code == 404
    # An order already being handled cannot be cancelled from outside: 409 with the allowed next states.
    rid = client.post("/reports", json=_order("GD-0004"), headers=key).json()["id"]
    disp = bearer(env["tokens"]["dispatcher"])
    for step in ("accepted", "registered", "dispatched"):
        assert client.post(f"/reports/{rid}/transitions", json={"to": step}, headers=disp).status_code == 200
    refused = client.post("/reports", json=_order("GD-0004", cancel=True), headers=key)
    assert refused.status_code == 409 and refused.json()["code"] == "invalid_transition"


def test_every_status_change_of_a_sourced_report_is_enqueued_in_its_transaction(env: dict[str, Any]) -> None:
    client, key, url = env["client"], {"X-Api-Key": env["source"]["api_key"]}, env["url"]
    disp = bearer(env["tokens"]["dispatcher"])
    rid = client.post("/reports", json=_order("GD-0005"), headers=key).json()["id"]
    plain = {k: v for k, v in _order("x").items() if k not in ("source", "external_id")}
    other = client.post("/reports", json=plain).json()["id"]
    for step in ("accepted", "registered"):
        for report_id in (rid, other):
            assert (
                client.post(f"/reports/{report_id}/transitions", json={"to": step}, headers=disp).status_code
                == 200
            )
    # A refused transition writes nothing, so it enqueues nothing.
    assert client.post(f"/reports/{rid}/transitions", json={"to": "closed"}, headers=disp).status_code == 409
    rows = _sql(
        url, "SELECT report_id, payload FROM outbox WHERE report_id IN (:a, :b) ORDER BY id", a=rid, b=other
    )
    assert [(r[0], r[1]["from_status"], r[1]["to_status"]) for r in rows] == [
        (rid, "reported", "accepted"),
        (rid, "accepted", "registered"),
    ]
    assert rows[0][1]["external_id"] == "GD-0005" and rows[0][1]["source"] == "12345"
    listed = client.get("/exchange/outbox", params={"report_id": rid, "state": "pending"},
                        headers=bearer(env["tokens"]["admin"])).json()  # fmt: skip
    assert listed["total"] == 2 and {m["state"] for m in listed["items"]} == {"pending"}
    # Any code path that writes an event enqueues (the trigger), e.g. a future red light; a rolled-back
    # transaction leaves nothing behind.
    engine = create_engine(url)
    with engine.connect() as conn:
        tx = conn.begin()
        conn.execute(
            text("INSERT INTO report_events (report_id, kind, actor) VALUES (:r, 'red_light', 't')"),
            {"r": rid},
        )
        assert (
            conn.execute(text("SELECT count(*) FROM outbox WHERE report_id = :r"), {"r": rid}).scalar() == 3
        )
        tx.rollback()
        assert (
            conn.execute(text("SELECT count(*) FROM outbox WHERE report_id = :r"), {"r": rid}).scalar() == 2
        )
    engine.dispose()


def test_import_with_source_is_idempotent(env: dict[str, Any], tmp_path: Path) -> None:
    url = env["url"]
    lon, lat = interior_point(MICRO)
    path = tmp_path / "orders.csv"

    def write(description: str) -> None:
        with path.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["report_id", "category", "description", "channel", "created_at", "lon", "lat"])
            w.writerow(["IM-1", "littering", description, "hotline", "2026-11-01T09:00:00+08:00", lon, lat])
            w.writerow(["IM-2", "noise", "夜间施工", "hotline", "2026-11-01T10:00:00+08:00", lon, lat])

    def run() -> str:
        result = CliRunner().invoke(app, ["import", "reports", str(path), "--source", "12345"],
                                    env={"GEO_GRID_DATABASE_URL": url})  # fmt: skip
        assert result.exit_code == 0, result.output
        return result.output

    write("垃圾堆放")
    assert '"imported": 2' in run()
    out = run()
    assert '"imported": 0' in out and '"already_imported": 2' in out and '"updated": 0' in out
    write("垃圾堆放，无人清理")
    assert '"updated": 1' in run()
    rows = _sql(
        url,
        "SELECT external_id, description FROM reports WHERE source = '12345' AND external_id LIKE 'IM-%' ORDER BY 1",
    )
    assert [tuple(r) for r in rows] == [("IM-1", "垃圾堆放，无人清理"), ("IM-2", "夜间施工")]
    # The same file through the API's intake is the same orders too.
    again = env["client"].post("/reports", json={**_order("IM-2"), "description": "夜间施工"},
                               headers={"X-Api-Key": env["source"]["api_key"]})  # fmt: skip
    assert again.status_code == 200 and again.json()["intake"] == "unchanged"
