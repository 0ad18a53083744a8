"""Coverage pages above GEO_GRID_MAP_TILES_ABOVE micro-grids: grids and communities from the vector tiles
(no polygon embedded, the page far under 3 MB), popups and search from the API; below it, the page of
old. The sample's 652 micro-grids stand in for a district with the threshold set to 100."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient

from geo_grid.settings import SAMPLE_DIR
from tests.support.accounts import create_token
from tests.support.api import bearer
from tests.support.sql import execute

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.I)
# An embedded grid feature carries its code as a GeoJSON property ("code": "4101…", 15 or 18 digits).
EMBEDDED_GRID = re.compile(r'"code": ?"(\d{15}|\d{18})"')
# A folium element's generated name (map_…, geo_json_…): random per page, not content.
ELEMENT_ID = re.compile(r"_[0-9a-f]{32}")
CODE = "410105012004001001"
# A popup's HTML as a JSON string inside an embedded page's GeoJSON.
POPUP = re.compile(r'"popup": ("(?:[^"\\]|\\.)*")')


@pytest.fixture(scope="module")
def tiled_client(make_client: Callable[..., Any], ro_db_url: str) -> Iterator[TestClient]:
    with make_client(ro_db_url, map_tiles_above=100) as c:
        yield c


def _page(client: TestClient, url: str, headers: dict[str, str] | None = None) -> str:
    r = client.get(url, headers=headers or {})
    assert r.status_code == 200, r.text[:500]
    return r.text


def test_above_the_threshold_the_page_embeds_no_polygon_and_stays_small(
    tiled_client: TestClient, client: TestClient
) -> None:
    tiled = _page(tiled_client, "/maps/coverage")
    embedded = _page(client, "/maps/coverage")
    size, old = len(tiled.encode()), len(embedded.encode())
    print(f"\ncoverage page, 652 micro-grids: embedded {old / 1e6:.2f} MB, tiled {size / 1e6:.3f} MB")
    assert size < 3_000_000 and size < old / 5
    assert EMBEDDED_GRID.findall(tiled) == []  # no grid or community feature in the page
    assert len(set(EMBEDDED_GRID.findall(embedded))) > 652  # …as there are in the embedded page
    assert "L.vectorGrid.protobuf" in tiled and "/tiles/{layer}/{z}/{x}/{y}.mvt?generation=" in tiled
    assert "/maps/static/leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js" in tiled
    assert not EXTERNAL.search(tiled)
    # Facilities stay embedded (the parking lot's 262 spaces); road segments and courtyards come as tiles.
    assert "智慧停车场" in tiled and "262" in tiled
    assert len(re.findall(r"geo_json_[0-9a-f]+_add\(", tiled)) == 1 and "RS001" not in tiled
    assert "/maps/popups/{kind}/{id}" in tiled
    # The tertiary grids' colours (code → colour) are the only per-grid data: 73 of them.
    colours = re.search(r'"colours": (\{[^}]*\})', tiled)
    assert colours is not None and len(re.findall(r'"\d{15}": "#', colours.group(1))) == 73
    # Phones are never in a tiled page, whoever asks (they come from GET /grids/{code} on click).
    assert "****" not in tiled


def test_below_the_threshold_the_page_is_the_embedded_one(
    make_client: Callable[..., Any], ro_db_url: str, client: TestClient
) -> None:
    with make_client(ro_db_url, map_tiles_above=652) as c:  # 652 is not above 652
        at_limit = _page(c, "/maps/coverage")
    default = _page(client, "/maps/coverage")
    assert "vectorGrid" not in default
    assert ELEMENT_ID.sub("_", at_limit) == ELEMENT_ID.sub("_", default)


def test_a_gcj02_basemap_keeps_the_embedded_page(make_client: Callable[..., Any], ro_db_url: str) -> None:
    # The tiles are WGS84: on 高德's GCJ-02 basemap only the shifted, embedded polygons line up.
    with make_client(ro_db_url, basemap="gaode", map_tiles_above=100) as c:
        html = _page(c, "/maps/coverage")
    assert "vectorGrid" not in html and len(set(EMBEDDED_GRID.findall(html))) > 652


def test_the_grid_page_focuses_through_the_api(tiled_client: TestClient) -> None:
    html = _page(tiled_client, f"/maps/grids/{CODE}")
    assert f'window.geoGrid.focus("{CODE}")' in html and "/maps/search?generation=" in html
    assert EMBEDDED_GRID.findall(html) == []
    assert tiled_client.get("/maps/grids/410105012999999999").status_code == 404


def test_micro_grid_tiles_carry_what_the_page_draws(make_client: Callable[..., Any], db_url: str) -> None:
    # Every sample micro-grid has a 微网格长 (people.csv); take one away from CODE.
    execute(db_url, "DELETE FROM roles WHERE grid_code = :c AND role = 'micro_grid_leader'", c=CODE)
    with make_client(db_url, map_tiles_above=100) as c:
        # One z10 tile holds the whole sample (tests/db/test_tiles.py).
        tile = mapbox_vector_tile.decode(c.get("/tiles/micro_grids/10/835/406.mvt").content)
        tertiary = mapbox_vector_tile.decode(c.get("/tiles/tertiary_grids/10/835/406.mvt").content)
        html = _page(c, "/maps/coverage")
    feats = tile["micro_grids"]["features"]
    assert len(feats) == 652
    assert {"code", "name", "level", "has_leader"} <= set(feats[0]["properties"])
    assert [f["properties"]["code"] for f in feats if not f["properties"]["has_leader"]] == [CODE]
    assert {f["properties"]["level"] for f in feats} == {"micro"}
    assert {f["properties"]["level"] for f in tertiary["tertiary_grids"]["features"]} == {"tertiary"}
    assert re.search(r'"no_leader": 1[,}]', html)  # the page's count (its layer is named with it)


def test_search_finds_grids_by_code_and_name_as_the_embedded_box_does(tiled_client: TestClient) -> None:
    def search(q: str, **params: Any) -> list[dict[str, Any]]:
        r = tiled_client.get("/maps/search", params={"q": q, **params})
        assert r.status_code == 200, r.text
        return list(r.json())

    exact = search(f"{CODE} 康复社区")  # a suggestion as the box shows it: "<code> <name>"
    assert exact[0]["code"] == CODE and exact[0]["level"] == "micro"
    s, w, n, e = exact[0]["bounds"]
    lat, lon = exact[0]["point"]
    assert s <= lat <= n and w <= lon <= e and 34 < s < n < 35 and 113 < w < e < 114
    by_name = search("康复社区第1网格")
    assert by_name[0]["code"] == "410105012001001" and by_name[0]["level"] == "tertiary"
    named = [
        f["properties"]["name"]
        for level in ("tertiary", "micro")
        for f in json.loads((SAMPLE_DIR / f"{level}_grids.geojson").read_text(encoding="utf-8"))["features"]
        if "康复社区第1网格" in f["properties"]["name"]
    ]
    assert [h["name"] for h in by_name] == named and len(named) == 9  # the sample's files, in order
    assert len(search("康复社区")) == 20  # the default limit
    assert len(search("康复社区第1网格", limit=3)) == 3
    assert [h["code"] for h in search("410105012004001")][:2] == ["410105012004001", CODE]
    assert search("%") == [] and search("_") == []  # LIKE wildcards are literal
    assert tiled_client.get("/maps/search", params={"q": ""}).status_code == 422
    assert tiled_client.get("/maps/search", params={"q": "x", "generation": 999}).status_code == 404


def test_the_click_popup_is_the_embedded_one_with_phones_as_the_caller_may_see_them(
    tiled_client: TestClient, client: TestClient, tokens: dict[str, str]
) -> None:
    """What a tiled page's click fetches (the grid_url in the page) is the popup the embedded page binds."""
    html = _page(tiled_client, "/maps/coverage")
    url = re.search(r'"grid_url": "([^"]+)"', html)
    assert url is not None and url.group(1).startswith("/maps/popups/grids/{code}?generation=")
    path = url.group(1).replace("{code}", CODE)
    for headers in ({}, bearer(tokens["dispatcher"])):
        popup = tiled_client.get(path, headers=headers).json()
        assert popup["code"] == CODE and popup["level"] == "micro"
        embedded = _page(client, "/maps/coverage", headers)
        assert popup["html"] in {json.loads(p) for p in POPUP.findall(embedded)}
        masked = "****" in popup["html"]
        assert masked == (not headers) and "微网格长" in popup["html"]
    assert tiled_client.get("/maps/popups/grids/410105012999999999").json()["code"] == "grid_not_found"


def test_the_vector_grid_script_is_served(tiled_client: TestClient) -> None:
    r = tiled_client.get("/maps/static/leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js")
    assert r.status_code == 200 and "VectorGrid" in r.text
    assert tiled_client.get("/maps/static/leaflet.vectorgrid/package.json").status_code == 404


def test_labels_for_the_viewport_are_the_embedded_pages_labels(
    tiled_client: TestClient, client: TestClient
) -> None:
    embedded = _page(client, "/maps/coverage")
    specs = json.loads(re.search(r"var specs = (\[.*?\]);\n", embedded).group(1))  # type: ignore[union-attr]
    expected = {s["level"]: {label[2] for label in s["labels"]} for s in specs}
    everywhere = "113.5,34.6,113.9,34.9"
    for level, n in (("tertiary", 73), ("micro", 652)):
        r = tiled_client.get("/maps/labels", params={"level": level, "bbox": everywhere})
        assert r.status_code == 200, r.text
        got = {html.escape(x["text"]).replace("\n", "<br>") for x in r.json()}
        assert len(got) == n and got == expected[level]
    # Only the viewport's grids: a box around one micro-grid's label point holds few labels, its own first.
    hit = tiled_client.get("/maps/search", params={"q": CODE}).json()[0]
    lat, lon = hit["point"]
    box = f"{lon - 0.0003},{lat - 0.0003},{lon + 0.0003},{lat + 0.0003}"
    near = tiled_client.get("/maps/labels", params={"level": "micro", "bbox": box}).json()
    assert 1 <= len(near) < 10 and any(x["text"].endswith(CODE) for x in near)
    assert (
        len(
            tiled_client.get("/maps/labels", params={"level": "micro", "bbox": everywhere, "limit": 5}).json()
        )
        == 5
    )
    assert tiled_client.get("/maps/labels", params={"level": "micro", "bbox": "1,2,3"}).status_code == 422


def test_a_popup_outside_the_callers_subdistrict_is_not_found(
    make_client: Callable[..., Any], db_url: str
) -> None:
    """As GET /grids/{code}: another subdistrict's dispatcher gets 404, not the people's phones."""
    other = "410105099"
    execute(
        db_url,
        "INSERT INTO subdistricts VALUES (:code, '测试街道', '410105', '金水区', '410100', '郑州市', "
        "'410000', '河南省')",
        code=other,
    )
    home_token = create_token(db_url, "dispatcher", "未来路调度", subdistrict="410105012")
    other_token = create_token(db_url, "dispatcher", "测试街道调度", subdistrict=other)
    with make_client(db_url, map_tiles_above=100) as c:
        home = c.get(f"/maps/popups/grids/{CODE}", headers=bearer(home_token))
        assert home.status_code == 200 and "****" not in home.json()["html"]
        refused = c.get(f"/maps/popups/grids/{CODE}", headers=bearer(other_token))
        assert refused.status_code == 404 and refused.json()["code"] == "grid_not_found"
        assert c.get(f"/grids/{CODE}", headers=bearer(other_token)).status_code == 404  # the same rule


def test_road_segments_and_courtyards_as_tiles_with_the_embedded_popups(
    tiled_client: TestClient, client: TestClient
) -> None:
    for layer, n in (("road_segments", 202), ("courtyards", 157)):  # the sample's files
        tile = mapbox_vector_tile.decode(tiled_client.get(f"/tiles/{layer}/10/835/406.mvt").content)
        feats = tile[layer]["features"]
        assert len(feats) == n and {"id", "name", "tertiary_code"} <= set(feats[0]["properties"])
    embedded = {json.loads(p) for p in POPUP.findall(_page(client, "/maps/coverage"))}
    for kind, area in (("road_segments", "RS001"), ("courtyards", "CY001")):
        popup = tiled_client.get(f"/maps/popups/{kind}/{area}")
        assert popup.status_code == 200, popup.text
        assert popup.json()["id"] == area and popup.json()["html"] in embedded
    assert tiled_client.get("/maps/popups/courtyards/CY999").json()["code"] == "not_found"
    assert tiled_client.get("/maps/popups/people/CY001").status_code == 422
