"""Several subdistricts, no "the only subdistrict" guesses (issue 15): with the sample (未来路街道) and its
neighbour (tests/support/district.py) in one database, a request that names no subdistrict means the
caller's own (a scoped token), else the one its point or code belongs to, else — for read-only summaries —
the whole district; it is never answered 422 `subdistrict_required` where one of these decides. Checked
for statistics, the assessment, Open311, OGC API – Features, GET /lookup?at=, the work calendar; and two
trust gaps: a draft generation is hidden from all but planners and admins, titles come from the
subdistrict rows and road_level follows a general rule."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from geo_grid import db, privacy
from geo_grid.cli import app as cli_app
from geo_grid.services import categories as category_service
from geo_grid.services import lookup as lookup_service
from geo_grid.services import subdistricts
from geo_grid.services.past_directories import PastDirectories
from tests.support import district
from tests.support.accounts import create_token
from tests.support.api import bearer
from tests.support.clock import TEST_NOW
from tests.support.report_helpers import interior_point
from tests.support.sql import scalar

SAMPLE = "410105012"
NEIGHBOUR = district.CODE
SAMPLE_MICRO = "410105012004003005"
PERIOD = TEST_NOW[:7]  # the month of the test clock: the reports filed here are in it
BASE = "/open311/v2"


@dataclass(frozen=True)
class Env:
    client: TestClient
    url: str
    built: district.District
    tokens: dict[str, str]
    reports: dict[str, int]  # subdistrict code → a report filed in it
    points: dict[str, tuple[float, float]]  # subdistrict code → a point inside it
    api_key: str


def _file(client: TestClient, lon: float, lat: float) -> int:
    body = {"category": "littering", "channel": "public_account", "description": "垃圾乱堆",
            "lon": lon, "lat": lat}  # fmt: skip
    r = client.post("/reports", json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


@pytest.fixture(scope="module")
def env(
    db_factory: Callable[[], str], make_client: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Env]:
    with district.with_neighbour(
        db_factory, make_client, tmp_path_factory.mktemp("district"), rate_anonymous_writes_per_min=0
    ) as (url, client, admin, built):
        tokens = {
            "home": create_token(url, "dispatcher", "未来路调度", subdistrict=SAMPLE),
            "other": create_token(url, "dispatcher", "第二街道调度", subdistrict=NEIGHBOUR),
            "district": create_token(url, "dispatcher", "区级调度", subdistrict=None),
            "other_planner": create_token(url, "planner", "第二街道规划", subdistrict=NEIGHBOUR),
            "home_planner": create_token(url, "planner", "未来路规划", subdistrict=SAMPLE),
            "admin": admin,
        }
        inside = built.micro[min(built.micro)].representative_point()
        points = {SAMPLE: interior_point(SAMPLE_MICRO), NEIGHBOUR: (float(inside.x), float(inside.y))}
        reports = {code: _file(client, *p) for code, p in points.items()}
        r = client.post("/exchange/sources", json={"name": "hotline"}, headers=bearer(admin))
        assert r.status_code == 201, r.text
        yield Env(client, url, built, tokens, reports, points, r.json()["api_key"])


def _get(env: Env, path: str, who: str | None = None, **params: Any) -> Any:
    return env.client.get(path, params=params, headers=bearer(env.tokens[who]) if who else {})


def _report_subdistrict(env: Env, report_id: int) -> str:
    return str(scalar(env.url, "SELECT subdistrict_code FROM reports WHERE id = :id", id=report_id))


def test_the_reports_landed_in_their_subdistricts(env: Env) -> None:
    assert {code: _report_subdistrict(env, rid) for code, rid in env.reports.items()} == {
        SAMPLE: SAMPLE,
        NEIGHBOUR: NEIGHBOUR,
    }


# ------------------------------------------------------------------------------------------- the rule


def test_the_rule_named_then_callers_own_then_the_code_then_the_whole_district(env: Env) -> None:
    engine = db.make_engine(env.url, pool_size=1)
    try:
        with db.transaction(db.make_session_factory(engine)) as session:
            assert subdistricts.meant(session, NEIGHBOUR).code == NEIGHBOUR
            assert subdistricts.meant(session, caller=NEIGHBOUR).code == NEIGHBOUR
            assert subdistricts.meant(session, belongs_to=district.TERTIARY).code == NEIGHBOUR
            assert subdistricts.meant(session, caller=SAMPLE, belongs_to=district.TERTIARY).code == SAMPLE
            assert subdistricts.meant_or_district(session) is None  # several, nothing decides
            with pytest.raises(Exception) as info:
                subdistricts.meant(session)
            assert getattr(info.value, "code", None) == "subdistrict_required"
            with pytest.raises(Exception) as info:  # a subdistrict's caller naming another: not found
                subdistricts.meant(session, NEIGHBOUR, caller=SAMPLE)
            assert getattr(info.value, "code", None) == "subdistrict_not_found"
            assert subdistricts.title_of(session) == "金水区"
            assert subdistricts.title_of(session, NEIGHBOUR) == district.NAME
            # The work calendar of a case of no subdistrict: the working hours the subdistricts share
            # (the neighbour set none of its own), not a 422.
            shared = category_service.calendar(session, None)
            assert shared.periods == category_service.calendar(session, SAMPLE).periods
    finally:
        engine.dispose()


# ------------------------------------------------------------------------------------------ statistics


def test_stats_of_the_whole_district_of_a_subdistrict_and_of_the_callers_own(env: Env) -> None:
    whole = _get(env, "/stats")  # anonymous: the whole district, by subdistrict
    assert whole.status_code == 200, whole.text
    body = whole.json()
    assert body["level"] == "district" and body["code"] == "410105" and body["name"] == "金水区"
    children = {c["code"]: c for c in body["children"]}
    assert {SAMPLE, NEIGHBOUR} <= set(children)
    assert children[NEIGHBOUR]["name"] == district.NAME and children[NEIGHBOUR]["level"] == "subdistrict"
    assert sum(c["total"] for c in body["children"]) == body["total"]
    assert body["total"] == scalar(env.url, "SELECT count(*) FROM reports")
    # The neighbour's own figures: named, a scoped token's default, and the grid path — all the same.
    named = _get(env, "/stats", "district", subdistrict=NEIGHBOUR).json()
    own = _get(env, "/stats", "other").json()
    by_code = _get(env, f"/grids/{NEIGHBOUR}/stats").json()
    for got in (named, own, by_code):
        assert got["level"] == "subdistrict" and got["code"] == NEIGHBOUR and got["name"] == district.NAME
        assert got["total"] == children[NEIGHBOUR]["total"] + children.get(None, {"total": 0})["total"]
    assert _get(env, "/stats", "home").json()["code"] == SAMPLE
    # The sample's subdistrict figures count its own reports only, not the neighbour's.
    sample = _get(env, f"/grids/{SAMPLE}/stats").json()
    assert sample["total"] == whole.json()["total"] - children[NEIGHBOUR]["total"]
    # A subdistrict's token naming another subdistrict: as if it did not exist.
    r = _get(env, "/stats", "home", subdistrict=NEIGHBOUR)
    assert r.status_code == 404 and r.json()["code"] == "subdistrict_not_found"


# ------------------------------------------------------------------------------------------ assessment


def test_the_assessment_of_the_whole_district_and_of_a_subdistrict(env: Env) -> None:
    whole = _get(env, "/assessment", "district", period=PERIOD, by="subdistrict")
    assert whole.status_code == 200, whole.text
    assert whole.json()["subdistrict"] is None and whole.json()["title"] == "金水区"
    units = {u["code"]: u for u in whole.json()["units"]}
    assert {SAMPLE, NEIGHBOUR} <= set(units) and units[NEIGHBOUR]["name"] == district.NAME
    assert units[NEIGHBOUR]["indicators"]  # its cases counted under it
    for who, params in (("other", {}), ("district", {"subdistrict": NEIGHBOUR})):
        one = _get(env, "/assessment", who, period=PERIOD, by="subdistrict", **params)
        assert one.status_code == 200, one.text
        assert one.json()["subdistrict"] == NEIGHBOUR and one.json()["title"] == district.NAME
        assert [u["code"] for u in one.json()["units"]] == [NEIGHBOUR]
        assert one.json()["units"][0]["indicators"] == units[NEIGHBOUR]["indicators"]
    # By community: the subdistrict's communities only; the whole district: both subdistricts'.
    mine = _get(env, "/assessment", "other", period=PERIOD, by="community").json()["units"]
    assert {u["code"] for u in mine if u["code"]} == {district.COMMUNITY}
    every = _get(env, "/assessment", "district", period=PERIOD, by="community").json()["units"]
    codes = {u["code"] for u in every if u["code"]}
    assert district.COMMUNITY in codes and any(c.startswith(SAMPLE) for c in codes)
    assert _get(env, "/assessment", None, period=PERIOD).status_code == 401
    r = _get(env, "/assessment", "home", period=PERIOD, subdistrict=NEIGHBOUR)
    assert r.status_code == 404, r.text
    xlsx = _get(env, "/assessment.xlsx", "district", period=PERIOD, by="subdistrict")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def _cells(body: bytes) -> set[str]:
    book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    return {str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row if v}


def test_the_assessment_command_of_a_subdistrict_or_of_the_whole_district(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEO_GRID_DATABASE_URL", env.url)
    out = tmp_path / "a.xlsx"
    args = ["assessment", "--period", PERIOD, "-o", str(out), "--by", "subdistrict"]
    result = CliRunner().invoke(cli_app, [*args, "--subdistrict", NEIGHBOUR])
    assert result.exit_code == 0, result.output
    one = _cells(out.read_bytes())
    assert any(district.NAME in c for c in one) and not any("未来路" in c for c in one)
    result = CliRunner().invoke(cli_app, args)  # none named, several subdistricts: the whole district
    assert result.exit_code == 0, result.output
    every = _cells(out.read_bytes())
    assert any("金水区" in c for c in every) and {district.NAME, "未来路街道"} <= every


# ------------------------------------------------------------------------------------------------ Open311


def _request_ids(r: Any) -> set[int]:
    assert r.status_code == 200, r.text
    return {int(x["service_request_id"]) for x in r.json()}


def test_open311_jurisdictions_are_the_subdistricts(env: Env) -> None:
    for params in ({}, {"jurisdiction_id": NEIGHBOUR}, {"jurisdiction_id": SAMPLE}):
        r = _get(env, f"{BASE}/services.json", **params)
        assert r.status_code == 200 and r.json(), r.text
    r = _get(env, f"{BASE}/services.json", jurisdiction_id="410105099")
    assert r.status_code == 400 and "410105099" in r.json()[0]["description"]
    whole = _get(env, f"{BASE}/discovery.json").json()["contact"]
    assert "未来路" not in whole and "金水区" in whole
    assert district.NAME in _get(env, f"{BASE}/discovery.json", jurisdiction_id=NEIGHBOUR).json()["contact"]
    assert "未来路街道" in _get(env, f"{BASE}/discovery.json", jurisdiction_id=SAMPLE).json()["contact"]
    since = {"start_date": TEST_NOW}
    mine = set(env.reports.values())
    assert _request_ids(_get(env, f"{BASE}/requests.json", **since)) & mine == mine  # anonymous: all
    for who in (None, "district"):
        got = _request_ids(_get(env, f"{BASE}/requests.json", who, jurisdiction_id=NEIGHBOUR, **since))
        assert got & mine == {env.reports[NEIGHBOUR]}
    assert _request_ids(_get(env, f"{BASE}/requests.json", "other", **since)) & mine == {
        env.reports[NEIGHBOUR]
    }
    r = _get(env, f"{BASE}/requests.json", "home", jurisdiction_id=NEIGHBOUR)
    assert r.status_code == 400, r.text


def test_open311_a_new_requests_position_decides_its_subdistrict(env: Env) -> None:
    lon, lat = env.points[NEIGHBOUR]
    form = {
        "api_key": env.api_key,
        "service_code": "littering",
        "lat": lat,
        "long": lon,
        "description": "垃圾",
    }
    r = env.client.post(f"{BASE}/requests.json", data=form)
    assert r.status_code == 201, r.text
    assert _report_subdistrict(env, int(r.json()[0]["service_request_id"])) == NEIGHBOUR
    r = env.client.post(f"{BASE}/requests.json", data={**form, "jurisdiction_id": NEIGHBOUR})
    assert r.status_code == 201, r.text
    r = env.client.post(f"{BASE}/requests.json", data={**form, "jurisdiction_id": SAMPLE})
    assert r.status_code == 400 and NEIGHBOUR in r.json()[0]["description"], r.text


# ----------------------------------------------------------------------------------------- OGC Features


def _codes(r: Any) -> set[str]:
    assert r.status_code == 200, r.text
    return {str(f["id"]) for f in r.json()["features"]}


def test_ogc_collections_of_every_subdistrict_or_of_one(env: Env) -> None:
    items = "/ogc/collections/micro_grids/items"
    every = _codes(_get(env, items, limit=10_000))  # anonymous: the whole district, no 422
    assert set(env.built.micro) <= every and SAMPLE_MICRO in every
    assert _codes(_get(env, items, subdistrict=NEIGHBOUR)) == set(env.built.micro)
    assert _codes(_get(env, items, "other", limit=10_000)) == set(env.built.micro)  # its own by default
    assert SAMPLE_MICRO in _codes(_get(env, items, "home", limit=10_000)) - set(env.built.micro)
    communities = _codes(_get(env, "/ogc/collections/communities/items", subdistrict=NEIGHBOUR))
    assert communities == {district.COMMUNITY}
    one = _get(env, f"{items}/{min(env.built.micro)}")
    assert one.status_code == 200, one.text
    r = _get(env, f"{items}/{SAMPLE_MICRO}", subdistrict=NEIGHBOUR)
    assert r.status_code == 404
    described = _get(env, "/ogc/collections/micro_grids")
    assert described.status_code == 200 and described.json()["extent"]["spatial"]["bbox"], described.text
    landing = _get(env, "/ogc").json()
    assert "未来路" not in landing["title"] + landing["description"] and "金水区" in landing["title"]
    assert _get(env, "/ogc/collections").status_code == 200
    reports = _get(env, "/ogc/collections/reports/items", "district", subdistrict=NEIGHBOUR, limit=10_000)
    mine = {str(i) for i in env.reports.values()}
    assert _codes(reports) & mine == {str(env.reports[NEIGHBOUR])}


# ----------------------------------------------------------------------------------------- lookup ?at=


def test_lookup_at_a_moment_answers_in_either_subdistrict(env: Env) -> None:
    # A moment both subdistricts' boundaries were in force (the later activation).
    moment = scalar(env.url, "SELECT max(activated_at) FROM generations WHERE status = 'active'")
    for code, (lon, lat) in env.points.items():
        for who in (None, "home", "district"):
            r = _get(env, "/lookup", who, lon=lon, lat=lat, at=moment.isoformat())
            assert r.status_code == 200, r.text
            assert r.json()["micro"]["code"][:9] == code
    # Built aside (no live snapshot to reuse): one directory of each subdistrict's generation then.
    engine = db.make_engine(env.url, pool_size=1)
    try:
        past = PastDirectories()
        directory = past.resolve(db.make_session_factory(engine), None, at=moment)
        assert set(directory.generations) == {SAMPLE, NEIGHBOUR} and past.builds == 1
        lon, lat = env.points[NEIGHBOUR]
        assert lookup_service.place(directory, lon, lat).micro is not None
    finally:
        engine.dispose()


# ------------------------------------------------------------------------------------ two trust gaps


def test_a_draft_is_for_planners_and_admins_of_its_subdistrict(env: Env) -> None:
    r = env.client.post(
        "/generations", json={"note": "第二街道的草稿"}, headers=bearer(env.tokens["other_planner"])
    )
    assert r.status_code == 201, r.text
    draft = r.json()["id"]
    path = f"/generations/{draft}"
    for who in (None, "other", "district", "home_planner"):
        r = _get(env, path, who)
        assert r.status_code == 404 and r.json()["code"] == "generation_not_found", (who, r.text)
    for who in ("other_planner", "admin"):
        assert _get(env, path, who).json()["status"] == "draft"
    # Active (and retired) generations stay public.
    assert _get(env, f"/generations/{env.built.generation}").json()["status"] == "active"


def test_titles_name_no_subdistrict_that_is_not_meant(env: Env) -> None:
    page = env.client.get("/login").text
    assert "未来路" not in page and "金水区网格化治理平台" in page
    assert "未来路" not in env.client.get("/openapi.json").json()["info"]["description"].split("\n")[0]


@pytest.mark.parametrize(
    ("address", "road"),
    [
        ("金水区未来路街道民航路12号院3号楼", "民航路"),
        ("河南省郑州市金水区第二街道办事处文化路9号", "文化路"),
        ("郑州市金水区丰产路街道经三路5号", "经三路"),
        ("中牟县官渡镇人民路1号", "人民路"),
        ("民航路小区3号楼", "民航路"),
        ("经三路东区3号", "经三路"),
        ("郑州大学家属院3号楼", None),
    ],
)
def test_road_level_by_the_general_rule(address: str, road: str | None) -> None:
    assert privacy.road_level(address) == road
