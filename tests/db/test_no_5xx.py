"""Input that used to give a 500 now gets a 4xx or a correct answer: points anywhere on Earth, datetimes at
the ends of the calendar, naive times (Beijing time), NUL/lone-surrogate text, 3-D and unclosed GeoJSON."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Geod

from geo_grid.lookup import GridIndex
from geo_grid.timeparse import to_utc
from tests.support.api import bearer, create_tokens
from tests.support.report_helpers import interior_point, micro_grids

GEOD = Geod(ellps="GRS80")

# every 5 degrees of longitude and latitude, poles and both sides of the antimeridian included: 73 x 37
GLOBE = [(float(lon), float(lat)) for lat in range(-90, 91, 5) for lon in range(-180, 181, 5)]


@pytest.fixture(scope="module")
def index() -> GridIndex:
    grids = micro_grids()
    return GridIndex.build(list(grids), list(grids.values()))


def _geodesic_to_vertices(lon: float, lat: float, geom: Any) -> float:
    coords = shapely.get_coordinates(geom)
    n = len(coords)
    return float(np.min(GEOD.inv(np.full(n, lon), np.full(n, lat), coords[:, 0], coords[:, 1])[2]))


def test_nearest_anywhere_on_earth_is_the_geodesic_distance(index: GridIndex) -> None:
    lon = np.array([p[0] for p in GLOBE])
    lat = np.array([p[1] for p in GLOBE])
    pos, dist = index.nearest_many(lon, lat)
    assert len(GLOBE) == 2701 and (pos >= 0).all() and np.isfinite(dist).all()
    hull = shapely.convex_hull(shapely.union_all(index.polygons))
    for i in range(len(GLOBE)):
        # The chosen grid's vertices are at least the reported distance away and at most one grid edge
        # farther (the nearest point may lie on an edge); the whole coverage is no nearer either.
        to_grid = _geodesic_to_vertices(lon[i], lat[i], index.polygons[pos[i]])
        to_any = _geodesic_to_vertices(lon[i], lat[i], hull)
        assert dist[i] <= to_grid + 2.0, GLOBE[i]
        assert to_grid - dist[i] < 400.0, GLOBE[i]
        assert dist[i] <= to_any + 2.0, GLOBE[i]
    assert 20_003_000 > dist.max() > 19_000_000  # the antipode of Zhengzhou is ≈ 20,000 km away
    for i in (0, 1000, 1333, len(GLOBE) - 1):
        assert index.nearest(float(lon[i]), float(lat[i])) == (int(pos[i]), pytest.approx(dist[i]))


def test_near_points_still_use_epsg4547(index: GridIndex) -> None:
    """Within FAR_DEG of the grids the distance is the EPSG:4547 one, as documented (and as before)."""
    from geo_grid.crs import lonlat_to_metric, to_metric

    x0, y0, x1, y1 = shapely.total_bounds(np.array(index.polygons, dtype=object))
    lon, lat = x1 + 0.2, (y0 + y1) / 2
    pos, d = index.nearest(lon, lat)
    mx, my = lonlat_to_metric(lon, lat)
    expected = min(shapely.distance(to_metric(g), shapely.Point(mx, my)) for g in index.polygons)
    assert d == pytest.approx(expected, abs=1e-6)


def test_lookup_get_and_batch_answer_every_point_on_earth(client: TestClient) -> None:
    batch = client.post("/lookup/batch", json={"points": [list(p) for p in GLOBE]})
    assert batch.status_code == 200, batch.text
    results = batch.json()["results"]
    for (lon, lat), r in zip(GLOBE, results, strict=True):
        one = client.get("/lookup", params={"lon": lon, "lat": lat})
        assert one.status_code == 200, (lon, lat, one.text)
        body = one.json()
        assert body["outside"] is True and body["nearest"]["distance_m"] > 100_000, (lon, lat)
        for key in ("outside", "micro", "nearest"):
            assert r[key] == body[key], (lon, lat, key)


@pytest.mark.parametrize("crs", ["wgs84", "gcj02", "bd09"])
@pytest.mark.parametrize("lon,lat", [(0, -90), (0, 90), (180, 0), (-180, 0), (-180, -90), (180, 90)])
def test_poles_and_antimeridian_in_every_crs(client: TestClient, crs: str, lon: float, lat: float) -> None:
    r = client.get("/lookup", params={"lon": lon, "lat": lat, "crs": crs})
    assert r.status_code == 200, r.text
    assert -90 <= r.json()["wgs84"]["lat"] <= 90 and -180 <= r.json()["wgs84"]["lon"] <= 180
    assert r.json()["nearest"]["distance_m"] > 6_000_000  # the North Pole is the nearest, ≈ 6,150 km


def test_reports_anywhere_on_earth_are_accepted_or_refused_never_500(db_url: str, make_client: Any) -> None:
    band = [(lon, lat) for lon, lat in GLOBE if lat in (-90, 0, 90) or lon in (-180, 15, 20, 180)]
    with make_client(db_url) as client:
        for lon, lat in band:
            body = {"category": "noise", "channel": "hotline", "lon": lon, "lat": lat, "description": "测试"}
            r = client.post("/reports", json=body)
            assert r.status_code < 500, (lon, lat, r.text)
            if r.status_code == 201:
                assert r.json()["micro_code"] is None


# ------------------------------------------------------------------------------------------ datetimes

EXTREMES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00"]


@pytest.mark.parametrize("value", EXTREMES)
@pytest.mark.parametrize(
    "path,param",
    [
        ("/lookup?lon=113.7&lat=34.76", "at"),
        ("/grids?limit=1", "at"),
        ("/grids/410105012004", "at"),
        ("/grids/410105012004/stats", "since"),
        ("/grids/410105012004/stats", "until"),
        ("/maps/incidents", "since"),
        ("/reports", "since"),
        ("/reports", "until"),
    ],
)
def test_datetimes_out_of_range_are_422(
    client: TestClient, tokens: dict[str, str], path: str, param: str, value: str
) -> None:
    sep = "&" if "?" in path else "?"
    r = client.get(f"{path}{sep}{param}={value.replace('+', '%2B')}", headers=bearer(tokens["dispatcher"]))
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_request" and "超出可表示的范围" in r.json()["message"]


def test_naive_times_are_beijing_time() -> None:
    from datetime import datetime

    naive = to_utc(datetime.fromisoformat("2026-03-01T00:00:00"))
    assert naive == to_utc(datetime.fromisoformat("2026-03-01T00:00:00+08:00"))
    assert naive != to_utc(datetime.fromisoformat("2026-03-01T00:00:00+00:00"))
    assert naive.utcoffset() is not None and naive.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_naive_at_over_the_api_is_beijing_time(client: TestClient) -> None:
    """Around the moment the sample boundaries went live, a naive `at` is read as Beijing time."""
    from datetime import datetime, timedelta

    from geo_grid.timeparse import LOCAL_TZ

    same = [client.get("/grids", params={"limit": 1, "at": at}) for at in
            ("2026-03-01T00:00:00", "2026-03-01T00:00:00+08:00")]  # fmt: skip
    assert same[0].status_code == 200 and same[0].json() == same[1].json()
    gens = [g for g in client.get("/generations").json() if g["activated_at"]]
    assert len(gens) == 1  # the sample's generation only: nothing was active before it
    start = datetime.fromisoformat(gens[0]["activated_at"]).astimezone(LOCAL_TZ).replace(tzinfo=None)
    at_start = (start + timedelta(seconds=1)).isoformat()
    before = (start - timedelta(minutes=30)).isoformat()
    assert client.get("/grids", params={"limit": 1, "at": at_start}).status_code == 200
    # Half an hour before the start in Beijing time: nothing; read as UTC it would be 7.5 hours after.
    assert client.get("/grids", params={"limit": 1, "at": before}).status_code == 404
    assert client.get("/grids", params={"limit": 1, "at": before + "Z"}).status_code == 200
    one = client.get("/lookup", params={"lon": 113.7, "lat": 34.76, "at": before})
    assert one.status_code == 404


def test_openapi_says_naive_times_are_beijing_time(client: TestClient) -> None:
    spec = json.dumps(client.get("/openapi.json").json(), ensure_ascii=False)
    assert spec.count("北京时间") >= 8


# ------------------------------------------------------------------------------------- text and JSON


@pytest.fixture(scope="module")
def writer(db_factory: Callable[[], str], make_client: Any) -> Iterator[tuple[TestClient, dict[str, str]]]:
    url = db_factory()
    tokens = create_tokens(url)
    with make_client(url) as c:
        yield c, tokens


def _raw(client: TestClient, method: str, url: str, text: str, token: str | None = None) -> Any:
    headers = {"content-type": "application/json"} | (bearer(token) if token else {})
    return client.request(method, url, content=text.encode("utf-8"), headers=headers)


def _refused(r: Any) -> None:
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_input" and "NUL" in r.json()["message"]


def test_nul_and_lone_surrogates_are_422(writer: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = writer
    lon, lat = interior_point("410105012004003005")
    point = f'{{"type": "Point", "coordinates": [{lon}, {lat}]}}'
    base = f'"kind": "parking", "name": "停车场", "geometry": {point}'
    planner = tokens["planner"]
    _refused(_raw(client, "POST", "/facilities", f'{{{base}, "attributes": {{"a": "x\\u0000y"}}}}', planner))
    _refused(_raw(client, "POST", "/facilities", f'{{{base}, "attributes": {{"a\\u0000": 1}}}}', planner))
    _refused(_raw(client, "POST", "/facilities", f'{{{base}, "attributes": {{"a": ["\\ud800"]}}}}', planner))
    nul_name = base.replace("停车场", "停\\u0000车场")
    r = _raw(client, "POST", "/facilities", "{" + nul_name + "}", planner)
    _refused(r)
    assert r.json()["detail"]["loc"] == ["body", "name"]
    _refused(_raw(client, "POST", "/lookup/address/batch", '{"queries": ["金水区", "\\ud800"]}'))
    report = f'{{"category": "noise", "channel": "hotline", "lon": {lon}, "lat": {lat}, "description": "噪\\u0000音"}}'
    _refused(_raw(client, "POST", "/reports", report))
    _refused(client.get("/grids", params={"community": "4101\x00"}))
    _refused(client.get("/lookup/address", params={"q": "金水\x00区"}))
    # A valid surrogate pair (an emoji) and an escaped backslash before "u0000" are ordinary text.
    ok = _raw(
        client,
        "POST",
        "/facilities",
        f'{{{base}, "attributes": {{"a": "\\ud83d\\ude00 \\\\u0000"}}}}',
        planner,
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["properties"]["attributes"]["a"] == "\U0001f600 \\u0000"


def test_3d_geojson_drops_z_and_unclosed_rings_are_422(writer: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = writer
    planner = bearer(tokens["planner"])
    lon, lat = interior_point("410105012004003005")
    body = {
        "kind": "parking",
        "name": "三维停车场",
        "geometry": {"type": "Point", "coordinates": [lon, lat, 87.5]},
    }
    r = client.post("/facilities", json=body, headers=planner)
    assert r.status_code == 201, r.text
    assert r.json()["geometry"]["coordinates"] == pytest.approx([lon, lat])
    assert r.json()["properties"]["micro_code"] == "410105012004003005"
    d = 0.0002
    ring = [
        [lon - d, lat - d, 1.0],
        [lon + d, lat - d, 2.0],
        [lon + d, lat + d, 3.0],
        [lon - d, lat - d, 1.0],
    ]
    r = client.patch(f"/facilities/{r.json()['id']}", json={"geometry": {"type": "Polygon", "coordinates": [ring]}},
                     headers=planner)  # fmt: skip
    assert r.status_code == 200, r.text
    assert all(len(p) == 2 for p in r.json()["geometry"]["coordinates"][0])
    unclosed = {"type": "Polygon", "coordinates": [[p[:2] for p in ring[:3]] + [[lon - d, lat + d]]]}
    r = client.post("/facilities", json=body | {"geometry": unclosed}, headers=planner)
    assert r.status_code == 422 and r.json()["code"] == "invalid_input" and "闭合" in r.json()["message"], (
        r.text
    )
    multi = {"type": "MultiPolygon", "coordinates": [[[p[:2] for p in ring[:3]]]]}
    r = client.post("/facilities", json=body | {"geometry": multi}, headers=planner)
    assert r.status_code == 422 and r.json()["code"] == "invalid_input", r.text
    for bad in ({"type": "Point", "coordinates": [lon]}, {"type": "Point", "coordinates": ["a", "b"]},
                {"type": "Polygon", "coordinates": 5}):  # fmt: skip
        r = client.post("/facilities", json=body | {"geometry": bad}, headers=planner)
        assert r.status_code == 422 and r.json()["code"] == "invalid_input", r.text


def test_3d_boundary_edit_drops_z(writer: tuple[TestClient, dict[str, str]]) -> None:
    from shapely.geometry import mapping

    from tests.support.boundary_support import A, open_draft, read

    client, tokens = writer
    gen = open_draft(client, tokens["planner"])
    grid, tag = read(client, gen, A, tokens["planner"])
    geom = shapely.force_3d(grid, 12.0)
    url = f"/generations/{gen}/grids/{A}"
    r = client.put(
        url, json={"geometry": mapping(geom)}, headers=bearer(tokens["planner"]) | {"If-Match": tag}
    )
    assert r.status_code == 200, r.text
    stored, tag = read(client, gen, A, tokens["planner"])
    assert not stored.has_z and stored.equals(shapely.force_2d(geom))
    unclosed = [list(p) for p in shapely.get_coordinates(stored)][:-1]
    r = client.put(url, json={"geometry": {"type": "Polygon", "coordinates": [unclosed]}},
                   headers=bearer(tokens["planner"]) | {"If-Match": tag})  # fmt: skip
    assert r.status_code == 422 and "闭合" in r.json()["message"], r.text
