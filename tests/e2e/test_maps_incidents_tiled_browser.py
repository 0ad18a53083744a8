"""The tiled incident page (GEO_GRID_MAP_REPORTS_TILED_ABOVE=100 on the sample's reports) in headless Debian
chromium: cluster counts appear from the report tiles (summing to the page's count), zoomed in single
reports coloured by state, a click opens the popup fetched from the API (masked phone for the public,
unmasked for a dispatcher), the choropleth comes from the micro-grid tiles; nothing leaves loopback, no
JavaScript or CSP error."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.api import bearer
from tests.support.maps_browser import POPUP_TEXT, visit
from tests.support.sql import query
from tests.support.tiled_maps import tiled_map_fixtures

pytestmark = [pytest.mark.browser, pytest.mark.db]

# The centre of a cluster cell inside the map and not covered by anything else, or null.
CELL_IN_VIEW = """(() => {
    const box = geoGrid.map.getContainer().getBoundingClientRect();
    for (const e of document.querySelectorAll('.gg-cluster')) {
        const r = e.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
        const inside = x > box.left && x < box.right && y > box.top && y < box.bottom;
        if (inside && e.contains(document.elementFromPoint(x, y))) return [x, y];
    }
    return null;
})()"""
CLUSTER_SUM = (
    "Array.from(document.querySelectorAll('.gg-cluster')).reduce((n, e) => n + parseInt(e.innerText, 10), 0)"
)

tiled_db, tiled_tokens, base_url, browser = tiled_map_fixtures(map_reports_tiled_above=100)


def _open_report(url: str) -> tuple[int, float, float, str]:
    """An open, non-sensitive report inside the grids: id, public (rounded) point, state."""
    rid, lon, lat, status = query(
        url,
        "SELECT id, ST_X(geom), ST_Y(geom), status FROM reports WHERE status = 'in_progress' "
        "AND category <> 'elderly_fraud' AND micro_code IS NOT NULL ORDER BY id LIMIT 1",
    )[0]
    return int(rid), round(lon, 3), round(lat, 3), str(status)


def test_clusters_from_tiles_then_single_reports_and_their_popup(
    browser: Any, base_url: str, tiled_db: str
) -> None:
    with visit(browser, base_url + "/maps/incidents") as v:
        assert v.js("geoGrid.data.tiled") is True
        total = v.js("geoGrid.data.counts.reports")
        assert total > 100 and v.js("typeof L.markerClusterGroup") == "undefined"  # no marker embedded
        # Zoomed out: one marker per cell with its count; every report of the page is in some cell.
        v.wait(f"{CLUSTER_SUM} === {total}", timeout=30_000)
        assert v.js("geoGrid.layers.reports.count()") == v.js(
            "document.querySelectorAll('.gg-cluster').length"
        )
        v.wait("document.querySelectorAll('.gg-tiles path.grid-micro').length > 0")  # the choropleth
        v.screenshot("incidents-tiled")
        # A click on a cell zooms in.
        z = v.js("geoGrid.map.getZoom()")
        # A cell in view and on top (the first in the page may lie in a tile's buffer, off the map, or
        # under the legend), clicked where a user would.
        x, y = v.js(CELL_IN_VIEW)
        # Its zoom animates: the view set below must not land mid-animation (its tiles would be dropped).
        v.run("window.ggZoomed = false; geoGrid.map.once('zoomend', () => { window.ggZoomed = true; })")
        v.page.mouse.click(x, y)
        v.wait("window.ggZoomed === true")
        v.wait(f"geoGrid.map.getZoom() > {z}")
        # Zoomed in: single reports, coloured by state, at their public (rounded) point; a click opens the
        # popup the embedded page would show.
        rid, lon, lat, status = _open_report(tiled_db)
        v.run(f"geoGrid.map.setView([{lat}, {lon}], 18, {{animate: false}})")
        marker = f'.gg-report[data-id="{rid}"]'
        v.page.wait_for_selector(marker, timeout=30_000)
        assert f"s-{status}" in v.js(f"document.querySelector({json.dumps(marker)}).className")
        v.wait("document.querySelectorAll('.gg-cluster').length === 0")  # no cell left from a lower zoom
        v.js(f"document.querySelector({json.dumps(marker)}).click()")
        v.wait(f"{POPUP_TEXT}.includes('查看上报详情')", timeout=30_000)
        text = v.js(POPUP_TEXT)
        assert "类别" in text and "责任人" in text and "****" in text  # the 微网格长's phone, masked
        v.screenshot("incidents-tiled-zoomed")
        # The lights layer draws the same reports coloured by their stage's light.
        v.run("geoGrid.layers.lights.addTo(geoGrid.map)")
        v.wait("geoGrid.layers.lights.count() > 0")
        v.assert_clean()


def test_a_dispatcher_sees_the_phone_and_the_filter_reaches_the_tiles(
    browser: Any, base_url: str, tiled_db: str, tiled_tokens: dict[str, str]
) -> None:
    rid, lon, lat, _ = _open_report(tiled_db)
    with visit(browser, base_url + "/maps/incidents", bearer(tiled_tokens["dispatcher"])) as v:
        v.run(f"geoGrid.openReport({rid}, L.latLng({lat}, {lon}))")
        v.wait(f"{POPUP_TEXT}.includes('查看上报详情')", timeout=30_000)
        assert "****" not in v.js(POPUP_TEXT)
        v.assert_clean()
    # Parking reports only: the tiles carry the page's filter, and their cells add up to its count.
    with visit(browser, base_url + "/maps/incidents?category=parking&include_closed=true") as v:
        total = v.js("geoGrid.data.counts.reports")
        expected = query(
            tiled_db, "SELECT count(*) FROM reports WHERE category = 'parking' AND geom IS NOT NULL"
        )
        assert v.js("geoGrid.data.tiled") is True and total == expected[0][0] > 100
        v.wait(f"{CLUSTER_SUM} === {total}", timeout=30_000)
        v.assert_clean()
