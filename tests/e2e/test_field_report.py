"""上报 from the grid worker's phone page (/m/report, issue 13) in real headless chromium at 360×740: a logged-in
grid worker files a problem at the phone's position (geolocation granted, a fixed WGS84 position) with a
photo, and another by a tap on the map whose photo the photo service refuses (not an image) while the
report stands; both come in through POST /reports with channel grid_phone, the session and its CSRF token;
the page shows the grid of the chosen point before sending; they are listed under 我的上报 on /m and in the
dispatcher's 受理台 (渠道 filter). Loopback only, no CSP violation, no horizontal scrolling; screenshots under
test-artifacts/maps/field-report-*.png."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.support.accounts import PASSWORD, create_token, create_user, login
from tests.support.api import bearer
from tests.support.maps_browser import ARTIFACTS, Visit, chromium, guarded, serve
from tests.support.report_helpers import interior_point
from tests.support.sql import query, scalar

pytestmark = [pytest.mark.browser, pytest.mark.db]

MICRO = "410105012004003005"  # the worker's micro-grid (民航路社区第3网格第5微网格)
OTHER_MICRO = "410105012001001001"
PHONE = {"width": 360, "height": 740}
WORKER = "report_worker"
WORKER_NAME = "李网格"
REPORT_READY = "window.geoFieldReport && window.geoFieldReport.ready === true"
TASKS_READY = "window.geoFieldTasks && window.geoFieldTasks.ready === true"
QUEUE_READY = "window.geoConsoleQueue && window.geoConsoleQueue.ready === true"
# The refused photo is an HTTP 415 answer: chromium logs every 4xx fetch as a console error.
REFUSAL_LOG = re.compile(r"^Failed to load resource: the server responded with a status of 415")


@pytest.fixture(scope="module")
def served(
    db_factory: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, str]]:
    url = db_factory()
    person = query(
        url, "SELECT person_id FROM roles WHERE grid_code = :c ORDER BY person_id LIMIT 1", c=MICRO
    )
    create_user(url, WORKER, "grid_worker", name=WORKER_NAME, person_id=int(person[0].person_id))
    create_user(url, "report_disp", "dispatcher", name="受理调度员")
    token = create_token(url, "dispatcher", "手机上报测试")
    with serve(url, photos_dir=tmp_path_factory.mktemp("photos")) as base:
        yield url, base, token


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _jpeg() -> bytes:
    img = Image.new("RGB", (800, 600), (200, 120, 40))
    img.paste((30, 30, 30), (200, 150, 600, 450))
    out = io.BytesIO()
    img.save(out, "JPEG")
    return out.getvalue()


def _shot(v: Visit, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    v.page.screenshot(path=str(path), full_page=True)
    return path


def _no_horizontal_scroll(v: Visit) -> None:
    width = v.js("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide at a 360 px viewport"


def _fill(page: Any, category: str, text: str) -> None:
    page.select_option("#category", category)
    page.fill("#description", text)


def test_worker_reports_from_the_phone(served: tuple[str, str, str], browser: Any) -> None:
    url, base, token = served
    api = httpx.Client(base_url=base, headers=bearer(token), timeout=30)
    lon, lat = interior_point(MICRO)
    tap_lon, tap_lat = interior_point(OTHER_MICRO)
    categories = api.get("/categories").json()["items"]
    may_pick = {c["code"] for c in categories if c["active"] and not c["sensitive"]}
    sensitive = {c["code"] for c in categories if c["sensitive"]}
    assert sensitive, "the sample has a sensitive category (养老诈骗)"

    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                  geolocation={"longitude": lon, "latitude": lat},
                                  permissions=["geolocation"])  # fmt: skip
    v = guarded(context)
    page = v.page
    try:
        page.goto(base + "/m/report", wait_until="load")
        assert "/login?next=%2Fm%2Freport" in page.url
        page.fill("#login", WORKER)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/m/report")
        v.wait(REPORT_READY, timeout=30_000)

        # The categories the worker may pick: the active, non-sensitive ones.
        options = set(page.eval_on_selector_all("#category option", "os => os.map(o => o.value)")) - {""}
        assert options == may_pick and not options & sensitive
        # The phone's position (WGS84) is taken at once, and its grid shown before anything is sent.
        page.wait_for_selector(f'#place[data-micro="{MICRO}"]')
        assert "当前位置" in page.inner_text("#location-status")
        micro_name = api.get("/lookup", params={"lon": lon, "lat": lat}).json()["micro"]["name"]
        assert micro_name in page.inner_text("#place")
        _no_horizontal_scroll(v)
        _shot(v, "field-report-form")

        # Nothing is sent without a category.
        before = scalar(url, "SELECT max(id) FROM reports")
        page.fill("#description", "井盖松动")
        page.click("#submit")
        assert "请选择问题类别" in page.inner_text("#form-message")
        assert scalar(url, "SELECT max(id) FROM reports") == before

        # 1) At the phone's position, with a photo.
        _fill(page, "facility_repair", "楼前井盖松动，有绊倒风险")
        page.set_input_files(
            "#photo", files=[{"name": "site.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}]
        )
        page.click("#submit")
        page.wait_for_selector("#done:not([hidden])", timeout=15_000)
        first = v.js("() => window.geoFieldReport.created")
        assert first["micro_code"] == MICRO and first["status"] == "reported"
        assert "照片已上传" in page.inner_text("#done-photo")
        assert f"#{first['id']}" in page.inner_text("#done-facts")
        _no_horizontal_scroll(v)
        _shot(v, "field-report-sent")

        # 2) By a tap on the map inside another micro-grid; the "photo" is not an image: the photo service
        # refuses it with its message, the report stands.
        page.click("#again")
        page.wait_for_url("**/m/report")
        v.wait(REPORT_READY, timeout=30_000)
        page.wait_for_selector(f'#place[data-micro="{MICRO}"]')
        v.run(f"window.geoFieldReport.map.setView([{tap_lat}, {tap_lon}], 18, {{animate: false}})")
        box = page.locator("#map").bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_selector(f'#place[data-micro="{OTHER_MICRO}"]')
        assert "地图点选" in page.inner_text("#location-status")
        _fill(page, "littering", "路口垃圾堆放")
        fake = b"GIF89a" + b"\x00" * 64
        page.set_input_files("#photo", files=[{"name": "x.jpg", "mimeType": "image/jpeg", "buffer": fake}])
        page.click("#submit")
        page.wait_for_selector("#done:not([hidden])", timeout=15_000)
        second = v.js("() => window.geoFieldReport.created")
        refusal = v.js("() => window.geoFieldReport.lastRefusal")
        assert refusal["code"] == "invalid_image"
        shown = page.inner_text("#done-photo")
        assert shown.startswith("照片未上传：" + refusal["message"]) and "上报已提交" in shown, shown
        assert second["micro_code"] == OTHER_MICRO
        _shot(v, "field-report-photo-refused")

        # What the database says: channel grid_phone, the points, the photo (re-encoded), the audit.
        rows = query(url, """SELECT id, channel, status, micro_code, ST_X(geom) AS lon, ST_Y(geom) AS lat
                             FROM reports WHERE id IN (:a, :b) ORDER BY id""", a=first["id"], b=second["id"])  # fmt: skip
        assert [(r.channel, r.status) for r in rows] == [("grid_phone", "reported")] * 2
        assert abs(rows[0].lon - lon) < 1e-6 and abs(rows[0].lat - lat) < 1e-6
        assert abs(rows[1].lon - tap_lon) < 1e-4 and abs(rows[1].lat - tap_lat) < 1e-4
        photos = query(url, "SELECT report_id, uploaded_by, content_type FROM photos WHERE report_id IN (:a, :b)",
                       a=first["id"], b=second["id"])  # fmt: skip
        assert [(p.report_id, p.uploaded_by, p.content_type) for p in photos] == [
            (first["id"], f"{WORKER_NAME}（{WORKER}）", "image/jpeg")
        ]
        audited = query(url, """SELECT a.action, a.subject FROM audit_log a JOIN users u ON u.id = a.actor_user_id
                                WHERE u.login = :l AND a.action LIKE 'POST %' ORDER BY a.id""", l=WORKER)  # fmt: skip
        assert [(a.action, a.subject) for a in audited] == [
            ("POST /reports", f"report:{first['id']}"),
            ("POST /reports/{report_id}/photos", f"report:{first['id']}"),
            ("POST /reports", f"report:{second['id']}"),
        ]

        # 我的上报 on /m: both, newest first, with their status; the page fits 360 px.
        page.click('a[href="/m"]')
        page.wait_for_url("**/m")
        v.wait(TASKS_READY, timeout=30_000)
        ids = v.js("() => [...document.querySelectorAll('#filed li')].map(li => Number(li.dataset.id))")
        assert ids == [second["id"], first["id"]]
        assert "上报" in page.inner_text(f'#filed li[data-id="{first["id"]}"]')
        _no_horizontal_scroll(v)
        _shot(v, "field-report-mine")

        assert v.blocked == [], v.blocked
        errors = [e for e in v.console_errors if not REFUSAL_LOG.match(e)]
        assert errors == [], errors
    finally:
        context.close()

    # The dispatcher's 受理台 lists them under 渠道 网格手机终端.
    desk = browser.new_context(viewport={"width": 1400, "height": 900})
    d = guarded(desk)
    try:
        d.page.goto(base + "/console", wait_until="load")
        d.page.fill("#login", "report_disp")
        d.page.fill("#password", PASSWORD)
        d.page.click("button[type=submit]")
        d.page.wait_for_url("**/console")
        d.wait(QUEUE_READY, timeout=30_000)
        d.page.select_option("#f-channel", "grid_phone")
        d.wait("window.geoConsoleQueue.loading === 0")
        for rid in (first["id"], second["id"]):
            row = d.page.wait_for_selector(f'#queue tr[data-id="{rid}"]')
            assert "网格手机终端" in row.inner_text()
        d.screenshot("field-report-queue")
        d.assert_clean()
    finally:
        desk.close()


def test_filed_reports_api(served: tuple[str, str, str]) -> None:
    """GET /m/reports: the caller's own reports only; a dispatcher is refused; the public must log in."""
    url, base, token = served
    with httpx.Client(base_url=base, timeout=30) as anon:
        assert anon.get("/m/reports").status_code == 401
        page = anon.get("/m/report", headers={"Accept": "text/html"}, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Fm%2Freport"
    with httpx.Client(base_url=base, timeout=30) as worker:
        csrf = login(worker, WORKER)
        lon, lat = interior_point(MICRO)
        body = {
            "category": "noise",
            "channel": "grid_phone",
            "lon": lon,
            "lat": lat,
            "description": "夜间施工",
        }
        assert worker.post("/reports", json=body).status_code == 403  # no CSRF token: refused
        made = worker.post("/reports", json=body, headers={"X-CSRF-Token": csrf})
        assert made.status_code == 201, made.text
        mine = worker.get("/m/reports").json()
        assert mine["items"][0]["id"] == made.json()["id"] and mine["total"] == len(mine["items"])
        assert all(i["channel"] == "grid_phone" for i in mine["items"])
        # Who filed it is stored with the report (migration 0011_report_filer), not inferred.
        filer = query(url, "SELECT filed_by_user_id, filed_by_token_id FROM reports WHERE id = :i",
                      i=made.json()["id"])  # fmt: skip
        assert tuple(filer[0]) == (
            scalar(url, "SELECT id FROM users WHERE login = :l", l=WORKER),
            None,
        )
    # Someone else's report (the public's) is not theirs.
    other = httpx.post(base + "/reports", json={**body, "channel": "public_account"}, timeout=30)
    assert other.status_code == 201
    assert query(url, "SELECT filed_by_user_id, filed_by_token_id FROM reports WHERE id = :i",
                 i=other.json()["id"])[0] == (None, None)  # fmt: skip
    with httpx.Client(base_url=base, timeout=30) as worker:
        login(worker, WORKER)
        assert other.json()["id"] not in {i["id"] for i in worker.get("/m/reports").json()["items"]}
    assert httpx.get(base + "/m/reports", headers=bearer(token), timeout=30).status_code == 403
