"""The tiled coverage page (GEO_GRID_MAP_TILES_ABOVE=100 on the sample's 652 micro-grids) in headless
Debian chromium: the grids are drawn from vector tiles answered 200 with non-empty MVT, a click on a grid
opens its popup (name, masked phone for the public, unmasked for a dispatcher's token or session), search
finds a grid by name through the API, nothing leaves loopback, no JavaScript or CSP error."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import mapbox_vector_tile
import pytest

from tests.support.api import bearer
from tests.support.maps_browser import MAP_READY, POPUP_TEXT, Visit, click_for_popup, guarded
from tests.support.tiled_maps import tiled_map_fixtures

pytestmark = [pytest.mark.browser, pytest.mark.db]

CODE = "410105012004001001"
DRAWN = "document.querySelectorAll('.gg-tiles path.grid-micro').length > 0"

tiled_db, tiled_tokens, base_url, browser = tiled_map_fixtures(map_tiles_above=100)


@contextmanager
def tiled_visit(
    browser: Any, url: str, headers: dict[str, str] | None = None
) -> Iterator[tuple[Visit, list[tuple[str, int]]]]:
    """Open `url` (guarded: nothing but loopback) recording every tile response: (url, status)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, extra_http_headers=headers or {})
    v = guarded(context)
    tiles: list[tuple[str, int]] = []

    def record(response: Any) -> None:
        if "/tiles/" in response.url:
            tiles.append((response.url, response.status))

    v.page.on("response", record)
    try:
        response = v.page.goto(url, wait_until="load")
        assert response is not None and response.status == 200
        v.wait(MAP_READY)
        yield v, tiles
    finally:
        context.close()


def _mvt(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=30) as r:
        assert r.status == 200 and r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
        return dict(mapbox_vector_tile.decode(r.read()))


def _hit(base_url: str, q: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base_url}/maps/search?q={urllib.parse.quote(q)}", timeout=30) as r:
        hits = json.loads(r.read())
    assert hits, q
    return dict(hits[0])


def _click_grid(v: Visit, hit: dict[str, Any]) -> str:
    """Zoom to the grid, click inside it (its point on surface) and return the popup's text."""
    s, w, n, e = hit["bounds"]
    v.run(f"geoGrid.map.fitBounds([[{s}, {w}], [{n}, {e}]], {{maxZoom: 18, animate: false}})")
    v.wait(DRAWN)
    v.page.wait_for_load_state("networkidle")
    lat, lon = hit["point"]
    x, y = v.js(
        f"(() => {{ const p = geoGrid.map.latLngToContainerPoint([{lat}, {lon}]); return [p.x, p.y]; }})()"
    )
    return click_for_popup(v, x, y, hit["code"])


def test_tiled_coverage_page_draws_the_grids_from_tiles_and_masks_phones(browser: Any, base_url: str) -> None:
    with tiled_visit(browser, base_url + "/maps/coverage") as (v, tiles):
        v.wait(DRAWN)
        v.wait("document.querySelectorAll('.gg-tiles path.grid-tertiary').length > 0")
        v.wait("document.querySelectorAll('.gg-tiles path.grid-community').length > 0")
        v.page.wait_for_load_state("networkidle")
        assert v.js("geoGrid.data.tiled") is True
        assert tiles and all(status == 200 for _u, status in tiles), tiles
        layers = {u.split("/tiles/")[1].split("/")[0] for u, _s in tiles}
        assert {"micro_grids", "tertiary_grids", "communities"} <= layers
        # The bodies of the tiles the browser asked for (fetched again: playwright does not hand out the
        # bodies of intercepted fetch responses): MVT with micro-grids in them.
        micro = [_mvt(u) for u, _s in tiles if "/tiles/micro_grids/" in u]
        assert micro and sum(len(t.get("micro_grids", {}).get("features", [])) for t in micro) >= 100
        # The tertiary grids are filled with their embedded neighbour-distinct colours.
        fills = v.js(
            "[...new Set([...document.querySelectorAll('.gg-tiles path.grid-tertiary')].map(p => p.getAttribute('fill')))]"
        )
        assert len(fills) >= 4
        assert v.js("document.querySelectorAll('.leaflet-control-layers-overlays label').length") >= 7
        assert (
            v.js("geoGrid.map.getZoom()") < 16 and v.js("document.querySelectorAll('.gg-label').length") == 0
        )
        hit = _hit(base_url, CODE)
        text = _click_grid(v, hit)
        assert hit["name"] in text and "微网格长" in text and "****" in text
        # Zoomed in, the viewport's labels (name and code) come from GET /maps/labels.
        assert v.js("geoGrid.map.getZoom()") >= 18
        v.wait(f"[...document.querySelectorAll('.gg-label.micro')].some(l => l.innerText.includes('{CODE}'))")
        v.wait("document.querySelectorAll('.gg-label.tertiary').length > 0")
        # 路段长负责路段 and 楼院长负责楼院 start off, as on the embedded page, and draw from tiles when ticked.
        assert v.js("geoGrid.map.hasLayer(geoGrid.layers.roads)") is False
        v.run("geoGrid.layers.roads.addTo(geoGrid.map); geoGrid.layers.courtyards.addTo(geoGrid.map)")
        v.wait("document.querySelectorAll('.gg-tiles path.road-segment').length > 0")
        v.wait("document.querySelectorAll('.gg-tiles path.courtyard').length > 0")
        v.page.wait_for_load_state("networkidle")
        assert all(status == 200 for _u, status in tiles), tiles
        v.screenshot("coverage-tiled")
        v.assert_clean()


def test_tiled_popup_unmasks_phones_for_a_dispatcher(
    browser: Any, base_url: str, tiled_tokens: dict[str, str]
) -> None:
    with tiled_visit(browser, base_url + "/maps/coverage", bearer(tiled_tokens["dispatcher"])) as (v, _t):
        hit = _hit(base_url, CODE)
        text = _click_grid(v, hit)
        assert hit["name"] in text and "微网格长" in text and "****" not in text
        v.assert_clean()


def test_tiled_grid_page_opens_on_the_grid_and_search_finds_by_name(browser: Any, base_url: str) -> None:
    with tiled_visit(browser, base_url + f"/maps/grids/{CODE}") as (v, _t):
        v.wait(f"{POPUP_TEXT}.includes('{CODE}') && {POPUP_TEXT}.includes('微网格长')")
        assert v.js("geoGrid.map.getZoom()") >= 16
        v.page.fill("#gg-search-input", "康复社区第1网格")
        v.page.press("#gg-search-input", "Enter")
        v.wait(f"{POPUP_TEXT}.includes('410105012001001') && {POPUP_TEXT}.includes('网格长')")
        v.wait(DRAWN)
        v.screenshot("grid-tiled")
        v.assert_clean()
