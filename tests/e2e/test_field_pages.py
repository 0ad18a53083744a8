"""网格手机终端 (issue 13) in real headless chromium at a phone's 360×740 viewport: a grid worker linked to a
roster person of the grid logs in (the anonymous /m goes to the login form and back), sees the task
dispatched to their grid (nearest first: the browser gives its position), opens it, marks 到场, uploads an
after-photo and gives 办结反馈; the report's history (as the dispatcher reads it) shows all of it. No request
leaves loopback, no CSP violation, no JavaScript error, no horizontal scrolling; screenshots under
test-artifacts/maps/field-*.png."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.support.accounts import PASSWORD, create_token, create_user
from tests.support.api import bearer
from tests.support.maps_browser import ARTIFACTS, Visit, chromium, guarded, serve
from tests.support.report_helpers import interior_point
from tests.support.sql import query

pytestmark = [pytest.mark.browser, pytest.mark.db]

MICRO = "410105012004003005"
PHONE = {"width": 360, "height": 740}
TASKS_READY = "window.geoFieldTasks && window.geoFieldTasks.ready === true"
TASK_READY = "window.geoFieldTask && window.geoFieldTask.ready === true"


@pytest.fixture(scope="module")
def served(
    db_factory: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    url = db_factory()
    person = query(
        url, "SELECT person_id FROM roles WHERE grid_code = :c ORDER BY person_id LIMIT 1", c=MICRO
    )
    create_user(url, "field_worker", "grid_worker", name="王网格", person_id=int(person[0].person_id))
    token = create_token(url, "dispatcher", "手机终端测试")
    with serve(url, photos_dir=tmp_path_factory.mktemp("photos")) as base:
        yield base, token


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _jpeg() -> bytes:
    img = Image.new("RGB", (640, 480), (40, 160, 60))
    img.paste((230, 230, 230), (100, 100, 540, 380))
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


def _dispatch(api: httpx.Client, lon: float, lat: float, text: str) -> int:
    made = api.post("/reports", json={"category": "littering", "channel": "public_account", "lon": lon,
                                      "lat": lat, "description": text, "reporter_contact": "13812345678"})  # fmt: skip
    assert made.status_code == 201, made.text
    rid = int(made.json()["id"])
    for to in ("accepted", "registered"):
        assert api.post(f"/reports/{rid}/transitions", json={"to": to}).status_code == 200
    r = api.post(f"/reports/{rid}/dispatch", json={"kind": "grid_team"})
    assert r.status_code == 200, r.text
    return rid


def test_worker_handles_a_task_on_the_phone(served: tuple[str, str], browser: Any) -> None:
    base, token = served
    api = httpx.Client(base_url=base, headers=bearer(token), timeout=30)
    lon, lat = interior_point(MICRO)
    far = _dispatch(api, lon - 0.0005, lat, "垃圾桶满溢（较远）")
    rid = _dispatch(api, lon, lat, "楼下垃圾堆放，联系人13812345678")

    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                  geolocation={"longitude": lon, "latitude": lat},
                                  permissions=["geolocation"])  # fmt: skip
    v = guarded(context)
    page = v.page
    try:
        # Anonymous: /m sends the browser to the login form, which brings it back.
        page.goto(base + "/m", wait_until="load")
        assert "/login?next=%2Fm" in page.url
        page.fill("#login", "field_worker")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/m")
        v.wait(TASKS_READY, timeout=30_000)
        policy = page.context.request.get(base + "/m").headers["content-security-policy"]
        assert "unsafe-inline" not in policy and "script-src 'self'" in policy
        assert "王网格" in page.inner_text("#who")
        assert v.js("() => window.geoFieldTasks.order") == "nearest"
        ids = v.js("() => [...document.querySelectorAll('#tasks li')].map(li => Number(li.dataset.id))")
        assert rid in ids and far in ids and ids.index(rid) < ids.index(far)
        item = page.inner_text(f'#tasks li[data-id="{rid}"]')
        assert "派遣" in item and "13812345678" not in item
        _no_horizontal_scroll(v)
        _shot(v, "field-tasks")

        # Open it: description, facts (contact masked), map with the point and the grid outline.
        page.click(f'#tasks li[data-id="{rid}"] a')
        page.wait_for_url(f"**/m/tasks/{rid}")
        v.wait(TASK_READY, timeout=30_000)
        v.wait("window.geoFieldTask.mapReady === true", timeout=10_000)
        assert "楼下垃圾堆放" in page.inner_text("#description")
        assert "138****5678" in page.inner_text("#facts")
        assert page.eval_on_selector_all("#map path.leaflet-interactive", "ps => ps.length") >= 2
        assert page.is_disabled("#feedback") and page.is_enabled("#arrive")
        _no_horizontal_scroll(v)
        _shot(v, "field-task")

        # 到场: the task starts (→ 处置中) and the arrival shows in the history.
        page.fill("#a-note", "已到现场")
        page.click("#arrive")
        page.wait_for_selector('#status[data-status="in_progress"]')
        assert "已登记到场" in page.inner_text("#action-message")
        assert page.query_selector('#history li[data-kind="arrival"]') is not None

        # An after-photo, with the existing photo upload.
        page.set_input_files(
            "#photo", files=[{"name": "after.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}]
        )
        v.wait("window.geoFieldTask.photos === 1", timeout=15_000)
        page.wait_for_function(
            "() => document.querySelector('#photos img') && document.querySelector('#photos img').naturalWidth > 0"
        )

        # 办结反馈.
        page.fill("#a-note", "垃圾已清运，现场恢复整洁")
        page.click("#feedback")
        page.wait_for_selector('#status[data-status="feedback"]')
        assert page.is_disabled("#feedback") and page.is_disabled("#arrive")
        _no_horizontal_scroll(v)
        _shot(v, "field-feedback")

        # The report's history, as the dispatcher reads it, shows the worker's steps.
        detail = api.get(f"/reports/{rid}").json()
        assert detail["status"] == "feedback"
        steps = [(e["kind"], e.get("to_status"), e["actor"], e.get("note")) for e in detail["history"]]
        worker = "王网格（field_worker）"
        assert ("arrival", None, worker, "已到现场") in steps
        assert ("transition", "in_progress", worker, "网格员到场，开始处置") in steps
        assert ("transition", "feedback", worker, "垃圾已清运，现场恢复整洁") in steps
        photos = api.get(f"/reports/{rid}/photos").json()
        assert len(photos) == 1 and photos[0]["uploaded_by"] == worker

        # Back on the list: the reported-back task is gone, the other one is still there.
        page.click(".back a")
        page.wait_for_url("**/m")
        v.wait(TASKS_READY, timeout=30_000)
        ids = v.js("() => [...document.querySelectorAll('#tasks li')].map(li => Number(li.dataset.id))")
        assert rid not in ids and far in ids

        v.assert_clean()
    finally:
        context.close()
