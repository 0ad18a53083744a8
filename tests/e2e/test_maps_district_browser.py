"""The coverage page of the whole district in headless Debian chromium: with the sample and its neighbour
(tests/support/district.py) an anonymous caller's `/maps/coverage` draws both subdistricts — embedded,
and tiled above GEO_GRID_MAP_TILES_ABOVE, where the tiles the browser asks for name no generation and
hold both subdistricts' micro-grids, a click on the neighbour's grid opens its popup and the zoomed-in
labels name it. Nothing leaves loopback, no JavaScript or CSP error."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import mapbox_vector_tile
import pytest

from tests.support import district
from tests.support.accounts import create_token
from tests.support.maps_browser import MAP_READY, chromium, click_for_popup, guarded, serve, visit

pytestmark = [pytest.mark.browser, pytest.mark.db]

SAMPLE = "410105012"
DRAWN = "document.querySelectorAll('.gg-tiles path.grid-micro').length > 0"


@pytest.fixture(scope="module")
def district_db(
    db_factory: Any, make_client: Any, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, str]:
    """The sample and its neighbour; the neighbour's first micro-grid (by code)."""
    url = str(db_factory())
    admin = create_token(url, "admin", "区级管理员", subdistrict=None)
    with make_client(url) as client:
        built = district.add_second_subdistrict(client, admin, url, tmp_path_factory.mktemp("district"))
    return url, sorted(built.micro)[0]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as r:
        assert r.status == 200
        return bytes(r.read())


def test_the_district_page_draws_the_grids_of_both_subdistricts(
    browser: Any, district_db: tuple[str, str]
) -> None:
    url, neighbour = district_db
    with serve(url) as base, visit(browser, base + "/maps/coverage") as v:  # embedded (656 micro-grids)
        codes = v.js("geoGrid.layers.micro.getLayers().map(l => l.feature.properties.code)")
        assert neighbour in codes and f"{SAMPLE}001001001" in codes
        assert {c[:9] for c in codes} == {SAMPLE, district.CODE}
        v.screenshot("coverage-district")
        v.assert_clean()

    with serve(url, map_tiles_above=100) as base:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        v = guarded(context)
        tiles: list[tuple[str, int]] = []
        v.page.on("response", lambda r: tiles.append((r.url, r.status)) if "/tiles/" in r.url else None)
        try:
            response = v.page.goto(base + "/maps/coverage", wait_until="load")
            assert response is not None and response.status == 200
            v.wait(MAP_READY)
            assert v.js("geoGrid.data.tiled") is True
            # The whole district in view, micro-grids drawn (from zoom 13).
            v.run("geoGrid.map.setZoom(13, {animate: false})")
            v.wait(DRAWN)
            v.page.wait_for_load_state("networkidle")
            assert tiles and all(status == 200 for _u, status in tiles), tiles
            micro_urls = [u for u, _s in tiles if "/tiles/micro_grids/" in u]
            assert micro_urls and not any("generation=" in u for u, _s in tiles)
            drawn = {
                f["properties"]["code"]
                for u in micro_urls
                for f in mapbox_vector_tile.decode(_get(u)).get("micro_grids", {}).get("features", [])
            }
            assert neighbour in drawn and any(c.startswith(SAMPLE) for c in drawn)
            # The neighbour's grid: its label zoomed in (GET /maps/labels, no generation) and its popup on
            # click (GET /maps/popups/grids/{code}, found in its own subdistrict's generation).
            hits = json.loads(_get(f"{base}/maps/search?q={urllib.parse.quote(neighbour)}"))
            lat, lon = hits[0]["point"]
            v.run(f"geoGrid.map.setView([{lat}, {lon}], 18, {{animate: false}})")
            v.wait(
                f"[...document.querySelectorAll('.gg-label.micro')].some(l => l.innerText.includes('{neighbour}'))"
            )
            v.wait(DRAWN)
            v.page.wait_for_load_state("networkidle")
            x, y = v.js(
                f"(() => {{ const p = geoGrid.map.latLngToContainerPoint([{lat}, {lon}]); return [p.x, p.y]; }})()"
            )
            assert "错误" not in click_for_popup(v, x, y, neighbour)  # labels take no clicks
            v.screenshot("coverage-district-tiled")
            v.assert_clean()
        finally:
            context.close()
