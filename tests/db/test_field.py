"""网格手机终端 (issue 13), the JSON API: a grid worker linked to a roster person sees the open tasks of the
grids where that person holds a role (grid-team dispatches only, nearest first with a position), and may
mark 到场, add a note and give 办结反馈 on them; a worker of another grid, an unlinked worker and a dispatcher
are refused. Every write lands in the report's history and the audit log."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from geo_grid import privacy
from tests.support.accounts import create_user, login
from tests.support.api import bearer, create_tokens
from tests.support.report_helpers import interior_point, micro_grids
from tests.support.sql import query

pytestmark = pytest.mark.db

MICRO = "410105012004003005"


def _person_on(url: str, code: str) -> tuple[int, str]:
    rows = query(url, """SELECT p.id, r.role FROM roles r JOIN people p ON p.id = r.person_id
                          WHERE r.grid_code = :c ORDER BY p.id LIMIT 1""", c=code)  # fmt: skip
    assert rows, f"the sample roster has nobody on {code}"
    return int(rows[0].id), str(rows[0].role)


def _other_micro(url: str) -> str:
    """A micro-grid of another tertiary grid whose people hold no role on MICRO's grids."""
    for code in sorted(micro_grids()):
        if code[:15] == MICRO[:15]:
            continue
        if query(url, "SELECT 1 FROM roles WHERE grid_code = :c", c=code):
            return code
    raise AssertionError("no other staffed micro-grid")


@pytest.fixture(scope="module")
def env(db_factory: Callable[[], str], make_client: Callable[..., Any]) -> Iterator[dict[str, Any]]:
    url = db_factory()
    tokens = create_tokens(url)
    mine, _ = _person_on(url, MICRO)
    other_code = _other_micro(url)
    other, _ = _person_on(url, other_code)
    assert not query(url, "SELECT 1 FROM roles WHERE person_id = :p AND grid_code IN (:a, :b)",
                     p=other, a=MICRO, b=MICRO[:15])  # fmt: skip
    create_user(url, "field_mine", "grid_worker", name="本网格网格员", person_id=mine)
    create_user(url, "field_other", "grid_worker", name="外网格网格员", person_id=other)
    create_user(url, "field_unlinked", "grid_worker", name="未关联网格员")
    with make_client(url) as client:
        yield {"client": client, "url": url, "tokens": tokens, "other_code": other_code}


def _as(client: TestClient, user: str) -> dict[str, str]:
    client.cookies.clear()
    return {"X-CSRF-Token": login(client, user)}


def _dispatched(env: dict[str, Any], code: str, offset: float = 0.0, **body: Any) -> int:
    client, token = env["client"], env["tokens"]["dispatcher"]
    client.cookies.clear()
    lon, lat = interior_point(code)
    made = client.post("/reports", json={"category": "road_occupation", "channel": "public_account",
                                         "description": "门口占道经营，联系13812345678",
                                         "reporter_contact": "13812345678",
                                         "lon": lon + offset, "lat": lat, **body})  # fmt: skip
    assert made.status_code == 201, made.text
    rid = int(made.json()["id"])
    for to in ("accepted", "registered"):
        r = client.post(f"/reports/{rid}/transitions", json={"to": to}, headers=bearer(token))
        assert r.status_code == 200, r.text
    r = client.post(f"/reports/{rid}/dispatch", json={"kind": "grid_team"}, headers=bearer(token))
    assert r.status_code == 200 and r.json()["status"] == "dispatched", r.text
    return rid


def test_tasks_of_my_grids_only_nearest_first(env: dict[str, Any]) -> None:
    client = env["client"]
    near = _dispatched(env, MICRO)
    far = _dispatched(env, MICRO, offset=-0.0004)  # newer, but farther from the point asked below
    foreign = _dispatched(env, env["other_code"])
    _as(client, "field_mine")
    lon, lat = interior_point(MICRO)
    r = client.get("/m/tasks", params={"lon": lon, "lat": lat})
    assert r.status_code == 200, r.text
    body = r.json()
    ids = [t["id"] for t in body["items"]]
    assert near in ids and far in ids and foreign not in ids
    assert body["order"] == "nearest" and ids.index(near) < ids.index(far)
    distances = [t["distance_m"] for t in body["items"]]
    assert distances == sorted(distances) and distances[0] < 5
    assert MICRO in body["grid_codes"] or MICRO[:15] in body["grid_codes"]
    mine = set(body["grid_codes"])
    for t in body["items"]:
        assert t["status"] in ("dispatched", "in_progress")
        assert t["micro_code"] in mine or t["tertiary_code"] in mine
    first = next(t for t in body["items"] if t["id"] == near)
    # privacy.assigned_task: exact point, reporter's contact masked, phone numbers scrubbed from the text.
    assert abs(first["lon"] - lon) < 1e-6 and first["reporter_contact"] == "138****5678"
    assert "13812345678" not in first["description"] and not privacy.contains_personal_numbers(
        first["description"]
    )
    newest = client.get("/m/tasks").json()
    assert newest["order"] == "newest" and [t["id"] for t in newest["items"]].index(far) < [
        t["id"] for t in newest["items"]
    ].index(near)
    # Another grid's worker sees the other task, not these.
    _as(client, "field_other")
    theirs = [t["id"] for t in client.get("/m/tasks").json()["items"]]
    assert foreign in theirs and near not in theirs and far not in theirs


def test_refusals(env: dict[str, Any]) -> None:
    client = env["client"]
    rid = _dispatched(env, MICRO)
    csrf = _as(client, "field_other")
    r = client.get(f"/m/tasks/{rid}/detail")
    assert r.status_code == 403 and r.json()["code"] == "not_your_grid"
    for path, body in ((f"/reports/{rid}/arrival", {}), (f"/m/tasks/{rid}/feedback", {}),
                       (f"/m/tasks/{rid}/notes", {"note": "x"})):  # fmt: skip
        r = client.post(path, json=body, headers=csrf)
        assert r.status_code == 403 and r.json()["code"] == "not_your_grid", (path, r.text)
    csrf = _as(client, "field_unlinked")
    r = client.get("/m/tasks")
    assert r.status_code == 403 and r.json()["code"] == "not_your_grid"
    # A session's write without its CSRF token is refused before anything else.
    _as(client, "field_mine")
    r = client.post(f"/reports/{rid}/arrival", json={})
    assert r.status_code == 403 and r.json()["code"] != "not_your_grid"
    # A dispatcher is not a grid worker; the public is not authenticated.
    client.cookies.clear()
    token = env["tokens"]["dispatcher"]
    assert client.get("/m/tasks", headers=bearer(token)).status_code == 403
    assert client.post(f"/m/tasks/{rid}/feedback", json={}, headers=bearer(token)).status_code == 403
    assert client.get("/m/tasks").status_code == 401
    page = client.get("/m", headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Fm"
    # A sensitive category is not listed to the worker, even on their grid.
    secret = _dispatched(env, MICRO, category="elderly_fraud")
    csrf = _as(client, "field_mine")
    assert secret not in [t["id"] for t in client.get("/m/tasks").json()["items"]]
    assert client.get(f"/m/tasks/{secret}/detail").status_code == 404


def test_arrival_note_feedback_recorded(env: dict[str, Any]) -> None:
    client, url = env["client"], env["url"]
    rid = _dispatched(env, MICRO)
    csrf = _as(client, "field_mine")
    # 办结反馈 before the work started is refused by the workflow (dispatched → feedback is not allowed).
    early = client.post(f"/m/tasks/{rid}/feedback", json={"note": "已处理"}, headers=csrf)
    assert early.status_code == 409 and early.json()["code"] == "invalid_transition"
    lon, lat = interior_point(MICRO)
    r = client.post(
        f"/reports/{rid}/arrival", json={"note": "已到现场", "lon": lon, "lat": lat}, headers=csrf
    )
    assert r.status_code == 200, r.text
    task = r.json()
    assert task["status"] == "in_progress" and task["arrived_at"] is not None
    assert "feedback" in task["allowed_actions"]
    arrival = [e for e in task["history"] if e["kind"] == "arrival"]
    assert len(arrival) == 1 and arrival[0]["actor"] == "本网格网格员（field_mine）"
    assert arrival[0]["note"] == "已到现场" and arrival[0]["data"]["lon"] == pytest.approx(
        lon, abs=1e-3
    )  # history: as the public sees it
    started = [e for e in task["history"] if e.get("to_status") == "in_progress"]
    assert started and started[-1]["actor"] == "本网格网格员（field_mine）"
    r = client.post(f"/m/tasks/{rid}/notes", json={"note": "摊主已劝离"}, headers=csrf)
    assert r.status_code == 200 and r.json()["history"][-1]["kind"] == "field_note"
    r = client.post(f"/m/tasks/{rid}/feedback", json={"note": "占道已清理"}, headers=csrf)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "feedback" and r.json()["allowed_actions"] == []
    # The dispatcher sees all of it in the report's history; the audit log has the worker's writes.
    seen = client.get(f"/reports/{rid}", headers=bearer(env["tokens"]["dispatcher"])).json()
    kinds = [(e["kind"], e.get("to_status")) for e in seen["history"]]
    assert ("arrival", None) in kinds and ("field_note", None) in kinds
    assert kinds[-1] == ("transition", "feedback") and seen["history"][-1]["note"] == "占道已清理"
    assert seen["status"] == "feedback"
    actions = query(url, "SELECT action, subject FROM audit_log WHERE actor = :a ORDER BY id",
                    a="本网格网格员（field_mine）")  # fmt: skip
    assert actions, "the worker's writes are audited"
    done = {(a.action, a.subject) for a in actions}
    for action in ("POST /reports/{report_id}/arrival", "POST /m/tasks/{report_id}/notes",
                   "POST /m/tasks/{report_id}/feedback"):  # fmt: skip
        assert (action, f"report:{rid}") in done, (action, done)
    # Once reported back, the task leaves the worker's list.
    assert rid not in [t["id"] for t in client.get("/m/tasks").json()["items"]]
