"""The map pages in real headless Debian chromium, served by uvicorn from a copy of the sample database:
no JavaScript error, nothing fetched from outside loopback, the expected grids and markers drawn, a
screenshot per page under test-artifacts/maps/."""

from __future__ import annotations

import csv
import json
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from geo_grid import clock, reporting
from geo_grid.settings import SAMPLE_DIR
from tests.support.api import bearer, create_tokens
from tests.support.maps_browser import chromium, serve, visit

pytestmark = [pytest.mark.browser, pytest.mark.db]

# The seeded categories table's sensitive categories (migration 0004_case_handling; the public map leaves
# them out, geo_grid/privacy.py).
SENSITIVE = frozenset({"elderly_fraud"})

N_MICRO, N_TERTIARY = 652, 73
CODE = "410105012004001001"


@pytest.fixture(scope="module")
def map_db(db_factory: Callable[[], str]) -> str:
    return db_factory()


@pytest.fixture(scope="module")
def map_tokens(map_db: str) -> dict[str, str]:
    return create_tokens(map_db)


@pytest.fixture(scope="module")
def base_url(map_db: str) -> Iterator[str]:
    with serve(map_db) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _api(base_url: str, method: str, path: str, token: str, body: Any = None) -> Any:
    req = urllib.request.Request(
        base_url + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={**bearer(token), "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def _count(v: Any, selector: str) -> int:
    return int(v.js(f"document.querySelectorAll({json.dumps(selector)}).length"))


def _sample_reports() -> list[dict[str, str]]:
    with open(SAMPLE_DIR / "reports.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _expected_default_reports() -> int:
    """From the sample file, not the code under test: open reports + those closed in the last 30 days,
    without the sensitive categories (the public page never shows them, geo_grid/privacy.py)."""
    cutoff = clock.now() - timedelta(days=30)
    n = 0
    for r in _sample_reports():
        if r["category"] in SENSITIVE:
            continue
        if r["status"] not in reporting.TERMINAL:
            n += 1
            continue
        ended = r["closed_at"] or r["accepted_at"] or r["created_at"]
        n += datetime.fromisoformat(ended) >= cutoff
    return n


def test_coverage_page_draws_every_grid_and_masks_phones(browser: Any, base_url: str) -> None:
    with visit(browser, base_url + "/maps/coverage") as v:
        assert _count(v, "path.grid-micro") == N_MICRO
        assert _count(v, "path.grid-tertiary") == N_TERTIARY
        assert _count(v, "path.grid-community") == 11
        assert _count(v, ".leaflet-control-layers-overlays label") >= 7
        assert "图例" in v.page.inner_text(".gg-legend")
        # Neighbouring tertiary grids never share a fill colour.
        fills = v.js("geoGrid.layers.tertiary.getLayers().map(l => l.options.fillColor)")
        assert len(set(fills)) >= 4
        popup = v.js(
            f"(() => {{ let c; geoGrid.layers.micro.eachLayer(l => {{ if (l.feature.properties.code === '{CODE}') c = l.getPopup().getContent(); }}); return c; }})()"
        )
        assert "微网格长" in popup and "****" in popup
        # Labels only when zoomed in.
        assert _count(v, ".gg-label") == 0
        v.run("geoGrid.map.setZoom(18, {animate: false})")
        v.wait("document.querySelectorAll('.gg-label.micro').length > 0")
        v.run("geoGrid.map.setZoom(15, {animate: false})")
        v.run("geoGrid.map.fitBounds(geoGrid.layers.tertiary.getBounds())")
        v.screenshot("coverage")
        v.assert_clean()


def test_coverage_page_unmasks_phones_for_a_dispatcher(
    browser: Any, base_url: str, map_tokens: dict[str, str]
) -> None:
    with visit(browser, base_url + "/maps/coverage", bearer(map_tokens["dispatcher"])) as v:
        popup = v.js("geoGrid.layers.micro.getLayers()[0].getPopup().getContent()")
        assert "微网格长" in popup and "****" not in popup
        v.assert_clean()


def test_grid_page_opens_zoomed_on_the_grid_and_search_finds_by_name(browser: Any, base_url: str) -> None:
    with visit(browser, base_url + f"/maps/grids/{CODE}") as v:
        v.page.wait_for_selector(".leaflet-popup-content")
        assert CODE in v.page.inner_text(".leaflet-popup-content")
        assert v.js("geoGrid.map.getZoom()") >= 16
        v.page.wait_for_selector(".gg-label.micro")
        v.screenshot("grid")
        v.page.fill("#gg-search-input", "康复社区第1网格")
        v.page.press("#gg-search-input", "Enter")
        v.wait("document.querySelector('.leaflet-popup-content').innerText.includes('410105012001001')")
        v.assert_clean()


# The first report's marker drawn over its own position, with no cluster animation under way.
MARKER_SETTLED = """(() => {
    const group = geoGrid.layers.reports, m = group.getLayers()[0], icon = m.getElement();
    if (!icon || group._inZoomAnimation || group._queueTimeout) return false;
    const want = geoGrid.map.latLngToContainerPoint(m.getLatLng());
    const box = icon.getBoundingClientRect(), map = geoGrid.map.getContainer().getBoundingClientRect();
    const x = box.left + box.width / 2 - map.left, y = box.top + box.height / 2 - map.top;
    return Math.abs(x - want.x) < 1.5 && Math.abs(y - want.y) < 1.5 && getComputedStyle(icon).opacity === '1';
})()"""


def test_incident_page_markers_clusters_overdue_heat_and_choropleth(browser: Any, base_url: str) -> None:
    with visit(browser, base_url + "/maps/incidents") as v:
        assert v.js("geoGrid.layers.reports.getLayers().length") == _expected_default_reports()
        overdue = v.js(
            "geoGrid.layers.reports.getLayers().filter(m => m.options.icon.options.html.includes('overdue')).length"
        )
        assert overdue > 0 and overdue == v.js("geoGrid.data.counts.overdue")
        assert _count(v, ".marker-cluster") > 0  # clustered when zoomed out
        # The layer coloured by light starts off (its checkbox unticked): markers never stack on both layers.
        assert v.js("geoGrid.map.hasLayer(geoGrid.layers.lights)") is False
        assert _count(v, "path.grid-micro") == N_MICRO  # the choropleth
        assert "自然断点" in v.page.inner_text(".gg-legend")
        v.screenshot("incidents")
        # Zoomed in, single markers (coloured by state) appear with their popups: click the marker zoomed to
        # (out of its cluster, spiderfied if it shares its spot), not whichever comes first in the page.
        v.page.evaluate(
            """() => new Promise(done => {
                const m = geoGrid.layers.reports.getLayers()[0];
                geoGrid.map.setView(m.getLatLng(), 19, {animate: false});
                geoGrid.layers.reports.zoomToShowLayer(m, done);
            })"""
        )
        # The cluster layer first adds the split markers where their cluster was and moves them in its
        # next queued step (up to 300 ms later): clicking a marker still standing at its cluster's spot
        # would land on the map once it moves. Wait until it stands over its own position, settled.
        v.wait(MARKER_SETTLED)
        marker = v.page.evaluate_handle("geoGrid.layers.reports.getLayers()[0].getElement()").as_element()
        assert marker is not None and marker.query_selector(".gg-report") is not None
        marker.click()
        text = v.page.inner_text(".leaflet-popup-content")
        assert "类别" in text and "状态" in text and "责任人" in text
        assert v.page.get_attribute(".leaflet-popup-content a", "href").startswith("/reports/")
        assert v.page.get_attribute(".leaflet-popup-content a.gg-console", "href").startswith(
            "/console/reports/"
        )
        v.screenshot("incidents-zoomed")
        # The heat map layer draws on its own canvas.
        v.run("geoGrid.map.setZoom(14, {animate: false}); geoGrid.layers.heat.addTo(geoGrid.map)")
        v.page.wait_for_selector("canvas.leaflet-heatmap-layer")
        v.screenshot("incidents-heat")
        v.assert_clean()


def test_incident_filters_and_old_closed_reports_on_request(browser: Any, base_url: str) -> None:
    reports = _sample_reports()
    with visit(browser, base_url + "/maps/incidents?status=reported") as v:
        assert (
            v.js("geoGrid.layers.reports.getLayers().length")
            == sum(r["status"] == "reported" for r in reports)
            > 0
        )
        v.assert_clean()
    with visit(browser, base_url + "/maps/incidents?category=childcare&include_closed=true") as v:
        assert v.js("geoGrid.layers.reports.getLayers().length") == sum(
            r["category"] == "childcare" for r in reports
        )
        v.assert_clean()


def test_editor_submits_an_edit_to_the_draft_and_shows_the_gap(
    browser: Any, base_url: str, map_tokens: dict[str, str]
) -> None:
    draft = _api(base_url, "POST", "/generations", map_tokens["planner"], {"note": "map editor test"})
    gen = draft.get("id") or draft.get("generation")
    with visit(browser, base_url + f"/maps/editor?generation={gen}") as v:
        assert _count(v, "path.grid-micro") == N_MICRO
        assert _count(v, ".leaflet-draw-toolbar") >= 1
        assert v.js(f"geoGrid.editGrid('{CODE}')") is True
        assert v.js("geoGrid.layers.drawn.getLayers().length") == 1
        # Shrink the polygon by 20 % around its centre, as a planner's edit would, and submit it.
        v.run("""(() => { const l = geoGrid.layers.drawn.getLayers()[0], c = l.getBounds().getCenter();
                 l.setLatLngs(l.getLatLngs().map(r => r.map(p => L.latLng(c.lat + (p.lat - c.lat) * 0.8, c.lng + (p.lng - c.lng) * 0.8)))); })()""")
        v.page.fill("#gg-token", map_tokens["planner"])
        v.page.click("#gg-submit")
        v.wait("document.getElementById('gg-status').textContent.includes('已提交')", timeout=30_000)
        v.assert_clean()
    with visit(browser, base_url + f"/maps/editor?generation={gen}") as v:
        kinds = v.js("geoGrid.layers.problems.getLayers().map(l => l.feature.properties.severity)")
        assert "error" in kinds  # the gap the shrunken grid left
        v.run(f"geoGrid.editGrid('{CODE}')")
        v.run("geoGrid.map.fitBounds(geoGrid.layers.drawn.getBounds().pad(1.5), {animate: false})")
        v.screenshot("editor")
        v.assert_clean()
    with visit(browser, base_url + f"/maps/coverage?generation={gen}") as v:
        assert v.js("geoGrid.layers.problems.getLayers().length") > 0
        v.run(f"geoGrid.focus('{CODE}')")
        v.screenshot("coverage-draft-problems")
        v.assert_clean()


def test_swagger_ui_renders_every_operation_from_local_assets(browser: Any, base_url: str) -> None:
    with visit(browser, base_url + "/docs", ready="document.querySelectorAll('.opblock').length > 0") as v:
        paths = json.loads(urllib.request.urlopen(base_url + "/openapi.json", timeout=30).read())["paths"]
        n_operations = sum(len(ops) for ops in paths.values())
        v.wait(f"document.querySelectorAll('.opblock').length === {n_operations}")
        assert "/lookup" in v.page.inner_text("#swagger-ui")
        v.page.click(".opblock-summary-path[data-path='/health']")  # expands, no outside request
        v.page.wait_for_selector(".opblock.is-open")
        v.screenshot("docs-swagger")
        v.assert_clean()


def test_redoc_renders_from_local_assets(browser: Any, base_url: str) -> None:
    ready = "document.querySelector('.api-content h1') !== null"
    with visit(browser, base_url + "/redoc", ready=ready) as v:
        assert "geo_grid" in v.page.inner_text(".api-content h1")
        paths = json.loads(urllib.request.urlopen(base_url + "/openapi.json", timeout=30).read())["paths"]
        n_operations = sum(len(ops) for ops in paths.values())
        v.wait(f"document.querySelectorAll('[data-section-id^=\"operation/\"]').length === {n_operations}")
        assert "/lookup" in v.page.inner_text(".api-content")
        v.screenshot("docs-redoc")
        # Redoc's footer logo is a hard-coded CDN image: the page's CSP refuses it before any request.
        logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"
        assert any("CSP violation: img-src" in e and logo in e for e in v.console_errors)
        v.console_errors = [e for e in v.console_errors if logo not in e]
        v.assert_clean()


def test_page_policy_lets_the_configured_basemap_tiles_through(browser: Any, map_db: str) -> None:
    """With 天地图 configured, the CSP admits its tile host: the browser requests the tiles (the test
    blocks them at the network) and reports no CSP violation."""
    with (
        serve(map_db, basemap="tianditu", tianditu_key="csp-test") as url,
        visit(browser, url + "/maps/coverage") as v,
    ):
        v.wait("document.querySelectorAll('img.leaflet-tile').length > 0")
        v.page.wait_for_timeout(500)
        assert any(".tianditu.gov.cn/" in u for u in v.blocked), v.blocked
        assert not [e for e in v.console_errors if "CSP violation" in e or "Content Security Policy" in e]
