"""Access is scoped (issue 15, migration 0010_access_scope): a user or token belongs to one subdistrict and
sees and acts on its data only, or to the district/city and reads everything but changes nothing unless it
is admin. A second subdistrict (its codes start with its own 9-digit code) gets a report, a person and a
draft generation; the 未来路 dispatcher and planner cannot list, read, transition, dispatch or move its
report, read its people or its draft, and the other way round; a district-level reader sees both and
cannot change anything; an admin can. Bearer tokens and browser sessions alike."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from geo_grid import db
from geo_grid.cli import app as cli
from geo_grid.repository import console as console_repo
from geo_grid.repository import maps as maps_repo
from geo_grid.repository import rules
from geo_grid.repository import scope as scope_repo
from geo_grid.repository.reports import ReportFilter
from tests.support.accounts import create_token, create_user, login
from tests.support.api import bearer
from tests.support.clock import TEST_NOW
from tests.support.report_helpers import interior_point
from tests.support.sql import query, scalar

TEST_AT = datetime.fromisoformat(TEST_NOW)
HOME = "410105012"  # 未来路街道 (the sample)
OTHER = "410105099"  # a second subdistrict of 金水区 (generated for this test)
HOME_MICRO = "410105012004003005"
OTHER_COMMUNITY, OTHER_TERTIARY, OTHER_MICRO = f"{OTHER}001", f"{OTHER}001001", f"{OTHER}001001001"


@dataclass(frozen=True)
class Env:
    client: TestClient
    url: str
    home_report: int
    other_report: int
    admins_report: int  # another report of the second subdistrict, for the admin to change
    other_draft: int
    tokens: dict[str, str]


def _add_other_subdistrict(url: str, report_ids: list[int]) -> int:
    """The second subdistrict's row, a person on its micro-grid, its reports (reports filed in 未来路,
    re-coded to it) and a draft generation; returns the draft's id."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO subdistricts VALUES (:code, '测试街道', '410105', '金水区', '410100', '郑州市', "
                "'410000', '河南省')"
            ),
            {"code": OTHER},
        )
        person = conn.execute(
            text(
                "INSERT INTO people (person_id, name, phone, subdistrict_code) "
                "VALUES ('P99001', '测试人', '13900009999', :code) RETURNING id"
            ),
            {"code": OTHER},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO roles (person_id, role, grid_code, community_code) "
                "VALUES (:p, 'micro_grid_leader', :micro, :community)"
            ),
            {"p": person, "micro": OTHER_MICRO, "community": OTHER_COMMUNITY},
        )
        conn.execute(
            text(
                "UPDATE reports SET community_code = :c, tertiary_code = :t, micro_code = :m, "
                "subdistrict_code = :code WHERE id = ANY(:ids)"
            ),
            {"c": OTHER_COMMUNITY, "t": OTHER_TERTIARY, "m": OTHER_MICRO, "code": OTHER, "ids": report_ids},
        )
        draft = conn.execute(
            text(
                "INSERT INTO generations (subdistrict_code, status, note, created_by) "
                "VALUES (:code, 'draft', '测试街道的草稿', 'test') RETURNING id"
            ),
            {"code": OTHER},
        ).scalar_one()
    engine.dispose()
    return int(draft)


def _post_report(client: TestClient) -> int:
    lon, lat = interior_point(HOME_MICRO)
    body = {"category": "road_occupation", "channel": "public_account", "description": "商户占道经营",
            "lon": lon, "lat": lat, "reporter_contact": "13812345678"}  # fmt: skip
    r = client.post("/reports", json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


@pytest.fixture(scope="module")
def env(db_factory: Callable[[], str], make_client: Callable[..., Any]) -> Iterator[Env]:
    url = db_factory()
    # The app starts while the database holds one subdistrict (today's snapshot serves one); the second
    # one arrives as the service runs.
    with make_client(url, rate_anonymous_writes_per_min=0) as client:
        home_report, other_report, admins_report = (_post_report(client) for _ in range(3))
        draft = _add_other_subdistrict(url, [other_report, admins_report])
        tokens = {
            "home": create_token(url, "dispatcher", "未来路调度", subdistrict=HOME),
            "other": create_token(url, "dispatcher", "测试街道调度", subdistrict=OTHER),
            "home_planner": create_token(url, "planner", "未来路规划", subdistrict=HOME),
            "other_planner": create_token(url, "planner", "测试街道规划", subdistrict=OTHER),
            "district": create_token(url, "dispatcher", "区级调度", subdistrict=None),
            "district_planner": create_token(url, "planner", "区级规划", subdistrict=None),
            "admin": create_token(url, "admin", "管理员"),  # an admin is district level by default
        }
        yield Env(client, url, home_report, other_report, admins_report, draft, tokens)


def _h(env: Env, who: str) -> dict[str, str]:
    return bearer(env.tokens[who])


def _status(env: Env, report_id: int) -> str:
    return str(scalar(env.url, "SELECT status FROM reports WHERE id = :id", id=report_id))


def _listed(env: Env, who: str, client: TestClient | None = None) -> set[int]:
    """The ids of this test's reports (filed since the test clock's start) in a principal's listing; and
    the listing's `total` equals the number of reports the scope rule gives it."""
    headers = _h(env, who) if client is None else {}  # a browser session: its cookie
    client = client or env.client
    r = client.get("/reports", params={"since": TEST_NOW, "limit": 100}, headers=headers)
    assert r.status_code == 200, r.text
    total = client.get("/reports", params={"limit": 1}, headers=headers).json()["total"]
    code = {"home": HOME, "other": OTHER}.get(who)
    every = scalar(env.url, "SELECT count(*) FROM reports")
    assert total == (len(_in_scope_ids(env, code)) if code else every), (who, total)
    return {item["id"] for item in r.json()["items"]}


def _in_scope_ids(env: Env, code: str) -> set[int]:
    """What the rule says a subdistrict's principal sees: its reports (reports.subdistrict_code, migration
    0009_district), or a report of no subdistrict (the district level)."""
    rows = query(
        env.url,
        "SELECT id FROM reports WHERE subdistrict_code IS NULL OR subdistrict_code = :code",
        code=code,
    )
    return {r.id for r in rows}


def _not_found(r: Any, code: str) -> None:
    assert r.status_code == 404, r.text
    body = r.json()
    assert body["code"] == code and body["message"], body


# ----------------------------------------------------------------------------------------- reports


def test_home_dispatcher_cannot_list_read_or_change_the_other_subdistricts_report(env: Env) -> None:
    other = env.other_report
    assert _listed(env, "home") == {env.home_report}
    for fmt in ("geojson", "csv"):
        r = env.client.get("/reports", params={"format": fmt, "since": TEST_NOW}, headers=_h(env, "home"))
        assert r.status_code == 200, r.text
        ids = (
            {f["id"] for f in r.json()["features"]}
            if fmt == "geojson"
            else {int(row["id"]) for row in csv.DictReader(io.StringIO(r.text.lstrip("\ufeff")))}
        )
        assert other not in ids and env.home_report in ids
    # Reading it, its stages and photos, and every action on it: 404, exactly as for a report that does
    # not exist (its existence is not revealed).
    missing = env.client.get("/reports/999999999", headers=_h(env, "home"))
    _not_found(missing, "report_not_found")
    lon, lat = interior_point(HOME_MICRO)
    for method, path, body in [
        ("get", f"/reports/{other}", None),
        ("get", f"/reports/{other}/stages", None),
        ("get", f"/reports/{other}/photos", None),
        ("post", f"/reports/{other}/transitions", {"to": "accepted"}),
        ("post", f"/reports/{other}/dispatch", {"kind": "grid_team"}),
        ("post", f"/reports/{other}/move", {"lon": lon, "lat": lat}),
        ("post", f"/reports/{other}/park", {"reason": "等待", "review_on": "2030-01-01"}),
    ]:
        r = env.client.request(method, path, json=body, headers=_h(env, "home"))
        _not_found(r, "report_not_found")
        assert r.json()["code"] == missing.json()["code"]
    assert _status(env, other) == "reported"
    # Its own report is its to handle.
    r = env.client.get(f"/reports/{env.home_report}", headers=_h(env, "home"))
    assert r.status_code == 200 and r.json()["reporter_contact"] == "13812345678", r.text


def test_other_dispatcher_sees_and_handles_only_its_own(env: Env) -> None:
    assert _listed(env, "other") == {env.other_report, env.admins_report}
    _not_found(env.client.get(f"/reports/{env.home_report}", headers=_h(env, "other")), "report_not_found")
    r = env.client.post(
        f"/reports/{env.home_report}/transitions", json={"to": "rejected"}, headers=_h(env, "other")
    )
    _not_found(r, "report_not_found")
    assert _status(env, env.home_report) == "reported"
    r = env.client.get(f"/reports/{env.other_report}", headers=_h(env, "other"))
    assert r.status_code == 200 and r.json()["micro_code"] == OTHER_MICRO, r.text


def test_district_reader_sees_both_and_changes_nothing(env: Env) -> None:
    assert _listed(env, "district") == {env.home_report, env.other_report, env.admins_report}
    for rid in (env.home_report, env.other_report):
        assert env.client.get(f"/reports/{rid}", headers=_h(env, "district")).status_code == 200
        r = env.client.post(
            f"/reports/{rid}/transitions", json={"to": "accepted"}, headers=_h(env, "district")
        )
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "district_read_only" and "只能查看" in r.json()["message"]
        assert _status(env, rid) == "reported"
    r = env.client.post("/generations", json={"note": "区级"}, headers=_h(env, "district_planner"))
    assert r.status_code == 403 and r.json()["code"] == "district_read_only", r.text


def test_admin_reads_and_changes_any_subdistrict(env: Env) -> None:
    rid = env.admins_report
    assert _listed(env, "admin") == {env.home_report, env.other_report, rid}
    assert env.client.get(f"/reports/{rid}", headers=_h(env, "admin")).status_code == 200
    r = env.client.post(
        f"/reports/{rid}/transitions", json={"to": "rejected", "note": "管理员处理"}, headers=_h(env, "admin")
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected", r.text
    assert _status(env, rid) == "rejected"


def test_console_events_and_incident_map_follow_the_scope(env: Env) -> None:
    """The console's event stream (new report ids) and the incident map's markers read the same scope."""
    engine = db.make_engine(env.url, pool_size=1)
    with db.transaction(db.make_session_factory(engine)) as session:
        events = {
            code: set(console_repo.report_ids_after(session, 0, 100_000, scope_repo.Scope(code)))
            for code in (HOME, OTHER, None)
        }
        markers = {
            code: {
                r.id for r in maps_repo.reports(session, ReportFilter(access=scope_repo.Scope(code)), TEST_AT)
            }
            for code in (HOME, OTHER, None)
        }
    engine.dispose()
    placed = {r.id for r in query(env.url, "SELECT id FROM reports WHERE geom IS NOT NULL")}
    for code in (HOME, OTHER):
        assert events[code] == _in_scope_ids(env, code)
        assert markers[code] == _in_scope_ids(env, code) & placed
    assert env.other_report in events[None] - events[HOME] and env.home_report in events[None] - events[OTHER]
    assert markers[None] == placed


def test_ogc_and_open311_follow_the_scope(env: Env) -> None:
    """The same reports through OGC API – Features and Open311 GeoReport v2."""
    for path in ("/ogc/collections/reports/items/{id}", "/open311/v2/requests/{id}.json"):
        for who, mine, theirs in (("home", env.home_report, env.other_report),
                                  ("other", env.other_report, env.home_report)):  # fmt: skip
            assert env.client.get(path.format(id=mine), headers=_h(env, who)).status_code == 200
            r = env.client.get(path.format(id=theirs), headers=_h(env, who))
            assert r.status_code == 404, (path, who, r.text)
        assert (
            env.client.get(path.format(id=env.other_report), headers=_h(env, "district")).status_code == 200
        )
    r = env.client.get("/open311/v2/requests.json", params={"start_date": TEST_NOW}, headers=_h(env, "home"))
    assert r.status_code == 200, r.text
    assert {int(x["service_request_id"]) for x in r.json()} == {env.home_report}


def test_supervision_queue_follows_the_scope(env: Env) -> None:
    """督办 orders of the other subdistrict's case: in its queue and the district's, not in 未来路's."""
    engine = create_engine(env.url)
    with engine.begin() as conn:
        order = conn.execute(
            text(
                "INSERT INTO supervision_orders (report_id, kind, issued_by, target, reason) "
                "VALUES (:r, 'supervise', '区领导', '测试街道', '尽快处理') RETURNING id"
            ),
            {"r": env.other_report},
        ).scalar_one()
    engine.dispose()

    def queue(who: str) -> set[int]:
        r = env.client.get("/supervision", params={"limit": 10_000}, headers=_h(env, who))
        assert r.status_code == 200, r.text
        return {o["id"] for o in r.json()["items"]}

    assert order in queue("other") and order in queue("district") and order not in queue("home")
    _not_found(
        env.client.get(f"/reports/{env.other_report}/supervision", headers=_h(env, "home")),
        "report_not_found",
    )


def test_assessment_counts_the_callers_subdistrict_only(env: Env) -> None:
    """考核 of a subdistrict's dispatcher: its subdistrict as the unit, its cases only (the scope rule); of a
    district-level one: the whole district, one unit per subdistrict (services/subdistricts.py)."""
    period = TEST_NOW[:7]
    for who, code in (("home", HOME), ("other", OTHER), ("district", None)):
        r = env.client.get(
            "/assessment", params={"period": period, "by": "subdistrict"}, headers=_h(env, who)
        )
        assert r.status_code == 200, r.text
        body = r.json()
        if code is None:
            assert {u["code"] for u in body["units"]} >= {HOME, OTHER} and body["subdistrict"] is None
            denominator = sum(u["indicators"]["response_rate"]["denominator"] for u in body["units"])
        else:
            [unit] = body["units"]
            assert unit["code"] == code
            denominator = unit["indicators"]["response_rate"]["denominator"]
        within = scope_repo.reports_in(scope_repo.Scope(code))
        expected = scalar(
            env.url,
            f"SELECT count(*) FROM reports r WHERE r.created_at >= :start AND r.created_at < :end "
            f"AND r.status NOT IN {rules.NOT_HANDLED} AND {within.sql}",
            start=body["start"],
            end=body["end"],
            **within.params,
        )
        assert denominator == expected, (who, body["units"])
    assert denominator >= 2  # the district: both subdistricts' cases


# ------------------------------------------------------------------------------------------ people


def test_people_of_another_subdistrict_are_out_of_reach(env: Env) -> None:
    # A report's responsible people (phones unmasked for a dispatcher) come with the report: 未来路's for
    # its dispatcher, 404 for the other's (above). A grid with its people: 404 outside one's subdistrict.
    r = env.client.get(f"/reports/{env.home_report}", headers=_h(env, "home"))
    assert r.status_code == 200 and r.json()["people"], r.text
    for path in (f"/grids/{HOME_MICRO}", f"/grids/{HOME_MICRO}/stats", f"/grids/{HOME}/stats"):
        _not_found(env.client.get(path, headers=_h(env, "other")), "grid_not_found")
    for path in (f"/grids/{OTHER_MICRO}", f"/grids/{OTHER_MICRO}/history"):
        _not_found(env.client.get(path, headers=_h(env, "home")), "grid_not_found")

    # The roster by the one rule (repository/scope.people_in): each subdistrict sees its own people.
    def people(code: str | None) -> set[str]:
        cond = scope_repo.people_in(scope_repo.Scope(code))
        return {
            r.person_id
            for r in query(env.url, f"SELECT p.person_id FROM people p WHERE {cond.sql}", **cond.params)
        }

    home, other, every = people(HOME), people(OTHER), people(None)
    assert other == {"P99001"} and "P99001" not in home and home and home | other <= every


# ------------------------------------------------------------------------------------------ drafts


def test_drafts_of_another_subdistrict_are_out_of_reach(env: Env) -> None:
    draft = env.other_draft

    def generations(who: str) -> set[int]:
        r = env.client.get("/generations", headers=_h(env, who))
        assert r.status_code == 200, r.text
        return {g["id"] for g in r.json()}

    home = generations("home_planner")
    assert draft not in home and home == {
        r.id for r in query(env.url, "SELECT id FROM generations WHERE subdistrict_code = :c", c=HOME)
    }
    assert generations("other_planner") == {draft}
    assert generations("district") >= home | {draft}
    for method, path in [
        ("get", f"/generations/{draft}"),
        ("get", f"/generations/{draft}/validation"),
        ("get", f"/generations/{draft}/audit"),
        ("get", f"/generations/{draft}/grids/{OTHER_MICRO}"),
        ("get", f"/generations/{draft}/export"),
        ("get", f"/generations/{min(home)}/diff/{draft}"),
        ("delete", f"/generations/{draft}"),
        ("post", f"/generations/{draft}/activate"),
        ("get", f"/grids?generation={draft}"),
        ("get", f"/grids/{HOME_MICRO}?generation={draft}"),
    ]:
        r = env.client.request(method, path, headers=_h(env, "home_planner"))
        _not_found(r, "generation_not_found")
    assert env.client.get(f"/generations/{draft}", headers=_h(env, "other_planner")).status_code == 200
    r = env.client.get(f"/grids?generation={draft}", headers=_h(env, "other_planner"))
    assert r.status_code == 200 and r.json()["features"] == [], r.text  # its draft, without grids yet
    # A subdistrict's planner opens drafts of its own subdistrict only (here: it has no boundaries to copy).
    r = env.client.post("/generations", json={"note": "x"}, headers=_h(env, "other_planner"))
    assert (
        r.status_code == 409
        and scalar(env.url, "SELECT count(*) FROM generations WHERE status = 'draft'") == 1
    )
    r = env.client.delete(f"/generations/{draft}", headers=_h(env, "district_planner"))
    assert r.status_code == 403 and r.json()["code"] == "district_read_only", r.text
    assert scalar(env.url, "SELECT status FROM generations WHERE id = :id", id=draft) == "draft"


# ---------------------------------------------------------------------------------- browser sessions


def test_browser_session_carries_the_users_subdistrict(env: Env) -> None:
    create_user(env.url, "other_disp", "dispatcher", subdistrict=OTHER)
    create_user(env.url, "district_disp", "dispatcher", subdistrict=None)
    other = TestClient(env.client.app)
    csrf = login(other, "other_disp")
    assert other.get(f"/reports/{env.other_report}").status_code == 200
    _not_found(other.get(f"/reports/{env.home_report}"), "report_not_found")
    r = other.post(
        f"/reports/{env.home_report}/transitions", json={"to": "rejected"}, headers={"X-CSRF-Token": csrf}
    )
    _not_found(r, "report_not_found")
    assert _listed(env, "other", client=other) == {env.other_report, env.admins_report}

    district = TestClient(env.client.app)
    csrf = login(district, "district_disp")
    assert district.get(f"/reports/{env.other_report}").status_code == 200
    r = district.post(
        f"/reports/{env.other_report}/transitions", json={"to": "accepted"}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 403 and r.json()["code"] == "district_read_only", r.text
    # Logging out is no change of data: a read-only user may.
    assert district.post("/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert _status(env, env.home_report) == _status(env, env.other_report) == "reported"


# -------------------------------------------------------------------------------------------- CLI


def test_cli_creates_scoped_users_and_tokens(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEO_GRID_DATABASE_URL", env.url)
    runner = CliRunner()
    r = runner.invoke(cli, ["user", "create", "--login", "cli_other", "--name", "乙", "--role", "dispatcher",
                            "--subdistrict", OTHER, "--password", "correct horse battery"])  # fmt: skip
    assert r.exit_code == 0 and OTHER in r.output, r.output
    r = runner.invoke(cli, ["user", "list"])
    assert f"cli_other\tdispatcher\t乙\t\tactive\t{OTHER}" in r.output, r.output
    r = runner.invoke(cli, ["token", "create", "--role", "dispatcher", "--name", "区级", "--district"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        cli, ["token", "create", "--role", "dispatcher", "--name", "某", "--subdistrict", "410105098"]
    )
    assert r.exit_code != 0 and "410105098" in r.output, r.output
    # Two subdistricts: a non-admin without one named is refused rather than guessed.
    r = runner.invoke(cli, ["token", "create", "--role", "dispatcher", "--name", "某"])
    assert r.exit_code != 0 and "--subdistrict" in r.output, r.output
    listed = runner.invoke(cli, ["token", "list"]).output
    assert any(line.startswith(tuple("0123456789")) and line.endswith("\tdistrict") and "\t区级\t" in line
               for line in listed.splitlines()), listed  # fmt: skip


def test_cli_moves_a_user_to_another_subdistrict_and_ends_their_sessions(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEO_GRID_DATABASE_URL", env.url)
    create_user(env.url, "mover", "dispatcher", subdistrict=OTHER)
    browser = TestClient(env.client.app)
    login(browser, "mover")
    assert browser.get(f"/reports/{env.other_report}").status_code == 200
    assert browser.get("/session").json()["authenticated"] is True
    runner = CliRunner()
    r = runner.invoke(cli, ["user", "move", "mover", "--subdistrict", HOME])
    assert r.exit_code == 0 and HOME in r.output, r.output
    # The open session ended: no page keeps the old scope.
    assert browser.get("/session").json()["authenticated"] is False
    login(browser, "mover")
    assert browser.get(f"/reports/{env.home_report}").status_code == 200
    _not_found(browser.get(f"/reports/{env.other_report}"), "report_not_found")
    moved = query(env.url, "SELECT detail FROM audit_log WHERE action = 'user_move' ORDER BY id DESC LIMIT 1")
    assert moved[0].detail["from"] == OTHER and moved[0].detail["to"] == HOME
    # To the district level; an unknown code or no choice at all is refused and changes nothing.
    assert runner.invoke(cli, ["user", "move", "mover", "--district"]).exit_code == 0
    assert scalar(env.url, "SELECT subdistrict_code FROM users WHERE login = 'mover'") is None
    r = runner.invoke(cli, ["user", "move", "mover", "--subdistrict", "410105098"])
    assert r.exit_code != 0 and "410105098" in r.output, r.output
    assert runner.invoke(cli, ["user", "move", "mover"]).exit_code != 0
    assert runner.invoke(cli, ["user", "move", "nobody", "--district"]).exit_code != 0
    assert scalar(env.url, "SELECT subdistrict_code FROM users WHERE login = 'mover'") is None


# ------------------------------------------------------------------------------------------ migration


def test_migration_backfills_existing_accounts_and_downgrades(empty_db_factory: Callable[[], str]) -> None:
    url = empty_db_factory()
    db.upgrade(url, "0008_change_feed")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO subdistricts VALUES ('{HOME}', '未来路街道', '410105', '金水区', '410100', '郑州市', "
                "'410000', '河南省')"
            )
        )
        for i, role in enumerate(("dispatcher", "admin")):
            conn.execute(
                text("INSERT INTO api_tokens (name, role, token_hash) VALUES (:n, :r, :h)"),
                {"n": role, "r": role, "h": f"{i:064d}"},
            )
            conn.execute(
                text("INSERT INTO users (login, display_name, role, password_hash) VALUES (:n, :n, :r, 'x')"),
                {"n": role, "r": role},
            )
    db.upgrade(url, "0010_access_scope")
    with engine.connect() as conn:
        for table in ("api_tokens", "users"):
            rows = dict(conn.execute(text(f"SELECT role, subdistrict_code FROM {table}")).all())
            assert rows == {"dispatcher": HOME, "admin": None}, (table, rows)
    from alembic import command

    command.downgrade(db.alembic_config(url), "0008_change_feed")
    with engine.connect() as conn:
        columns = conn.execute(
            text(
                "SELECT count(*) FROM information_schema.columns WHERE column_name = 'subdistrict_code' "
                "AND table_name IN ('users', 'api_tokens')"
            )  # fmt: skip
        ).scalar_one()
        assert columns == 0 and conn.execute(text("SELECT count(*) FROM api_tokens")).scalar_one() == 2
    engine.dispose()
