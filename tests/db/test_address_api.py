"""GET /lookup/address and POST /lookup/address/batch on the sample database (real PostGIS)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from geo_grid import db
from geo_grid.api.runtime import runtime_of
from geo_grid.repository import addresses as address_repo
from tests.support.api import bearer

# In the sample: A00075 = 经三路158号院1号楼1单元, inside courtyard CY001 (经三路158号院);
# A00001 = 经三路151号院1号楼1单元, whose door plate has no courtyard polygon.
IN_COURTYARD = ("A00075", "经三路158号院1号楼1单元")
NO_COURTYARD = ("A00001", "经三路151号院1号楼1单元")
PHONE = re.compile(r"^\d{11}$")
MASKED = re.compile(r"^\d{3}\*{4}\d{4}$")


@pytest.fixture(scope="module")
def addresses(ro_db_url: str) -> dict[str, dict[str, Any]]:
    """The address table as PostGIS assigned it (micro_code by ST_Covers): the reference for the grid."""
    engine = db.make_engine(ro_db_url, pool_size=1)
    with db.make_session_factory(engine)() as session:
        rows = {r.address_id: r.as_row() for r in address_repo.all_rows(session)}
    engine.dispose()
    return rows


def _get(client: TestClient, q: str, headers: dict[str, str] | None = None) -> Any:
    return client.get("/lookup/address", params={"q": q}, headers=headers or {})


@pytest.mark.parametrize(
    ("query", "level", "label"),
    [
        ("经三路158号院1号楼1单元", "unit", "经三路158号院1号楼1单元"),
        ("经三路158号院1号楼", "building", "经三路158号院1号楼"),
        ("经三路158号院", "courtyard", "经三路158号院"),
        ("经三路158号", "number", "经三路158号"),
        ("经三路", "road", "经三路"),
    ],
)
def test_each_match_level_answers_with_grid_of_its_door_plate(
    client: TestClient, addresses: dict[str, dict[str, Any]], query: str, level: str, label: str
) -> None:
    r = _get(client, query)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "matched"
    assert body["level"] == level
    assert body["confidence"] == 1.0
    assert body["address"]["address"] == label
    located = addresses[body["located_by"]["address_id"]]
    if level == "unit":
        assert body["address"]["address_id"] == body["located_by"]["address_id"] == IN_COURTYARD[0]
    else:
        assert body["address"]["address_id"] is None
        assert located["address"].startswith(label)
    # The in-memory lookup rule agrees with PostGIS's assignment of the same point.
    assert body["grid"]["micro"]["code"] == located["micro_code"]
    assert body["grid"]["tertiary"]["code"] == located["micro_code"][:15]
    assert body["grid"]["community"]["code"] == located["micro_code"][:12]
    assert body["located_by"]["lon"] == pytest.approx(located["lon"])


def test_unit_answer_has_point_and_people_by_role(client: TestClient) -> None:
    body = _get(client, IN_COURTYARD[1]).json()
    assert body["address"]["point"] == {
        "lon": pytest.approx(113.6, abs=0.2),
        "lat": pytest.approx(34.76, abs=0.1),
    }
    assert body["courtyard"] == {"courtyard_id": "CY001", "name": "经三路158号院"}
    assert body["road_segment"]["road_name"] == "经三路"
    people = body["people"]
    assert list(people) == ["micro_grid_leader", "grid_leader", "courtyard_chief", "road_section_chief"]
    assert all(len(people[role]) == 1 for role in people)
    assert people["micro_grid_leader"][0]["role_label"] == "微网格长"
    assert people["grid_leader"][0]["role_label"] == "网格长"
    assert people["courtyard_chief"][0]["target_id"] == "CY001"
    assert people["courtyard_chief"][0]["role_label"] == "楼院长"
    assert people["road_section_chief"][0]["target_id"] == body["road_segment"]["segment_id"]
    # 微网格长 / 网格长 are those of the answer's grids in the directory snapshot.
    directory = runtime_of(client.app).directory.current
    micro_team = directory.people[body["grid"]["micro"]["code"]]
    tertiary_team = directory.people[body["grid"]["tertiary"]["code"]]
    assert people["micro_grid_leader"][0]["person_id"] in {p.person_id for p in micro_team}
    assert people["grid_leader"][0]["person_id"] in {p.person_id for p in tertiary_team}


def test_address_outside_any_courtyard_has_no_courtyard_chief(client: TestClient) -> None:
    body = _get(client, NO_COURTYARD[1]).json()
    assert body["address"]["address_id"] == NO_COURTYARD[0]
    assert body["courtyard"] is None
    assert body["people"]["courtyard_chief"] == []
    assert len(body["people"]["road_section_chief"]) == 1
    assert len(body["people"]["micro_grid_leader"]) == 1


def test_typo_and_other_spellings_match_with_lower_confidence(client: TestClient) -> None:
    typo = _get(client, "经山路158号院1号楼1单元").json()
    assert typo["status"] == "matched"
    assert typo["address"]["address_id"] == IN_COURTYARD[0]
    assert 0.75 <= typo["confidence"] < 1.0
    spelled = _get(client, "河南省郑州市金水区 经三路一百五十八号院１栋一单元").json()
    assert spelled["status"] == "matched"
    assert spelled["address"]["address_id"] == IN_COURTYARD[0]


def test_ambiguous_query_returns_ranked_candidates_and_no_answer(client: TestClient) -> None:
    r = _get(client, "1号楼")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ambiguous"
    assert "address" not in body and "people" not in body and "grid" not in body
    confidences = [c["confidence"] for c in body["candidates"]]
    assert len(confidences) > 1
    assert confidences == sorted(confidences, reverse=True)


def test_no_match_is_404_with_suggestions(client: TestClient) -> None:
    r = _get(client, "火星路99号")
    assert r.status_code == 404
    body = r.json()
    assert body["code"] == "address_not_found"
    assert body["detail"]["query"] == "火星路99号"
    suggestions = body["detail"]["suggestions"]
    assert suggestions and all(s["address"].endswith("99号") for s in suggestions)
    assert "people" not in body["detail"]


def test_phones_masked_for_public_and_shown_to_dispatcher(client: TestClient, tokens: dict[str, str]) -> None:
    public = _get(client, IN_COURTYARD[1]).json()["people"]
    dispatcher = _get(client, IN_COURTYARD[1], bearer(tokens["dispatcher"])).json()["people"]
    for role in public:
        for masked, clear in zip(public[role], dispatcher[role], strict=True):
            assert MASKED.match(masked["phone"]), masked
            assert PHONE.match(clear["phone"]), clear
            assert masked["phone"][:3] == clear["phone"][:3] and masked["phone"][-4:] == clear["phone"][-4:]


def test_route_is_not_shadowed_and_point_lookup_still_works(client: TestClient) -> None:
    missing = client.get("/lookup/address")
    assert missing.status_code == 422
    assert missing.json()["code"] == "invalid_request"
    assert "q" in missing.json()["message"]
    point = client.get("/lookup", params={"lon": 113.6862721, "lat": 34.7679479})
    assert point.status_code == 200 and point.json()["micro"] is not None


def test_batch_keeps_order_and_statuses(client: TestClient, tokens: dict[str, str]) -> None:
    queries = ["经三路", "火星路99号", IN_COURTYARD[1], "1号楼", NO_COURTYARD[1], ""]
    r = client.post("/lookup/address/batch", json={"queries": queries}, headers=bearer(tokens["dispatcher"]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 6
    assert (body["matched"], body["ambiguous"], body["not_found"]) == (3, 1, 2)
    results = body["results"]
    assert [x["index"] for x in results] == list(range(6))
    assert [x["query"] for x in results] == queries
    assert [x["status"] for x in results] == [
        "matched",
        "not_found",
        "matched",
        "ambiguous",
        "matched",
        "not_found",
    ]
    assert results[2]["address"]["address_id"] == IN_COURTYARD[0]
    assert results[4]["address"]["address_id"] == NO_COURTYARD[0]
    assert results[1]["suggestions"]
    assert PHONE.match(results[2]["people"]["courtyard_chief"][0]["phone"])


def test_batch_over_limit_is_413(client: TestClient) -> None:
    r = client.post("/lookup/address/batch", json={"queries": ["经三路"] * 10_001})
    assert r.status_code == 413
    assert r.json()["code"] == "payload_too_large"


def test_reload_needs_a_planner_token(client: TestClient, tokens: dict[str, str]) -> None:
    assert client.post("/lookup/address/reload").status_code == 401
    assert client.post("/lookup/address/reload", headers=bearer(tokens["dispatcher"])).status_code == 403
