"""The monthly assessment (考核) against the real PostGIS: the numbers of hand-made cases that take every
branch (on time, late, returned and dispatched again, reworked, extended, parked, supervised and urged,
自办自结, closed early, due but closed after the month, refused, outside every grid), child units adding up
to their parent (hand-made month and the sample's October), GET /assessment and its roles, the workbook
(GET /assessment.xlsx and `geo-grid assessment`) opened with openpyxl: sheets, charts, numbers.

The hand-made history is written as rows (reports, report_stages, report_events, supervision_orders) in
March 2027, a month the sample does not reach, so that this file tests the counting on its own."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from geo_grid import db
from geo_grid.assessment import UnitCounts
from geo_grid.cli import app as cli_app
from geo_grid.services import assessment as svc
from tests.support.api import bearer, create_tokens
from tests.support.places import SAMPLE_SUBDISTRICT

PERIOD = "2027-03"
M1 = "410105012004003005"  # community 410105012004
M2 = "410105012001001001"  # community 410105012001
DEPT = "城市管理"
WEIGHTS = {"closure_rate": 1.0, "on_time_closure_rate": 1.0}


def _t(day: str, hm: str = "09:00") -> str:
    return f"2027-{day}T{hm}:00+08:00"


# The cases: name → report columns, stages (stage, ended_at, on_time), events (kind, at, data), orders.
CASES: dict[str, dict[str, Any]] = {
    # closed on time by the department (dispatched once), rated 5
    "A": {"micro": M1, "status": "closed", "created": _t("03-02"), "accepted": _t("03-02", "09:30"),
          "due": _t("03-05"), "closed": _t("03-04"), "solved": True, "rating": 5, "dept": DEPT,
          "stages": [("register", _t("03-02", "10:00"), True), ("handle", _t("03-03"), True)],
          "events": [("dispatch", _t("03-02", "11:00"), {"kind": "department", "target": DEPT})]},
    # accepted late; returned by the department and dispatched again; extended; reworked; closed late
    "B": {"micro": M1, "status": "closed", "created": _t("03-03"), "accepted": _t("03-03", "12:00"),
          "due": _t("03-06"), "closed": _t("03-08"), "solved": True, "rating": 2, "dept": DEPT,
          "stages": [("register", _t("03-03", "12:30"), True), ("handle", _t("03-07"), False)],
          "events": [("dispatch", _t("03-03", "13:00"), {"kind": "department", "target": DEPT}),
                     ("returned", _t("03-03", "15:00"), {"department": DEPT, "reason": "不属本部门"}),
                     ("redispatch", _t("03-03", "16:00"), {"kind": "department", "target": DEPT}),
                     ("extension_approved", _t("03-05"), {"hours": 24, "reason": "材料未到"}),
                     ("rework", _t("03-06"), {})]},
    # still being handled by the grid team when due; supervised and urged
    "C": {"micro": M2, "status": "in_progress", "created": _t("03-10"), "accepted": _t("03-10", "09:30"),
          "due": _t("03-20"), "stages": [("register", _t("03-10", "10:00"), True)],
          "events": [("dispatch", _t("03-10", "11:00"), {"kind": "grid_team", "target": M2})],
          "orders": [("supervise", _t("03-21")), ("urge", _t("03-21", "10:00"))]},
    # parked (挂账) in the month: out of 应结案数 and of the on-time handling figures
    "D": {"micro": M2, "status": "parked", "created": _t("03-01"), "accepted": _t("03-01", "09:30"),
          "due": _t("03-15"), "stages": [("register", _t("03-01", "10:00"), True), ("handle", _t("03-11"), False)],
          "events": [("parked", _t("03-12"), {"reason": "待资金", "review_on": "2027-06-01"})]},
    # 自办自结: a grid worker closes it on the spot; 自行处置, not 立案, not due
    "E": {"micro": M1, "status": "closed", "created": _t("03-05"), "closed": _t("03-05", "09:10"),
          "due": _t("03-06"), "solved": True, "self_resolved": True},
    # closed early (due in April): counts in March, on time
    "F": {"micro": M2, "status": "closed", "created": _t("03-25"), "accepted": _t("03-25", "09:30"),
          "due": _t("04-10"), "closed": _t("03-28"), "solved": True, "rating": 4,
          "stages": [("register", _t("03-25", "10:00"), True), ("handle", _t("03-27"), True)]},
    # registered in February, due in March, closed in April: due in March, not closed in March
    "G": {"micro": M1, "status": "closed", "created": "2027-02-20T09:00:00+08:00",
          "accepted": "2027-02-20T09:30:00+08:00", "due": _t("03-25"), "closed": _t("04-02"), "solved": True,
          "stages": [("register", "2027-02-20T10:00:00+08:00", True)]},
    # refused (不予受理): a case of the month, nothing else
    "H": {"micro": M1, "status": "rejected", "created": _t("03-06"), "due": _t("03-09"), "closed": _t("03-06", "10:00")},
    # outside every grid: handled by the centre
    "I": {"micro": None, "status": "closed", "created": _t("03-07"), "accepted": _t("03-07", "09:30"),
          "due": _t("03-10"), "closed": _t("03-09"), "solved": True,
          "stages": [("register", _t("03-07", "10:00"), True)]},
}  # fmt: skip

# What the subdistrict's March must show, counted by hand from the cases above.
EXPECTED = UnitCounts(
    cases=8,  # A B C D E F H I (G is February's)
    received=6,  # A B C D F I
    registered=6,  # A B C D F I
    handle_ended=3,  # A B F (D parked)
    handled_on_time=2,  # A F
    due=6,  # A B C F G I
    closed=4,  # A B F I
    closed_on_time=3,  # A F I
    reworks=1,
    extensions=1,
    returns=1,
    dispatches=4,  # A, B twice, C
    self_resolved=1,
    to_handle=7,  # not H
    responded_in_time=5,  # A C D F I (B accepted after 2 h, E never accepted)
    solved=5,  # A B E F I
    rated=3,
    satisfied=2,
    supervisions=1,
    urges=1,
)


def _insert(session: Any) -> None:
    for name, c in CASES.items():
        micro = c["micro"]
        rid = session.execute(
            text("""INSERT INTO reports (external_id, category, channel, status, created_at, updated_at,
                      accepted_at, closed_at, due_at, solved, rating, micro_code, tertiary_code,
                      community_code, outside, dispatch_kind, dispatch_target, self_resolved)
                    VALUES (:ext, 'littering', 'grid_phone', :status, :created, :created, :accepted, :closed,
                      :due, :solved, :rating, :micro, :tertiary, :community, :outside, :dkind, :dtarget, :self)
                    RETURNING id"""),
            {"ext": f"ASSESS-{name}", "status": c["status"], "created": c["created"],
             "accepted": c.get("accepted"), "closed": c.get("closed"), "due": c["due"],
             "solved": c.get("solved"), "rating": c.get("rating"), "micro": micro,
             "tertiary": micro[:15] if micro else None, "community": micro[:12] if micro else None,
             "outside": micro is None, "dkind": "department" if c.get("dept") else None,
             "dtarget": c.get("dept"), "self": c.get("self_resolved", False)},
        ).scalar_one()  # fmt: skip
        for stage, ended, on_time in c.get("stages", []):
            session.execute(
                text("""INSERT INTO report_stages (report_id, stage, started_at, due_at, yellow_at, limit_value,
                          limit_unit, ended_at, on_time)
                        VALUES (:r, :stage, CAST(:ended AS timestamptz) - interval '1 hour',
                          CAST(:ended AS timestamptz) + interval '1 hour', CAST(:ended AS timestamptz), 2,
                          'working_hours', :ended, :on_time)"""),
                {"r": rid, "stage": stage, "ended": ended, "on_time": on_time},
            )
        for kind, at, data in c.get("events", []):
            real_kind, to_status = ("transition", "dispatched") if kind == "dispatch" else (kind, None)
            session.execute(
                text("""INSERT INTO report_events (report_id, kind, to_status, actor, data, at)
                        VALUES (:r, :kind, :to, 'test', CAST(:data AS jsonb), :at)"""),
                {"r": rid, "kind": real_kind, "to": to_status, "data": json.dumps(data), "at": at},
            )
        for kind, at in c.get("orders", []):
            session.execute(
                text("""INSERT INTO supervision_orders (report_id, kind, automatic, issued_by, target, issued_at)
                        VALUES (:r, :kind, :auto, 'test', '网格员', :at)"""),
                {"r": rid, "kind": kind, "auto": kind == "urge", "at": at},
            )


@pytest.fixture(scope="module")
def made_url(db_factory: Any) -> str:
    url: str = db_factory()
    engine = db.make_engine(url, pool_size=1)
    with db.transaction(db.make_session_factory(engine)) as session:
        _insert(session)
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def session(made_url: str) -> Iterator[Any]:
    engine = db.make_engine(made_url, pool_size=1)
    with db.transaction(db.make_session_factory(engine)) as s:
        yield s
    engine.dispose()


def _by_code(a: svc.Assessment) -> dict[str | None, Any]:
    return {u.code: u for u in a.units}


def test_hand_made_cases_every_branch(session: Any) -> None:
    sub = svc.assess(session, PERIOD, "subdistrict", WEIGHTS, 0)
    assert [u.code for u in sub.units] == [SAMPLE_SUBDISTRICT.code]
    assert sub.units[0].counts == EXPECTED
    ind = sub.units[0].indicators
    assert (ind["closure_rate"].numerator, ind["closure_rate"].denominator) == (4, 6)
    assert ind["on_time_closure_rate"].rate == 0.5
    assert (ind["return_rate"].numerator, ind["return_rate"].denominator) == (1, 4)
    assert (ind["extension_rate"].numerator, ind["extension_rate"].denominator) == (1, 6)
    assert (ind["rework_rate"].numerator, ind["rework_rate"].denominator) == (1, 3)
    assert ind["self_resolved"] == type(ind["self_resolved"])(1, None, None)
    assert sub.start.isoformat() == "2027-03-01T00:00:00+08:00"


def test_department_counts_its_own_returns_and_dispatches(session: Any) -> None:
    dept = _by_code(svc.assess(session, PERIOD, "department", WEIGHTS, 0))[DEPT]
    c = dept.counts
    assert (c.due, c.closed, c.closed_on_time) == (2, 2, 1)  # A B
    assert (c.returns, c.dispatches) == (1, 3)  # B's return; A, B, B again (C went to the grid team)
    assert (c.reworks, c.extensions, c.registered) == (1, 1, 2)


@pytest.mark.parametrize("by", ["community", "tertiary", "micro", "person"])
def test_children_sum_to_the_subdistrict(session: Any, by: str) -> None:
    for period in (PERIOD, "2026-10"):  # the hand-made month, and the sample's last month
        sub = svc.assess(session, period, "subdistrict", WEIGHTS, 0).units[0].counts
        units = svc.assess(session, period, by, WEIGHTS, 0).units
        summed = {f.name: sum(getattr(u.counts, f.name) for u in units) for f in fields(UnitCounts)}
        if by == "person":  # reports outside every grid have no 微网格长: they are the difference
            outside = next(
                u for u in svc.assess(session, period, "community", WEIGHTS, 0).units if u.code is None
            )
            summed = {k: v + getattr(outside.counts, k) for k, v in summed.items()}
        assert summed == {f.name: getattr(sub, f.name) for f in fields(UnitCounts)}, (by, period)


def test_community_units_and_ranking(session: Any) -> None:
    a = svc.assess(session, PERIOD, "community", WEIGHTS, min_cases=3)
    units = _by_code(a)
    assert len(units) == 12  # 11 communities and the reports outside every grid
    c4, c1, outside = units[M1[:12]], units[M2[:12]], units[None]
    assert (c4.counts.cases, c1.counts.cases, outside.counts.cases) == (4, 3, 1)  # A B E H | C D F | I
    # c4: due A B G, closed A B, on time A → (2/3 + 1/3) / 2; c1: due C F, closed F, on time F → 50
    assert (c4.score, c1.score) == (50.0, 50.0)
    assert (c4.rank, c1.rank) == (1, 1) and c4.ranked and c1.ranked  # equal scores share the rank
    assert outside.rank is None and not outside.ranked
    assert all(u.rank is None for u in a.units if u.counts.cases < 3)
    assert units[M2[:12]].name == "康复社区"


def test_bad_period_and_kind(session: Any) -> None:
    from geo_grid.errors import InvalidInput

    for bad in ("2027-13", "2027-3", "march", "0000-01", "9999-12"):
        with pytest.raises(InvalidInput):
            svc.assess(session, bad, "community", WEIGHTS, 0)
    with pytest.raises(InvalidInput):
        svc.assess(session, PERIOD, "planet", WEIGHTS, 0)


@pytest.fixture(scope="module")
def api(make_client: Any, made_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    tokens = create_tokens(made_url)
    with make_client(made_url, assessment_min_cases=3) as client:
        yield client, tokens


def test_get_assessment(api: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = api
    r = client.get(
        "/assessment", params={"period": PERIOD, "by": "community"}, headers=bearer(tokens["dispatcher"])
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["period"], body["by"], body["min_cases"]) == (PERIOD, "community", 3)
    c4 = next(u for u in body["units"] if u["code"] == M1[:12])
    assert c4["indicators"]["closure_rate"] == {"numerator": 2, "denominator": 3, "rate": 0.6667}
    assert c4["indicators"]["self_resolved"] == {"numerator": 1, "denominator": None, "rate": None}
    assert set(c4) == {"code", "name", "indicators", "score", "rank", "ranked"}
    assert [u["rank"] for u in body["units"] if u["ranked"]] == sorted(
        u["rank"] for u in body["units"] if u["ranked"]
    )


def test_roles_and_validation(api: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = api
    for path in ("/assessment", "/assessment.xlsx"):
        assert client.get(path, params={"period": PERIOD}).status_code == 401
    bad = client.get("/assessment", params={"period": "2027-13"}, headers=bearer(tokens["dispatcher"]))
    assert bad.status_code == 422
    bad = client.get(
        "/assessment", params={"period": PERIOD, "by": "x"}, headers=bearer(tokens["dispatcher"])
    )
    assert bad.status_code == 422
    assert bad.json()["code"]


def _check_workbook(data: bytes, kinds: tuple[str, ...]) -> openpyxl.Workbook:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["指标说明", *(svc.UNIT_KIND_LABELS[k] for k in kinds)]
    for k in kinds:
        ws = wb[svc.UNIT_KIND_LABELS[k]]
        titles = sorted(str(ch.title.tx.rich.p[0].r[0].t) for ch in ws._charts)  # type: ignore[attr-defined]
        assert any("趋势" in t for t in titles), (k, titles)
    return wb


def test_xlsx_route(api: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = api
    r = client.get("/assessment.xlsx", params={"period": PERIOD}, headers=bearer(tokens["admin"]))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    wb = _check_workbook(r.content, svc.UNIT_KINDS)
    ws = wb["社区"]
    # Both charts: the trend and the ranking (two communities have ≥ 3 cases).
    assert len(ws._charts) == 2  # type: ignore[attr-defined]
    rows = list(ws.iter_rows(values_only=True))
    header = next(i for i, row in enumerate(rows) if row[:3] == ("名次", "编码", "名称"))
    cols = rows[header]
    c4 = next(row for row in rows[header + 1 :] if row[1] == M1[:12])
    assert c4[cols.index("结案率分子")] == 2 and c4[cols.index("结案率分母")] == 3
    assert c4[cols.index("结案率")] == pytest.approx(0.6667)
    trend = [row for row in rows[4:16]]
    assert [row[0] for row in trend] == [f"2026-{m:02d}" for m in range(4, 13)] + [
        "2027-01",
        "2027-02",
        "2027-03",
    ]
    assert trend[-1][1] == pytest.approx(4 / 6, abs=1e-4)  # the subdistrict's March 结案率


def test_cli_writes_the_workbook(made_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEO_GRID_DATABASE_URL", made_url)
    out = tmp_path / "2027-03.xlsx"
    result = CliRunner().invoke(
        cli_app, ["assessment", "--period", PERIOD, "-o", str(out), "--by", "community"]
    )
    assert result.exit_code == 0, result.output
    _check_workbook(out.read_bytes(), ("community",))
    bad = CliRunner().invoke(cli_app, ["assessment", "--period", "2027-3", "-o", str(out)])
    assert bad.exit_code == 2


def test_the_sample_takes_every_branch(ro_db_url: str) -> None:
    """`geo-grid load-sample` (services/sample_cases.py): some cases returned and dispatched again, reworked,
    extended (and refused), parked, supervised and urged, some red; the month of the load shows them."""
    engine = db.make_engine(ro_db_url, pool_size=1)
    with db.transaction(db.make_session_factory(engine)) as s:
        kinds = dict(s.execute(text("SELECT kind, count(*) FROM report_events GROUP BY kind")).all())
        for kind in ("returned", "rework", "extension_approved", "extension_refused", "parked", "supervision",
                     "urge", "red_light"):  # fmt: skip
            assert kinds.get(kind, 0) > 0, kind
        second = "SELECT count(*) FROM report_events WHERE kind = 'transition' AND data->>'second' = 'true'"
        assert s.execute(text(second)).scalar_one() == kinds["returned"]  # 二次派遣 after each 退回
        assert s.execute(text("SELECT count(*) FROM reports WHERE status = 'parked'")).scalar_one() > 0
        orders = dict(s.execute(text("SELECT automatic, count(*) FROM supervision_orders GROUP BY 1")).all())
        assert orders.get(True, 0) > 0 and orders.get(False, 0) > 0
        # The sample is loaded on the suite's clock (2026-11-01): November's assessment counts the branches.
        c = svc.assess(s, "2026-11", "subdistrict", WEIGHTS, 0).units[0].counts
        assert (c.returns, c.extensions, c.supervisions, c.urges) == (
            kinds["returned"],
            kinds["extension_approved"],
            orders[False] - 1,
            1 + orders[True],
        )
        assert c.reworks == kinds["rework"] and c.dispatches > c.returns
        assert c.registered >= c.returns
    engine.dispose()


def test_972_due_911_closed_737_on_time_in_sql(db_factory: Any) -> None:
    """The issue's fixture as cases: 972 due in May 2027, 911 of them closed in May, 737 by their deadline."""
    url = db_factory()
    engine = db.make_engine(url, pool_size=1)
    with db.transaction(db.make_session_factory(engine)) as s:
        s.execute(
            text("""INSERT INTO reports (external_id, category, channel, status, created_at, updated_at,
                      accepted_at, due_at, closed_at, solved, micro_code, tertiary_code, community_code)
                    SELECT 'F' || g, 'littering', 'hotline', CASE WHEN g <= 911 THEN 'closed' ELSE 'in_progress' END,
                      t, t, t + interval '1 hour',
                      CASE WHEN g <= 737 THEN t + interval '19 days' ELSE t + interval '9 days' END,
                      CASE WHEN g <= 737 THEN t + interval '9 days' WHEN g <= 911 THEN t + interval '14 days' END,
                      CASE WHEN g <= 911 THEN true END, :m, :t, :c
                    FROM generate_series(1, 972) g, CAST('2027-05-01T09:00:00+08:00' AS timestamptz) t"""),
            {"m": M1, "t": M1[:15], "c": M1[:12]},
        )
        values = svc.assess(s, "2027-05", "subdistrict", WEIGHTS, 0).units[0].indicators
        assert values["closure_rate"] == type(values["closure_rate"])(911, 972, 0.9372)
        assert values["on_time_closure_rate"] == type(values["closure_rate"])(737, 972, 0.7582)
        # The 61 still open were due in May: June has none of these cases due.
        june = svc.assess(s, "2027-06", "subdistrict", WEIGHTS, 0).units[0].counts
        assert june.due == 0
    engine.dispose()
