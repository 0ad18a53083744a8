"""移动定位 on the dispatcher's report page in real headless chromium (issue 13): tap the map or drag the pin,
see the new point's micro-grid (GET /lookup) before confirming, confirm (POST /reports/{id}/move with the
session and its CSRF token); the page then shows the new grid, its people and the move in the history. A
point outside every grid is named as such before confirming; a case closed meanwhile refuses the move with
the API's Chinese message and nothing changes. Loopback only, no CSP violation; screenshots under
test-artifacts/maps/console-move-*.png."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.support.accounts import PASSWORD, create_token, create_user
from tests.support.api import bearer
from tests.support.maps_browser import Visit, chromium, serve, visit
from tests.support.report_helpers import interior_point
from tests.support.sql import query, scalar

pytestmark = [pytest.mark.browser, pytest.mark.db]

MICRO = "410105012004003005"  # 民航路社区第3网格第5微网格
OTHER_MICRO = "410105012001001001"
OUTSIDE = (113.95, 34.55)  # east of the subdistrict: in no grid
LOGIN_READY = "document.getElementById('login-form') !== null"
REPORT_READY = "window.geoConsoleReport && window.geoConsoleReport.ready === true"
REFUSAL_LOG = re.compile(r"^Failed to load resource: the server responded with a status of 409")
DISPATCHER = "move_disp"
DISPATCHER_NAME = "定位调度员"


@pytest.fixture(scope="module")
def served(db_factory: Callable[[], str]) -> Iterator[tuple[str, str, str]]:
    url = db_factory()
    create_user(url, DISPATCHER, "dispatcher", name=DISPATCHER_NAME)
    token = create_token(url, "dispatcher", "移动定位测试")
    with serve(url) as base:
        yield url, base, token


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _tap(v: Visit, lon: float, lat: float) -> None:
    """Centre the report's map on the point, then tap the middle of the map."""
    v.run(f"window.geoConsoleReport.map.setView([{lat}, {lon}], 18, {{animate: false}})")
    box = v.page.locator("#map").bounding_box()
    v.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def _preview(v: Visit, micro: str) -> str:
    v.page.wait_for_selector(f'#move-preview[data-micro="{micro}"]')
    assert v.page.is_enabled("#move-confirm")
    return str(v.page.inner_text("#move-preview"))


def _moves(url: str, rid: int) -> int:
    return int(
        scalar(url, "SELECT count(*) FROM report_events WHERE report_id = :r AND kind = 'move'", r=rid)
    )


def test_move_the_pin(served: tuple[str, str, str], browser: Any) -> None:
    url, base, token = served
    api = httpx.Client(base_url=base, headers=bearer(token), timeout=30)
    lon, lat = interior_point(MICRO)
    created = httpx.post(base + "/reports", json={
        "category": "facility_repair", "channel": "public_account", "lon": lon, "lat": lat,
        "description": "移动定位测试：路灯不亮", "reporter_contact": "13912345678",
    }, timeout=30)  # fmt: skip
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    new_lon, new_lat = interior_point(OTHER_MICRO)
    expected = api.get("/lookup", params={"lon": new_lon, "lat": new_lat}).json()
    assert expected["micro"]["code"] == OTHER_MICRO
    assert api.get("/lookup", params={"lon": OUTSIDE[0], "lat": OUTSIDE[1]}).json()["outside"] is True

    with visit(browser, base + f"/console/reports/{rid}", ready=LOGIN_READY) as v:
        page = v.page
        page.fill("#login", DISPATCHER)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"**/console/reports/{rid}")
        v.wait(REPORT_READY, timeout=30_000)
        v.wait("window.geoConsoleReport.mapReady === true", timeout=10_000)
        assert MICRO in page.inner_text("#facts")
        old_people = page.inner_text("#people")

        # Tap outside every grid: the page says so before anything is sent; cancel changes nothing.
        page.click("#move-start")
        assert page.is_visible("#move-confirm") and not page.is_visible("#move-start")
        _tap(v, *OUTSIDE)
        text = _preview(v, "")
        assert "不在任何网格内" in text and "街道中心" in text, text
        v.screenshot("console-move-outside")
        page.click("#move-cancel")
        assert page.is_visible("#move-start") and not page.is_visible("#move-preview")

        # Drag the pin a little: the preview follows the dragged point.
        page.click("#move-start")
        v.run(f"window.geoConsoleReport.map.setView([{lat}, {lon}], 18, {{animate: false}})")
        pin = page.locator(".move-pin").bounding_box()
        x, y = pin["x"] + pin["width"] / 2, pin["y"] + pin["height"] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + 20, y + 10, steps=5)
        page.mouse.up()
        assert MICRO in _preview(v, MICRO)
        dragged = page.evaluate("() => window.geoConsoleReport.move.point")
        assert dragged["lon"] > lon and dragged["lat"] < lat, dragged  # east and south of the old point
        page.click("#move-cancel")

        # Tap inside another micro-grid: its name and micro-grid leader show before confirming.
        page.click("#move-start")
        _tap(v, new_lon, new_lat)
        text = _preview(v, OTHER_MICRO)
        assert expected["micro"]["name"] in text and expected["community"]["code"] in text, text
        leader = next(p["name"] for p in expected["people"] if p["role"] == "micro_grid_leader")
        assert leader in text
        assert _moves(url, rid) == 0, "nothing is sent before the confirmation"
        v.screenshot("console-move-preview")
        page.fill("#a-note", "群众定位偏差，按现场核实更正")
        page.click("#move-confirm")
        page.wait_for_selector("#action-message.ok")
        assert "移动定位" in page.inner_text("#action-message")
        page.wait_for_function(
            "code => document.getElementById('facts').textContent.includes(code)", arg=OTHER_MICRO
        )
        assert page.inner_text("#people") != old_people and leader in page.inner_text("#people")
        history = page.inner_text("#history")
        assert "更正位置" in history and "群众定位偏差" in history and DISPATCHER_NAME in history
        v.screenshot("console-move-done")

        # What the database says: the new point and grid, one move event by the session's user, audited.
        row = query(url, "SELECT micro_code, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM reports WHERE id = :r",
                    r=rid)[0]  # fmt: skip
        assert row.micro_code == OTHER_MICRO
        assert abs(row.lon - new_lon) < 1e-4 and abs(row.lat - new_lat) < 1e-4
        event = query(url, "SELECT actor, note, data FROM report_events WHERE report_id = :r AND kind = 'move'",
                      r=rid)  # fmt: skip
        assert len(event) == 1 and event[0].actor == f"{DISPATCHER_NAME}（{DISPATCHER}）"
        assert (
            event[0].data["from"]["micro_code"] == MICRO and event[0].data["to"]["micro_code"] == OTHER_MICRO
        )
        audited = scalar(url, """SELECT count(*) FROM audit_log a JOIN users u ON u.id = a.actor_user_id
                                 WHERE u.login = :l AND a.action = 'POST /reports/{report_id}/move'
                                   AND a.subject = :s""", l=DISPATCHER, s=f"report:{rid}")  # fmt: skip
        assert audited == 1

        # Someone closes the case meanwhile: the stale page's move is refused with the API's message.
        for to in ("accepted", "registered"):
            assert api.post(f"/reports/{rid}/transitions", json={"to": to}).status_code == 200
        assert api.post(f"/reports/{rid}/dispatch", json={"kind": "grid_team"}).status_code == 200
        for to in ("in_progress", "feedback", "verified", "closed"):
            r = api.post(f"/reports/{rid}/transitions", json={"to": to})
            assert r.status_code == 200, r.text
        page.click("#move-start")
        _tap(v, lon, lat)
        _preview(v, MICRO)
        page.click("#move-confirm")
        page.wait_for_selector("#action-message.error")
        shown = page.inner_text("#action-message")
        refusal = page.evaluate("() => window.geoConsoleReport.lastRefusal")
        assert refusal["code"] == "invalid_transition"
        assert shown.startswith("操作被拒绝：" + refusal["message"]) and "不能更正位置" in shown, shown
        page.wait_for_selector('#status[data-status="closed"]')
        assert not page.is_visible("#move-start"), "a finished case offers no move"
        assert _moves(url, rid) == 1
        assert scalar(url, "SELECT micro_code FROM reports WHERE id = :r", r=rid) == OTHER_MICRO
        v.screenshot("console-move-refused")

        assert v.blocked == [], v.blocked
        errors = [e for e in v.console_errors if not REFUSAL_LOG.match(e)]
        assert errors == [], errors
