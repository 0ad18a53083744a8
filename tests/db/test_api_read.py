"""The read API on the sample database: health, communities, grids, people and phone masking."""

from __future__ import annotations

import json
import re

from tests.support.api import bearer

MASKED = re.compile(r"^\d{3}\*{4}\d{4}$")


def test_health_reports_database_generation_and_counts(client) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["database"] == "ok" and body["active_generation"] == 1
    assert body["counts"] == {"tertiary": 73, "micro": 652, "communities": 11}


def test_communities_are_the_eleven_named_ones(client) -> None:
    fc = client.get("/communities").json()
    names = {f["properties"]["name"] for f in fc["features"]}
    assert len(names) == 11 and "民航路社区" in names
    assert sum(f["properties"]["area_m2"] for f in fc["features"]) > 5.0e6


def test_grids_default_returns_every_grid_as_geojson(client) -> None:
    fc = client.get("/grids").json()
    assert fc["type"] == "FeatureCollection"
    levels = [f["properties"]["level"] for f in fc["features"]]
    assert levels.count("tertiary") == 73 and levels.count("micro") == 652
    props = fc["features"][0]["properties"]
    assert {"code", "name", "level", "parent_code", "community_code", "area_m2"} <= set(props)
    assert fc["features"][0]["geometry"]["type"] == "MultiPolygon"


def test_every_grid_is_streamed_and_equals_the_paged_answer(client) -> None:
    """Without `limit` the collection is streamed (chunks from a server-side cursor, flat memory at any
    scale); its content is exactly the one a client paging with `limit` receives."""
    with client.stream("GET", "/grids", params={"level": "micro"}) as r:
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert "content-length" not in r.headers  # sent in chunks
        chunks = list(r.iter_bytes())
    streamed = json.loads(b"".join(chunks))
    paged = client.get("/grids", params={"level": "micro", "limit": 10_000}).json()
    assert streamed == paged and len(streamed["features"]) == 652
    empty = client.get("/grids", params={"bbox": "100,20,100.1,20.1"}).json()
    assert empty["features"] == [] and empty["type"] == "FeatureCollection"


def test_grids_filters_level_community_bbox_limit(client) -> None:
    micro = client.get("/grids", params={"level": "micro"}).json()["features"]
    assert len(micro) == 652
    community = micro[0]["properties"]["community_code"]
    in_community = client.get("/grids", params={"level": "micro", "community": community}).json()["features"]
    assert 0 < len(in_community) < 652 and all(
        f["properties"]["community_code"] == community for f in in_community
    )
    assert len(client.get("/grids", params={"limit": 5}).json()["features"]) == 5
    far = client.get("/grids", params={"bbox": "100,20,100.1,20.1"}).json()["features"]
    assert far == []
    near = client.get("/grids", params={"bbox": "113.69,34.75,113.71,34.77", "level": "micro"}).json()[
        "features"
    ]
    assert 0 < len(near) <= 652


def test_micro_area_is_computed_in_metres(client) -> None:
    micro = client.get("/grids", params={"level": "micro"}).json()["features"]
    mean = sum(f["properties"]["area_m2"] for f in micro) / len(micro)
    assert 6_000 < mean < 10_000  # ≈ 5.2 km² / 652


def test_grid_detail_has_parent_children_and_people(client) -> None:
    micro = client.get("/grids", params={"level": "micro", "limit": 1}).json()["features"][0]["properties"]
    detail = client.get(f"/grids/{micro['code']}").json()["properties"]
    assert detail["parent"]["code"] == micro["parent_code"] == micro["code"][:15]
    roles = {p["role"] for p in detail["people"]}
    assert {"micro_grid_leader", "grid_leader"} <= roles
    tertiary = client.get(f"/grids/{micro['parent_code']}").json()["properties"]
    assert micro["code"] in {c["code"] for c in tertiary["children"]}
    assert tertiary["community"]["name"].endswith("社区")


def test_phones_are_masked_for_the_public_and_shown_to_dispatchers(client, tokens) -> None:
    code = client.get("/grids", params={"level": "micro", "limit": 1}).json()["features"][0]["id"]
    public = client.get(f"/grids/{code}").json()["properties"]["people"]
    assert public and all(MASKED.match(p["phone"]) for p in public)
    for role in ("dispatcher", "admin"):
        shown = client.get(f"/grids/{code}", headers=bearer(tokens[role])).json()["properties"]["people"]
        assert all(re.fullmatch(r"1\d{10}", p["phone"]) for p in shown)
        assert [p["phone"][:3] + "****" + p["phone"][-4:] for p in shown] == [p["phone"] for p in public]


def test_unknown_grid_and_bad_input_are_clear_json_errors(client) -> None:
    r = client.get("/grids/999999999999999999")
    assert r.status_code == 404 and r.json()["code"] == "grid_not_found" and r.json()["message"]
    r = client.get("/grids", params={"bbox": "1,2,3"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"
    r = client.get("/grids", params={"level": "street"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"
    r = client.get("/grids/1", headers=bearer("not-a-token"))
    assert r.status_code == 401 and r.json()["code"] == "not_authenticated"
    r = client.get("/no-such-path")
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_grids_at_a_past_moment_and_by_generation(client) -> None:
    assert (
        len(
            client.get("/grids", params={"at": "2026-03-01T00:00:00+08:00", "level": "tertiary"}).json()[
                "features"
            ]
        )
        == 73
    )
    r = client.get("/grids", params={"at": "2020-01-01T00:00:00+08:00"})
    assert r.status_code == 404 and r.json()["code"] == "generation_not_found"
    assert client.get("/grids", params={"generation": 1, "limit": 1}).json()["generation"] == 1


def test_any_iso_offset_is_accepted_even_beyond_what_postgresql_stores(client) -> None:
    # ISO 8601 allows offsets up to ±23:59; PostgreSQL only ±15:59. geo_grid.db sends instants in UTC.
    far = "2026-03-01T00:00:00+16:00"
    assert client.get("/grids", params={"at": far, "limit": 1}).status_code == 200
    assert (
        client.get("/reports", params={"since": "2000-01-01T00:00:00+16:00", "limit": 1}).status_code == 200
    )
