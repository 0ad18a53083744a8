"""Log in through the /login form in real headless chromium, see /session, log out (issue 13): no script on
the page, no CSP violation, nothing fetched from outside loopback; screenshots under test-artifacts/maps/."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from geo_grid.services import accounts
from tests.support.accounts import PASSWORD, create_user
from tests.support.maps_browser import chromium, serve, visit

pytestmark = [pytest.mark.browser, pytest.mark.db]

FORM_READY = "document.getElementById('login-form') !== null"


@pytest.fixture(scope="module")
def base_url(db_factory: Callable[[], str]) -> Iterator[str]:
    url = db_factory()
    create_user(url, "browser_disp", "dispatcher", name="调度员浏览器")
    with serve(url) as base:
        yield base


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
