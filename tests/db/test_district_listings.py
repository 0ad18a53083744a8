"""Listings and defaults with several subdistricts (issue 15): with the sample (未来路街道) and its neighbour
(tests/support/district.py) in one database, a listing naming no subdistrict (GET /grids, GET
/communities) means the caller's own subdistrict, and for a district-level or anonymous caller the whole
district — never a 422; a grid read by code means the subdistrict the code belongs to; a write naming
none (a draft, a boundary import) means the caller's own subdistrict, and for the district level it is
refused with 422 `subdistrict_required` listing them (a write never guesses). With one subdistrict
nothing changes."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient

from geo_grid import db
from geo_grid.errors import SubdistrictRequired
from geo_grid.io.boundaries import ImportedLayer
from geo_grid.services import communities as community_service
from geo_grid.services import subdistricts
from tests.support import district
from tests.support.accounts import create_token
from tests.support.api import bearer
from tests.support.sql import query, scalar

SAMPLE = "410105012"
NEIGHBOUR = district.CODE
SAMPLE_MICRO = "410105012001001001"


@dataclass(frozen=True)
class Env:
    client: TestClient
    url: str
    built: district.District
    tokens: dict[str, str]
    active: dict[str, int]  # subdistrict code → its active generation
    tmp: Path


@pytest.fixture(scope="module")
def env(
    db_factory: Callable[[], str], make_client: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Env]:
    with district.with_neighbour(db_factory, make_client, tmp_path_factory.mktemp("district")) as (
        url,
        client,
        admin,
        built,
    ):
        tokens = {
            "admin": admin,  # district level: the one that may write for any subdistrict
            "home": create_token(url, "dispatcher", "未来路调度", subdistrict=SAMPLE),
            "other": create_token(url, "dispatcher", "第二街道调度", subdistrict=NEIGHBOUR),
            "district": create_token(url, "dispatcher", "区级调度", subdistrict=None),
            "other_planner": create_token(url, "planner", "第二街道规划", subdistrict=NEIGHBOUR),
        }
        rows = query(url, "SELECT subdistrict_code, id FROM generations WHERE status = 'active'")
        active = {str(r[0]): int(r[1]) for r in rows}
        assert set(active) == {SAMPLE, NEIGHBOUR}
        yield Env(client, url, built, tokens, active, tmp_path_factory.mktemp("files"))


def _get(env: Env, path: str, who: str | None = None, **params: Any) -> Any:
    return env.client.get(path, params=params, headers=bearer(env.tokens[who]) if who else {})


def _grids(r: Any) -> dict[str, str]:
    """grid code → the subdistrict_code the listing gives it."""
    assert r.status_code == 200, r.text
    return {f["id"]: f["properties"]["subdistrict_code"] for f in r.json()["features"]}


def _count(env: Env, code: str) -> int:
    return int(scalar(env.url, "SELECT count(*) FROM grids WHERE generation_id = :g", g=env.active[code]))


# ------------------------------------------------------------------------------------------- GET /grids


def test_grids_of_the_whole_district_for_the_anonymous_and_the_district_level(env: Env) -> None:
    for who in (None, "district", "admin"):
        streamed = _get(env, "/grids", who)  # no limit: streamed
        paged = _get(env, "/grids", who, limit=10_000)
        got = _grids(streamed)
        assert got == _grids(paged), who
        assert len(got) == _count(env, SAMPLE) + _count(env, NEIGHBOUR)
        assert {c for c, s in got.items() if s == NEIGHBOUR} == {*env.built.micro, district.TERTIARY}
        assert all(code[:9] == sub for code, sub in got.items())  # each row names its subdistrict
        for body in (streamed.json(), paged.json()):
            assert body["generation"] is None  # several generations: see `generations`
            assert sorted(body["generations"]) == sorted(env.active.values())
            generations = {f["properties"]["generation_id"] for f in body["features"]}
            assert generations == set(env.active.values())


def test_grids_of_the_callers_own_subdistrict(env: Env) -> None:
    for who, code in (("other", NEIGHBOUR), ("home", SAMPLE), ("other_planner", NEIGHBOUR)):
        r = _get(env, "/grids", who, level="micro")
        got = _grids(r)
        assert set(got.values()) == {code} and len(got) > 0, who
        assert r.json()["generation"] == env.active[code] and r.json()["generations"] == [env.active[code]]
    assert set(_grids(_get(env, "/grids", "other", level="micro"))) == set(env.built.micro)


def test_grids_of_a_named_subdistrict_a_community_a_moment_or_a_generation(env: Env) -> None:
    named = _grids(_get(env, "/grids", "district", subdistrict=NEIGHBOUR, level="micro"))
    assert set(named) == set(env.built.micro)
    by_community = _grids(_get(env, "/grids", community=district.COMMUNITY, limit=100))
    assert set(by_community.values()) == {NEIGHBOUR}
    by_generation = _get(env, "/grids", generation=env.active[SAMPLE], limit=10_000)
    assert set(_grids(by_generation).values()) == {SAMPLE}
    assert by_generation.json()["generation"] == env.active[SAMPLE]
    # A moment both subdistricts' boundaries were in force: both, each in the generation of then.
    moment = scalar(env.url, "SELECT max(activated_at) FROM generations WHERE status = 'active'")
    then = _get(env, "/grids", at=moment.isoformat(), level="tertiary")
    assert set(_grids(then).values()) == {SAMPLE, NEIGHBOUR}
    assert sorted(then.json()["generations"]) == sorted(env.active.values())
    # Before any boundaries were active: nothing to list.
    r = _get(env, "/grids", at="2000-01-01T00:00:00+08:00")
    assert r.status_code == 404 and r.json()["code"] == "generation_not_found", r.text
    # A subdistrict's caller naming another subdistrict: as if it did not exist.
    r = _get(env, "/grids", "home", subdistrict=NEIGHBOUR)
    assert r.status_code == 404 and r.json()["code"] == "subdistrict_not_found", r.text


def test_one_grid_by_code_is_read_in_the_subdistrict_the_code_names(env: Env) -> None:
    neighbour = min(env.built.micro)
    for who in (None, "district", "other"):
        r = _get(env, f"/grids/{neighbour}", who)
        assert r.status_code == 200, (who, r.text)
        props = r.json()["properties"]
        assert props["subdistrict_code"] == NEIGHBOUR and props["generation_id"] == env.active[NEIGHBOUR]
        assert props["parent"]["code"] == district.TERTIARY
    r = _get(env, f"/grids/{SAMPLE_MICRO}", "district")
    assert r.status_code == 200 and r.json()["properties"]["subdistrict_code"] == SAMPLE, r.text
    # Another subdistrict's grid is not the scoped caller's (404 as if it did not exist).
    assert _get(env, f"/grids/{neighbour}", "home").status_code == 404
    assert _get(env, f"/grids/{SAMPLE}999999999").status_code == 404


# ------------------------------------------------------------------------------------- GET /communities


def _communities(r: Any) -> dict[str, str]:
    assert r.status_code == 200, r.text
    return {f["id"]: f["properties"]["subdistrict_code"] for f in r.json()["features"]}


def test_communities_of_the_callers_own_subdistrict_or_of_the_whole_district(env: Env) -> None:
    every = _communities(_get(env, "/communities"))
    assert every[district.COMMUNITY] == NEIGHBOUR and SAMPLE in every.values()
    assert every == _communities(_get(env, "/communities", "district"))
    assert len(every) == scalar(env.url, "SELECT count(*) FROM communities")
    assert _communities(_get(env, "/communities", "other")) == {district.COMMUNITY: NEIGHBOUR}
    mine = _communities(_get(env, "/communities", "home"))
    assert set(mine.values()) == {SAMPLE} and len(mine) == len(every) - 1
    named = _get(env, "/communities", "district", subdistrict=NEIGHBOUR)
    assert _communities(named) == {district.COMMUNITY: NEIGHBOUR}
    r = _get(env, "/communities", "home", subdistrict=NEIGHBOUR)
    assert r.status_code == 404 and r.json()["code"] == "subdistrict_not_found", r.text


# ---------------------------------------------------------------------------------------------- writes


def _discard(env: Env, generation: int) -> None:
    r = env.client.delete(f"/generations/{generation}", headers=bearer(env.tokens["admin"]))
    assert r.status_code == 200, r.text


def test_a_draft_naming_no_subdistrict_is_the_callers_own_or_refused(env: Env) -> None:
    r = env.client.post("/generations", json={"note": "区级"}, headers=bearer(env.tokens["admin"]))
    assert r.status_code == 422 and r.json()["code"] == "subdistrict_required", r.text
    assert sorted(r.json()["detail"]["subdistricts"]) == [SAMPLE, NEIGHBOUR]
    r = env.client.post("/generations", json={"note": "本街道"}, headers=bearer(env.tokens["other_planner"]))
    assert r.status_code == 201, r.text
    assert r.json()["subdistrict_code"] == NEIGHBOUR and r.json()["based_on"] == env.active[NEIGHBOUR]
    _discard(env, r.json()["id"])
    r = env.client.post("/generations", json={"subdistrict": NEIGHBOUR}, headers=bearer(env.tokens["admin"]))
    assert r.status_code == 201 and r.json()["subdistrict_code"] == NEIGHBOUR, r.text
    _discard(env, r.json()["id"])


def test_an_import_naming_no_subdistrict_is_the_callers_own_or_refused(env: Env) -> None:
    layer = district.write_layer(env.tmp / "micro.geojson", env.built.micro, district.TERTIARY)
    drafts_before = scalar(env.url, "SELECT count(*) FROM generations WHERE status = 'draft'")
    r = district.upload(env.client, env.tokens["admin"], layer, level="micro")
    assert r.status_code == 422 and r.json()["code"] == "subdistrict_required", r.text
    assert scalar(env.url, "SELECT count(*) FROM generations WHERE status = 'draft'") == drafts_before
    r = district.upload(env.client, env.tokens["other_planner"], layer, level="micro")
    assert r.status_code == 201, r.text
    draft = r.json()["generation"]
    assert scalar(env.url, "SELECT subdistrict_code FROM generations WHERE id = :g", g=draft) == NEIGHBOUR
    _discard(env, draft)


def test_the_write_rule_never_guesses(env: Env) -> None:
    engine = db.make_engine(env.url, pool_size=1)
    try:
        with db.transaction(db.make_session_factory(engine)) as session:
            assert subdistricts.for_write(session, caller=NEIGHBOUR).code == NEIGHBOUR
            assert subdistricts.for_write(session, NEIGHBOUR).code == NEIGHBOUR
            with pytest.raises(SubdistrictRequired):
                subdistricts.for_write(session)
            layer = ImportedLayer("tertiary", [], "EPSG:4326", None)
            with pytest.raises(SubdistrictRequired):  # a community file must say whose it is
                community_service.import_layer(session, layer, "test")
    finally:
        engine.dispose()


# ------------------------------------------------------------------------------- one subdistrict: as before


def test_with_one_subdistrict_nothing_changes(db_url: str, make_client: Callable[..., Any]) -> None:
    admin = create_token(db_url, "admin", "区级管理员", subdistrict=None)
    gen = int(scalar(db_url, "SELECT id FROM generations WHERE status = 'active'"))
    with make_client(db_url) as client:
        r = client.get("/grids", params={"level": "micro"})
        assert r.status_code == 200 and r.json()["generation"] == gen and r.json()["generations"] == [gen]
        assert {f["properties"]["subdistrict_code"] for f in r.json()["features"]} == {SAMPLE}
        assert len(r.json()["features"]) == scalar(
            db_url, "SELECT count(*) FROM grids WHERE generation_id = :g AND level = 'micro'", g=gen
        )
        communities = client.get("/communities").json()["features"]
        assert communities and {c["properties"]["subdistrict_code"] for c in communities} == {SAMPLE}
        # The district level's write naming none: the only subdistrict.
        r = client.post("/generations", json={"note": "x"}, headers=bearer(admin))
        assert r.status_code == 201 and r.json()["subdistrict_code"] == SAMPLE, r.text


def test_a_write_does_not_guess_the_one_with_live_boundaries(db_url: str) -> None:
    """A second subdistrict preparing its first boundaries: a read of one generation still means the one
    with live boundaries (subdistricts.home), but a write naming none is asked which (it could be the
    new one's first import)."""
    from geo_grid.repository import subdistricts as subdistrict_repo
    from geo_grid.services import generations as generation_service

    engine = db.make_engine(db_url, pool_size=1)
    try:
        with db.transaction(db.make_session_factory(engine)) as session:
            row = subdistrict_repo.Subdistrict(
                NEIGHBOUR, district.NAME, "410105", "金水区", "410100", "郑州市", "410000", "河南省"
            )
            subdistrict_repo.upsert(session, [row])
            assert subdistricts.home_code(session) == SAMPLE
            with pytest.raises(SubdistrictRequired):
                subdistricts.for_write(session)
            with pytest.raises(SubdistrictRequired):
                generation_service.open_draft(session, "test")
            assert (
                generation_service.open_draft(session, "test", subdistrict=SAMPLE).subdistrict_code == SAMPLE
            )
            session.rollback()
    finally:
        engine.dispose()


# ---------------------------------------------------------------------------------------- map tiles


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


def _tile_codes(env: Env, path: str, **params: Any) -> set[str]:
    r = _get(env, path, **params)
    assert r.status_code == 200, r.text
    layer = mapbox_vector_tile.decode(r.content).get("micro_grids", {"features": []}) if r.content else None
    return {f["properties"]["code"] for f in (layer or {"features": []})["features"]}


def test_a_grid_tile_naming_no_generation_draws_every_subdistrict(env: Env) -> None:
    """A map of the district shows all of it: a tile over the border holds both subdistricts' micro-grids
    (before, 422 `subdistrict_required`); `generation=` still draws that one generation alone."""
    lon, lat = env.built.sample_outline.centroid.coords[0]
    z = 12
    x, y = _tile_of(lon, lat, z)
    path = f"/tiles/micro_grids/{z}/{x}/{y}.mvt"
    codes = _tile_codes(env, path)
    assert {c for c in codes if c.startswith(NEIGHBOUR)} == set(env.built.micro)
    assert any(c.startswith(SAMPLE) for c in codes)
    assert _tile_codes(env, path, generation=env.active[NEIGHBOUR]) == set(env.built.micro)
    assert _tile_codes(env, path, generation=env.active[SAMPLE]) == {c for c in codes if c.startswith(SAMPLE)}
