"""Map pages show only the subdistricts they are of (issue 15): with the sample (未来路街道) and its
neighbour (tests/support/district.py) in one database, a subdistrict's coverage page — embedded, tiled, or
its vector tiles (`?generation=`) — draws that subdistrict's communities, facilities, road segments and
courtyards only, the district page those of both (repository/maps.of_subdistricts); the incident map's
choropleth counts the open reports its markers' filter selects (status, category, time, grid, the
caller's scope: services/incident_maps.choropleth_counts), embedded and tiled."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient

from tests.support import district
from tests.support.api import bearer
from tests.support.sql import query, scalar

SAMPLE = "410105012"
NEIGHBOUR = district.CODE
OPEN = "r.status NOT IN ('closed', 'rejected', 'duplicate')"
# The neighbour's places (tests/support/district.add_places), named so that no other text of a page can
# hold the name.
NEIGHBOUR_NAMES = {"communities": district.COMMUNITY_NAME} | {k: v[1] for k, v in district.PLACES.items()}
# The z10 tiles around the sample (tests/db/test_maps_district.py): the neighbour's ring lies in them.
Z10 = [(835 + dx, 406 + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
# An embedded choropleth feature: its code, fill and popup (编码, 未办结上报).
CHOROPLETH = re.compile(r'"code": "(\d{18})", "fill": "[^"]*", "popup": "((?:[^"\\]|\\.)*)"')
OPEN_CELL = re.compile(r"未办结上报</th>\s*<td[^>]*>(\d+)</td>")


@dataclass(frozen=True)
class Env:
    url: str
    client: TestClient
    tokens: dict[str, str]
    active: dict[str, int]  # subdistrict code → its active generation
    names: dict[str, dict[str, str]]  # subdistrict code → layer → a name of that layer's in it


def _sample_names(url: str) -> dict[str, str]:
    """A name of each layer in the sample (none of them is a part of the neighbour's names; a
    community's name may be a part of its facilities', a road's of its courtyards')."""
    sql = {
        "communities": "SELECT min(name) FROM communities",
        "facilities": "SELECT min(name) FROM facilities",
        "road_segments": "SELECT min(road_name) FROM road_segments",
        "courtyards": "SELECT min(name) FROM courtyards",
    }
    return {layer: str(scalar(url, f"{s} WHERE subdistrict_code = :s", s=SAMPLE)) for layer, s in sql.items()}


@pytest.fixture(scope="module")
def env(
    db_factory: Callable[[], str], make_client: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Env]:
    with district.with_neighbour(db_factory, make_client, tmp_path_factory.mktemp("scope")) as (
        url,
        client,
        admin,
        built,
    ):
        district.add_places(url, built.micro)
        # Reports on the neighbour's ground: open ones in two of its grids (one sensitive), a closed one.
        micro = sorted(built.micro)
        for code, category in [(micro[0], "noise"), (micro[0], "noise"), (micro[1], "elderly_fraud"),
                               (micro[1], "noise")]:  # fmt: skip
            point = built.micro[code].representative_point()
            r = client.post(
                "/reports", json={"category": category, "channel": "hotline", "lon": point.x, "lat": point.y}
            )
            assert r.status_code == 201, r.text
        tokens = district.dispatcher_tokens(url)
        active = district.active_generations(url)
        opened = scalar(
            url, f"SELECT count(*) FROM reports r WHERE subdistrict_code = :s AND {OPEN}", s=NEIGHBOUR
        )
        # (and the sample's reports outside its grids nearest to the neighbour's, moved there on activation)
        assert set(active) == {SAMPLE, NEIGHBOUR} and opened >= 4
        names = {SAMPLE: _sample_names(url), NEIGHBOUR: dict(NEIGHBOUR_NAMES)}
        yield Env(url, client, tokens, active, names)


def _page(client: TestClient, path: str, who: str | None, env: Env) -> str:
    r = client.get(path, headers=bearer(env.tokens[who]) if who else {})
    assert r.status_code == 200, r.text[:500]
    return str(r.text)


def _shows(page: str, name: str) -> bool:
    """Whether the page holds the name: as text, HTML-escaped or in a JSON string (\\uXXXX)."""
    escaped = json.dumps(name)[1:-1]
    return any(
        form in page for form in (name, html.escape(name), escaped, json.dumps(html.escape(name))[1:-1])
    )


def _drawn(env: Env, page: str) -> dict[str, set[str]]:
    """Of each subdistrict, which layers' names the page shows."""
    return {
        sub: {layer for layer, name in names.items() if _shows(page, name)}
        for sub, names in env.names.items()
    }


# ------------------------------------------------------------------------------------- coverage pages
def _one_subdistrict_pages(env: Env) -> list[tuple[str, str | None, str, str]]:
    """(path, caller, its subdistrict, the other) of pages of one subdistrict."""
    return [
        ("/maps/coverage", "home", SAMPLE, NEIGHBOUR),
        (f"/maps/coverage?subdistrict={SAMPLE}", None, SAMPLE, NEIGHBOUR),
        (f"/maps/coverage?subdistrict={SAMPLE}", "district", SAMPLE, NEIGHBOUR),
        ("/maps/grids/410105012001001001", None, SAMPLE, NEIGHBOUR),
        ("/maps/coverage", "other", NEIGHBOUR, SAMPLE),
        (f"/maps/coverage?generation={env.active[NEIGHBOUR]}", None, NEIGHBOUR, SAMPLE),
    ]


def test_a_subdistricts_coverage_page_draws_its_own_layers_only(env: Env) -> None:
    for path, who, own, other in _one_subdistrict_pages(env):
        drawn = _drawn(env, _page(env.client, path, who, env))
        assert drawn[own] == set(env.names[own]), (path, who)
        assert drawn[other] == set(), (path, who)


@pytest.mark.parametrize("who", ["district", None])
def test_the_district_coverage_page_draws_every_subdistricts_layers(env: Env, who: str | None) -> None:
    drawn = _drawn(env, _page(env.client, "/maps/coverage", who, env))
    assert drawn == {sub: set(names) for sub, names in env.names.items()}


def _tile_names(client: TestClient, layer: str, query_string: str) -> set[str]:
    names: set[str] = set()
    for x, y in Z10:
        r = client.get(f"/tiles/{layer}/10/{x}/{y}.mvt{query_string}")
        assert r.status_code == 200, r.text[:300]
        found = mapbox_vector_tile.decode(r.content) if r.content else {}
        names |= {f["properties"]["name"] for f in found.get(layer, {}).get("features", [])}
    return names


@pytest.mark.parametrize("layer", sorted(NEIGHBOUR_NAMES))
def test_a_generations_tiles_draw_its_subdistricts_places_only(env: Env, layer: str) -> None:
    """A tiled page of one subdistrict asks `?generation=N`: its places only; without it, the district's."""
    for own, other in ((SAMPLE, NEIGHBOUR), (NEIGHBOUR, SAMPLE)):
        names = _tile_names(env.client, layer, f"?generation={env.active[own]}")
        assert env.names[own][layer] in names and env.names[other][layer] not in names
    every = _tile_names(env.client, layer, "")
    assert {env.names[SAMPLE][layer], env.names[NEIGHBOUR][layer]} <= every
    assert env.client.get(f"/tiles/{layer}/10/835/406.mvt?generation=999999").status_code == 404


def test_a_tiled_subdistricts_page_embeds_its_own_facilities_only(
    env: Env, make_client: Callable[..., Any]
) -> None:
    with make_client(env.url, map_tiles_above=0) as c:
        page = _page(c, "/maps/coverage", "other", env)
        assert "L.vectorGrid.protobuf" in page
        assert f"?generation={env.active[NEIGHBOUR]}" in page
        facilities = {sub: _shows(page, names["facilities"]) for sub, names in env.names.items()}
        assert facilities == {SAMPLE: False, NEIGHBOUR: True}


# --------------------------------------------------------------------------- the incident choropleth
def _expected(
    env: Env, page_of: str | None, seen: str | None, where: str = "true", **params: Any
) -> dict[str, int]:
    """Open reports per micro-grid drawn on a page of `page_of` (None: the district's) of the reports a
    caller of `seen` (None: the district level) sees, `where` holding; every category (the sensitive ones
    are counted for the public too: README, personal data)."""
    drawn = "gen.status = 'active'" + (" AND gen.subdistrict_code = :page_of" if page_of else "")
    scope = "(r.subdistrict_code IS NULL OR r.subdistrict_code = :seen)" if seen else "true"
    rows = query(
        env.url,
        f"""SELECT r.micro_code, count(*) FROM reports r
            WHERE {OPEN} AND {scope} AND {where}
              AND r.micro_code IN (SELECT g.code FROM grids g JOIN generations gen ON gen.id = g.generation_id
                                   WHERE g.level = 'micro' AND {drawn})
            GROUP BY r.micro_code""",
        page_of=page_of, seen=seen, **params,
    )  # fmt: skip
    return {str(r[0]): int(r[1]) for r in rows}


def _embedded_counts(page: str) -> dict[str, int]:
    """The embedded choropleth's counts (grids with open reports), from each grid's popup."""
    out = {}
    for code, popup in CHOROPLETH.findall(page):
        cell = OPEN_CELL.search(json.loads(f'"{popup}"'))
        assert cell is not None, popup[:200]
        if int(cell.group(1)):
            out[code] = int(cell.group(1))
    return out


def _tiled_counts(page: str) -> dict[str, int]:
    """The tiled page's choropleth table: code → [count, colour] of grids with open reports."""
    table = re.search(r'"open": (\{[^}]*\})', page)
    assert table is not None
    return {code: int(v[0]) for code, v in json.loads(table.group(1)).items()}


def _cases(env: Env) -> list[tuple[str, str | None, dict[str, int]]]:
    """(query string, caller, the counts it may see)."""
    since = scalar(
        env.url,
        f"SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY created_at) FROM reports r WHERE {OPEN}",
    )
    return [
        ("", "home", _expected(env, SAMPLE, SAMPLE)),
        ("", "other", _expected(env, NEIGHBOUR, NEIGHBOUR)),
        # (Another subdistrict's page named by a subdistrict's caller: 404, tests/db/test_maps_named.py.)
        ("", None, _expected(env, None, None)),
        ("", "district", _expected(env, None, None)),
        (f"subdistrict={NEIGHBOUR}", None, _expected(env, NEIGHBOUR, NEIGHBOUR)),
        (f"subdistrict={SAMPLE}&category=noise", None,
         _expected(env, SAMPLE, SAMPLE, "r.category = 'noise'")),
        ("category=noise", None, _expected(env, None, None, "r.category = 'noise'")),
        ("status=reported", "home", _expected(env, SAMPLE, SAMPLE, "r.status = 'reported'")),
        (urlencode({"since": since.isoformat()}), "home", _expected(env, SAMPLE, SAMPLE, "r.created_at >= :t", t=since)),
        (urlencode({"until": since.isoformat()}), "district",
         _expected(env, None, None, "r.created_at < :t", t=since)),
        ("grid=410105012001", "home", _expected(env, SAMPLE, SAMPLE, "r.community_code = '410105012001'")),
    ]  # fmt: skip


def test_the_choropleth_counts_what_the_caller_sees_of_the_page(
    env: Env, make_client: Callable[..., Any]
) -> None:
    cases = _cases(env)
    # The cases tell the callers apart: a subdistrict's own counts, the district's.
    assert cases[0][2] and cases[1][2] and cases[2][2] != cases[0][2] and cases[5][2] != cases[0][2]
    with make_client(env.url, map_reports_tiled_above=0) as tiled:
        for qs, who, expected in cases:
            path = f"/maps/incidents?{qs}"
            assert _embedded_counts(_page(env.client, path, who, env)) == expected, (qs, who)
            page = _page(tiled, path, who, env)
            assert "L.vectorGrid.protobuf" in page, (qs, who)
            assert _tiled_counts(page) == expected, (qs, who)


def test_the_neighbours_reports_are_counted_on_its_own_page_only(env: Env) -> None:
    """The reports added on the neighbour's ground (2 and 2, one sensitive, in its first two grids) and
    those of the sample's moved to it are counted on pages that show them, never on the sample's."""
    micro = sorted(
        str(r[0])
        for r in query(env.url, "SELECT code FROM grids WHERE generation_id = :g AND level = 'micro'",
                       g=env.active[NEIGHBOUR])
    )  # fmt: skip
    for qs, who in (("", "other"), (f"subdistrict={NEIGHBOUR}", None), ("", None), ("", "district")):
        counts = _embedded_counts(_page(env.client, f"/maps/incidents?{qs}", who, env))
        theirs = {c: n for c, n in counts.items() if c.startswith(NEIGHBOUR)}
        assert theirs == _expected(env, NEIGHBOUR, NEIGHBOUR), (qs, who)
        assert theirs[micro[0]] >= 2 and theirs[micro[1]] >= 2, (qs, who)
    for qs, who in (("", "home"), (f"subdistrict={SAMPLE}", None)):
        counts = _embedded_counts(_page(env.client, f"/maps/incidents?{qs}", who, env))
        assert not any(c.startswith(NEIGHBOUR) for c in counts), (qs, who)
