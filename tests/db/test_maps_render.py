"""Map builders and the /maps API without a browser: colouring, coverage simplification, no CDN link,
page size, GCJ-02 shifting, filters and errors, static assets, the CLI."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import box
from typer.testing import CliRunner

from geo_grid.errors import MapAssetsMissing
from geo_grid.render import assets
from geo_grid.render.colouring import adjacency, dsatur
from geo_grid.render.common import simplify_coverage
from geo_grid.render.incidents import classify

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.I)


def test_dsatur_gives_neighbours_different_colours_on_a_chessboard_and_a_wheel() -> None:
    cells = [box(x, y, x + 1, y + 1) for x in range(4) for y in range(4)]
    adj = adjacency(cells)
    colour = dsatur(adj)
    assert all(colour[i] != colour[j] for i in range(len(cells)) for j in adj[i])
    assert len(set(colour)) == 2  # corner-only contact is not adjacency: a chessboard needs two
    # A hub with an odd ring of five around it needs four colours.
    pts = [(float(np.cos(2 * np.pi * k / 5)), float(np.sin(2 * np.pi * k / 5))) for k in range(5)]
    ring = [shapely.Polygon([(0, 0), pts[k], pts[(k + 1) % 5]]) for k in range(5)]
    hub = shapely.Point(0, 0).buffer(0.3)
    shapes = [s.difference(hub) for s in ring] + [hub]
    c = dsatur(adjacency(shapes))
    assert len(set(c)) == 4 and all(c[i] != c[j] for i, n in enumerate(adjacency(shapes)) for j in n)


def test_coverage_simplification_keeps_a_gapless_coverage() -> None:
    # Two neighbours sharing a wiggly edge with many nearly collinear vertices (≈ 100 m wide, in degrees).
    xs = np.linspace(113.70, 113.701, 60)
    edge = [(x, 34.75 + 1e-7 * np.sin(i)) for i, x in enumerate(xs)]
    south = shapely.Polygon([(113.70, 34.749), (113.701, 34.749), *edge[::-1]])
    north = shapely.Polygon([*edge, (113.701, 34.751), (113.70, 34.751)])
    simple = simplify_coverage([south, north])
    assert shapely.coverage_is_valid(np.array(simple, dtype=object))
    assert sum(shapely.get_num_coordinates(simple)) < sum(shapely.get_num_coordinates([south, north])) / 5
    assert shapely.union_all(simple).area == pytest.approx(shapely.union_all([south, north]).area, rel=1e-4)
    assert simple[0].intersection(simple[1]).area < 1e-14  # no overlap either


def test_classify_uses_natural_breaks_and_keeps_zero_apart() -> None:
    classes, bins = classify([0, 0, 1, 1, 2, 9, 10, 30])
    assert classes[:2] == [0, 0] and all(c >= 1 for c in classes[2:])
    assert classes[-1] == len(bins) and bins[-1] == 30
    assert classify([0, 0]) == ([0, 0], [])
    # Exact Fisher–Jenks: {1, 1, 2} {9, 10} {30} has the least squared deviation of any three classes.
    assert classify([0, 0, 1, 1, 2, 9, 10, 30], k=3) == ([0, 0, 1, 1, 1, 2, 2, 3], [2.0, 10.0, 30.0])
    assert classify([0, 3, 3, 7], k=5) == ([0, 1, 1, 2], [3.0, 7.0])  # fewer values than classes


def test_localize_refuses_an_asset_without_a_local_copy() -> None:
    import folium
    from folium.plugins import Fullscreen

    fmap = folium.Map(tiles=None)
    Fullscreen().add_to(fmap)
    with pytest.raises(MapAssetsMissing):
        assets.localize(fmap.get_root())


@pytest.mark.parametrize(
    "rel", ["../package.json", "leaflet/package.json", "leaflet/dist/../../x.js", "/etc/passwd"]
)
def test_static_route_serves_only_vendored_dist_files(client: TestClient, rel: str) -> None:
    assert assets.resolve(rel) is None
    assert client.get(f"/maps/static/{rel}").status_code == 404


def test_static_route_serves_leaflet(client: TestClient) -> None:
    r = client.get("/maps/static/leaflet/dist/leaflet.js")
    assert r.status_code == 200 and "Leaflet" in r.text[:300]


@pytest.fixture(scope="module")
def pages(client: TestClient) -> dict[str, str]:
    out = {}
    for name, url in (
        ("coverage", "/maps/coverage"),
        ("grid", "/maps/grids/410105012004001001"),
        ("incidents", "/maps/incidents"),
    ):
        r = client.get(url)
        assert r.status_code == 200, r.text[:500]
        assert r.headers["content-type"].startswith("text/html")
        out[name] = r.text
    return out


def test_pages_load_nothing_from_outside(pages: dict[str, str]) -> None:
    for name, html in pages.items():
        assert not EXTERNAL.search(html), f"{name}: {EXTERNAL.search(html)}"
        for src in re.findall(r'<script src="([^"]+)"', html) + re.findall(
            r'<link rel="stylesheet" href="([^"]+)"', html
        ):
            assert src.startswith("/maps/static/"), src


def test_coverage_page_stays_under_3_mb_with_every_grid(pages: dict[str, str]) -> None:
    html = pages["coverage"]
    assert len(html.encode()) < 3_000_000
    assert len(set(re.findall(r'"code": ?"(\d{18})"', html))) == 652
    assert (
        "三级网格" in html
        and "微网格" in html
        and "路段长" in html
        and "楼院长" in html
        and "智慧停车场" in html
    )
    assert "262" in html  # the parking lot's car spaces in its popup


def test_incident_filters_are_checked(client: TestClient) -> None:
    assert client.get("/maps/incidents?status=nonsense").json()["code"] == "invalid_input"
    assert client.get("/maps/incidents?category=parking,nonsense").status_code == 422
    assert client.get("/maps/incidents?grid=410105012999").json()["code"] == "grid_not_found"
    assert client.get("/maps/grids/410105012999999999").status_code == 404
    ok = client.get(
        "/maps/incidents?status=reported,accepted&category=parking&since=2026-01-01T00:00:00%2B08:00"
    )
    assert ok.status_code == 200


@pytest.fixture(scope="module")
def gaode_client(make_client: Callable[..., Any], ro_db_url: str) -> Iterator[TestClient]:
    with make_client(ro_db_url, basemap="gaode") as c:
        yield c


def test_a_gcj02_basemap_shifts_every_overlay(gaode_client: TestClient, pages: dict[str, str]) -> None:
    from geo_grid.crs import from_wgs84

    html = gaode_client.get("/maps/coverage").text
    bounds = [
        float(v)
        for v in re.search(r"fitBounds\(\[\[([\d.]+), ([\d.]+)\], \[([\d.]+), ([\d.]+)\]\]", html).groups()
    ]
    plain = [
        float(v)
        for v in re.search(
            r"fitBounds\(\[\[([\d.]+), ([\d.]+)\], \[([\d.]+), ([\d.]+)\]\]", pages["coverage"]
        ).groups()
    ]
    lon, lat = from_wgs84(plain[1], plain[0], "gcj02")
    assert bounds[1] == pytest.approx(lon, abs=1e-6) and bounds[0] == pytest.approx(lat, abs=1e-6)
    assert "autonavi.com" in html  # the tiles (the only outside URL, and only when configured)


def test_unknown_basemap_is_refused(make_client: Callable[..., Any], ro_db_url: str) -> None:
    with make_client(ro_db_url, basemap="osm") as c:
        assert c.get("/maps/coverage").json()["code"] == "invalid_input"


def test_cli_writes_pages_that_find_their_assets(
    ro_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from geo_grid.cli import app

    monkeypatch.setenv("GEO_GRID_DATABASE_URL", ro_db_url)
    out = tmp_path / "coverage.html"
    result = CliRunner().invoke(app, ["maps", "coverage", "-o", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    srcs = re.findall(r'<script src="([^"]+)"', html)
    assert srcs and all((out.parent / s).resolve().is_file() for s in srcs)
    result = CliRunner().invoke(
        app, ["maps", "incidents", "-o", str(tmp_path / "i.html"), "--status", "reported"]
    )
    assert result.exit_code == 0, result.output
