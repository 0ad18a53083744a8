"""Addresses as people say them, through GET /lookup/address on the sample database (real PostGIS):
intersections, landmarks, qualifiers, spoken variants, precision_m and the candidate grids."""

from __future__ import annotations

import math
from typing import Any

import pytest
from fastapi.testclient import TestClient

from geo_grid import db
from geo_grid.api.runtime import runtime_of
from geo_grid.geocoding.places import metres_between
from geo_grid.repository import facilities as facility_repo
from geo_grid.services import addresses as address_service
from tests.support.api import bearer, create_tokens

# The phrasings of issue 16's table and text, each with the level and the place it must name.
PHRASINGS = [
    ("农业路与未来路交叉口向南50米", "intersection", "农业路与未来路交叉口向南50米", None),
    ("经三路纬五路路口东北角", "intersection", "经三路与纬五路交叉口东北角", None),
    ("农业路和未来路路口", "intersection", "农业路与未来路交叉口", None),
    ("农业路、未来路交汇处", "intersection", "农业路与未来路交叉口", None),
    ("农业路 未来路 十字路口", "intersection", "农业路与未来路交叉口", None),
    ("经三路与纬五路交叉口往北100米左右", "intersection", "经三路与纬五路交叉口往北100米左右", None),
    ("民航路社区党群服务中心", "landmark", "民航路社区党群服务中心", None),
    ("民航路党群服务中心", "landmark", "民航路社区党群服务中心", None),
    ("智慧停车场", "landmark", "民航路社区智慧停车场", None),
    ("停车场", "landmark", "民航路社区智慧停车场", None),
    ("经三路151号院门口", "courtyard", "经三路151号院", "门口"),
    ("经三路151号院对面", "courtyard", "经三路151号院", "对面"),
    ("经3路151号院", "courtyard", "经三路151号院", None),
    ("纬5路31号院", "courtyard", "纬五路31号院", None),
    ("京三路151号院", "courtyard", "经三路151号院", None),
    ("经三路北段151号院", "courtyard", "经三路151号院", None),
    ("151号院经三路", "courtyard", "经三路151号院", None),
]


def _get(client: TestClient, q: str, headers: dict[str, str] | None = None) -> Any:
    return client.get("/lookup/address", params={"q": q}, headers=headers or {})


@pytest.mark.parametrize(("query", "level", "label", "qualifier"), PHRASINGS)
def test_issue_phrasings_are_matched(
    client: TestClient, query: str, level: str, label: str, qualifier: str | None
) -> None:
    r = _get(client, query)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "matched", body
    assert body["level"] == level
    assert body["address"]["address"] == label
    assert body["qualifier"] == qualifier
    assert body["precision_m"] >= 0
    assert body["grid"]["micro"] is not None
    assert set(body["people"]) == {
        "micro_grid_leader",
        "grid_leader",
        "courtyard_chief",
        "road_section_chief",
    }
    assert 0.75 <= body["confidence"] <= 1.0


def test_intersection_is_the_meeting_point_moved_by_the_offset(client: TestClient) -> None:
    at = _get(client, "农业路与未来路交叉口").json()
    south = _get(client, "农业路与未来路交叉口向南50米").json()
    assert at["located_by"] is None and at["address"]["place_kind"] == "intersection"
    p, q = at["address"]["point"], south["address"]["point"]
    assert metres_between(p["lon"], p["lat"], q["lon"], q["lat"]) == pytest.approx(50.0, abs=0.5)
    assert q["lat"] < p["lat"] and q["lon"] == pytest.approx(p["lon"])
    assert at["precision_m"] == 25.0 and south["precision_m"] == 35.0
    # the 路段长 answering is of one of the two roads named
    assert at["road_segment"]["road_name"] in {"农业路", "未来路"}
    assert at["people"]["road_section_chief"]
    # the four grids around a crossing of two roads are all candidates; the primary is the covering one
    grids = at["grid_candidates"]
    assert len(grids) >= 2 and grids[0]["primary"] and grids[0]["micro"] == at["grid"]["micro"]
    assert all(not g["primary"] for g in grids[1:])
    assert all(g["distance_m"] <= at["precision_m"] for g in grids)
    assert grids[1]["people"]["micro_grid_leader"]


def test_roads_that_never_meet_are_404_with_the_nearest_approach(client: TestClient) -> None:
    r = _get(client, "农业路与东风路交叉口")
    assert r.status_code == 404
    detail = r.json()["detail"]
    (suggestion,) = detail["suggestions"]
    assert suggestion["level"] == "intersection" and suggestion["place_kind"] == "nearest_approach"
    assert suggestion["address"].startswith("农业路与东风路最近处") and suggestion["confidence"] < 0.5


def test_shared_short_form_is_ambiguous(client: TestClient) -> None:
    body = _get(client, "学校").json()
    assert body["status"] == "ambiguous"
    names = {c["address"] for c in body["candidates"]}
    assert names == {"未来路小学", "燕庄中学"}
    assert all(c["confidence"] < 0.75 for c in body["candidates"])


def test_community_and_facility_landmarks(client: TestClient) -> None:
    community = _get(client, "民航路社区").json()
    assert community["level"] == "landmark" and community["address"]["place_kind"] == "community"
    assert community["grid"]["community"]["code"] == community["address"]["place_id"]
    # a community is wide: its circle touches several grids, listed for the dispatcher
    assert community["precision_m"] > 100 and len(community["grid_candidates"]) > 1
    school = _get(client, "未来路小学旁边").json()
    assert school["level"] == "landmark" and school["qualifier"] == "旁边"
    assert school["address"]["place_id"] == "F017" and school["confidence"] == 1.0
    charging = _get(client, "燕庄充电站").json()
    assert charging["address"]["place_id"] == "F015"


def test_qualifiers_widen_precision_and_opposite_may_cross_the_road(client: TestClient) -> None:
    plain = _get(client, "经三路151号院").json()
    door = _get(client, "经三路151号院门口").json()
    opposite = _get(client, "经三路151号院对面").json()
    assert plain["qualifier"] is None and plain["located_by"] is not None
    assert plain["grid"] == door["grid"] == opposite["grid"]
    assert plain["precision_m"] < door["precision_m"] < opposite["precision_m"]
    assert opposite["precision_m"] - plain["precision_m"] == pytest.approx(60.0)
    codes = {g["micro"]["code"] for g in opposite["grid_candidates"]}
    assert plain["grid"]["micro"]["code"] in codes and len(codes) >= 2


def test_door_plate_answers_keep_precision_zero(client: TestClient) -> None:
    body = _get(client, "经三路158号院1号楼1单元").json()
    assert body["precision_m"] == 0.0 and body["qualifier"] is None and body["grid_candidates"] == []
    assert body["located_by"]["address_id"] == "A00075"


def test_grid_candidate_phones_follow_the_privacy_policy(client: TestClient, tokens: dict[str, str]) -> None:
    public = _get(client, "农业路与未来路交叉口").json()["grid_candidates"]
    dispatcher = _get(client, "农业路与未来路交叉口", bearer(tokens["dispatcher"])).json()["grid_candidates"]
    masked = public[1]["people"]["micro_grid_leader"][0]["phone"]
    clear = dispatcher[1]["people"]["micro_grid_leader"][0]["phone"]
    assert "*" in masked and clear.isdigit() and masked[-4:] == clear[-4:]


def test_batch_answers_spoken_queries(client: TestClient) -> None:
    queries = [p[0] for p in PHRASINGS] + ["农业路与东风路交叉口"]
    body = client.post("/lookup/address/batch", json={"queries": queries}).json()
    assert body["matched"] == len(PHRASINGS) and body["not_found"] == 1
    assert [r["level"] for r in body["results"][: len(PHRASINGS)]] == [p[1] for p in PHRASINGS]


def test_facility_added_later_is_found_without_a_code_change(make_client: Any, db_url: str) -> None:
    """A facility inserted after start-up: the address book's version probe notices it (as the runtime's
    background poll does) and the next lookup finds it, short form and qualifier included."""
    engine = db.make_engine(db_url, pool_size=1)
    factory = db.make_session_factory(engine)
    try:
        with make_client(db_url) as client:
            assert _get(client, "民航路社区老年食堂").status_code == 404
            with factory() as session:
                point = {"type": "Point", "coordinates": [113.6950, 34.7600]}
                facility_repo.insert(session, "F900", "canteen", "民航路社区老年食堂", point, {})
                session.commit()
            runtime_of(client.app).refresh_changed()
            body = _get(client, "民航路社区老年食堂门口").json()
            assert body["status"] == "matched" and body["level"] == "landmark"
            assert body["address"]["place_id"] == "F900" and body["qualifier"] == "门口"
            assert body["address"]["point"] == {"lon": pytest.approx(113.6950), "lat": pytest.approx(34.7600)}
            assert _get(client, "民航路老年食堂").json()["address"]["place_id"] == "F900"
        book = address_service.load(factory)  # the CLI's book (geo-grid geocode) reads it too
        found = book.match("民航路社区老年食堂")
        assert found.best is not None and math.isclose(found.best.lon, 113.6950)
    finally:
        engine.dispose()


def test_report_intake_by_spoken_address(make_client: Any, db_url: str) -> None:
    """A hotline report filed with a landmark or an intersection is placed at that place."""
    tokens = create_tokens(db_url)
    with make_client(db_url) as client:
        expected = _get(client, "民航路社区党群服务中心门口").json()
        r = client.post(
            "/reports",
            json={"category": "noise", "channel": "hotline", "address": "民航路社区党群服务中心门口"},
        )
        assert r.status_code == 201, r.text
        rep = client.get(f"/reports/{r.json()['id']}", headers=bearer(tokens["dispatcher"])).json()
        assert rep["lon"] == pytest.approx(expected["address"]["point"]["lon"])
        assert rep["lat"] == pytest.approx(expected["address"]["point"]["lat"])
        assert rep["community_code"] == expected["grid"]["community"]["code"]
        crossing = client.post(
            "/reports", json={"category": "noise", "channel": "hotline", "address": "农业路与未来路交叉口"}
        )
        assert crossing.status_code == 201, crossing.text
        never = client.post(
            "/reports", json={"category": "noise", "channel": "hotline", "address": "农业路与东风路交叉口"}
        )
        assert never.status_code == 422
