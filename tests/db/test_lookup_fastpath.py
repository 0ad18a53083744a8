"""The fast path of GET /lookup (api/lookup_fastpath.py): it answers the public's plain lookups with the
route's own bytes and headers, and hands everything else to the route."""

from __future__ import annotations

import asyncio
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pytest
import shapely
from fastapi.testclient import TestClient

from geo_grid import crs
from geo_grid.api.lookup_fastpath import LookupFastPath, plain_query
from geo_grid.api.routers.lookup import _people, lookup_json, placement_body
from geo_grid.api.runtime import runtime_of
from geo_grid.services import lookup as lookup_service
from geo_grid.services.auth import PUBLIC, Principal
from geo_grid.settings import SAMPLE_DIR
from tests.support.api import bearer

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def micro() -> gpd.GeoDataFrame:
    return gpd.read_file(SAMPLE_DIR / "micro_grids.geojson").sort_values("code").reset_index(drop=True)


def _points(micro: gpd.GeoDataFrame) -> list[tuple[float, float]]:
    """Random points over the bounding box and beyond it (inside and outside), vertices and edge midpoints
    (ties on shared edges)."""
    minx, miny, maxx, maxy = shapely.total_bounds(micro.geometry.values)
    rng = np.random.default_rng(15)
    xs, ys = rng.uniform(minx - 0.01, maxx + 0.01, 300), rng.uniform(miny - 0.01, maxy + 0.01, 300)
    out = list(zip(xs, ys, strict=True))
    for geom in micro.geometry.iloc[:40]:
        xy = shapely.get_coordinates(geom.boundary)
        out.append((float(xy[0][0]), float(xy[0][1])))
        out.append((float((xy[0][0] + xy[1][0]) / 2), float((xy[0][1] + xy[1][1]) / 2)))
    return [(float(x), float(y)) for x, y in out]


def _call(
    app: Any, path: str, query: str, headers: list[tuple[bytes, bytes]] | None = None
) -> tuple[bool, list[dict[str, Any]]]:
    """Run LookupFastPath alone in front of a stand-in for the rest of the app that only records that it
    was reached: (reached the route?, the messages the fast path sent)."""
    reached = False

    async def rest(scope: Any, receive: Any, send: Any) -> None:
        nonlocal reached
        reached = True

    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": query.encode(),
        "headers": headers or [(b"host", b"testserver")],
        "app": app,
    }
    asyncio.run(LookupFastPath(rest)(scope, receive, send))
    return reached, sent


def test_the_fast_path_answers_with_the_routes_bytes_and_headers(client: TestClient, micro) -> None:
    points = _points(micro)
    outside = ties = 0
    for i, (x, y) in enumerate(points):
        name = ("wgs84", "gcj02", "bd09", "cgcs2000")[i % 4]
        qx, qy = crs.from_wgs84(x, y, name) if name in ("gcj02", "bd09") else (x, y)
        query = f"lon={qx!r}&lat={qy!r}" + ("" if name == "wgs84" else f"&crs={name}")
        reached, sent = _call(client.app, "/lookup", query)
        assert not reached and sent[0]["status"] == 200, query
        fast = sent[1]["body"]
        # The same request through the route (an unknown parameter, which the route ignores, sends it there)
        slow = client.get(f"/lookup?{query}&via=route")
        assert slow.status_code == 200 and fast == slow.content, query
        assert dict(sent[0]["headers"]) == {
            b"content-length": slow.headers["content-length"].encode(),
            b"content-type": slow.headers["content-type"].encode(),
        }
        body = slow.json()
        outside += body["outside"]
        ties += body["on_boundary"]
    assert outside > 20 and ties > 10  # the sample covered both kinds of answer


def test_the_whole_app_answers_plain_lookups_as_before(client: TestClient, micro) -> None:
    p = micro.geometry.iloc[7].representative_point()
    fast = client.get("/lookup", params={"lon": p.x, "lat": p.y})
    slow = client.get("/lookup", params={"lon": p.x, "lat": p.y, "via": "route"})
    assert fast.status_code == slow.status_code == 200 and fast.content == slow.content
    for name in ("content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options"):
        assert fast.headers[name] == slow.headers[name]
    assert fast.json()["micro"]["code"] == micro.code.iloc[7]
    assert all("****" in person["phone"] for person in fast.json()["people"])


@pytest.mark.parametrize(
    "query",
    [
        "lon=113.7&lat=34.76&at=2026-01-01T00:00:00Z",
        "lon=113.7&lat=34.76&generation=1",
        "lon=113.7&lat=34.76&lon=113.8",  # repeated
        "lon=113.7&lat=34.76&crs=WGS84",  # not one of the four names
        "lon=1.137e2&lat=34.76",  # read by the route's validation, not here
        "lon=%31%31%33.7&lat=34.76",  # percent-encoded
        "lon=+113.7&lat=34.76",
        "lon=113.7",
        "lon=113.7&lat=",
        "lon=nan&lat=34.76",
        "lon=1137&lat=34.76",  # out of range: the route's 422
        "lon=113.7&lat=34.76&",
        "",
    ],
)
def test_anything_but_a_plain_lookup_goes_to_the_route(client: TestClient, query: str) -> None:
    reached, sent = _call(client.app, "/lookup", query)
    assert reached and sent == []


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/lookup", [(b"authorization", b"Bearer x")]),
        ("/lookup", [(b"cookie", b"geo_grid_session=x")]),
        ("/lookup", [(b"content-length", b"3")]),
        ("/lookup", [(b"transfer-encoding", b"chunked")]),
        ("/lookup/", []),
        ("/lookup/address", []),
    ],
)
def test_callers_with_credentials_and_other_paths_go_to_the_route(
    client: TestClient, path: str, headers: list[tuple[bytes, bytes]]
) -> None:
    reached, sent = _call(client.app, path, "lon=113.7&lat=34.76", headers)
    assert reached and sent == []


def test_a_token_holder_is_answered_by_the_route_with_phones(client: TestClient, tokens, micro) -> None:
    p = micro.geometry.iloc[5].representative_point()
    body = client.get("/lookup", params={"lon": p.x, "lat": p.y}, headers=bearer(tokens["dispatcher"])).json()
    assert body["people"] and all("****" not in person["phone"] for person in body["people"])
    public = client.get("/lookup", params={"lon": p.x, "lat": p.y}).json()
    assert [x["person_id"] for x in public["people"]] == [x["person_id"] for x in body["people"]]
    assert all("****" in person["phone"] for person in public["people"])


def test_plain_query() -> None:
    assert plain_query(b"lon=113.7&lat=34.76") == (113.7, 34.76, "wgs84")
    assert plain_query(b"crs=gcj02&lat=-34.5&lon=113") == (113.0, -34.5, "gcj02")
    assert plain_query(b"lat=34.76") is None
    assert plain_query(b"lon=113.7&lat=34.76&x") is None


def test_the_body_is_orjson_of_the_whole_answer(client: TestClient, micro) -> None:
    """lookup_json's fragments (memoised per grid) add up to orjson.dumps of the answer built whole."""
    directory = runtime_of(client.app).directory.current
    dispatcher = Principal("dispatcher", "test")
    for i, (x, y) in enumerate(_points(micro)[::3]):
        principal = dispatcher if i % 2 else PUBLIC
        placement = lookup_service.place(directory, x, y)
        whole = placement_body(directory, placement)
        whole["query"] = {"lon": x, "lat": y, "crs": "wgs84"}
        whole["people"] = _people(directory, placement, principal)
        for _ in range(2):  # built, then from the memo
            assert lookup_json(directory, x, y, "wgs84", principal) == orjson.dumps(whole)
