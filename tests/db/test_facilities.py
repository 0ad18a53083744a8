"""Facilities: the 22-mu parking lot's grid shares, points in their micro-grid, GET /grids/{code}/facilities,
CRUD with the planner role, geometry checks and the audit log."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import mapping, shape
from sqlalchemy import text

from geo_grid import crs, db
from geo_grid.api.runtime import runtime_of
from geo_grid.services.lookup import place
from tests.support.api import bearer, create_tokens
from tests.support.report_helpers import interior_point, micro_grids

MU_M2 = 2000 / 3  # 1 亩 = 666.67 m²


def test_list_is_a_feature_collection(client: TestClient) -> None:
    fc = client.get("/facilities").json()
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 21
    kinds = {f["properties"]["kind"] for f in fc["features"]}
    assert {"parking", "service_center", "police_station"} <= kinds
    parking = client.get("/facilities", params={"kind": "parking"}).json()["features"]
    assert [f["properties"]["facility_id"] for f in parking] == ["F001"]


def test_parking_lot_shares(client: TestClient) -> None:
    r = client.get("/facilities/F001")
    assert r.status_code == 200, r.text
    lot = r.json()["properties"]
    assert lot["name"] == "民航路社区智慧停车场" and lot["attributes"]["car_spaces"] == 262
    assert lot["area_m2"] == pytest.approx(22 * MU_M2, abs=2.0)  # ≈ 14,667 m²
    grids = lot["grids"]
    assert len(grids["micro"]) == 2  # the sample lot straddles two micro-grids
    assert sum(m["share"] for m in grids["micro"]) == pytest.approx(1.0, abs=1e-6)
    assert sum(m["area_m2"] for m in grids["micro"]) == pytest.approx(lot["area_m2"], abs=0.5)
    assert grids["primary"] == grids["micro"][0]["code"] == lot["micro_code"]
    assert grids["micro"][0]["share"] >= grids["micro"][1]["share"]
    assert grids["outside_share"] == pytest.approx(0.0, abs=1e-6)
    assert sum(t["share"] for t in grids["tertiary"]) == pytest.approx(1.0, abs=1e-6)
    # Direct check of one share with shapely in EPSG:4547.
    lot_geom = crs.to_metric(shape(r.json()["geometry"]))
    first = grids["micro"][0]
    part = crs.to_metric(micro_grids()[first["code"]]).intersection(lot_geom).area
    assert first["area_m2"] == pytest.approx(part, rel=1e-4)
    # The lot is listed under each grid it overlaps, and under their community.
    for m in grids["micro"]:
        ids = [
            f["properties"]["facility_id"]
            for f in client.get(f"/grids/{m['code']}/facilities").json()["features"]
        ]
        assert "F001" in ids
    community = client.get("/grids/410105012004/facilities").json()["features"]
    assert {"F001"} <= {f["properties"]["facility_id"] for f in community}
    assert client.get("/grids/410105012001/facilities").json()["features"] != community
    assert client.get("/grids/410105012999/facilities").status_code == 404


def test_point_facilities_get_their_micro_grid(client: TestClient) -> None:
    directory = runtime_of(client.app).directory.current
    for f in client.get("/facilities").json()["features"]:
        if f["geometry"]["type"] == "Point":
            lon, lat = f["geometry"]["coordinates"]
            assert f["properties"]["micro_code"] == place(directory, lon, lat).micro.code
            listed = client.get(f"/grids/{f['properties']['micro_code']}/facilities").json()["features"]
            assert f["id"] in [g["id"] for g in listed]


@pytest.fixture(scope="module")
def env(
    db_factory: Callable[[], str], make_client: Callable[..., Any]
) -> Iterator[tuple[TestClient, dict[str, str], str]]:
    url = db_factory()
    tokens = create_tokens(url)
    with make_client(url) as c:
        yield c, tokens, url


def test_crud_with_permissions(env: tuple[TestClient, dict[str, str], str]) -> None:
    client, tokens, url = env
    code = "410105012004003005"
    lon, lat = interior_point(code)
    body = {"kind": "charging_station", "name": "测试充电站", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "attributes": {"capacity": 8}}  # fmt: skip
    assert client.post("/facilities", json=body).status_code == 401
    assert client.post("/facilities", json=body, headers=bearer(tokens["dispatcher"])).status_code == 403
    r = client.post("/facilities", json=body, headers=bearer(tokens["planner"]))
    assert r.status_code == 201, r.text
    created = r.json()
    fid = created["id"]
    assert created["properties"]["micro_code"] == code and created["properties"]["facility_id"].startswith(
        "F"
    )

    # A polygon over two neighbouring micro-grids: the shares follow the areas.
    a = micro_grids()[code]
    neighbour = next(c for c, g in sorted(micro_grids().items()) if c != code and g.intersects(a))
    b = micro_grids()[neighbour]
    poly = crs.from_metric(crs.to_metric(a.union(b)).buffer(-5))
    r = client.patch(f"/facilities/{fid}", json={"geometry": mapping(poly), "name": "测试停车场"},
                     headers=bearer(tokens["planner"]))  # fmt: skip
    assert r.status_code == 200, r.text
    grids = r.json()["properties"]["grids"]
    assert {m["code"] for m in grids["micro"]} >= {code, neighbour}
    assert sum(m["share"] for m in grids["micro"]) == pytest.approx(1.0, abs=1e-6)
    assert r.json()["properties"]["micro_code"] == grids["primary"]

    bowtie = {"type": "Polygon", "coordinates": [[[113.70, 34.75], [113.71, 34.76], [113.71, 34.75], [113.70, 34.76],
                                                  [113.70, 34.75]]]}  # fmt: skip
    bad = client.patch(f"/facilities/{fid}", json={"geometry": bowtie}, headers=bearer(tokens["planner"]))
    assert bad.status_code == 422 and "invalid geometry" in bad.json()["message"]
    line = {"type": "LineString", "coordinates": [[113.70, 34.75], [113.71, 34.76]]}
    assert (
        client.post(
            "/facilities", json=body | {"geometry": line}, headers=bearer(tokens["admin"])
        ).status_code
        == 422
    )

    assert client.delete(f"/facilities/{fid}", headers=bearer(tokens["planner"])).status_code == 204
    assert client.get(f"/facilities/{fid}").status_code == 404
    engine = db.make_engine(url, pool_size=1)
    with engine.connect() as conn:
        actions = [
            r.action
            for r in conn.execute(
                text("SELECT action FROM audit_log WHERE action LIKE 'facility%' ORDER BY id")
            )
        ]
    engine.dispose()
    assert actions == ["facility_create", "facility_update", "facility_delete"]
