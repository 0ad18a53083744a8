"""OGC API – Features under /ogc on the real PostGIS sample: the resources the standard requires, paging
through next links against GET /grids, property filters, CRS by reference (EPSG:4490, EPSG:4547 with
pyproj as the independent reference), datetime, the reports' privacy policy, HTML pages, 400 errors."""

from __future__ import annotations

import re
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer
from shapely.geometry import box, shape

from tests.support.api import bearer

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"
EPSG_4547 = "http://www.opengis.net/def/crs/EPSG/0/4547"
ITEMS = "/ogc/collections/{}/items"
COLLECTIONS = (
    "micro_grids",
    "tertiary_grids",
    "communities",
    "facilities",
    "road_segments",
    "courtyards",
    "reports",
)


def _all(
    client: TestClient, url: str, params: dict[str, Any], headers: dict[str, str] | None = None
) -> list[Any]:
    """Every feature of a query, following `next` links; checks numberMatched/numberReturned on the way."""
    out: list[Any] = []
    page = client.get(url, params=params, headers=headers)
    while True:
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["numberReturned"] == len(body["features"])
        out += body["features"]
        nxt = [lk["href"] for lk in body["links"] if lk["rel"] == "next"]
        if not nxt:
            assert len(out) == body["numberMatched"]
            return out
        page = client.get(nxt[0], headers=headers)


def test_landing_conformance_api_and_collections(client: TestClient) -> None:
    landing = client.get("/ogc")
    assert landing.status_code == 200
    rels = {lk["rel"]: lk for lk in landing.json()["links"]}
    assert {"self", "alternate", "service-desc", "service-doc", "conformance", "data"} <= set(rels)
    conf = client.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conf
    api = client.get("/ogc/api")
    assert api.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    assert "/ogc/collections/{collectionId}/items" in api.json()["paths"]
    listed = client.get("/ogc/collections").json()["collections"]
    assert [c["id"] for c in listed] == list(COLLECTIONS)
    for c in listed:
        assert c["storageCrs"] == CRS84 and {CRS84, EPSG_4490, EPSG_4547} <= set(c["crs"])
        assert any(lk["rel"] == "items" and lk["type"] == "application/geo+json" for lk in c["links"])
        one = client.get(f"/ogc/collections/{c['id']}").json()
        assert one["id"] == c["id"] and one["extent"]["spatial"]["bbox"][0][0] > 113
    micro = client.get("/ogc/collections/micro_grids").json()
    assert micro["extent"]["temporal"]["interval"][0][1] is None  # in force up to now


def test_micro_grids_paged_equal_grids_endpoint(client: TestClient) -> None:
    reference = {f["id"]: f for f in client.get("/grids", params={"level": "micro"}).json()["features"]}
    features = _all(client, ITEMS.format("micro_grids"), {"limit": 97})
    assert len(features) == len(reference) == 652
    assert [f["id"] for f in features] == sorted(reference)
    for f in features:
        ref = reference[f["id"]]
        assert f["geometry"] == ref["geometry"]
        assert {k: f["properties"][k] for k in ref["properties"]} == ref["properties"]
    first = client.get(ITEMS.format("micro_grids"), params={"limit": 10, "offset": 20}).json()
    assert first["numberMatched"] == 652 and first["numberReturned"] == 10
    prev = [lk["href"] for lk in first["links"] if lk["rel"] == "prev"]
    assert prev and "offset=10" in prev[0]


def test_property_filters(client: TestClient) -> None:
    community = "410105012004"
    micro = _all(client, ITEMS.format("micro_grids"), {"community_code": community, "limit": 1000})
    expected = client.get("/grids", params={"level": "micro", "community": community}).json()["features"]
    assert sorted(f["id"] for f in micro) == sorted(f["id"] for f in expected) and micro
    assert client.get(ITEMS.format("micro_grids"), params={"level": "tertiary"}).json()["numberMatched"] == 0
    tertiary = client.get(ITEMS.format("tertiary_grids"), params={"level": "tertiary", "limit": 1000}).json()
    assert tertiary["numberMatched"] == 73
    parks = client.get(ITEMS.format("reports"), params={"category": "parking", "limit": 5}).json()
    assert all(f["properties"]["category"] == "parking" for f in parks["features"])


def test_single_items(client: TestClient) -> None:
    code = "410105012004003005"
    one = client.get(f"{ITEMS.format('micro_grids')}/{code}")
    assert one.status_code == 200 and one.headers["content-type"].startswith("application/geo+json")
    assert one.json()["id"] == code and one.headers["content-crs"] == f"<{CRS84}>"
    assert client.get(f"/grids/{code}").json()["geometry"] == one.json()["geometry"]
    for cid in COLLECTIONS:
        first = client.get(ITEMS.format(cid), params={"limit": 1}).json()["features"][0]
        again = client.get(f"{ITEMS.format(cid)}/{first['id']}").json()
        assert again["id"] == first["id"] and again["geometry"] == first["geometry"]
    missing = client.get(f"{ITEMS.format('micro_grids')}/999")
    assert (
        missing.status_code == 404 and missing.json()["code"] == "not_found" and missing.json()["description"]
    )


def test_output_crs_is_the_pyproj_reprojection_in_authority_axis_order(client: TestClient) -> None:
    params = {"limit": 30, "offset": 100}
    lonlat = client.get(ITEMS.format("micro_grids"), params=params).json()["features"]
    cgcs = client.get(ITEMS.format("micro_grids"), params=params | {"crs": EPSG_4490})
    metric = client.get(ITEMS.format("micro_grids"), params=params | {"crs": EPSG_4547})
    assert (
        cgcs.headers["content-crs"] == f"<{EPSG_4490}>" and metric.headers["content-crs"] == f"<{EPSG_4547}>"
    )
    to_4547 = Transformer.from_crs("OGC:CRS84", "EPSG:4547")  # northing, easting
    for a, b, c in zip(lonlat, cgcs.json()["features"], metric.json()["features"], strict=True):
        ga, gb, gc = shape(a["geometry"]), shape(b["geometry"]), shape(c["geometry"])
        xy = shapely.get_coordinates(ga)
        assert (abs(shapely.get_coordinates(gb)[:, ::-1] - xy) < 1e-9).all()  # lat, lon
        n, e = to_4547.transform(xy[:, 0], xy[:, 1])
        got = shapely.get_coordinates(gc)
        assert abs(got[:, 0] - n).max() < 0.02 and abs(got[:, 1] - e).max() < 0.02  # cm: CRS84 has 7 decimals
        assert 3.8e6 < got[0, 0] < 3.9e6 and 4.6e5 < got[0, 1] < 4.8e5
        assert abs(a["properties"]["area_m2"] - gc.area) < 0.5  # area_m2 is computed in EPSG:4547


def _codes(client: TestClient, params: dict[str, Any]) -> set[str]:
    return {f["id"] for f in _all(client, ITEMS.format("micro_grids"), params | {"limit": 1000})}


def test_bbox_in_epsg_4547_equals_bbox_in_crs84(client: TestClient) -> None:
    """A rectangle in EPSG:4547 selects exactly the grids that meet it there (checked with shapely on the
    pyproj-projected outlines), and the same grids as the CRS84 box with the same corners' image when no
    outline passes between the two (the boxes differ by metres at most)."""
    everything = _all(client, ITEMS.format("micro_grids"), {"limit": 1000, "crs": EPSG_4547})
    outlines = {f["id"]: shape(f["geometry"]) for f in everything}  # northing, easting
    to_4547 = Transformer.from_crs("OGC:CRS84", "EPSG:4547")
    checked = 0
    for lon0, lat0 in [
        (113.685, 34.755),
        (113.69, 34.75),
        (113.695, 34.762),
        (113.70, 34.758),
        (113.688, 34.768),
    ]:
        lon1, lat1 = lon0 + 0.006, lat0 + 0.005
        (n0, n1), (e0, e1) = to_4547.transform([lon0, lon1], [lat0, lat1])
        metric_box = box(min(n0, n1), min(e0, e1), max(n0, n1), max(e0, e1))
        by_metric = _codes(client, {"bbox": ",".join(map(str, metric_box.bounds)), "bbox-crs": EPSG_4547})
        assert by_metric == {c for c, g in outlines.items() if g.intersects(metric_box)}
        by_crs84 = _codes(client, {"bbox": f"{lon0},{lat0},{lon1},{lat1}"})
        image = shapely.transform(box(lon0, lat0, lon1, lat1).segmentize(1e-5), lambda c: _to(to_4547, c))
        if {c for c, g in outlines.items() if g.intersects(image)} == by_metric:
            assert by_crs84 == by_metric and by_metric
            checked += 1
    assert checked >= 3
    lat_first = ",".join(map(str, [34.75, 113.69, 34.755, 113.696]))
    assert _codes(client, {"bbox": lat_first, "bbox-crs": EPSG_4490}) == _codes(
        client, {"bbox": "113.69,34.75,113.696,34.755"}
    )


def _to(transformer: Transformer, coords: Any) -> Any:
    import numpy as np

    n, e = transformer.transform(coords[:, 0], coords[:, 1])
    return np.column_stack([n, e])


def test_grids_datetime_is_the_generation_in_force(client: TestClient) -> None:
    collection = client.get("/ogc/collections/micro_grids").json()
    start = collection["extent"]["temporal"]["interval"][0][0]
    assert start is not None
    before = client.get(ITEMS.format("micro_grids"), params={"datetime": "2000-01-01T00:00:00Z"}).json()
    assert before["numberMatched"] == 0 and before["features"] == []
    then = client.get(ITEMS.format("micro_grids"), params={"datetime": start, "limit": 1}).json()
    assert then["numberMatched"] == 652
    interval = client.get(ITEMS.format("micro_grids"), params={"datetime": "2020-01-01T00:00:00Z/.."})
    assert interval.status_code == 400 and interval.json()["code"] == "invalid_parameter"


def test_reports_public_policy_and_dispatcher_view(client: TestClient, tokens: dict[str, str]) -> None:
    public = _all(client, ITEMS.format("reports"), {"limit": 10_000})
    assert public and all(f["properties"]["category"] != "elderly_fraud" for f in public)
    for f in public:
        props = f["properties"]
        assert "reporter_contact" not in props and "input_lon" not in props
        if f["geometry"] is not None:
            lon, lat = f["geometry"]["coordinates"]
            assert round(lon, 3) == lon and round(lat, 3) == lat
    total_public = len(public)
    listing = client.get("/reports", params={"limit": 1}).json()["total"]
    assert total_public == listing
    headers = bearer(tokens["dispatcher"])
    full = client.get(ITEMS.format("reports"), params={"limit": 1}, headers=headers).json()
    assert (
        full["numberMatched"] == client.get("/reports", params={"limit": 1}, headers=headers).json()["total"]
    )
    assert full["numberMatched"] > total_public  # the sensitive ones, for the dispatcher
    fraud = client.get(
        ITEMS.format("reports"), params={"category": "elderly_fraud", "limit": 1}, headers=headers
    )
    fraud_id = fraud.json()["features"][0]["id"]
    assert client.get(f"{ITEMS.format('reports')}/{fraud_id}").status_code == 404
    seen = client.get(f"{ITEMS.format('reports')}/{fraud_id}", headers=headers)
    assert seen.status_code == 200 and seen.json()["properties"]["category"] == "elderly_fraud"


def test_reports_datetime_filters_created_at(client: TestClient) -> None:
    window = "2026-10-01T00:00:00+08:00/2026-10-15T00:00:00+08:00"
    inside = _all(client, ITEMS.format("reports"), {"datetime": window, "limit": 5000})
    reference = client.get(
        "/reports",
        params={"since": "2026-10-01T00:00:00+08:00", "until": "2026-10-15T00:00:00+08:00", "limit": 10_000},
    ).json()
    assert inside and sorted(f["id"] for f in inside) == sorted(r["id"] for r in reference["items"])
    open_end = client.get(
        ITEMS.format("reports"), params={"datetime": "../2026-10-15T00:00:00+08:00", "limit": 1}
    )
    assert open_end.json()["numberMatched"] >= len(inside)


def test_public_bbox_tests_the_rounded_point(client: TestClient) -> None:
    f = client.get(ITEMS.format("reports"), params={"limit": 1}).json()["features"][0]
    lon, lat = f["geometry"]["coordinates"]
    tiny = f"{lon - 1e-7},{lat - 1e-7},{lon + 1e-7},{lat + 1e-7}"
    found = _all(client, ITEMS.format("reports"), {"bbox": tiny, "limit": 1000})
    assert f["id"] in {g["id"] for g in found}  # the rounded point matches; the exact one need not


def test_html_pages_in_chinese_without_scripts(client: TestClient) -> None:
    code = "410105012004003005"
    for url, params, headers in [
        ("/ogc", {"f": "html"}, None),
        ("/ogc/collections", None, {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}),
        ("/ogc/collections/micro_grids", {"f": "html"}, None),
        (ITEMS.format("micro_grids"), {"f": "html", "limit": 5}, None),
        (f"{ITEMS.format('micro_grids')}/{code}", {"f": "html"}, None),
        (ITEMS.format("reports"), {"f": "html", "limit": 5}, None),
    ]:
        page = client.get(url, params=params, headers=headers)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), url
        assert 'lang="zh-CN"' in page.text and "<script" not in page.text and " style=" not in page.text
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    item = client.get(f"{ITEMS.format('micro_grids')}/{code}", params={"f": "html"}).text
    assert code in item and "几何类型" in item


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "abc"},
        {"limit": "10001"},
        {"bbox": "1,2,3"},
        {"bbox": "113.7,34.7,113.6,34.8"},
        {"bbox": "nan,1,2,3"},
        {"bbox": "113.6,34.7,113.7,34.8", "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/3857"},
        {"bbox-crs": EPSG_4547},
        {"bbox": "1e300,1e300,2e300,2e300", "bbox-crs": EPSG_4547},
        {"bbox": "34.75,113.69,34.76,113.70"},  # lat, lon order is 4490's, not CRS84's: 113 is no latitude
        {"crs": "EPSG:9999"},
        {"datetime": "yesterday"},
        {"datetime": "2026-10-15T00:00:00Z/2026-10-01T00:00:00Z"},
        {"f": "xml"},
        {"unknown_param": "1"},
    ],
)
def test_invalid_parameters_are_400_ogc_exceptions(client: TestClient, params: dict[str, str]) -> None:
    r = client.get(ITEMS.format("micro_grids"), params=params)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == "invalid_parameter" and body["description"] and body["message"]
    assert re.search(r"[\u4e00-\u9fff]", body["message"])


def test_unknown_collection_is_404(client: TestClient) -> None:
    for url in ("/ogc/collections/nope", "/ogc/collections/nope/items", "/ogc/collections/nope/items/1"):
        r = client.get(url)
        assert r.status_code == 404 and r.json()["code"] == "not_found" and r.json()["description"]


def test_grids_datetime_answers_each_generation_in_its_time(make_client: Any, db_url: str) -> None:
    """A second generation renames a micro-grid: `datetime` before its activation answers the first one's
    name (and generation id), after it the new one; without datetime, the active one."""
    from sqlalchemy import text

    from geo_grid import db
    from geo_grid.repository import generations as generation_repo
    from geo_grid.services import generations as generation_service
    from geo_grid.services import subdistricts
    from geo_grid.settings import Settings

    code = "410105012004003005"
    engine = db.make_engine(db_url, pool_size=1)
    factory = db.make_session_factory(engine)
    with db.transaction(factory) as session:
        old = generation_repo.active(session, subdistricts.home_code(session))
        assert old is not None and old.activated_at is not None
        draft = generation_service.open_draft(session, "ogc-test").id
        session.execute(
            text("UPDATE grids SET name = '新名字微网格' WHERE generation_id = :g AND code = :c"),
            {"g": draft, "c": code},
        )
    with db.transaction(factory) as session:
        generation_service.activate(session, draft, "ogc-test", Settings().near_boundary_m)
        new = generation_repo.get(session, draft)
    engine.dispose()
    assert new is not None and new.activated_at is not None
    between = old.activated_at + (new.activated_at - old.activated_at) / 2
    with make_client(db_url) as client:

        def name_at(moment: str | None) -> tuple[str, int]:
            params = {"code": code} | ({"datetime": moment} if moment else {})
            body = client.get(ITEMS.format("micro_grids"), params=params).json()
            assert body["numberMatched"] == 1, body
            props = body["features"][0]["properties"]
            return props["name"], props["generation_id"]

        old_name, old_generation = name_at(between.isoformat())
        assert old_generation == old.id and old_name != "新名字微网格"
        assert name_at(new.activated_at.isoformat()) == ("新名字微网格", draft)
        assert name_at(None) == ("新名字微网格", draft)


def test_huge_metric_boxes_are_answered(client: TestClient) -> None:
    for bbox in ("0,0,1000000,1000000", "-10000000,-10000000,10000000,10000000"):
        r = client.get(ITEMS.format("micro_grids"), params={"bbox": bbox, "bbox-crs": EPSG_4547, "limit": 1})
        assert r.status_code in (200, 400), r.text


def test_openapi_document_lists_every_ogc_route_with_its_answers(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    ogc = {p: ops["get"] for p, ops in paths.items() if p.startswith("/ogc")}
    assert set(ogc) == {
        "/ogc",
        "/ogc/conformance",
        "/ogc/api",
        "/ogc/collections",
        "/ogc/collections/{collectionId}",
        "/ogc/collections/{collectionId}/items",
        "/ogc/collections/{collectionId}/items/{featureId}",
    }
    for path, op in ogc.items():
        assert op["responses"]["200"]["content"], path
        if path != "/ogc/api":
            assert "text/html" in op["responses"]["200"]["content"], path
            assert "OgcException" in str(op["responses"]["400"]), path
    items = ogc["/ogc/collections/{collectionId}/items"]
    assert "application/geo+json" in items["responses"]["200"]["content"]
    assert {p["name"] for p in items["parameters"]} >= {"limit", "bbox", "bbox-crs", "crs", "datetime", "f"}
