"""A planner logged in through /login saves a boundary edit from the editor page with the browser session
(cookie + CSRF token): no token box needed (issue 13). Logged out, the draft's editor is not found (a
draft is the planners', tests/db/test_drafts_private.py)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.support.accounts import PASSWORD, create_user
from tests.support.api import bearer, create_tokens
from tests.support.maps_browser import chromium, serve, visit

pytestmark = [pytest.mark.browser, pytest.mark.db]
CODE = "410105012004003005"


@pytest.fixture(scope="module")
def served(db_factory: Callable[[], str]) -> Iterator[tuple[str, int, str]]:
    url = db_factory()
    create_user(url, "browser_planner", "planner", name="规划员浏览器")
    token = create_tokens(url)["planner"]
    with serve(url) as base:
        draft = httpx.post(
            base + "/generations", json={"note": "session edit"}, headers=bearer(token), timeout=30
        )
        assert draft.status_code == 201, draft.text
        body = draft.json()
        yield base, int(body.get("id") or body.get("generation")), token


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


SHRINK = """(() => { const l = geoGrid.layers.drawn.getLayers()[0], c = l.getBounds().getCenter();
  l.setLatLngs(l.getLatLngs().map(r => r.map(p => L.latLng(c.lat + (p.lat - c.lat) * 0.9,
                                                          c.lng + (p.lng - c.lng) * 0.9)))); })()"""


def test_a_logged_in_planner_saves_an_edit_with_the_session(
    served: tuple[str, int, str], browser: Any
) -> None:
    base, gen, token = served
    editor = f"/maps/editor?generation={gen}"
    assert httpx.get(base + editor, timeout=30).status_code == 404  # not logged in: no such draft
    login_page = base + "/login?next=" + editor.replace("?", "%3F").replace("=", "%3D")
    with visit(browser, login_page, ready="document.getElementById('login') !== null") as v:
        page = v.page
        page.fill("#login", "browser_planner")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/maps/editor**")
        v.wait("typeof geoGrid !== 'undefined' && geoGrid.map !== undefined", timeout=30_000)
        assert v.js(f"geoGrid.editGrid('{CODE}')") is True
        v.run(SHRINK)
        assert page.input_value("#gg-token") == ""
        page.click("#gg-submit")
        v.wait("document.getElementById('gg-status').textContent.includes('已提交')", timeout=30_000)
        v.screenshot("editor-session-saved")
        v.assert_clean()
    audit = httpx.get(base + f"/generations/{gen}/grids/{CODE}", headers=bearer(token), timeout=30).json()
    assert (
        json.dumps(audit, ensure_ascii=False).count("browser_planner") >= 1
        or audit["properties"]["version"] > 1
    )
