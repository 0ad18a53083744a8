"""GET /tiles/{layer}/{z}/{x}/{y}.mvt: vector tiles built by PostGIS, decoded with mapbox-vector-tile."""

from __future__ import annotations

import math
from typing import Any

import mapbox_vector_tile
from shapely.geometry import box

from tests.support.report_helpers import interior_point, micro_grids


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def _bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    n = 2**z

    def lat(t: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * t / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def _decode(client: Any, path: str) -> dict[str, Any]:
    r = client.get(path)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    return mapbox_vector_tile.decode(r.content) if r.content else {}


def test_a_tile_holds_exactly_the_grids_that_touch_it(client: Any) -> None:
    code = "410105012004003005"
    lon, lat = interior_point(code)
    z = 16
    x, y = _tile_of(lon, lat, z)
    layer = _decode(client, f"/tiles/micro_grids/{z}/{x}/{y}.mvt")["micro_grids"]
    codes = {f["properties"]["code"] for f in layer["features"]}
    assert code in codes
    envelope = box(*_bounds(z, x, y))
    grids = micro_grids()
    touching = {c for c, g in grids.items() if g.intersects(envelope)}
    # Clipping keeps a 64/4096 buffer: grids just outside the tile may appear, none that touch it is missing.
    assert touching <= codes
    near = envelope.buffer((envelope.bounds[2] - envelope.bounds[0]) * 0.05)
    assert codes <= {c for c, g in grids.items() if g.intersects(near)}
    props = next(f["properties"] for f in layer["features"] if f["properties"]["code"] == code)
    assert props["parent_code"] == code[:15] and props["community_code"] == code[:12]


def test_the_whole_subdistrict_in_one_low_zoom_tile_and_other_layers(client: Any) -> None:
    lon, lat = interior_point("410105012004003005")
    x, y = _tile_of(lon, lat, 10)
    tile = _decode(client, f"/tiles/micro_grids/10/{x}/{y}.mvt")
    assert len(tile["micro_grids"]["features"]) == 652
    assert len(_decode(client, f"/tiles/tertiary_grids/10/{x}/{y}.mvt")["tertiary_grids"]["features"]) == 73
    assert len(_decode(client, f"/tiles/communities/10/{x}/{y}.mvt")["communities"]["features"]) == 11
    facilities = _decode(client, f"/tiles/facilities/10/{x}/{y}.mvt")["facilities"]["features"]
    assert len(facilities) == 21 and {"kind", "name"} <= set(facilities[0]["properties"])
    assert _decode(client, "/tiles/micro_grids/10/0/0.mvt") == {}  # far away: an empty tile
    x14, y14 = _tile_of(lon, lat, 14)
    size = len(client.get(f"/tiles/micro_grids/14/{x14}/{y14}.mvt").content)
    geojson = len(client.get("/grids", params={"level": "micro"}).content)
    print(
        f"\nmicro-grids: one z14 tile {size / 1024:.0f} KiB; GET /grids?level=micro {geojson / 1024:.0f} KiB"
    )


def test_bad_tiles_are_refused_clearly(client: Any) -> None:
    assert client.get("/tiles/people/10/1/1.mvt").json()["code"] == "invalid_input"
    assert client.get("/tiles/micro_grids/3/8/0.mvt").status_code == 422  # x beyond 2^z - 1
    assert client.get("/tiles/micro_grids/23/0/0.mvt").status_code == 422
    assert client.get("/tiles/micro_grids/10/1/1.mvt", params={"generation": 999}).status_code == 404
