"""The public resident pages (公众号群众端, issue 13) in real headless chromium at a phone's 360×740 viewport:
a resident files a report by tapping the map (and another by an address) → tracking code and link; the
tracking page shows the progress; a dispatcher closes it through the API; the resident rates it on the
tracking page (and only with the right code). Nothing leaves loopback, the tracking code never appears in a
URL the server sees, no horizontal scrolling; screenshots under test-artifacts/maps/resident-*.png."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.support.api import bearer, create_tokens
from tests.support.maps_browser import ARTIFACTS, Visit, chromium, guarded, serve
from tests.support.report_helpers import interior_point

pytestmark = [pytest.mark.browser, pytest.mark.db]

MICRO = "410105012004003005"
ADDRESS = "经三路158号院1号楼1单元"
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def env(db_factory: Callable[[], str]) -> Iterator[tuple[str, dict[str, str]]]:
    url = db_factory()
    tokens = create_tokens(url)
    with serve(url) as base:
        yield base, tokens


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _call(base: str, method: str, path: str, headers: dict[str, str], body: Any = None) -> tuple[int, Any]:
    req = urllib.request.Request(
        base + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={**headers, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@contextmanager
def phone(browser: Any, url: str, **options: Any) -> Iterator[tuple[Visit, list[str]]]:
    """A fresh 360×740 context on `url`; non-loopback requests aborted and recorded; every URL requested."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, **options)
    v = guarded(context)
    page = v.page
    urls: list[str] = []
    context.on("request", lambda request: urls.append(request.url))
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status == 200
    v.wait("document.querySelector('main').dataset.ready === '1'")
    try:
        yield v, urls
    finally:
        context.close()


def _shot(v: Visit, name: str) -> None:
    """The whole page (not only the first screen), as a phone user scrolls it."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    v.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _no_horizontal_scroll(v: Visit) -> None:
    width = v.js("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide at a 360 px viewport"


def _file_report(v: Visit) -> tuple[str, str]:
    v.page.click("#submit")
    v.page.wait_for_selector("#done:not([hidden])")
    _no_horizontal_scroll(v)
    return v.page.inner_text("#done-id"), v.page.inner_text("#done-code")


def test_report_by_map_tap_track_and_rate(env: tuple[str, dict[str, str]], browser: Any) -> None:
    base, tokens = env
    staff = bearer(tokens["dispatcher"])
    with phone(browser, base + "/report") as (v, urls):
        page = v.page
        policy = page.context.request.get(base + "/report").headers["content-security-policy"]
        assert "unsafe-inline" not in policy and "script-src 'self'" in policy
        options = v.js("() => [...document.querySelectorAll('#category option')].map(o => o.value)")
        assert "littering" in options and "elderly_fraud" not in options  # sensitive: to the hotline
        _no_horizontal_scroll(v)
        _shot(v, "resident-report-form")

        # Submitting without a place is refused on the page.
        page.select_option("#category", "littering")
        page.fill("#description", "小区门口垃圾堆放三天无人清理")
        page.click("#submit")
        assert "请选择问题位置" in page.inner_text("#form-error")

        lon, lat = interior_point(MICRO)
        v.run(f"resident.map.setView([{lat}, {lon}], 18, {{animate: false}})")
        box = page.locator("#map").bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        v.wait("document.querySelector('main').dataset.placed === '1'")
        assert "地图点选" in page.inner_text("#location-status")
        page.fill("#contact", "13812345678")
        _shot(v, "resident-report-filled")
        report_id, code = _file_report(v)
        assert len(code) >= 16
        _shot(v, "resident-report-done")

        status, seen = _call(base, "GET", f"/reports/{report_id}", staff)
        assert status == 200
        assert seen["micro_code"] == MICRO and seen["channel"] == "public_account"
        assert seen["category"] == "littering" and seen["reporter_contact"] == "13812345678"
        assert abs(seen["lon"] - lon) < 1e-4 and abs(seen["lat"] - lat) < 1e-4  # the tapped point

        # The link carries id and code in the fragment: the server never sees the code.
        href = page.get_attribute("#done-link", "href")
        assert href == f"/track#id={report_id}&code={code}"
        page.click("#done-link")
        v.wait(f"document.querySelector('main').dataset.loaded === '{report_id}'")
        assert page.inner_text("#p-status") == "上报"
        assert "等待街道中心受理" in page.inner_text("#p-hint")
        assert "已收到您的上报" in page.inner_text("#timeline")
        assert page.locator("#rating-form").is_hidden()
        _no_horizontal_scroll(v)
        _shot(v, "resident-track-reported")

        for step in ("accepted", "registered", "dispatched", "in_progress", "feedback", "verified", "closed"):
            status, body = _call(base, "POST", f"/reports/{report_id}/transitions", staff, {"to": step})
            assert status == 200, body

        page.reload()
        v.wait(f"document.querySelector('main').dataset.loaded === '{report_id}'")
        assert page.inner_text("#p-status") == "结案"
        timeline = page.inner_text("#timeline")
        assert "状态变为：受理" in timeline and "状态变为：结案" in timeline
        assert page.locator("#timeline li").count() >= 8
        assert page.locator("#rating-form").is_visible()
        _no_horizontal_scroll(v)
        _shot(v, "resident-track-closed")

        page.check("input[name=rating][value='4']")
        page.fill("#rating-comment", "处理及时，谢谢")
        page.click("#rating-submit")
        page.wait_for_selector("#rated:not([hidden])")
        assert "4 分" in page.inner_text("#rated-text")
        assert page.locator("#rating-form").is_hidden()
        _shot(v, "resident-track-rated")

        status, seen = _call(base, "GET", f"/reports/{report_id}", staff)
        assert seen["rating"] == 4 and seen["rating_comment"] == "处理及时，谢谢"
        assert [e["kind"] for e in seen["history"]].count("rating") == 1

        assert not [u for u in urls if code in u], "the tracking code reached a URL"
        assert any(u.endswith("/maps/static/leaflet/dist/leaflet.js") for u in urls)
        v.assert_clean()


def test_report_by_address_and_wrong_code(env: tuple[str, dict[str, str]], browser: Any) -> None:
    base, tokens = env
    staff = bearer(tokens["dispatcher"])
    _, found = _call(base, "GET", "/lookup/address?q=" + urllib.request.quote(ADDRESS), {})
    point = found["address"]["point"]
    with phone(browser, base + "/report") as (v, urls):
        page = v.page
        page.select_option("#category", "littering")
        page.fill("#description", "楼下绿化带有建筑垃圾")
        page.fill("#address", ADDRESS)
        page.click("#find-address")
        v.wait("document.querySelector('main').dataset.placed === '1'")
        assert found["address"]["address"] in page.inner_text("#location-status")
        shown = f"() => resident.map.getBounds().contains([{point['lat']}, {point['lon']}])"
        assert v.js(shown), "the found address is not on the map"
        _no_horizontal_scroll(v)
        _shot(v, "resident-report-address")
        report_id, code = _file_report(v)
        status, seen = _call(base, "GET", f"/reports/{report_id}", staff)
        assert status == 200 and seen["reporter_contact"] is None
        assert abs(seen["lon"] - point["lon"]) < 1e-6 and abs(seen["lat"] - point["lat"]) < 1e-6
        assert seen["micro_code"] == found["grid"]["micro"]["code"]

        # A wrong code: the API's own Chinese message, nothing shown of the report.
        status, refused = _call(base, "GET", f"/reports/{report_id}", {"X-Tracking-Code": "wrong-code"})
        assert status == 403 and refused["code"] == "tracking_code_invalid"
        page.goto(base + "/track")
        v.wait("document.querySelector('main').dataset.ready === '1'")
        page.fill("#report-id", report_id)
        page.fill("#tracking-code", "wrong-code")
        page.click("#track-submit")
        v.wait("document.querySelector('main').dataset.failed === '403'")
        assert page.inner_text("#track-error") == refused["message"]
        assert page.locator("#progress").is_hidden()
        _no_horizontal_scroll(v)
        _shot(v, "resident-track-wrong-code")

        # The right one, typed in.
        page.fill("#tracking-code", code)
        page.click("#track-submit")
        v.wait(f"document.querySelector('main').dataset.loaded === '{report_id}'")
        assert page.inner_text("#p-status") == "上报"
        assert not [u for u in urls if code in u or "wrong-code" in u]
        # Chromium logs the refused fetch itself; that one (and nothing else) is expected.
        refused_log = "Failed to load resource: the server responded with a status of 403 (Forbidden)"
        assert v.console_errors.count(refused_log) == 1
        v.console_errors.remove(refused_log)
        v.assert_clean()


def test_report_by_geolocation(env: tuple[str, dict[str, str]], browser: Any) -> None:
    base, tokens = env
    lon, lat = interior_point(MICRO)
    located = {
        "geolocation": {"longitude": lon, "latitude": lat, "accuracy": 12},
        "permissions": ["geolocation"],
    }
    with phone(browser, base + "/report", **located) as (v, _):
        page = v.page
        page.select_option("#category", "littering")
        page.fill("#description", "路灯不亮")
        page.click("#locate")
        v.wait("document.querySelector('main').dataset.placed === '1'")
        assert "当前位置（精度约 12 米）" in page.inner_text("#location-status")
        assert v.js(f"() => resident.map.getBounds().contains([{lat}, {lon}])")
        report_id, _code = _file_report(v)
        _shot(v, "resident-report-geolocated")
        _, seen = _call(base, "GET", f"/reports/{report_id}", bearer(tokens["dispatcher"]))
        assert seen["micro_code"] == MICRO and seen["input_crs"] == "wgs84"
        assert abs(seen["lon"] - lon) < 1e-6 and abs(seen["lat"] - lat) < 1e-6
        v.assert_clean()


def test_assets_are_a_fixed_list(env: tuple[str, dict[str, str]]) -> None:
    base, _ = env
    for name, kind in (("report.js", "text/javascript"), ("resident.css", "text/css")):
        with urllib.request.urlopen(f"{base}/resident/assets/{name}", timeout=30) as resp:
            assert resp.headers["content-type"].startswith(kind)
    for name in ("../../settings.py", "__init__.py", "nothing.js"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{base}/resident/assets/{name}", timeout=30)
        assert err.value.code == 404


def test_report_page_takes_the_configured_basemap(
    db_factory: Callable[[], str], make_client: Callable[..., Any]
) -> None:
    """天地图 tiles: their host is allowed in img-src (and nowhere else), the layers reach the page's script."""
    with make_client(db_factory(), basemap="tianditu", tianditu_key="resident-test") as client:
        r = client.get("/report")
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        policy = dict(d.strip().split(" ", 1) for d in r.headers["content-security-policy"].split(";"))
        assert "https://*.tianditu.gov.cn" in policy["img-src"]
        assert policy["script-src"] == "'self'" and policy["connect-src"] == "'self'"
        assert 'data-crs="wgs84"' in r.text and "tk=resident-test" in r.text and "<script>" not in r.text
    with make_client(db_factory(), basemap="gaode") as client:
        assert 'data-crs="gcj02"' in client.get("/report").text  # a tap on 高德 tiles is sent as GCJ-02
