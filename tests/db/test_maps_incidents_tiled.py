"""The incident map above GEO_GRID_MAP_REPORTS_TILED_ABOVE reports: reports from the vector tiles
(GET /tiles/reports/{z}/{x}/{y}.mvt, counts per cell zoomed out, single reports zoomed in) with the page's
filter, the caller's scope and the privacy policy; popups from GET /maps/popups/reports/{id}; the page
stays far under 3 MB with 20,000 more reports (inserted in bulk with SQL)."""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient

from geo_grid import clock
from tests.support.accounts import create_token
from tests.support.api import bearer
from tests.support.sql import execute, query, scalar

HOME = "410105012"
OTHER = "410105099"  # a second subdistrict whose reports lie on the sample's ground
PHONE, CONTACT = "13812345678", "13987654321"
DESCRIPTION = "楼道堆放杂物无人清理"  # every bulk report's free text (never in a tile)
BULK = 20_000
# One z10 tile holds the whole sample (tests/db/test_tiles.py); its 3 × 3 block holds every report.
Z10 = [(835 + dx, 406 + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
PAGE_ROW = re.compile(r"var data = (\[\[.*?\]\]);")


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180.0) / 360.0 * n), int(
        (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n
    )


def _lonlat(z: int, x: int, y: int, px: float, py: float, extent: int) -> tuple[float, float]:
    """A point of a decoded tile (y up, as mapbox_vector_tile gives it) as lon, lat."""
    n = 2**z
    fx, fy = x + px / extent, y + (extent - py) / extent
    return fx / n * 360 - 180, math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * fy / n))))


@pytest.fixture(scope="module")
def big_db(db_factory: Callable[[], str]) -> str:
    """The sample and 20,000 open reports more (copies of sample reports' places, a phone in every free
    text and contact), 300 of them in another subdistrict."""
    url = db_factory()
    now = clock.now()
    execute(
        url,
        "INSERT INTO subdistricts VALUES (:code, '测试街道', '410105', '金水区', '410100', '郑州市', "
        "'410000', '河南省')",
        code=OTHER,
    )
    execute(
        url,
        """WITH src AS (SELECT s.*, row_number() OVER (ORDER BY s.id) - 1 AS k FROM reports s
                        WHERE s.geom IS NOT NULL AND s.category <> 'elderly_fraud')
           INSERT INTO reports (category, description, channel, status, reporter_contact, geom, micro_code,
                                tertiary_code, community_code, subdistrict_code, outside, created_at, updated_at)
           SELECT r.category, :description || ' 电话' || :phone, 'hotline', 'in_progress', :contact, r.geom,
                  r.micro_code, r.tertiary_code, r.community_code,
                  CASE WHEN g <= 300 THEN :other ELSE r.subdistrict_code END, r.outside,
                  :now - (g || ' minutes')::interval, :now - (g || ' minutes')::interval
           FROM generate_series(1, :n) g JOIN src r ON r.k = (g * 7919) % (SELECT count(*) FROM src)""",
        description=DESCRIPTION,
        phone=PHONE,
        contact=CONTACT,
        other=OTHER,
        now=now,
        n=BULK,
    )
    return url


@pytest.fixture(scope="module")
def big(big_db: str, make_client: Callable[..., Any]) -> Iterator[TestClient]:
    with make_client(big_db) as c:  # the default threshold (3000)
        yield c


@pytest.fixture(scope="module")
def big_tokens(big_db: str) -> dict[str, str]:
    return {
        "admin": create_token(big_db, "admin", "区管理员"),  # district level
        "home": create_token(big_db, "dispatcher", "未来路调度", subdistrict=HOME),
        "other": create_token(big_db, "dispatcher", "测试街道调度", subdistrict=OTHER),
    }


def _decode(client: TestClient, path: str, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    r = client.get(path, headers=headers or {})
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layers = mapbox_vector_tile.decode(r.content) if r.content else {}
    return list(layers.get("reports", {}).get("features", []))


def _raw(client: TestClient, path: str, headers: dict[str, str] | None = None) -> bytes:
    r = client.get(path, headers=headers or {})
    assert r.status_code == 200, r.text[:300]
    return r.content


def _counted(client: TestClient, params: str, headers: dict[str, str] | None = None) -> int:
    """Reports in the z10 clusters of the whole area."""
    return sum(
        f["properties"]["count"]
        for x, y in Z10
        for f in _decode(client, f"/tiles/reports/10/{x}/{y}.mvt?{params}", headers)
    )


# What the map shows, from the tables (not from the code under test): reports with a point, open or closed
# within the last 30 days (unless include_closed), of the home subdistrict, without the sensitive category
# for the public.
def _expected(url: str, where: str = "true", include_closed: bool = False, public: bool = True) -> int:
    sql = f"""SELECT count(*) FROM reports WHERE geom IS NOT NULL AND ({where})
              AND (subdistrict_code IS NULL OR subdistrict_code = '{HOME}')
              AND (:include_closed OR status NOT IN ('closed', 'rejected', 'duplicate')
                   OR coalesce(closed_at, updated_at) >= CAST(:now AS timestamptz) - interval '30 days')
              AND NOT (:public AND category = 'elderly_fraud')"""
    return int(scalar(url, sql, include_closed=include_closed, now=clock.now(), public=public))


def test_with_20000_reports_the_page_draws_them_from_tiles_and_stays_small(
    big: TestClient, big_db: str, make_client: Callable[..., Any]
) -> None:
    big.get("/maps/incidents")  # warm: the first page imports folium and jenkspy
    cpu = time.process_time()  # the app runs in this process (TestClient): CPU seconds of the request
    r = big.get("/maps/incidents")
    tiled_cpu = time.process_time() - cpu
    assert r.status_code == 200, r.text[:300]
    page = r.text
    size = len(page.encode())
    with make_client(big_db, map_reports_tiled_above=10**6) as embedded_client:
        cpu = time.process_time()
        embedded = len(embedded_client.get("/maps/incidents").content)
        embedded_cpu = time.process_time() - cpu
    total = _expected(big_db)
    tile = len(_raw(big, f"/tiles/reports/10/835/406.mvt?subdistrict={HOME}"))
    with open("/proc/loadavg", encoding="ascii") as fh:
        load = fh.read().split()[0]
    print(
        f"\nincident page, {total} reports: embedded {embedded / 1e6:.2f} MB ({embedded_cpu:.2f} CPU s), "
        f"tiled {size / 1e6:.3f} MB ({tiled_cpu:.2f} CPU s) + z10 reports tile {tile} B; load average {load}"
    )
    assert total > BULK and size < 3_000_000 and size < embedded / 5
    assert f"/tiles/reports/{{z}}/{{x}}/{{y}}.mvt?subdistrict={HOME}" in page
    assert "/maps/popups/reports/{id}" in page
    assert PAGE_ROW.search(page) is None and "markerClusterGroup" not in page  # no marker embedded
    assert "HeatMap" not in page and "heatLayer" not in page
    shown = re.search(r"显示(\d+)条，逾期(\d+)条", page)
    assert shown is not None and int(shown.group(1)) == total
    assert DESCRIPTION not in page and PHONE not in page and CONTACT not in page
    # The choropleth: every micro-grid with open reports is in the code → [count, colour] table, of the
    # reports the page shows the caller (not the other subdistrict's on the same ground; tests/db/test_maps_scope.py).
    table = json.loads(re.search(r'"open": (\{[^}]*\})', page).group(1))  # type: ignore[union-attr]
    open_by_grid = dict(
        query(
            big_db,
            "SELECT micro_code, count(*) FROM reports WHERE micro_code IS NOT NULL "
            f"AND (subdistrict_code IS NULL OR subdistrict_code = '{HOME}') "
            "AND status NOT IN ('closed', 'rejected', 'duplicate') GROUP BY micro_code",
        )
    )
    assert {code: v[0] for code, v in table.items()} == open_by_grid
    assert "未办结上报数（自然断点分级）" in page and "不显示热力图" in page


def test_below_the_threshold_the_incident_page_embeds_its_markers(client: TestClient) -> None:
    page = client.get("/maps/incidents").text
    assert "/tiles/reports/" not in page and PAGE_ROW.search(page) is not None


def test_cluster_counts_follow_the_filter(big: TestClient, big_db: str, big_tokens: dict[str, str]) -> None:
    assert _counted(big, f"subdistrict={HOME}") == _expected(big_db)
    assert _counted(big, f"subdistrict={HOME}&status=reported,accepted") == _expected(
        big_db, "status IN ('reported', 'accepted')"
    )
    assert _counted(big, f"subdistrict={HOME}&category=parking") == _expected(big_db, "category = 'parking'")
    assert _counted(big, f"subdistrict={HOME}&include_closed=true") == _expected(big_db, include_closed=True)
    assert _counted(big, f"subdistrict={HOME}&grid=410105012004") == _expected(
        big_db, "community_code = '410105012004'"
    )
    # The sensitive category: counted for a dispatcher, never for the public.
    assert _counted(big, f"subdistrict={HOME}&include_closed=true&category=elderly_fraud") == 0
    disp = bearer(big_tokens["home"])
    staff = _counted(big, f"subdistrict={HOME}&include_closed=true&category=elderly_fraud", disp)
    assert staff == _expected(big_db, "category = 'elderly_fraud'", include_closed=True, public=False) > 500
    # Cells, not reports: a zoomed-out tile stays small.
    features = _decode(big, f"/tiles/reports/10/835/406.mvt?subdistrict={HOME}")
    assert 0 < len(features) <= 16 and {"count", "overdue", "red"} == set(features[0]["properties"])
    assert len(_raw(big, f"/tiles/reports/10/835/406.mvt?subdistrict={HOME}")) < 2000
    for bad in ("status=nonsense", "category=nonsense", "since=2026-02-01&until=2026-01-01"):
        r = big.get(f"/tiles/reports/10/835/406.mvt?{bad}")
        assert r.status_code == 422 and r.json()["code"] == "invalid_input"
    assert big.get("/tiles/reports/3/9/0.mvt").status_code == 422


def _single_tile(url: str) -> tuple[int, tuple[int, int, int], tuple[float, float]]:
    """An open bulk report of the home subdistrict and the z17 tile holding its public (rounded) point."""
    rid, lon, lat = query(
        url,
        f"SELECT id, ST_X(geom), ST_Y(geom) FROM reports WHERE subdistrict_code = '{HOME}' "
        f"AND reporter_contact = '{CONTACT}' ORDER BY id LIMIT 1",
    )[0]
    x, y = _tile_of(round(lon, 3), round(lat, 3), 17)
    return int(rid), (17, x, y), (lon, lat)


def test_zoomed_in_single_reports_carry_no_personal_data_and_public_points_are_coarse(
    big: TestClient, big_db: str, big_tokens: dict[str, str]
) -> None:
    rid, (z, x, y), (lon, lat) = _single_tile(big_db)
    path = f"/tiles/reports/{z}/{x}/{y}.mvt?subdistrict={HOME}"
    public = {f["properties"]["id"]: f for f in _decode(big, path)}
    assert rid in public
    props = public[rid]["properties"]
    assert set(props) <= {"id", "status", "category", "overdue", "light"} and props["status"] == "in_progress"
    px, py = public[rid]["geometry"]["coordinates"]
    glon, glat = _lonlat(z, x, y, px, py, 4096)
    assert abs(glon - round(lon, 3)) < 1e-5 and abs(glat - round(lat, 3)) < 1e-5
    # Every public point lies on the 3-decimal grid (≈ 100 m): never a door plate.
    for f in public.values():
        flon, flat = _lonlat(z, x, y, *f["geometry"]["coordinates"], 4096)
        assert abs(flon * 1000 - round(flon * 1000)) < 0.01 and abs(flat * 1000 - round(flat * 1000)) < 0.01
    # A dispatcher sees the exact point.
    zx, zy = _tile_of(lon, lat, 17)
    staff = {
        f["properties"]["id"]: f
        for f in _decode(
            big, f"/tiles/reports/17/{zx}/{zy}.mvt?subdistrict={HOME}", bearer(big_tokens["home"])
        )
    }
    slon, slat = _lonlat(17, zx, zy, *staff[rid]["geometry"]["coordinates"], 4096)
    assert abs(slon - lon) < 1e-5 and abs(slat - lat) < 1e-5
    # No phone, contact or free text in any tile's bytes, whoever asks.
    for headers in ({}, bearer(big_tokens["home"]), bearer(big_tokens["admin"])):
        for p in (path, f"/tiles/reports/10/835/406.mvt?subdistrict={HOME}&include_closed=true"):
            body = _raw(big, p, headers)
            for secret in (PHONE, CONTACT, DESCRIPTION, "138****", "联系"):
                assert secret.encode() not in body


def test_a_tile_holds_the_callers_subdistrict_only(
    big: TestClient, big_db: str, big_tokens: dict[str, str]
) -> None:
    other_ids = {r[0] for r in query(big_db, f"SELECT id FROM reports WHERE subdistrict_code = '{OTHER}'")}
    assert len(other_ids) == 300

    def ids(headers: dict[str, str], params: str = f"subdistrict={HOME}") -> set[int]:
        found: set[int] = set()
        for lon, lat in query(
            big_db, f"SELECT ST_X(geom), ST_Y(geom) FROM reports WHERE subdistrict_code = '{OTHER}'"
        )[:40]:
            x, y = _tile_of(lon, lat, 18)
            found |= {
                f["properties"]["id"]
                for f in _decode(big, f"/tiles/reports/18/{x}/{y}.mvt?{params}", headers)
            }
        return found

    home = ids(bearer(big_tokens["home"]))
    assert home and not home & other_ids  # the other subdistrict's reports, though on this ground, are absent
    assert not ids({}) & other_ids  # the public map of the home subdistrict
    assert not ids(bearer(big_tokens["admin"])) & other_ids  # a district-level caller on the home map
    # The other subdistrict's dispatcher naming the home map: 404, as if it did not exist (test_maps_named.py).
    r = big.get(f"/tiles/reports/18/0/0.mvt?subdistrict={HOME}", headers=bearer(big_tokens["other"]))
    assert r.status_code == 404 and r.json()["code"] == "subdistrict_not_found", r.text[:300]
    # Counts alike: the clusters of the home map leave the other subdistrict out.
    assert _counted(big, f"subdistrict={HOME}", bearer(big_tokens["home"])) == _expected(big_db, public=False)


def test_the_click_popup_is_the_embedded_one(
    client: TestClient,
    ro_db_url: str,
    tokens: dict[str, str],
    big: TestClient,
    big_tokens: dict[str, str],
    big_db: str,
) -> None:
    """What a tiled page's click fetches is the popup the embedded page binds, phones as the caller may see
    them; a report the caller may not see listed is not found."""
    for headers in ({}, bearer(tokens["dispatcher"])):
        page = client.get("/maps/incidents?status=reported,accepted", headers=headers).text
        rows = json.loads(PAGE_ROW.search(page).group(1))  # type: ignore[union-attr]
        embedded = {row[4] for row in rows}
        hidden = "category <> 'elderly_fraud'" if not headers else "true"  # the public's page leaves it out
        ids = [
            r[0]
            for r in query(
                ro_db_url,
                f"SELECT id FROM reports WHERE status IN ('reported', 'accepted') AND {hidden} "
                "AND geom IS NOT NULL ORDER BY category = 'elderly_fraud' DESC, id",
            )
        ]
        assert len(ids) == len(rows) > 5
        for rid in ids[:8]:
            r = client.get(f"/maps/popups/reports/{rid}", headers=headers)
            assert r.status_code == 200, r.text
            assert r.json()["id"] == rid and r.json()["html"] in embedded
            assert ("****" in r.json()["html"]) == (not headers) and "查看上报详情" in r.json()["html"]
    fraud = scalar(ro_db_url, "SELECT id FROM reports WHERE category = 'elderly_fraud' ORDER BY id LIMIT 1")
    hidden = client.get(f"/maps/popups/reports/{fraud}")
    assert hidden.status_code == 404 and hidden.json()["code"] == "report_not_found"
    assert (
        client.get(f"/maps/popups/reports/{fraud}", headers=bearer(tokens["dispatcher"])).status_code == 200
    )
    assert client.get("/maps/popups/reports/999999999").status_code == 404
    # Another subdistrict's dispatcher: 404, as for GET /reports/{id}.
    rid, _, _ = _single_tile(big_db)
    assert big.get(f"/maps/popups/reports/{rid}", headers=bearer(big_tokens["home"])).status_code == 200
    refused = big.get(f"/maps/popups/reports/{rid}", headers=bearer(big_tokens["other"]))
    assert refused.status_code == 404 and refused.json()["code"] == "report_not_found"
    assert big.get(f"/reports/{rid}", headers=bearer(big_tokens["other"])).status_code == 404
