"""The audit log on tiled maps (issue 15): a read is audited when it showed personal data. Grid tiles never
do (not audited); a reports tile does only when it draws a report of a sensitive category for a dispatcher
(one entry, `detail.ids` naming those reports); the popup and every other personal read stay audited."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from geo_grid.api.runtime import runtime_of
from tests.support.api import bearer, create_tokens
from tests.support.report_helpers import interior_point
from tests.support.sql import query

HOME = "410105012"
MICRO = "410105012004003005"
SENSITIVE = "elderly_fraud"  # the sample's sensitive category (categories.sensitive)
Z_SINGLE = 17  # repository/tiles.REPORT_SINGLE_MIN_ZOOM: one point per report from here
Env = tuple[TestClient, dict[str, str], str]


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180.0) / 360.0 * n), int(
        (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n
    )


@pytest.fixture(scope="module")
def env(db_factory: Callable[[], str], make_client: Callable[..., Any]) -> Iterator[Env]:
    url = db_factory()
    tokens = create_tokens(url)
    with make_client(url) as client:
        yield client, tokens, url


def _audited(env: Env, do: Callable[[], None]) -> list[Any]:
    """The `read_personal` entries written while `do` ran (the queue flushed before and after)."""
    client, _, url = env
    queue = runtime_of(client.app).audit_queue
    queue.flush()
    (last,) = query(url, "SELECT coalesce(max(id), 0) FROM audit_log")[0]
    do()
    queue.flush()
    return query(
        url, "SELECT * FROM audit_log WHERE id > :last AND action = 'read_personal' ORDER BY id", last=last
    )


def _get(client: TestClient, path: str, headers: dict[str, str], **params: Any) -> None:
    r = client.get(path, params=params, headers=headers)
    assert r.status_code == 200, r.text[:300]


def _tiles_by_report(url: str, z: int) -> dict[tuple[int, int], list[tuple[int, str]]]:
    """The reports with a point (id, category) by their tile at zoom z, from the table."""
    out: dict[tuple[int, int], list[tuple[int, str]]] = {}
    for rid, category, lon, lat in query(
        url, "SELECT id, category, ST_X(geom), ST_Y(geom) FROM reports WHERE geom IS NOT NULL"
    ):
        out.setdefault(_tile_of(lon, lat, z), []).append((int(rid), str(category)))
    return out


def test_grid_tiles_and_report_tiles_without_sensitive_reports_are_not_audited(env: Env) -> None:
    client, tokens, url = env
    disp = bearer(tokens["dispatcher"])
    by_tile = _tiles_by_report(url, Z_SINGLE)
    plain = [t for t, found in by_tile.items() if all(c != SENSITIVE for _, c in found)]
    assert plain
    (x, y), z10 = plain[0], _tile_of(*interior_point(MICRO), 10)

    def view() -> None:
        for layer in (
            "micro_grids",
            "tertiary_grids",
            "communities",
            "facilities",
            "road_segments",
            "courtyards",
        ):
            _get(client, f"/tiles/{layer}/10/{z10[0]}/{z10[1]}.mvt", disp)
        r = client.get(
            f"/tiles/reports/{Z_SINGLE}/{x}/{y}.mvt?subdistrict={HOME}&include_closed=true", headers=disp
        )
        assert r.status_code == 200 and r.content  # it draws reports, none of them sensitive
        # A filter that leaves the sensitive category out: the zoomed-out tile of the whole area neither.
        others = ",".join(
            r[0] for r in query(url, f"SELECT DISTINCT category FROM reports WHERE category <> '{SENSITIVE}'")
        )
        r = client.get(
            f"/tiles/reports/10/{z10[0]}/{z10[1]}.mvt",
            params={"subdistrict": HOME, "category": others, "include_closed": "true"},
            headers=disp,
        )
        assert r.status_code == 200 and r.content

    assert _audited(env, view) == []


def test_a_report_tile_drawing_a_sensitive_report_is_audited_once_naming_it(env: Env) -> None:
    client, tokens, url = env
    disp = bearer(tokens["dispatcher"])
    by_tile = _tiles_by_report(url, Z_SINGLE)
    (x, y), found = next((t, f) for t, f in sorted(by_tile.items()) if any(c == SENSITIVE for _, c in f))
    sensitive = sorted(rid for rid, c in found if c == SENSITIVE)
    path = f"/tiles/reports/{Z_SINGLE}/{x}/{y}.mvt"

    rows = _audited(env, lambda: _get(client, path, disp, subdistrict=HOME, include_closed="true"))
    assert len(rows) == 1
    entry = rows[0]
    assert entry.actor == "test-dispatcher" and entry.detail["path"] == path
    assert entry.detail["ids"] == sensitive  # the sensitive reports it drew, and only those

    # The public's tile leaves sensitive reports out (privacy.py), and the public is never audited.
    assert _audited(env, lambda: _get(client, path, {}, subdistrict=HOME, include_closed="true")) == []

    # Zoomed out, a cell's count and position hold them too: the tile of the whole area names every one.
    everywhere = sorted(
        int(r[0])
        for r in query(url, f"SELECT id FROM reports WHERE geom IS NOT NULL AND category = '{SENSITIVE}'")
    )
    z10 = {_tile_of(*interior_point(MICRO), 10)}
    assert len(z10) == 1
    (tx, ty) = z10.pop()
    rows = _audited(
        env,
        lambda: _get(
            client, f"/tiles/reports/10/{tx}/{ty}.mvt", disp, subdistrict=HOME, include_closed="true"
        ),
    )
    assert len(rows) == 1 and set(sensitive) <= set(rows[0].detail["ids"]) <= set(everywhere)


def test_the_popup_and_every_other_personal_read_stay_audited(env: Env) -> None:
    client, tokens, url = env
    disp = bearer(tokens["dispatcher"])
    rid = int(
        query(url, f"SELECT id FROM reports WHERE geom IS NOT NULL AND category = '{SENSITIVE}' LIMIT 1")[0][
            0
        ]
    )
    lon, lat = interior_point(MICRO)
    reads: list[tuple[str, dict[str, Any]]] = [
        (f"/maps/popups/reports/{rid}", {}),
        ("/reports", {"limit": 3}),
        ("/reports", {"format": "csv", "limit": 3}),
        (f"/reports/{rid}", {}),
        ("/lookup", {"lon": lon, "lat": lat}),
        ("/maps/coverage", {}),
        ("/maps/incidents", {}),
    ]

    def view() -> None:
        for path, params in reads:
            _get(client, path, disp, **params)

    rows = _audited(env, view)
    assert [(r.detail["path"], r.actor) for r in rows] == [(p, "test-dispatcher") for p, _ in reads]
    assert rows[0].subject == f"report:{rid}"
    assert len(rows[1].detail["ids"]) == 3 and rows[2].detail["format"] == "csv"
