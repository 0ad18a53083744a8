"""The planner's generations page in real headless chromium (issue 13): log in, open a draft, read its
validation and its changes against the active boundaries, activate it after a confirmation that says
what will be reassigned; the service then answers from the new generation. A dispatcher is refused."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.support.accounts import PASSWORD, create_user
from tests.support.maps_browser import chromium, serve, visit

pytestmark = [pytest.mark.browser, pytest.mark.db]
LOGIN_READY = "document.getElementById('login-form') !== null"
PAGE_READY = "window.geoConsoleGenerations && window.geoConsoleGenerations.ready === true"


@pytest.fixture(scope="module")
def base(db_factory: Callable[[], str]) -> Iterator[str]:
    url = db_factory()
    create_user(url, "gen_planner", "planner", name="规划员")
    create_user(url, "gen_disp", "dispatcher", name="调度员")
    with serve(url) as served:
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _log_in(v: Any, login: str) -> None:
    v.page.fill("#login", login)
    v.page.fill("#password", PASSWORD)
    v.page.click("button[type=submit]")


def test_a_planner_opens_checks_and_activates_a_draft(base: str, browser: Any) -> None:
    with visit(browser, base + "/console/generations", ready=LOGIN_READY) as v:
        page = v.page
        _log_in(v, "gen_planner")
        page.wait_for_url("**/console/generations")
        v.wait(PAGE_READY, timeout=30_000)
        assert page.is_hidden("#draft") and page.inner_text("#generations tbody").count("现行") == 1
        page.fill("#draft-note", "浏览器草稿")
        page.click("#open-draft")
        v.wait("!document.getElementById('draft').hidden", timeout=30_000)
        v.wait("document.getElementById('diff').textContent.includes('将改属')", timeout=30_000)
        assert "可以启用" in page.inner_text("#validation")
        assert "浏览器草稿" in page.inner_text("#draft-title")
        assert page.get_attribute("#draft-editor", "href").startswith("/maps/editor?generation=")
        v.screenshot("console-generations-draft")
        page.click("#activate")
        assert "将改属：未办结上报 0" in page.inner_text("#confirm-text")
        page.click("#confirm-yes")
        v.wait("document.getElementById('action-message').textContent.includes('已启用代次')", timeout=60_000)
        v.wait("document.getElementById('draft').hidden", timeout=30_000)
        new = v.js("window.geoConsoleGenerations.activated.generation")
        v.screenshot("console-generations-activated")
        v.assert_clean()
    health = httpx.get(base + "/health", timeout=30).json()
    assert health["active_generation"] == new


def test_only_planners_may_open_the_page(base: str, browser: Any) -> None:
    with visit(browser, base + "/console/generations", ready=LOGIN_READY) as v:
        _log_in(v, "gen_disp")
        v.page.wait_for_url("**/console/generations")
        assert "dispatcher" in v.page.inner_text("body") or "403" in v.page.inner_text("body")
    assert httpx.get(base + "/console/generations", timeout=30).status_code == 401
