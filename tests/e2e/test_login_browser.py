"""Log in through the /login form in real headless chromium, see /session, log out (issue 13): no script on
the page, no CSP violation, nothing fetched from outside loopback; screenshots under test-artifacts/maps/.
Also: repeated wrong passwords in the form lock the account (the right one is refused until the lock ends);
a logged-in page's write without (or with a wrong) CSRF token is refused 403 `csrf_failed` and changes
nothing; a session idle past its limit on the one clock ends (the browser is sent to the login form)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from geo_grid import clock, db
from geo_grid.services import accounts
from geo_grid.settings import Settings
from tests.support.accounts import PASSWORD, create_user
from tests.support.maps_browser import Visit, chromium, serve, visit
from tests.support.sql import query, scalar

pytestmark = [pytest.mark.browser, pytest.mark.db]

FORM_READY = "document.getElementById('login-form') !== null"
QUEUE_READY = "window.geoConsoleQueue && window.geoConsoleQueue.ready === true"
# Refusals are 4xx answers: chromium logs every failed fetch or navigation as a console error.
REFUSED_LOG = re.compile(r"^Failed to load resource: the server responded with a status of (403|423)")
DEFAULTS = Settings(database_url="postgresql+psycopg2://unused@127.0.0.1:1/unused")
_urls: dict[str, str] = {}


@pytest.fixture(scope="module")
def base_url(db_factory: Callable[[], str]) -> Iterator[str]:
    url = db_factory()
    create_user(url, "browser_disp", "dispatcher", name="调度员浏览器")
    for login in ("browser_lock", "browser_csrf", "browser_idle"):
        create_user(url, login, "dispatcher", name=f"测试{login}")
    _urls["db"] = url
    with serve(url) as base:
        yield base


def _execute(sql: str, **params: Any) -> None:
    """A change behind the service's back (what the passing of time would do), committed."""
    engine = db.make_engine(_urls["db"], pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params)
    finally:
        engine.dispose()


def _form_login(page: Any, login: str, password: str) -> None:
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("button[type=submit]")


def _clean(v: Visit) -> None:
    assert v.blocked == [], v.blocked
    errors = [e for e in v.console_errors if not REFUSED_LOG.match(e)]
    assert errors == [], errors


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _session(page: Any, base_url: str) -> dict[str, Any]:
    page.goto(base_url + "/session")
    return dict(json.loads(page.inner_text("body")))


def test_login_see_session_logout(base_url: str, browser: Any) -> None:
    with visit(browser, base_url + "/login", ready=FORM_READY) as v:
        page = v.page
        assert page.title().startswith("登录")
        v.screenshot("login-form")
        page.fill("#login", "browser_disp")
        page.fill("#password", "wrong password")
        page.click("button[type=submit]")
        page.wait_for_url("**/login?error=login_failed")
        assert "登录名或密码错误" in page.inner_text("#notice")

        page.fill("#login", "browser_disp")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/session")
        me = json.loads(page.inner_text("body"))
        assert me["authenticated"] and me["via"] == "session" and me["role"] == "dispatcher"
        assert me["name"] == "调度员浏览器（browser_disp）" and me["csrf_token"]
        cookies = {c["name"]: c for c in page.context.cookies()}
        session_cookie = cookies[accounts.SESSION_COOKIE]
        assert session_cookie["httpOnly"] and session_cookie["sameSite"] == "Lax"
        # The page cannot read the cookie (HttpOnly).
        assert accounts.SESSION_COOKIE not in page.evaluate("() => document.cookie")

        page.goto(base_url + "/login")
        assert "调度员浏览器" in page.inner_text("#who")
        v.screenshot("login-logged-in")
        page.click("#logout")
        page.wait_for_url("**/login?info=logged_out")
        assert "已退出登录" in page.inner_text("#notice")
        assert _session(page, base_url)["authenticated"] is False
        assert accounts.SESSION_COOKIE not in {c["name"] for c in page.context.cookies()}
        v.assert_clean()


def test_lockout_in_the_login_form(base_url: str, browser: Any) -> None:
    url = _urls["db"]
    limit = DEFAULTS.login_max_failures
    with visit(browser, base_url + "/login", ready=FORM_READY) as v:
        page = v.page
        for _ in range(limit - 1):
            _form_login(page, "browser_lock", "not the password")
            page.wait_for_url("**/login?error=login_failed")
            assert "登录名或密码错误" in page.inner_text("#notice")
        # The last allowed failure locks the account; the page says so in Chinese.
        _form_login(page, "browser_lock", "still not the password")
        page.wait_for_url("**/login?error=account_locked")
        notice = page.inner_text("#notice")
        assert "账号已暂时锁定" in notice and "重置密码" in notice, notice
        v.screenshot("login-locked")
        # The right password is refused while the lock lasts: no session.
        _form_login(page, "browser_lock", PASSWORD)
        page.wait_for_url("**/login?error=account_locked")
        assert "账号已暂时锁定" in page.inner_text("#notice")
        assert accounts.SESSION_COOKIE not in {c["name"] for c in page.context.cookies()}
        assert _session(page, base_url)["authenticated"] is False
        locked_until = scalar(url, "SELECT locked_until FROM users WHERE login = 'browser_lock'")
        expected = clock.now() + timedelta(seconds=DEFAULTS.login_lockout_s)
        assert abs((locked_until - expected).total_seconds()) < 60, locked_until
        reasons = [r.detail.get("reason") for r in query(url, """SELECT a.detail FROM audit_log a
            JOIN users u ON u.id = a.actor_user_id WHERE u.login = 'browser_lock' AND a.action = 'login_failed'
            ORDER BY a.id""")]  # fmt: skip
        assert reasons == ["wrong_password"] * limit + ["locked"]
        locks = "SELECT count(*) FROM audit_log WHERE action = 'login_locked' AND detail->>'login' = 'browser_lock'"
        assert scalar(url, locks) == 1

        # The lock ends (its end brought to a second ago on the one clock, as 15 minutes passing would):
        # the right password logs in.
        _execute(
            "UPDATE users SET locked_until = :t WHERE login = 'browser_lock'",
            t=clock.now() - timedelta(seconds=1),
        )
        page.goto(base_url + "/login")
        _form_login(page, "browser_lock", PASSWORD)
        page.wait_for_url("**/session")
        assert json.loads(page.inner_text("body"))["authenticated"] is True
        assert scalar(url, "SELECT locked_until FROM users WHERE login = 'browser_lock'") is None
        _clean(v)


def _post(page: Any, path: str, body: dict[str, Any], csrf: str | None) -> dict[str, Any]:
    """A state-changing fetch from the page itself (its session cookie goes along)."""
    return dict(page.evaluate(
        """async ([path, body, csrf]) => {
            const headers = {"Content-Type": "application/json", "Accept": "application/json"};
            if (csrf !== null) headers["X-CSRF-Token"] = csrf;
            const r = await fetch(path, {method: "POST", credentials: "same-origin", headers, body: JSON.stringify(body)});
            return {status: r.status, body: await r.json()};
        }""",
        [path, body, csrf],
    ))  # fmt: skip


def test_csrf_refusal_from_a_logged_in_page(base_url: str, browser: Any) -> None:
    url = _urls["db"]
    made = httpx.post(base_url + "/reports", json={
        "category": "littering", "channel": "public_account", "lon": 113.7075, "lat": 34.7552,
        "description": "CSRF 测试：垃圾堆放",
    }, timeout=30)  # fmt: skip
    assert made.status_code == 201, made.text
    rid = made.json()["id"]
    events = "SELECT count(*) FROM report_events WHERE report_id = :r"
    writes = """SELECT count(*) FROM audit_log a JOIN users u ON u.id = a.actor_user_id
                WHERE u.login = 'browser_csrf' AND a.action LIKE 'POST %'"""
    with visit(browser, base_url + "/console", ready=FORM_READY) as v:
        page = v.page
        _form_login(page, "browser_csrf", PASSWORD)
        page.wait_for_url("**/console")
        v.wait(QUEUE_READY, timeout=30_000)
        n_events = scalar(url, events, r=rid)
        path = f"/reports/{rid}/transitions"
        for csrf in (None, "wrong-token", ""):
            r = _post(page, path, {"to": "accepted", "note": "伪造的请求"}, csrf)
            assert r["status"] == 403 and r["body"]["code"] == "csrf_failed", r
            assert "CSRF" in r["body"]["message"] and re.search(r"[\u4e00-\u9fff]", r["body"]["message"])
        # Nothing changed: the status, the history, the audit log.
        assert scalar(url, "SELECT status FROM reports WHERE id = :r", r=rid) == "reported"
        assert scalar(url, events, r=rid) == n_events
        assert scalar(url, writes) == 0
        # The logout form with a wrong token is refused too; the session stays.
        v.run("document.getElementById('logout-csrf').value = 'wrong-token'")
        with page.expect_response(lambda resp: resp.url.endswith("/logout")) as answer:
            page.click("#logout-form button[type=submit]")
        assert answer.value.status == 403 and answer.value.json()["code"] == "csrf_failed"
        assert _session(page, base_url)["authenticated"] is True
        # The same write with the session's own token goes through (the refusals were the token's doing).
        me = _session(page, base_url)
        page.goto(base_url + "/console")
        v.wait(QUEUE_READY, timeout=30_000)
        ok = _post(page, path, {"to": "accepted", "note": "电话核实"}, me["csrf_token"])
        assert ok["status"] == 200 and ok["body"]["status"] == "accepted", ok
        assert scalar(url, writes) == 1
        v.screenshot("login-csrf-session-kept")
        _clean(v)


def test_idle_session_ends(base_url: str, browser: Any) -> None:
    """The idle timeout on the one clock, without waiting: the session's last request is moved back."""
    url = _urls["db"]
    idle = DEFAULTS.session_idle_timeout_s
    seen = """UPDATE web_sessions SET last_seen_at = :t
              WHERE user_id = (SELECT id FROM users WHERE login = 'browser_idle')"""
    with visit(browser, base_url + "/console", ready=FORM_READY) as v:
        page = v.page
        _form_login(page, "browser_idle", PASSWORD)
        page.wait_for_url("**/console")
        v.wait(QUEUE_READY, timeout=30_000)
        page.goto(base_url + "/login")  # a page without an event stream: nothing keeps the session alive
        # Idle a minute less than the limit: still logged in (and the request marks it seen now).
        _execute(seen, t=clock.now() - timedelta(seconds=idle - 60))
        me = _session(page, base_url)
        assert me["authenticated"] is True
        # Idle a minute past the limit: the session has ended; the console sends the browser to log in.
        _execute(seen, t=clock.now() - timedelta(seconds=idle + 60))
        page.goto(base_url + "/console")
        page.wait_for_url("**/login?next=%2Fconsole")
        assert _session(page, base_url)["authenticated"] is False
        reasons = [r.detail for r in query(url, """SELECT a.detail FROM audit_log a JOIN users u
            ON u.id = a.actor_user_id WHERE u.login = 'browser_idle' AND a.action = 'session_expired'""")]  # fmt: skip
        assert reasons == [{"reason": "idle"}]
        assert scalar(url, "SELECT count(*) FROM web_sessions ws JOIN users u ON u.id = ws.user_id "
                           "WHERE u.login = 'browser_idle'") == 0  # fmt: skip
        v.screenshot("login-idle-ended")
        _clean(v)
