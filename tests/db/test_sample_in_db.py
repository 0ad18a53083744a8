"""The sample as loaded into PostGIS keeps its invariants: counts, exact tiling, codes, roles, parking lot."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text


@pytest.fixture(scope="module")
def conn(ro_db_url):
    engine = create_engine(ro_db_url)
    with engine.connect() as c:
        yield c
    engine.dispose()


def scalar(conn, sql: str, **params):
    return conn.execute(text(sql), params).scalar()


def test_counts_and_hierarchical_codes(conn) -> None:
    assert scalar(conn, "SELECT count(*) FROM communities") == 11
    assert scalar(conn, "SELECT count(*) FROM grids WHERE generation_id = 1 AND level = 'tertiary'") == 73
    assert scalar(conn, "SELECT count(*) FROM grids WHERE generation_id = 1 AND level = 'micro'") == 652
    bad = scalar(
        conn,
        """SELECT count(*) FROM grids WHERE generation_id = 1 AND NOT (
             (level = 'tertiary' AND length(code) = 15 AND parent_code = community_code AND left(code, 12) = parent_code)
          OR (level = 'micro' AND length(code) = 18 AND left(code, 15) = parent_code AND left(code, 12) = community_code))""",
    )
    assert bad == 0
    assert scalar(conn, "SELECT count(DISTINCT code) FROM grids WHERE generation_id = 1") == 725


def test_every_grid_is_valid_and_children_tile_their_parent_exactly(conn) -> None:
    assert scalar(conn, "SELECT count(*) FROM grids WHERE NOT ST_IsValid(geom)") == 0
    # Per parent: |parent Δ union(children)| and the overlap (sum of child areas − union area), in m².
    rows = conn.execute(
        text(
            """WITH kids AS (
                 SELECT parent_code, ST_Union(geom) AS u, sum(ST_Area(ST_Transform(geom, 4547))) AS total
                 FROM grids WHERE generation_id = 1 GROUP BY parent_code),
               parents AS (
                 SELECT code, geom FROM grids WHERE generation_id = 1 AND level = 'tertiary'
                 UNION ALL SELECT code, geom FROM communities)
               SELECT p.code,
                      ST_Area(ST_Transform(ST_SymDifference(p.geom, k.u), 4547)) AS gap_or_spill,
                      k.total - ST_Area(ST_Transform(k.u, 4547)) AS overlap
               FROM parents p JOIN kids k ON k.parent_code = p.code"""
        )
    ).all()
    assert len(rows) == 73 + 11
    assert max(r.gap_or_spill for r in rows) < 1.0
    assert max(abs(r.overlap) for r in rows) < 1.0


def test_role_counts_follow_the_grid_team_organisation(conn) -> None:
    counts = dict(conn.execute(text("SELECT role, count(*) FROM roles GROUP BY role")).all())
    assert counts == {
        "grid_leader": 73,
        "party_secretary": 73,
        "micro_grid_leader": 652,
        "road_section_chief": 202,
        "courtyard_chief": 157,
        "officer": 657,
        "volunteer": 3002,
    }
    uncovered = scalar(
        conn,
        """SELECT count(*) FROM grids g WHERE g.generation_id = 1 AND g.level = 'micro' AND NOT EXISTS (
             SELECT 1 FROM roles r WHERE r.grid_code = g.code AND r.role = 'micro_grid_leader')""",
    )
    assert uncovered == 0


def test_parking_lot_is_22_mu_in_gauss_kruger_metres(conn) -> None:
    area = scalar(conn, "SELECT ST_Area(ST_Transform(geom, 4547)) FROM facilities WHERE kind = 'parking'")
    assert area == pytest.approx(14_667, rel=0.01)


def test_addresses_and_reports_are_assigned_by_the_covers_rule(conn) -> None:
    assert scalar(conn, "SELECT count(*) FROM addresses") >= 5_000
    assert scalar(conn, "SELECT count(*) FROM addresses WHERE micro_code IS NULL") == 0
    assert scalar(conn, "SELECT count(*) FROM reports") >= 10_000
    outside = scalar(conn, "SELECT count(*) FROM reports WHERE outside")
    assert 0 < outside < 0.05 * scalar(conn, "SELECT count(*) FROM reports")
    assert scalar(conn, "SELECT count(*) FROM reports WHERE NOT outside AND micro_code IS NULL") == 0
