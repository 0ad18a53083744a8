"""GET /lookup and POST /lookup/batch on the sample grids, against the shapely truth of the sample files."""

from __future__ import annotations

import json
import math

import geopandas as gpd
import pytest
import shapely

from geo_grid import crs
from geo_grid.settings import SAMPLE_DIR
from tests.support.api import bearer


@pytest.fixture(scope="module")
def micro() -> gpd.GeoDataFrame:
    return gpd.read_file(SAMPLE_DIR / "micro_grids.geojson").sort_values("code").reset_index(drop=True)


def test_point_inside_a_micro_grid_gives_its_chain_and_people(client, micro) -> None:
    row = micro.iloc[100]
    p = row.geometry.representative_point()
    body = client.get("/lookup", params={"lon": p.x, "lat": p.y}).json()
    assert body["outside"] is False and body["on_boundary"] is False
    assert body["micro"]["code"] == row.code and body["tertiary"]["code"] == row.parent_code
    assert body["community"]["code"] == row.community_code and body["community"]["name"].endswith("社区")
    roles = {p["role"] for p in body["people"]}
    assert {"micro_grid_leader", "grid_leader", "party_secretary"} <= roles
    assert all("****" in p["phone"] for p in body["people"])


def test_dispatcher_sees_phones(client, tokens, micro) -> None:
    p = micro.iloc[5].geometry.representative_point()
    body = client.get("/lookup", params={"lon": p.x, "lat": p.y}, headers=bearer(tokens["dispatcher"])).json()
    assert body["people"] and all("****" not in p["phone"] for p in body["people"])


@pytest.mark.parametrize("name", ["gcj02", "bd09"])
def test_chinese_map_app_coordinates_are_converted(client, micro, name) -> None:
    row = micro.iloc[300]
    p = row.geometry.representative_point()
    x, y = crs.from_wgs84(p.x, p.y, name)
    assert math.hypot(x - p.x, y - p.y) > 0.002  # ≈ 500 m: unconverted it would land elsewhere
    body = client.get("/lookup", params={"lon": x, "lat": y, "crs": name}).json()
    assert body["micro"]["code"] == row.code
    assert body["wgs84"]["lon"] == pytest.approx(p.x, abs=1e-8)


def test_shared_vertex_goes_to_the_smallest_code(client, micro) -> None:
    a, b = micro.geometry.iloc[0], None
    for j in range(1, len(micro)):
        if micro.geometry.iloc[j].touches(a):
            b = micro.iloc[j]
            break
    assert b is not None
    shared = shapely.intersection(a.boundary, b.geometry.boundary)
    vertex = shapely.get_coordinates(shared)[0]
    body = client.get("/lookup", params={"lon": vertex[0], "lat": vertex[1]}).json()
    covering = sorted(micro.code[micro.geometry.covers(shapely.Point(vertex))])
    assert len(covering) >= 2 and body["on_boundary"] is True and body["micro"]["code"] == covering[0]


def test_outside_point_is_explicit_with_nearest_grid_and_distance(client, micro) -> None:
    x0, y0, x1, y1 = micro.total_bounds
    body = client.get("/lookup", params={"lon": x1 + 0.01, "lat": (y0 + y1) / 2}).json()
    assert body["outside"] is True and body["micro"] is None and body["people"] == []
    assert body["nearest"]["code"] in set(micro.code)
    assert 800 < body["nearest"]["distance_m"] < 2_000  # ≥ 0.01° of longitude ≈ 914 m at 34.76°N


@pytest.mark.parametrize(
    "params, code",
    [
        ({"lon": 200, "lat": 34}, "invalid_coordinates"),
        ({"lon": "nan", "lat": 34}, "invalid_coordinates"),
        ({"lon": 113.7, "lat": 34.7, "crs": "utm"}, "invalid_request"),
        ({"lon": 113.7}, "invalid_request"),
    ],
)
def test_bad_coordinates_are_clear_errors(client, params, code) -> None:
    r = client.get("/lookup", params=params)
    assert r.status_code == 422 and r.json()["code"] == code and r.json()["message"]


def test_batch_answers_every_point_in_order_with_per_point_errors(client, micro) -> None:
    pts = [list(g.representative_point().coords[0]) for g in micro.geometry.iloc[:50]]
    pts.insert(10, [float("nan"), 34.7])
    pts.insert(20, [113.7, 95.0])
    pts.insert(30, ["a", "b"])
    pts.append([114.5, 34.7])
    # NaN is not valid JSON; clients that send it (Python's json does) still get a per-point error.
    r = client.post(
        "/lookup/batch",
        content=json.dumps({"crs": "wgs84", "points": pts}),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert len(results) == len(pts) and [x["index"] for x in results] == list(range(len(pts)))
    for i in (10, 20, 30):
        assert results[i]["error"]["code"] == "invalid_coordinates"
    assert results[-1]["outside"] is True and results[-1]["nearest"]["distance_m"] > 50_000
    inside = [x for i, x in enumerate(results) if i not in (10, 20, 30) and i != len(pts) - 1]
    assert [x["micro"]["code"] for x in inside] == list(micro.code.iloc[:50])


def test_batch_over_the_limit_is_413(make_client, ro_db_url) -> None:
    with make_client(ro_db_url, max_batch_points=10) as c:
        r = c.post("/lookup/batch", json={"points": [[113.7, 34.76]] * 11})
        assert (
            r.status_code == 413 and r.json()["code"] == "payload_too_large" and "10" in r.json()["message"]
        )
        assert c.post("/lookup/batch", json={"points": [[113.7, 34.76]] * 10}).status_code == 200


def test_batch_equals_single_lookups_on_vertices_edges_and_outside(client, micro) -> None:
    """The bulk path (vectorised ties and nearest) gives the same answer as GET /lookup, point by point."""
    from tests.support.lookup_reference import edge_probe_points

    ex, ey = edge_probe_points(list(micro.geometry.iloc[:12]), eps=1e-9)
    x0, y0, x1, y1 = (float(v) for v in micro.total_bounds)
    pts = [[float(a), float(b)] for a, b in zip(ex, ey, strict=True)]
    pts += [[x0 - 0.003, y0 + 0.001], [x1 + 0.02, y1 + 0.02], [(x0 + x1) / 2, y1 + 0.0005]]
    results = client.post("/lookup/batch", json={"points": pts}).json()["results"]
    assert sum(r["on_boundary"] for r in results) > 20 and sum(r["outside"] for r in results) >= 3
    for (lon, lat), r in zip(pts, results, strict=True):
        one = client.get("/lookup", params={"lon": repr(lon), "lat": repr(lat)}).json()
        for key in ("outside", "on_boundary", "micro", "tertiary", "community", "nearest"):
            assert r[key] == one[key], (lon, lat, key, r[key], one[key])
