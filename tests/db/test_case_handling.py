"""Case handling to the 数字城管 standard against a real PostGIS with the fixed test clock (2026-11-01 09:00
+08:00, a Sunday): categories as data, stage deadlines over the work calendar, lights, the sweep, and the
branches 自办自结, 退回, 返工, 延期, 挂账, 督办 / 催办 (README "Case handling (数字城管)")."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from geo_grid import clock
from geo_grid.cli import app as cli_app
from geo_grid.services import stages as stage_service
from geo_grid.workcalendar import TZ
from tests.support.api import bearer, create_tokens
from tests.support.deadlines import Deadlines, session
from tests.support.report_helpers import interior_point

MICRO = "410105012004003005"
MINOR = {"littering", "illegal_advertising", "road_occupation", "parking"}
# Today's response hours (the old SLA table): 受理 keeps them, in natural hours.
OLD_RESPONSE_H = {"parking": 1, "elderly_fraud": 1, "illegal_construction": 4, "road_occupation": 2,
                  "littering": 2, "illegal_advertising": 4, "night_street_order": 1, "noise": 1,
                  "childcare": 24, "facility_repair": 4}  # fmt: skip


@pytest.fixture(scope="module")
def env(
    db_factory: Callable[[], str], make_client: Callable[..., Any]
) -> Iterator[tuple[TestClient, dict[str, str], str]]:
    url = db_factory()
    tokens = create_tokens(url)
    with make_client(url) as client:
        yield client, tokens, url


def _new(client: TestClient, **overrides: Any) -> dict[str, Any]:
    lon, lat = interior_point(MICRO)
    body = {"category": "road_occupation", "channel": "public_account", "description": "占道经营",
            "lon": lon, "lat": lat} | overrides  # fmt: skip
    r = client.post("/reports", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _post(
    client: TestClient, token: str, path: str, body: dict[str, Any], status: int = 200
) -> dict[str, Any]:
    r = client.post(path, json=body, headers=bearer(token))
    assert r.status_code == status, r.text
    return r.json()


def _go(client: TestClient, token: str, rid: int, *steps: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for to in steps:
        if to == "dispatched":
            out = _post(client, token, f"/reports/{rid}/dispatch", {"kind": "grid_team"})
        else:
            out = _post(client, token, f"/reports/{rid}/transitions", {"to": to})
    return out


def _stages(client: TestClient, token: str, rid: int) -> list[dict[str, Any]]:
    r = client.get(f"/reports/{rid}/stages", headers=bearer(token))
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def _events(client: TestClient, token: str, rid: int) -> list[dict[str, Any]]:
    return list(client.get(f"/reports/{rid}", headers=bearer(token)).json()["history"])


def _sql(url: str, sql: str, **params: Any) -> None:
    with session(url) as s:
        s.execute(text(sql), params)
        s.commit()


# ------------------------------------------------------------------------------------------ categories
def test_seeded_categories_in_the_standard_shape(env: tuple[TestClient, dict[str, str], str]) -> None:
    client, _, _ = env
    items = {c["code"]: c for c in client.get("/categories").json()["items"]}
    assert set(items) == set(OLD_RESPONSE_H)
    assert {c for c, v in items.items() if v["minor"]} == MINOR
    assert {c for c, v in items.items() if v["sensitive"]} == {"elderly_fraud"}
    assert (
        items["road_occupation"]["department"] == "城市管理"
        and items["elderly_fraud"]["department"] == "派出所"
    )
    assert items["facility_repair"]["kind"] == "component" and items["parking"]["major_class"] == "街面秩序"
    assert items["elderly_fraud"]["major_class"] == "扩展事件" and items["elderly_fraud"][
        "standard_code"
    ].startswith("X")
    for code, c in items.items():
        assert c["stage_limits"]["accept"] == {"value": OLD_RESPONSE_H[code], "unit": "natural_hours"}
        assert set(c["stage_limits"]) == {"accept", "register", "dispatch", "handle", "verify", "close"}
        assert c["register_condition"] and c["close_condition"]


def test_category_edits_are_admin_only_audited_and_never_rewrite_history(
    env: tuple[TestClient, dict[str, str], str],
) -> None:
    client, tokens, url = env
    rep = _new(client, category="noise")
    rid = rep["id"]
    _go(client, tokens["dispatcher"], rid, "accepted")
    before = _stages(client, tokens["dispatcher"], rid)[-1]
    assert (before["stage"], before["limit_value"], before["limit_unit"]) == ("register", 1, "working_hours")

    noise = client.get("/categories/noise").json()
    body = {k: v for k, v in noise.items() if k not in ("code", "kind_label", "updated_at")}
    body["stage_limits"]["dispatch"] = {"value": 3, "unit": "working_hours"}
    assert client.put("/categories/noise", json=body, headers=bearer(tokens["dispatcher"])).status_code == 403
    r = client.put("/categories/noise", json=body, headers=bearer(tokens["admin"]))
    assert r.status_code == 200, r.text
    assert r.json()["stage_limits"]["dispatch"] == {"value": 3, "unit": "working_hours"}
    # accept must stay in natural hours (the 24-hour centre)
    bad = body | {"stage_limits": body["stage_limits"] | {"accept": {"value": 1, "unit": "working_days"}}}
    r = client.put("/categories/noise", json=bad, headers=bearer(tokens["admin"]))
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"

    _go(client, tokens["dispatcher"], rid, "registered")
    stages = _stages(client, tokens["dispatcher"], rid)
    assert (stages[-1]["stage"], stages[-1]["limit_value"]) == ("dispatch", 3)  # the new limit
    assert stages[1]["limit_value"] == 1 and stages[1]["ended_at"] is not None  # history as it was
    with session(url) as s:
        n = s.execute(text("SELECT count(*) FROM audit_log WHERE action = 'update_category'")).scalar_one()
    assert n == 1

    new = {**body, "code": "well_cover", "name": "井盖缺损", "kind": "component", "major_class": "公用设施",
           "minor_class": "井盖", "standard_code": "0101", "department": "城市管理"}  # fmt: skip
    r = client.post("/categories", json=new, headers=bearer(tokens["admin"]))
    assert r.status_code == 201, r.text
    assert client.post("/categories", json=new, headers=bearer(tokens["admin"])).status_code == 409
    well = _new(client, category="well_cover")  # intake reads the table at once
    assert (well["stage"], well["category_label"]) == ("accept", "井盖缺损")


def test_a_category_made_sensitive_disappears_from_the_public_listing(
    env: tuple[TestClient, dict[str, str], str],
) -> None:
    client, tokens, _ = env
    body = {k: v for k, v in client.get("/categories/childcare").json().items()
            if k not in ("code", "kind_label", "updated_at")}  # fmt: skip
    rid = _new(client, category="childcare")["id"]
    assert client.get(f"/reports/{rid}").status_code == 200
    r = client.put("/categories/childcare", json=body | {"sensitive": True}, headers=bearer(tokens["admin"]))
    assert r.status_code == 200
    assert client.get(f"/reports/{rid}").status_code == 404
    public = client.get("/reports", params={"category": "childcare"}).json()
    assert public["total"] == 0
    assert (
        client.get("/reports", params={"category": "childcare"}, headers=bearer(tokens["dispatcher"])).json()[
            "total"
        ]
        > 0
    )
    client.put("/categories/childcare", json=body, headers=bearer(tokens["admin"]))


# ------------------------------------------------------------------------------- stages and lights
def test_stage_deadlines_follow_the_calendar_and_lights_the_clock(
    env: tuple[TestClient, dict[str, str], str],
) -> None:
    client, tokens, url = env
    disp = tokens["dispatcher"]
    rep = _new(client)  # road_occupation: 受理 2 natural hours
    rid = rep["id"]
    created = datetime.fromisoformat(rep["created_at"])
    assert (rep["stage"], rep["stage_label"], rep["light"]) == ("accept", "受理", "green")
    assert datetime.fromisoformat(rep["stage_due_at"]) == created + timedelta(hours=2)
    assert rep["stage_unit"] == "natural_hours" and 119 <= rep["stage_remaining_minutes"] <= 120
    assert datetime.fromisoformat(rep["due_at"]) == Deadlines(url).overall_due("road_occupation", created)

    # 立案: 1 working hour. The test clock reads Sunday 2026-11-01 09:00: the hour runs Monday 08:30–09:30.
    out = _go(client, disp, rid, "accepted")
    assert out["stage"] == "register" and out["stage_unit"] == "working_hours"
    assert datetime.fromisoformat(out["stage_due_at"]) == datetime(2026, 11, 2, 9, 30, tzinfo=TZ)
    assert out["stage_remaining_minutes"] == 60  # no working time passes on a Sunday

    def ids(**q: Any) -> set[int]:
        page = client.get("/reports", params={"limit": 10_000, **q}, headers=bearer(disp)).json()
        return {i["id"] for i in page["items"]}

    assert rid in ids(stage="register", light="green") and rid not in ids(light="red")

    # Past its deadline (moved back in the database, as time would, to Friday 17:00): red, listed as such,
    # one working hour late (Friday 17:00–18:00; the weekend does not count).
    late = datetime(2026, 10, 30, 17, 0, tzinfo=TZ)
    _sql(url, "UPDATE report_stages SET due_at = :d, yellow_at = :d WHERE report_id = :id AND ended_at IS NULL",
         d=late, id=rid)  # fmt: skip
    _sql(url, "UPDATE reports SET stage_due_at = :d, stage_yellow_at = :d WHERE id = :id", d=late, id=rid)
    got = client.get(f"/reports/{rid}", headers=bearer(disp)).json()
    assert got["light"] == "red" and got["stage_remaining_minutes"] == -60
    assert rid in ids(light="red") and rid not in ids(light="green")

    # The sweep records the red light and an automatic 催办, once per stage.
    with session(url) as s:
        first = stage_service.sweep(s, clock.now())
        s.commit()
    with session(url) as s:
        second = stage_service.sweep(s, clock.now())
        s.commit()
    assert first.red >= 1 and second.red == 0
    kinds = [e["kind"] for e in _events(client, disp, rid)]
    assert kinds.count("red_light") == 1 and kinds.count("urge") == 1
    orders = client.get(f"/reports/{rid}/supervision", headers=bearer(disp)).json()["items"]
    assert len(orders) == 1 and orders[0]["automatic"] and orders[0]["kind"] == "urge"
    assert orders[0]["target"] == "街道中心值班长"  # 立案 is the centre's

    # Leaving the stage ends it late; the next one starts green.
    out = _go(client, disp, rid, "registered")
    stages = _stages(client, disp, rid)
    assert [s["stage"] for s in stages] == ["accept", "register", "dispatch"]
    assert stages[1]["on_time"] is False and stages[0]["on_time"] is True
    assert out["light"] == "green"


def test_yellow_at_the_configured_share(env: tuple[TestClient, dict[str, str], str]) -> None:
    client, _, _ = env
    rep = _new(client, category="childcare")  # 受理 24 natural hours: yellow after 80 % = 19.2 h
    start = datetime.fromisoformat(rep["created_at"])
    assert datetime.fromisoformat(rep["stage_yellow_at"]) == start + timedelta(hours=24 * 0.8)


# ---------------------------------------------------------------------------------------- branches
def test_self_resolve_minor_grid_phone_case_with_photo(env: tuple[TestClient, dict[str, str], str]) -> None:
    client, tokens, _ = env
    disp = tokens["dispatcher"]
    rid = _new(client, category="littering", channel="grid_phone")["id"]
    photo = {"after_photo_url": "https://example.org/after.jpg"}
    # the generic transition refuses the branch and names its route
    r = client.post(f"/reports/{rid}/transitions", json={"to": "closed"}, headers=bearer(disp))
    assert r.status_code == 409 and r.json()["detail"]["route"] == f"POST /reports/{rid}/self-resolve"
    out = _post(client, disp, f"/reports/{rid}/self-resolve", photo)
    assert (out["status"], out["self_resolved"], out["solved"]) == ("closed", True, True)
    assert (
        "https://example.org/after.jpg" in out["photo_urls"] and out["stage"] is None and out["light"] is None
    )
    assert "self_resolved" in [e["kind"] for e in _events(client, disp, rid)]
    assert rid in {
        i["id"]
        for i in client.get(
            "/reports", params={"self_resolved": True, "limit": 10_000}, headers=bearer(disp)
        ).json()["items"]
    }

    public = _new(client, category="littering")["id"]  # a resident's report: not 自办自结
    r = client.post(f"/reports/{public}/self-resolve", json=photo, headers=bearer(disp))
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"
    assert r.json()["detail"]["allowed"] == ["accepted", "rejected", "duplicate"]
    noise = _new(client, category="noise", channel="grid_phone")["id"]  # not a minor category
    assert client.post(f"/reports/{noise}/self-resolve", json=photo, headers=bearer(disp)).status_code == 409
    bad = client.post(
        f"/reports/{noise}/self-resolve", json={"after_photo_url": "javascript:x"}, headers=bearer(disp)
    )
    assert bad.status_code == 422
    assert client.post(f"/reports/{noise}/self-resolve", json=photo).status_code == 401


def test_return_to_register_and_second_dispatch(env: tuple[TestClient, dict[str, str], str]) -> None:
    client, tokens, _ = env
    disp = tokens["dispatcher"]
    rid = _new(client)["id"]
    _go(client, disp, rid, "accepted", "registered")
    _post(client, disp, f"/reports/{rid}/dispatch", {"kind": "department"})
    out = _post(client, disp, f"/reports/{rid}/return", {"reason": "不属于本部门职责"})
    assert (out["status"], out["stage"]) == ("registered", "dispatch")
    returned = [e for e in _events(client, disp, rid) if e["kind"] == "returned"]
    assert returned[0]["data"] == {"department": "城市管理", "reason": "不属于本部门职责"}
    again = _post(client, disp, f"/reports/{rid}/dispatch", {"kind": "department", "target": "综合执法"})
    assert again["status"] == "dispatched"
    assert [e for e in _events(client, disp, rid) if e["kind"] == "transition"][-1]["data"]["second"] is True
    stages = [s["stage"] for s in _stages(client, disp, rid)]
    assert stages == ["accept", "register", "dispatch", "handle", "dispatch", "handle"]
    assert _stages(client, disp, rid)[-1]["unit_code"] == "综合执法"
    # a grid team's case, or one already in progress, cannot be returned
    other = _new(client)["id"]
    _go(client, disp, other, "accepted", "registered", "dispatched")
    r = client.post(f"/reports/{other}/return", json={"reason": "x"}, headers=bearer(disp))
    assert r.status_code == 409 and r.json()["detail"]["allowed"] == ["in_progress"]
    assert (
        client.post(f"/reports/{other}/return", json={"reason": ""}, headers=bearer(disp)).status_code == 422
    )


def test_rework_goes_back_to_handling(env: tuple[TestClient, dict[str, str], str]) -> None:
    client, tokens, _ = env
    disp = tokens["dispatcher"]
    rid = _new(client)["id"]
    _go(client, disp, rid, "accepted", "registered", "dispatched", "in_progress", "feedback", "in_progress")
    assert [e["kind"] for e in _events(client, disp, rid)].count("rework") == 1
    assert [s["stage"] for s in _stages(client, disp, rid)][-3:] == ["handle", "verify", "handle"]


def test_extension_approved_moves_the_deadline_refused_does_not(
    env: tuple[TestClient, dict[str, str], str],
) -> None:
    client, tokens, url = env
    disp = tokens["dispatcher"]
    rid = _new(client)["id"]
    out = _go(client, disp, rid, "accepted", "registered", "dispatched")
    due = datetime.fromisoformat(out["stage_due_at"])  # 处置: 4 working hours
    req = _post(client, disp, f"/reports/{rid}/extensions", {"hours": 2, "reason": "需协调产权单位"}, 201)
    r = client.post(f"/reports/{rid}/extensions", json={"hours": 1, "reason": "再要"}, headers=bearer(disp))
    assert r.status_code == 409  # one pending request at a time
    out = _post(client, disp, f"/reports/{rid}/extensions/{req['request_id']}/decision", {"approve": True})
    moved = datetime.fromisoformat(out["stage_due_at"])
    assert moved == Deadlines(url).calendar.deadline(due, 2, "working_hours")
    assert _stages(client, disp, rid)[-1]["extended"] is True
    r = client.post(
        f"/reports/{rid}/extensions/{req['request_id']}/decision",
        json={"approve": True},
        headers=bearer(disp),
    )
    assert r.status_code == 409
    req2 = _post(client, disp, f"/reports/{rid}/extensions", {"hours": 8, "reason": "资金未到位"}, 201)
    out = _post(client, disp, f"/reports/{rid}/extensions/{req2['request_id']}/decision", {"approve": False})
    assert datetime.fromisoformat(out["stage_due_at"]) == moved
    kinds = [e["kind"] for e in _events(client, disp, rid)]
    assert (
        kinds.count("extension_requested") == 2
        and "extension_approved" in kinds
        and "extension_refused" in kinds
    )
    assert (
        client.post(
            f"/reports/{rid}/extensions/999999/decision", json={"approve": True}, headers=bearer(disp)
        ).status_code
        == 404
    )


def test_park_excluded_from_on_time_and_back_on_its_review_date(
    env: tuple[TestClient, dict[str, str], str],
) -> None:
    client, tokens, url = env
    disp = tokens["dispatcher"]
    rid = _new(client, category="illegal_construction")["id"]
    out = _go(client, disp, rid, "accepted", "registered", "dispatched")
    today = clock.now().astimezone(TZ).date()
    r = client.post(
        f"/reports/{rid}/park", json={"reason": "资金", "review_on": today.isoformat()}, headers=bearer(disp)
    )
    assert r.status_code == 422
    review = today + timedelta(days=30)
    out = _post(
        client, disp, f"/reports/{rid}/park", {"reason": "待规划调整", "review_on": review.isoformat()}
    )
    assert (out["status"], out["status_label"], out["stage"], out["light"]) == ("parked", "挂账", None, None)
    assert out["parked_until"] == review.isoformat() and out["parked_from_status"] == "dispatched"
    assert _stages(client, disp, rid)[-1]["on_time"] is None  # a parked stage is not judged
    listed = client.get("/reports", params={"status": "parked", "limit": 10_000}, headers=bearer(disp)).json()
    assert rid in {i["id"] for i in listed["items"]}
    # a case that is only reported cannot be parked; a parked one cannot move on without unparking
    fresh = _new(client)["id"]
    assert (
        client.post(
            f"/reports/{fresh}/park",
            json={"reason": "x", "review_on": review.isoformat()},
            headers=bearer(disp),
        ).status_code
        == 409
    )
    r = client.post(f"/reports/{rid}/transitions", json={"to": "in_progress"}, headers=bearer(disp))
    assert r.status_code == 409 and "POST /reports/{id}/unpark" in r.json()["detail"]["branches"]

    # its review date comes: the sweep brings it back where it was, with a fresh stage
    _sql(url, "UPDATE reports SET parked_until = :d WHERE id = :id", d=today, id=rid)
    with session(url) as s:
        assert stage_service.sweep(s, clock.now()).unparked >= 1
        s.commit()
    back = client.get(f"/reports/{rid}", headers=bearer(disp)).json()
    assert (back["status"], back["stage"], back["parked_until"]) == ("dispatched", "handle", None)
    assert [e["kind"] for e in back["history"]][-2:] == ["unparked", "transition"]

    # and by hand
    _post(client, disp, f"/reports/{rid}/park", {"reason": "再次挂账", "review_on": review.isoformat()})
    assert _post(client, disp, f"/reports/{rid}/unpark", {"note": "资金到位"})["status"] == "dispatched"
    assert client.post(f"/reports/{rid}/unpark", json={}, headers=bearer(disp)).status_code == 409


def test_supervision_orders_with_deadline_and_outcome(env: tuple[TestClient, dict[str, str], str]) -> None:
    client, tokens, _ = env
    disp = tokens["dispatcher"]
    rid = _new(client)["id"]
    _go(client, disp, rid, "accepted", "registered")
    _post(client, disp, f"/reports/{rid}/dispatch", {"kind": "department"})
    order = _post(
        client,
        disp,
        f"/reports/{rid}/supervision",
        {"kind": "supervise", "reason": "群众反映强烈", "hours": 4},
        201,
    )
    assert order["target"] == "城市管理负责人" and order["kind_label"] == "督办" and order["due_at"]
    queue = client.get("/supervision", headers=bearer(disp)).json()["items"]
    assert order["id"] in {o["id"] for o in queue}
    done = _post(client, disp, f"/reports/{rid}/supervision/{order['id']}/outcome", {"outcome": "已清理完毕"})
    assert done["outcome"] == "已清理完毕" and done["resolved_at"] is not None
    assert order["id"] not in {
        o["id"] for o in client.get("/supervision", headers=bearer(disp)).json()["items"]
    }
    r = client.post(
        f"/reports/{rid}/supervision/{order['id']}/outcome", json={"outcome": "x"}, headers=bearer(disp)
    )
    assert r.status_code == 409
    past = (clock.now() - timedelta(hours=1)).isoformat()
    r = client.post(f"/reports/{rid}/supervision", json={"reason": "x", "due_at": past}, headers=bearer(disp))
    assert r.status_code == 422
    rejected = _new(client)["id"]
    _go(client, disp, rejected, "rejected")
    r = client.post(f"/reports/{rejected}/supervision", json={"reason": "x"}, headers=bearer(disp))
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"
    assert client.post(f"/reports/{rid}/supervision", json={"reason": "x"}).status_code == 401


# ----------------------------------------------------------------------------------------------- CLI
def test_categories_and_calendar_files_round_trip_all_or_nothing(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEO_GRID_DATABASE_URL", db_url)
    runner = CliRunner()
    out = tmp_path / "categories.csv"
    r = runner.invoke(cli_app, ["categories", "export", str(out)])
    assert r.exit_code == 0, r.output
    text_ = out.read_text(encoding="utf-8-sig")
    assert text_.count("\n") == 11 and "养老诈骗" in text_
    edited = text_.replace("噪音扰民", "噪声扰民（夜间）")
    out.write_text(edited, encoding="utf-8")
    r = runner.invoke(cli_app, ["categories", "import", str(out)])
    assert r.exit_code == 0, r.output
    assert '"updated"' in r.output
    broken = tmp_path / "broken.csv"
    broken.write_text(
        edited.replace("噪声扰民（夜间）", "噪声").replace("natural_hours", "fortnights", 1), encoding="utf-8"
    )
    r = runner.invoke(cli_app, ["categories", "import", str(broken)])
    assert r.exit_code == 2 and "第 2 行" in r.output
    with session(db_url) as s:
        assert (
            s.execute(text("SELECT name FROM categories WHERE code = 'noise'")).scalar_one()
            == "噪声扰民（夜间）"
        )
        assert (
            s.execute(text("SELECT count(*) FROM audit_log WHERE action = 'import_categories'")).scalar_one()
            == 1
        )

    cal = tmp_path / "2027.csv"
    cal.write_text("day,is_workday,name\n2027-01-01,false,元旦\n2027-02-06,true,春节调休\n", encoding="utf-8")
    r = runner.invoke(cli_app, ["calendar", "import", str(cal)])
    assert r.exit_code == 0, r.output
    bad = tmp_path / "bad.csv"
    bad.write_text("day,is_workday,name\n2027-10-01,false,国庆节\n2027-13-01,false,x\n", encoding="utf-8")
    r = runner.invoke(cli_app, ["calendar", "import", str(bad)])
    assert r.exit_code == 2 and "第 3 行" in r.output
    with session(db_url) as s:
        days = dict(
            s.execute(text("SELECT day, is_workday FROM work_calendar WHERE day >= '2027-01-01'")).all()
        )
    assert days == {date(2027, 1, 1): False, date(2027, 2, 6): True}  # nothing of the bad file
    exported = runner.invoke(cli_app, ["calendar", "export"])
    assert exported.exit_code == 0 and "2025-10-11,True,国庆节调休" in exported.output
    swept = runner.invoke(cli_app, ["sweep"])
    assert swept.exit_code == 0 and '"red"' in swept.output


def test_incident_map_colours_markers_by_light_in_a_layer_of_its_own(
    env: tuple[TestClient, dict[str, str], str],
) -> None:
    client, tokens, _ = env
    r = client.get("/maps/incidents", headers=bearer(tokens["dispatcher"]))
    assert r.status_code == 200, r.text[:300]
    page = r.text
    assert "上报（按红黄绿灯）" in page and "阶段红黄绿灯" in page
    assert "#d7191c" in page and "红灯（已超期）" in page


def test_migration_downgrades_and_upgrades_again(empty_db_factory: Callable[[], str]) -> None:
    from alembic import command

    from geo_grid import db

    url = empty_db_factory()
    db.upgrade(url)
    command.downgrade(db.alembic_config(url), "0003_privacy")
    with session(url) as s:
        assert s.execute(text("SELECT to_regclass('categories')")).scalar_one() is None
    db.upgrade(url)
    with session(url) as s:
        assert s.execute(text("SELECT count(*) FROM categories")).scalar_one() == 10
        assert s.execute(text("SELECT count(*) FROM work_calendar")).scalar_one() == 72
