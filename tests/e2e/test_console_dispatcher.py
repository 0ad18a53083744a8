"""The 街道中心 console in real headless chromium (issue 13): an anonymous browser is sent to the login form
and back; the 受理台 shows the queue with counts that match the API; a report created through the API
appears in the open queue without a reload (server-sent events) with a visible alert; its page shows the
unmasked phones and accepts and registers it with buttons; a refused action shows the API's message.
No request leaves loopback, no CSP violation, no JavaScript error. Screenshots: test-artifacts/maps/."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.support.accounts import PASSWORD, create_token, create_user, login
from tests.support.api import bearer
from tests.support.maps_browser import chromium, serve, visit

pytestmark = [pytest.mark.browser, pytest.mark.db]

LOGIN_READY = "document.getElementById('login-form') !== null"
QUEUE_READY = "window.geoConsoleQueue && window.geoConsoleQueue.ready === true"
REPORT_READY = "window.geoConsoleReport && window.geoConsoleReport.ready === true"
# A refused action is an HTTP 409 answer: chromium logs every 4xx fetch as a console error.
REFUSAL_LOG = re.compile(r"^Failed to load resource: the server responded with a status of 409")
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def served(db_factory: Callable[[], str]) -> Iterator[tuple[str, str]]:
    url = db_factory()
    create_user(url, "console_disp", "dispatcher", name="值班调度员")
    create_user(url, "console_worker", "grid_worker", name="网格员")
    token = create_token(url, "dispatcher", "控制台测试")
    with serve(url) as base:
        yield base, token


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _tab_count(page: Any, tab: str) -> int:
    return int(page.inner_text(f'button.tab[data-tab="{tab}"] .count'))


def test_queue_live_report_page_actions(served: tuple[str, str], browser: Any) -> None:
    base, token = served
    api = httpx.Client(base_url=base, headers=bearer(token), timeout=30)

    # Anonymous: /console sends the browser to the login form, which brings it back.
    with visit(browser, base + "/console", ready=LOGIN_READY) as v:
        page = v.page
        assert "/login?next=%2Fconsole" in page.url
        page.fill("#login", "console_disp")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/console")
        v.wait(QUEUE_READY, timeout=30_000)
        assert "值班调度员" in page.inner_text("#who")

        # Counts per tab are the API's totals; new reports come first, then by light.
        reported = api.get("/reports", params={"status": "reported", "limit": 1}).json()["total"]
        accepted = api.get("/reports", params={"status": "accepted", "limit": 1}).json()["total"]
        assert _tab_count(page, "reported") == reported
        assert _tab_count(page, "accepted") == accepted
        assert _tab_count(page, "open") >= reported + accepted
        rows = page.eval_on_selector_all(
            "#queue tbody tr[data-id]", "rs => rs.map(r => [Number(r.dataset.id), r.className])"
        )
        assert rows, "the queue shows reports"
        order = {"light-none": 0, "light-red": 1, "light-yellow": 2, "light-green": 3}
        statuses = page.eval_on_selector_all(
            "#queue tbody tr[data-id] td:nth-child(3)", "ts => ts.map(t => t.textContent)"
        )
        first_not_new = next((i for i, s in enumerate(statuses) if s != "上报"), len(statuses))
        assert all(s != "上报" for s in statuses[first_not_new:]), "new reports (上报) come first"
        lights = [order.get(c.split()[0], 0) for _, c in rows[first_not_new:]]
        lit = [x for x in lights if x]
        assert lit == sorted(lit), "after the new reports: red, then yellow, then green"
        v.screenshot("console-queue")

        # The category filter narrows the list and the counts.
        page.select_option("#f-category", "childcare")
        v.wait("window.geoConsoleQueue.loading === 0")
        childcare = api.get("/reports", params={"status": "reported", "category": "childcare", "limit": 1})
        page.wait_for_function(
            "n => Number(document.querySelector('button.tab[data-tab=\"reported\"] .count').textContent) === n",
            arg=childcare.json()["total"],
        )
        page.select_option("#f-category", "")
        v.wait("window.geoConsoleQueue.loading === 0")

        # A report created through the API appears without a reload, with an alert.
        v.run("window.__notReloaded = true")
        v.wait("document.getElementById('live').classList.contains('on')", timeout=10_000)
        created = httpx.post(base + "/reports", json={
            "category": "childcare", "channel": "public_account", "lon": 113.7075, "lat": 34.7552,
            "description": "控制台测试：放学后无人看护", "reporter_contact": "13812345678",
        }, timeout=30)  # fmt: skip
        assert created.status_code == 201, created.text
        rid = created.json()["id"]
        started = time.monotonic()
        page.wait_for_selector(f'#queue tr[data-id="{rid}"]', timeout=5_000)
        seen_after = time.monotonic() - started
        print(f"new report {rid} shown in the open queue {seen_after:.2f} s after it was created")
        assert page.evaluate("() => window.__notReloaded === true"), "the page was not reloaded"
        assert page.is_visible("#alert") and f"#{rid}" in page.inner_text("#alert")
        assert "新上报" in page.inner_text("#alert")
        v.screenshot("console-new-report")

        # Its page: description, people with unmasked phones, history, map with the grid outline.
        page.click(f'#queue tr[data-id="{rid}"] a')
        page.wait_for_url(f"**/console/reports/{rid}")
        v.wait(REPORT_READY, timeout=30_000)
        v.wait("window.geoConsoleReport.mapReady === true", timeout=10_000)
        assert "放学后无人看护" in page.inner_text("#description")
        phones = page.eval_on_selector_all("#people .phone", "ps => ps.map(p => p.textContent)")
        assert phones and all("*" not in p for p in phones), phones
        assert page.eval_on_selector_all("#map path.leaflet-interactive", "ps => ps.length") >= 1
        assert page.inner_text("#history").strip()
        assert "13812345678" in page.inner_text("#facts")
        v.screenshot("console-report")

        # Accept, then register, with the buttons.
        page.fill("#a-note", "电话核实，予以受理")
        page.click('button[data-action="accept"]')
        page.wait_for_selector('#status[data-status="accepted"]')
        page.click('button[data-action="register"]')
        page.wait_for_selector('#status[data-status="registered"]')
        detail = api.get(f"/reports/{rid}").json()
        assert detail["status"] == "registered"
        notes = [e.get("note") for e in detail["history"]]
        assert "电话核实，予以受理" in notes
        actors = {e["actor"] for e in detail["history"] if e.get("to_status") in ("accepted", "registered")}
        assert actors == {"值班调度员（console_disp）"}

        # Someone else parks the case meanwhile: the stale 挂账 button is refused with the API's message.
        assert page.is_visible('button[data-action="dispatch-grid"]')
        other = api.post(f"/reports/{rid}/park", json={"reason": "待资金到位", "review_on": "2099-12-31"})
        assert other.status_code == 200, other.text
        page.fill("#a-note", "需协调产权单位")
        page.fill("#a-review", "2099-12-31")
        page.click('button[data-action="park"]')
        page.wait_for_selector("#action-message.error")
        refusal = page.evaluate("() => window.geoConsoleReport.lastRefusal")
        shown = page.inner_text("#action-message")
        assert refusal["code"] == "invalid_transition"
        assert refusal["message"] == "只有已立案、未办结的案件可以挂账"
        assert shown.startswith("操作被拒绝：只有已立案、未办结的案件可以挂账"), shown
        assert CJK.search(shown)
        page.wait_for_selector('#status[data-status="parked"]')  # the page shows where the case is now
        assert page.is_visible('button[data-action="unpark"]')
        assert "只有已立案" in page.inner_text("#action-message")
        v.screenshot("console-refused")

        assert v.blocked == [], v.blocked
        errors = [e for e in v.console_errors if not REFUSAL_LOG.match(e)]
        assert errors == [], errors


def test_console_needs_a_dispatcher(served: tuple[str, str]) -> None:
    base, _ = served
    with httpx.Client(base_url=base, timeout=30) as anon:
        page = anon.get("/console/reports/1", headers={"Accept": "text/html"}, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Fconsole%2Freports%2F1"
        assert anon.get("/console", follow_redirects=False).status_code == 401  # not a browser: no redirect
        assert anon.get("/console/events").status_code == 401
        assert anon.get("/console/assets/queue.js").status_code == 200
        assert anon.get("/console/assets/..%2Fconsole.py").status_code == 404
    with httpx.Client(base_url=base, timeout=30) as worker:  # logged in, but not a dispatcher
        login(worker, "console_worker")
        refused = worker.get("/console", headers={"Accept": "text/html"}, follow_redirects=False)
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
        assert worker.get("/console/events").status_code == 403


def test_event_stream_names_new_reports(served: tuple[str, str]) -> None:
    """A reconnecting browser sends Last-Event-ID: the stream names every report created after it."""
    base, token = served
    with httpx.Client(base_url=base, timeout=30) as client:
        newest = client.get("/reports", params={"limit": 1}, headers=bearer(token)).json()["items"][0]["id"]
        headers = {**bearer(token), "Last-Event-ID": str(newest - 2)}
        with client.stream("GET", "/console/events", headers=headers) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines: list[str] = []
            for line in stream.iter_lines():
                lines.append(line)
                if line.startswith("data:"):
                    break
        assert lines[0] == "retry: 1000"
        assert f"id: {newest}" in lines and "event: report" in lines
        assert lines[-1] == 'data: {"ids": [' + f"{newest - 1}, {newest}" + "]}"
