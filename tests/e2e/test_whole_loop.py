"""The whole loop in real headless chromium (issue 13, "Done when"), three people in SEPARATE browser contexts:
a resident (phone, 360×740) files a report with a photo on /report by tapping the map inside a micro-grid →
it appears in the dispatcher's open /console queue (desktop) without a reload → the dispatcher opens it,
accepts, registers and dispatches it to the grid team with the page's buttons → the grid's 微网格长 (a roster
person, logged in on /m, 360×740) opens the task, marks 到场, uploads an after-photo and gives 办结反馈 → the
dispatcher verifies and closes it with the buttons → the resident rates it through the tracking link →
GET /grids/{micro}/stats counts the rating in its 满意率 and the audit log names the session users' actions.
No request leaves loopback in any context; screenshots of every step under test-artifacts/maps/loop-*.png."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.support.accounts import PASSWORD, create_token, create_user
from tests.support.api import bearer
from tests.support.maps_browser import (
    ARTIFACTS,
    Visit,
    chromium,
    guarded,
    serve,
    visit,
)
from tests.support.report_helpers import interior_point
from tests.support.sql import query

pytestmark = [pytest.mark.browser, pytest.mark.db]

MICRO = "410105012004003005"
PHONE = {"width": 360, "height": 740}
LOGIN_READY = "document.getElementById('login-form') !== null"
QUEUE_READY = "window.geoConsoleQueue && window.geoConsoleQueue.ready === true"
REPORT_READY = "window.geoConsoleReport && window.geoConsoleReport.ready === true"
TASKS_READY = "window.geoFieldTasks && window.geoFieldTasks.ready === true"
TASK_READY = "window.geoFieldTask && window.geoFieldTask.ready === true"
RESIDENT_READY = "document.querySelector('main').dataset.ready === '1'"
DISPATCHER = "值班调度员（loop_disp）"
WORKER = "李网格（loop_worker）"


@pytest.fixture(scope="module")
def served(
    db_factory: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, dict[str, int], str]]:
    url = db_factory()
    leader = query(
        url,
        "SELECT person_id FROM roles WHERE grid_code = :c AND role = 'micro_grid_leader' ORDER BY person_id LIMIT 1",
        c=MICRO,
    )
    assert leader, f"the roster names no 微网格长 for {MICRO}"
    users = {
        "dispatcher": create_user(url, "loop_disp", "dispatcher", name="值班调度员"),
        "worker": create_user(
            url, "loop_worker", "grid_worker", name="李网格", person_id=int(leader[0].person_id)
        ),
    }
    token = create_token(url, "dispatcher", "闭环测试")
    with serve(url, photos_dir=tmp_path_factory.mktemp("photos")) as base:
        yield base, url, users, token


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _jpeg(colour: tuple[int, int, int]) -> bytes:
    img = Image.new("RGB", (640, 480), colour)
    img.paste((230, 230, 230), (100, 100, 540, 380))
    out = io.BytesIO()
    img.save(out, "JPEG")
    return out.getvalue()


@contextmanager
def phone(browser: Any, **options: Any) -> Iterator[Visit]:
    """A fresh 360×740 context of its own: requests beyond loopback aborted and recorded (as maps_browser.visit
    does for the desktop), CSP violations and JavaScript errors recorded."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, **options)
    v = guarded(context)
    try:
        yield v
    finally:
        context.close()


def _shot(v: Visit, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"loop-{name}.png"
    v.page.screenshot(path=str(path), full_page=True)
    return path


def _login(v: Visit, base: str, path: str, login: str) -> None:
    page = v.page
    page.goto(base + path, wait_until="load")
    assert "/login?next=" in page.url
    page.fill("#login", login)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**" + path)


def _satisfaction(api: httpx.Client) -> tuple[int, int]:
    r = api.get(f"/grids/{MICRO}/stats")
    assert r.status_code == 200, r.text
    rate = r.json()["satisfaction_rate"]
    return int(rate["numerator"]), int(rate["denominator"])


def test_the_whole_loop(served: tuple[str, str, dict[str, int], str], browser: Any) -> None:
    base, url, users, token = served
    api = httpx.Client(base_url=base, headers=bearer(token), timeout=30)
    satisfied_before, rated_before = _satisfaction(api)
    lon, lat = interior_point(MICRO)

    with (
        visit(browser, base + "/console", ready=LOGIN_READY) as desk,
        phone(browser) as resident,
        phone(browser, geolocation={"longitude": lon, "latitude": lat}, permissions=["geolocation"]) as field,
    ):
        # The dispatcher logs in and keeps the 受理台 open.
        dp = desk.page
        assert "/login?next=%2Fconsole" in dp.url
        dp.fill("#login", "loop_disp")
        dp.fill("#password", PASSWORD)
        dp.click("button[type=submit]")
        dp.wait_for_url("**/console")
        desk.wait(QUEUE_READY, timeout=30_000)
        desk.wait("document.getElementById('live').classList.contains('on')", timeout=10_000)
        desk.run("window.__notReloaded = true")
        desk.screenshot("loop-01-console-open")

        # The resident files a report with a photo, tapping the map inside the micro-grid.
        rp = resident.page
        assert rp.goto(base + "/report", wait_until="load").status == 200
        resident.wait(RESIDENT_READY)
        rp.select_option("#category", "littering")
        rp.fill("#description", "闭环测试：楼道口垃圾堆放多日")
        resident.run(f"resident.map.setView([{lat}, {lon}], 18, {{animate: false}})")
        box = rp.locator("#map").bounding_box()
        rp.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        resident.wait("document.querySelector('main').dataset.placed === '1'")
        rp.fill("#contact", "13812345678")
        rp.set_input_files(
            "#photo", files=[{"name": "before.jpg", "mimeType": "image/jpeg", "buffer": _jpeg((160, 60, 40))}]
        )
        _shot(resident, "02-resident-filled")
        rp.click("#submit")
        rp.wait_for_selector("#done:not([hidden])")
        resident.wait("document.querySelector('main').dataset.photo === 'uploaded'", timeout=15_000)
        assert "照片已上传" in rp.inner_text("#done-photo")
        rid = int(rp.inner_text("#done-id"))
        code = rp.inner_text("#done-code")
        link = rp.get_attribute("#done-link", "href")
        assert link == f"/track#id={rid}&code={code}"
        _shot(resident, "03-resident-done")
        seen = api.get(f"/reports/{rid}").json()
        assert seen["micro_code"] == MICRO and seen["status"] == "reported"
        before = api.get(f"/reports/{rid}/photos").json()
        assert len(before) == 1 and before[0]["uploaded_by"] == "上报人"

        # It appears in the dispatcher's open queue without a reload.
        dp.wait_for_selector(f'#queue tr[data-id="{rid}"]', timeout=10_000)
        assert dp.evaluate("() => window.__notReloaded === true"), "the console was reloaded"
        assert f"#{rid}" in dp.inner_text("#alert")
        desk.screenshot("loop-04-console-new")

        # The dispatcher opens it (the resident's photo shows) and accepts, registers, dispatches.
        dp.click(f'#queue tr[data-id="{rid}"] a')
        dp.wait_for_url(f"**/console/reports/{rid}")
        desk.wait(REPORT_READY, timeout=30_000)
        assert "楼道口垃圾堆放多日" in dp.inner_text("#description")
        dp.wait_for_function(
            "() => document.querySelector('#photos img') && document.querySelector('#photos img').naturalWidth > 0"
        )
        dp.fill("#a-note", "电话核实，予以受理")
        dp.click('button[data-action="accept"]')
        dp.wait_for_selector('#status[data-status="accepted"]')
        dp.click('button[data-action="register"]')
        dp.wait_for_selector('#status[data-status="registered"]')
        dp.fill("#a-note", "请网格队伍清理")
        dp.click('button[data-action="dispatch-grid"]')
        dp.wait_for_selector('#status[data-status="dispatched"]')
        desk.screenshot("loop-05-console-dispatched")

        # The reporter may no longer add a photo once the centre has taken the report up.
        late = httpx.post(
            f"{base}/reports/{rid}/photos",
            files={"file": ("late.jpg", _jpeg((10, 10, 10)), "image/jpeg")},
            headers={"X-Tracking-Code": code},
            timeout=30,
        )
        assert late.status_code == 409 and late.json()["code"] == "reporter_photo_refused"

        # The 微网格长 on the phone: the task, 到场, an after-photo, 办结反馈.
        fp = field.page
        _login(field, base, "/m", "loop_worker")
        field.wait(TASKS_READY, timeout=30_000)
        assert "李网格" in fp.inner_text("#who")
        fp.wait_for_selector(f'#tasks li[data-id="{rid}"]')
        _shot(field, "06-field-tasks")
        fp.click(f'#tasks li[data-id="{rid}"] a')
        fp.wait_for_url(f"**/m/tasks/{rid}")
        field.wait(TASK_READY, timeout=30_000)
        assert "楼道口垃圾堆放多日" in fp.inner_text("#description")
        assert "138****5678" in fp.inner_text("#facts")
        fp.fill("#a-note", "已到现场")
        fp.click("#arrive")
        fp.wait_for_selector('#status[data-status="in_progress"]')
        fp.set_input_files(
            "#photo", files=[{"name": "after.jpg", "mimeType": "image/jpeg", "buffer": _jpeg((40, 160, 60))}]
        )
        field.wait("window.geoFieldTask.photos >= 1", timeout=15_000)
        fp.fill("#a-note", "垃圾已清运，楼道口恢复整洁")
        fp.click("#feedback")
        fp.wait_for_selector('#status[data-status="feedback"]')
        _shot(field, "07-field-feedback")

        # The dispatcher reloads the case, sees both photos, verifies and closes it.
        dp.reload()
        desk.wait(REPORT_READY, timeout=30_000)
        dp.wait_for_selector('#status[data-status="feedback"]')
        assert dp.eval_on_selector_all("#photos img", "imgs => imgs.length") == 2
        dp.fill("#a-note", "回访核实，已清理")
        dp.click('button[data-action="verify"]')
        dp.wait_for_selector('#status[data-status="verified"]')
        dp.click('button[data-action="close"]')
        dp.wait_for_selector('#status[data-status="closed"]')
        desk.screenshot("loop-08-console-closed")

        # The resident rates it through the tracking link.
        rp.click("#done-link")
        resident.wait(f"document.querySelector('main').dataset.loaded === '{rid}'")
        assert rp.inner_text("#p-status") == "结案"
        rp.check("input[name=rating][value='5']")
        rp.fill("#rating-comment", "清理及时，谢谢")
        rp.click("#rating-submit")
        rp.wait_for_selector("#rated:not([hidden])")
        assert "5 分" in rp.inner_text("#rated-text")
        _shot(resident, "09-resident-rated")

        for who, v in (("resident", resident), ("dispatcher", desk), ("grid worker", field)):
            assert v.blocked == [], f"{who}: requests left loopback: {v.blocked}"
            assert v.console_errors == [], f"{who}: {v.console_errors}"

    # The case as the API tells it: every step by the right person.
    detail = api.get(f"/reports/{rid}").json()
    assert detail["status"] == "closed" and detail["rating"] == 5
    steps = {(e.get("to_status"), e["actor"]) for e in detail["history"] if e["kind"] == "transition"}
    for status in ("accepted", "registered", "dispatched", "verified", "closed"):
        assert (status, DISPATCHER) in steps, status
    for status in ("in_progress", "feedback"):
        assert (status, WORKER) in steps, status
    photos = api.get(f"/reports/{rid}/photos").json()
    assert [p["uploaded_by"] for p in photos] == ["上报人", WORKER]

    # 满意率 of the micro-grid counts the rating (5: satisfied).
    satisfied, rated = _satisfaction(api)
    assert (satisfied, rated) == (satisfied_before + 1, rated_before + 1)

    # The audit log names the session users' actions on this report.
    rows = query(
        url,
        "SELECT actor_user_id, action FROM audit_log WHERE subject = :s ORDER BY id",
        s=f"report:{rid}",
    )
    by_user: dict[int, list[str]] = {}
    for row in rows:
        if row.actor_user_id is not None:
            by_user.setdefault(int(row.actor_user_id), []).append(row.action)
    print(f"audit of report {rid}: {by_user}")
    move, dispatch = "POST /reports/{report_id}/transitions", "POST /reports/{report_id}/dispatch"
    writes = [a for a in by_user.get(users["dispatcher"], []) if a != "read_personal"]
    assert writes == [move, move, dispatch, move, move]  # accept, register, dispatch, verify, close
    assert "read_personal" in by_user[users["dispatcher"]]  # the unmasked phone on the console page
    assert by_user.get(users["worker"]) == [
        "POST /reports/{report_id}/arrival",
        "POST /reports/{report_id}/photos",
        "POST /m/tasks/{report_id}/feedback",
    ]
