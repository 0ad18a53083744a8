"""The 吹哨报到 loop end to end against the real PostGIS: intake → … → closed → rating, plus a rejected
transition, a duplicate, a moved pin, a volunteer claim (4 点钟课堂) and an overdue case."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from geo_grid import reporting
from tests.support.api import bearer, create_tokens
from tests.support.deadlines import Deadlines
from tests.support.report_helpers import edge_distance_m, interior_point, near_edge_point, volunteers

MICRO = "410105012004003005"  # 民航路社区第3网格第5微网格
OTHER_MICRO = "410105012001001001"


@pytest.fixture(scope="module")
def env(
    db_factory: Callable[[], str], make_client: Callable[..., Any]
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    url = db_factory()
    tokens = create_tokens(url)
    with make_client(url) as client:
        yield client, tokens


def _report(client: TestClient, **overrides: Any) -> dict[str, Any]:
    lon, lat = interior_point(MICRO)
    body = {"category": "road_occupation", "channel": "public_account", "description": "商户占道经营",
            "lon": lon, "lat": lat, "reporter_contact": "13812345678"} | overrides  # fmt: skip
    r = client.post("/reports", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _go(client: TestClient, token: str, rid: int, to: str, **extra: Any) -> dict[str, Any]:
    r = client.post(
        f"/reports/{rid}/transitions", json={"to": to, "note": f"→ {to}", **extra}, headers=bearer(token)
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_whole_loop(env: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = env
    disp = tokens["dispatcher"]
    rep = _report(client)
    rid = rep["id"]
    assert (rep["status"], rep["status_label"]) == ("reported", "上报")
    assert (
        rep["micro_code"] == MICRO
        and rep["tertiary_code"] == MICRO[:15]
        and rep["community_code"] == MICRO[:12]
    )
    assert not rep["outside"] and not rep["near_boundary"]
    assert "reporter_contact" not in rep  # the public never sees it, not even its own
    roles = {p["role"] for p in rep["people"]}
    assert {"micro_grid_leader", "grid_leader"} <= roles
    assert all("****" in p["phone"] for p in rep["people"] if p["phone"])
    assert rep["allowed_next"] == ["accepted", "rejected", "duplicate"]

    # A step the table does not allow: 409 with the allowed next states.
    bad = client.post(f"/reports/{rid}/transitions", json={"to": "closed"}, headers=bearer(disp))
    assert bad.status_code == 409
    assert bad.json()["code"] == "invalid_transition"
    assert bad.json()["detail"]["allowed"] == ["accepted", "rejected", "duplicate"]

    _go(client, disp, rid, "accepted")
    _go(client, disp, rid, "registered")
    r = client.post(f"/reports/{rid}/dispatch", json={"kind": "department"}, headers=bearer(disp))
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["dispatch_kind"]) == ("dispatched", "department")
    assert r.json()["dispatch_target"] == "城市管理"  # the categories table's department of road_occupation
    _go(client, disp, rid, "in_progress")
    _go(client, disp, rid, "feedback")
    _go(client, disp, rid, "in_progress", note="核查未通过")  # verification failed: back to work
    _go(client, disp, rid, "feedback")
    _go(client, disp, rid, "verified")
    done = _go(client, disp, rid, "closed", solved=True)
    assert done["status"] == "closed" and done["solved"] is True and done["closed_at"]
    assert done["reporter_contact"] == "13812345678"  # a dispatcher sees it

    # A rating (the reporter, with the tracking code given at intake; once, after closing).
    code = {"X-Tracking-Code": rep["tracking_code"]}
    r = client.post(f"/reports/{rid}/rating", json={"rating": 5, "comment": "处理及时"}, headers=code)
    assert r.status_code == 200 and r.json()["rating"] == 5
    assert client.post(f"/reports/{rid}/rating", json={"rating": 4}, headers=code).status_code == 409
    assert client.post(f"/reports/{rid}/rating", json={"rating": 6}, headers=code).status_code == 422

    history = client.get(f"/reports/{rid}").json()["history"]
    steps = [(e["from_status"], e["to_status"]) for e in history if e["kind"] == "transition"]
    assert steps == [
        ("reported", "accepted"), ("accepted", "registered"), ("registered", "dispatched"),
        ("dispatched", "in_progress"), ("in_progress", "feedback"), ("feedback", "in_progress"),
        ("in_progress", "feedback"), ("feedback", "verified"), ("verified", "closed"),
    ]  # fmt: skip
    assert all(e["actor"] == "test-dispatcher" for e in history if e["kind"] == "transition")
    assert history[0]["kind"] == "reported" and history[-1]["kind"] == "rating"
    assert history[1]["note"] == "→ accepted"


def test_rejected_report_is_final(env: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = env
    rid = _report(
        client, category="noise", lon=interior_point(OTHER_MICRO)[0], lat=interior_point(OTHER_MICRO)[1]
    )["id"]
    out = _go(client, tokens["dispatcher"], rid, "rejected", note="不属于受理范围")
    assert out["status"] == "rejected" and out["allowed_next"] == []
    again = client.post(
        f"/reports/{rid}/transitions", json={"to": "accepted"}, headers=bearer(tokens["dispatcher"])
    )
    assert again.status_code == 409 and again.json()["detail"]["allowed"] == []


def test_duplicate_suggested_then_confirmed_or_dismissed(env: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = env
    lon, lat = interior_point(MICRO)
    first = _report(client, category="littering", lon=lon, lat=lat)
    second = _report(client, category="littering", lon=lon + 0.0002, lat=lat)  # ≈ 18 m east
    assert second["possible_duplicate_of"] == first["id"]
    other_category = _report(client, category="noise", lon=lon, lat=lat)
    assert other_category["possible_duplicate_of"] is None
    far = _report(client, category="littering", lon=lon + 0.001, lat=lat)  # ≈ 90 m: not a duplicate
    assert far["possible_duplicate_of"] is None

    # Only a dispatcher decides.
    assert client.post(f"/reports/{second['id']}/duplicate", json={"action": "confirm"}).status_code == 401
    r = client.post(f"/reports/{second['id']}/duplicate", json={"action": "confirm", "note": "同一处垃圾"},
                    headers=bearer(tokens["dispatcher"]))  # fmt: skip
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["duplicate_of"]) == ("duplicate", first["id"])

    third = _report(client, category="littering", lon=lon, lat=lat + 0.0001)
    assert third["possible_duplicate_of"] == first["id"]
    r = client.post(
        f"/reports/{third['id']}/duplicate", json={"action": "dismiss"}, headers=bearer(tokens["dispatcher"])
    )
    assert (
        r.status_code == 200
        and r.json()["possible_duplicate_of"] is None
        and r.json()["status"] == "reported"
    )
    assert any(e["kind"] == "duplicate_dismissed" for e in r.json()["history"])


def test_moved_pin_reassigns_grid_and_people(env: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = env
    rep = _report(client, category="facility_repair")
    lon, lat = interior_point(OTHER_MICRO)
    assert client.post(f"/reports/{rep['id']}/move", json={"lon": lon, "lat": lat}).status_code == 401
    r = client.post(f"/reports/{rep['id']}/move", json={"lon": lon, "lat": lat, "note": "定位纠偏"},
                    headers=bearer(tokens["dispatcher"]))  # fmt: skip
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["micro_code"] == OTHER_MICRO and moved["community_code"] == OTHER_MICRO[:12]
    leaders = [p for p in moved["people"] if p["role"] == "micro_grid_leader"]
    old_leaders = [p for p in rep["people"] if p["role"] == "micro_grid_leader"]
    assert leaders and leaders[0]["person_id"] != old_leaders[0]["person_id"]
    event = [e for e in moved["history"] if e["kind"] == "move"][0]
    assert event["data"]["from"]["micro_code"] == MICRO and event["data"]["to"]["micro_code"] == OTHER_MICRO
    assert event["note"] == "定位纠偏" and event["actor"] == "test-dispatcher"


def test_volunteer_claims_childcare_task(env: tuple[TestClient, dict[str, str]]) -> None:
    """The seed's 4 点钟课堂 case: a childcare need, dispatched as an open task, claimed by a volunteer."""
    client, tokens = env
    disp = bearer(tokens["dispatcher"])
    rep = _report(client, category="childcare", description="双职工家庭放学后无人看护，希望开设4点钟课堂")
    rid = rep["id"]
    _go(client, tokens["dispatcher"], rid, "accepted")
    _go(client, tokens["dispatcher"], rid, "registered")
    r = client.post(f"/reports/{rid}/dispatch", json={"kind": "volunteer"}, headers=disp)
    assert r.status_code == 200 and r.json()["dispatch_target"] == MICRO[:12]
    open_tasks = client.get("/reports", params={"claimable": True, "grid": MICRO[:12]}).json()
    assert rid in [t["id"] for t in open_tasks["items"]]

    other_community = volunteers()["410105012001"][0]
    wrong = client.post(f"/reports/{rid}/claim", json={"person_id": other_community}, headers=disp)
    assert wrong.status_code == 409
    not_volunteer = client.post(f"/reports/{rid}/claim", json={"person_id": "P00001"}, headers=disp)
    assert not_volunteer.status_code == 404
    person_id = volunteers()[MICRO[:12]][0]
    r = client.post(f"/reports/{rid}/claim", json={"person_id": person_id}, headers=disp)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["claimed_by"]) == ("in_progress", person_id)
    assert (
        client.post(f"/reports/{rid}/claim", json={"person_id": person_id}, headers=disp).status_code == 409
    )
    assert rid not in [t["id"] for t in client.get("/reports", params={"claimable": True}).json()["items"]]


def test_near_boundary_and_outside(env: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = env
    lon, lat = near_edge_point(MICRO, 3.0)
    assert edge_distance_m(MICRO, lon, lat) < 10
    near = _report(client, lon=lon, lat=lat)
    assert near["near_boundary"] is True
    far = _report(client, lon=113.5, lat=34.5)  # ≈ 25 km away
    assert far["outside"] is True and far["micro_code"] is None
    assert (far["dispatch_kind"], far["dispatch_target"]) == ("centre", "街道中心")
    assert far["status"] == "reported"  # taken, not refused


def test_gcj02_input_is_converted(env: tuple[TestClient, dict[str, str]]) -> None:
    from geo_grid.crs import from_wgs84

    client, _ = env
    lon, lat = interior_point(MICRO)
    glon, glat = from_wgs84(lon, lat, "gcj02")
    rid = _report(client, lon=glon, lat=glat, crs="gcj02")["id"]
    rep = client.get(f"/reports/{rid}", headers=bearer(env[1]["dispatcher"])).json()  # exact: dispatcher view
    assert rep["micro_code"] == MICRO and rep["input_crs"] == "gcj02"
    assert abs(rep["lon"] - lon) < 1e-6 and abs(rep["lat"] - lat) < 1e-6


def test_overdue_case(env: tuple[TestClient, dict[str, str]], db_factory: Callable[[], str]) -> None:
    client, tokens = env
    fresh = _report(client, category="night_street_order")
    assert fresh["overdue"] is False
    overdue = client.get(
        "/reports", params={"overdue": True, "limit": 1000}, headers=bearer(tokens["dispatcher"])
    ).json()
    assert overdue["total"] > 0
    assert all(r["overdue"] and r["status"] not in reporting.TERMINAL for r in overdue["items"])
    assert fresh["id"] not in [r["id"] for r in overdue["items"]]
    # Each overdue report is past its deadline: every stage's limit in turn from created_at, over the
    # work calendar (a fresh copy of the sample has the same categories and calendar).
    from datetime import datetime

    deadlines = Deadlines(db_factory())
    for r in overdue["items"][:50]:
        due = datetime.fromisoformat(r["due_at"])
        created = datetime.fromisoformat(r["created_at"])
        assert due == deadlines.overall_due(r["category"], created)


def test_intake_validation(env: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = env
    lon, lat = interior_point(MICRO)
    base = {"category": "noise", "channel": "hotline", "lon": lon, "lat": lat}
    assert client.post("/reports", json=base | {"description": "x" * 4001}).status_code == 422
    assert client.post("/reports", json=base | {"description": "x" * 4000}).status_code == 201
    r = client.post("/reports", json=base | {"category": "ufo"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"
    assert client.post("/reports", json=base | {"channel": "fax"}).status_code == 422
    assert client.post("/reports", json={"category": "noise", "channel": "hotline"}).status_code == 422
    assert client.post("/reports", json=base | {"lat": 95}).status_code == 422
    assert client.post("/reports/999999/transitions", json={"to": "accepted"}).status_code == 401


def test_address_intake(env: tuple[TestClient, dict[str, str]]) -> None:
    import csv

    from geo_grid.settings import SAMPLE_DIR

    client, _ = env
    with open(SAMPLE_DIR / "addresses.csv", encoding="utf-8", newline="") as fh:
        row = next(csv.DictReader(fh))
    r = client.post("/reports", json={"category": "noise", "channel": "hotline", "address": row["address"]})
    assert r.status_code == 201, r.text
    assert r.json()["address_text"] != row["address"]  # the public (the reporter too) sees the road only
    rep = client.get(f"/reports/{r.json()['id']}", headers=bearer(env[1]["dispatcher"])).json()
    assert rep["address_text"] == row["address"] and rep["community_code"] == row["community_code"]
    assert abs(rep["lon"] - float(row["lon"])) < 1e-7 and abs(rep["lat"] - float(row["lat"])) < 1e-7
    miss = client.post("/reports", json={"category": "noise", "channel": "hotline", "address": "火星大道1号"})
    assert miss.status_code == 422 and "matches no standard address" in miss.json()["message"]
