"""GridIndex against PostGIS, the ground truth: ST_Covers + ORDER BY code LIMIT 1 (repository/assignment.py).

Every comparison is set-based: the points are COPYed into a temp table (coordinates written with repr(),
which round-trips a double exactly) and answered by ONE LATERAL join, the same SQL shape the product uses
to assign reports and addresses. 0 disagreements are required on random points, on every vertex and
edge midpoint of every grid, on points 1e-9° either side of every edge, and on a real layer nobody here
drew (LA neighbourhoods, with real MyLA311 report points).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import shapely
from shapely.geometry import shape
from sqlalchemy import Connection, create_engine, text

from geo_grid.lookup import GridIndex
from geo_grid.repository.rules import covering_micro
from geo_grid.services import directory as directory_service
from geo_grid.services import generations as generation_service
from tests.support.lookup_reference import edge_probe_points
from tests.support.realdata import realdata_path


def covering_layer(point: str) -> str:
    """The same shape as rules.covering_micro, over a temp table of polygons that are not grids (LA)."""
    return f"SELECT g.code FROM layer g WHERE ST_Covers(g.geom, {point}) ORDER BY g.code LIMIT 1"


@pytest.fixture(scope="module")
def conn(ro_db_url: str) -> Iterator[Connection]:
    """One connection whose temp tables vanish with it (the shared database is left untouched)."""
    engine = create_engine(ro_db_url)
    with engine.connect() as c:
        yield c
        c.rollback()
    engine.dispose()


def load_points(conn: Connection, x: np.ndarray, y: np.ndarray) -> None:
    conn.execute(text("DROP TABLE IF EXISTS pts"))
    conn.execute(text("CREATE TEMP TABLE pts (id int PRIMARY KEY, x float8, y float8, geom geometry)"))
    rows = enumerate(zip(x.tolist(), y.tolist(), strict=True))
    buf = io.StringIO("".join(f"{i}\t{a!r}\t{b!r}\n" for i, (a, b) in rows))
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cur.copy_expert("COPY pts (id, x, y) FROM STDIN", buf)
    conn.execute(text("UPDATE pts SET geom = ST_SetSRID(ST_MakePoint(x, y), 4326)"))
    # the coordinates arrived bit for bit (no decimal rounding on the way)
    back = conn.execute(text("SELECT x, y FROM pts ORDER BY id")).all()
    assert np.array_equal(np.array(back), np.column_stack([x, y]))


def postgis_codes(
    conn: Connection, covering: Callable[[str], str], params: dict[str, Any]
) -> list[str | None]:
    """One LATERAL join: the code PostGIS assigns to each point of `pts`, in id order."""
    sql = f"""SELECT p.id, m.code FROM pts p
              LEFT JOIN LATERAL ({covering("p.geom")}) m ON true ORDER BY p.id"""
    return [code for _, code in conn.execute(text(sql), params).all()]


def disagreements(
    index: GridIndex, x: np.ndarray, y: np.ndarray, truth: list[str | None]
) -> list[tuple[float, float, str | None, str | None]]:
    pos = index.locate_many(x, y)
    ours = [index.codes[p] if p >= 0 else None for p in pos.tolist()]
    return [(float(x[i]), float(y[i]), ours[i], truth[i]) for i in range(len(x)) if ours[i] != truth[i]]


# --------------------------------------------------------------------------------- sample grids


@pytest.fixture(scope="module")
def sample(conn: Connection) -> tuple[GridIndex, int]:
    """The index exactly as the service builds it (services/directory.build) from the active generation."""
    from sqlalchemy.orm import Session

    with Session(bind=conn) as session:
        gen = generation_service.active(session)
        assert gen is not None
        index = directory_service.build(session, gen.id).index
    assert index.size == 652
    return index, gen.id


def test_sample_random_points_agree_with_postgis(conn: Connection, sample: tuple[GridIndex, int]) -> None:
    index, gen = sample
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(index.polygons, dtype=object))
    rng = np.random.default_rng(2024)
    x, y = rng.uniform(minx, maxx, 100_000), rng.uniform(miny, maxy, 100_000)
    load_points(conn, x, y)
    truth = postgis_codes(conn, covering_micro, {"gen": gen})
    assert sum(t is not None for t in truth) > 80_000 and None in truth  # inside and outside both tested
    bad = disagreements(index, x, y, truth)
    assert not bad, f"{len(bad)} disagreements with PostGIS, e.g. {bad[:5]}"


def test_sample_vertices_edges_and_near_edges_agree_with_postgis(
    conn: Connection, sample: tuple[GridIndex, int]
) -> None:
    index, gen = sample
    # every vertex, every edge midpoint, and the midpoints moved 1e-9° along both edge normals
    x, y = edge_probe_points(index.polygons, eps=1e-9)
    load_points(conn, x, y)
    truth = postgis_codes(conn, covering_micro, {"gen": gen})
    assert len(x) > 30_000
    bad = disagreements(index, x, y, truth)
    assert not bad, f"{len(bad)} of {len(x)} edge probes disagree with PostGIS, e.g. {bad[:5]}"
    # the probes really exercise the tie rule: many of them lie on two or more grids
    _, tie = index.locate_many_with_ties(x, y)
    assert tie.sum() > 10_000


# ------------------------------------------------------------------------------------ real data


@pytest.fixture(scope="module")
def la_layer(conn: Connection) -> GridIndex:
    """LA neighbourhoods in a temp table. The 4 invalid features are repaired ONCE (GridIndex.build,
    shapely.make_valid) and PostGIS gets exactly those repaired shapes (index.polygons), so both sides
    answer for the same geometry."""
    with realdata_path("la_county_neighborhoods_v6_latimes.geojson").open(encoding="utf-8") as fh:
        features = json.load(fh)["features"]
    index = GridIndex.build(
        [f["properties"]["slug"] for f in features], [shape(f["geometry"]) for f in features]
    )
    conn.execute(text("CREATE TEMP TABLE layer (code text PRIMARY KEY, geom geometry(Geometry, 4326))"))
    conn.execute(
        text("INSERT INTO layer VALUES (:code, ST_GeomFromWKB(:wkb, 4326))"),
        [{"code": c, "wkb": shapely.to_wkb(p)} for c, p in zip(index.codes, index.polygons, strict=True)],
    )
    conn.execute(text("CREATE INDEX ON layer USING gist (geom)"))
    conn.execute(text("ANALYZE layer"))
    assert conn.execute(text("SELECT bool_and(ST_IsValid(geom)) FROM layer")).scalar_one()
    return index


def myla311_points() -> tuple[np.ndarray, np.ndarray]:
    lon, lat = [], []
    with realdata_path("la_myla311_requests_2020-01-01_to_03.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["latitude"].strip() and row["longitude"].strip():
                lon.append(float(row["longitude"]))
                lat.append(float(row["latitude"]))
    return np.array(lon), np.array(lat)


def test_la_neighbourhoods_with_myla311_points_agree_with_postgis(
    conn: Connection, la_layer: GridIndex
) -> None:
    x, y = myla311_points()
    assert len(x) == 9_989
    load_points(conn, x, y)
    truth = postgis_codes(conn, covering_layer, {})
    assert sum(t is None for t in truth) == 1  # SOURCES.md: one report falls in no neighbourhood
    bad = disagreements(la_layer, x, y, truth)
    assert not bad, f"{len(bad)} disagreements with PostGIS, e.g. {bad[:5]}"


def geos_relation(conn: Connection, code: str, x: float, y: float) -> str:
    """DE-9IM of polygon `code` and the point, computed by GEOS inside PostGIS (ST_Relate is robust)."""
    sql = "SELECT ST_Relate(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326)) FROM layer WHERE code = :code"
    return str(conn.execute(text(sql), {"code": code, "x": x, "y": y}).scalar_one())


@pytest.mark.slow
def test_la_neighbourhood_edges_agree_with_postgis(conn: Connection, la_layer: GridIndex) -> None:
    """Every vertex and edge midpoint, ±1e-9°: agreement except where PostGIS's own ST_Covers is wrong.

    Found here (PostGIS 3.3.2, GEOS 3.11.1): the midpoint (-117.72854000000001, 33.704385000000144) of
    the edge Irvine / Silverado Canyon shares. In exact arithmetic its orientation determinant against
    that edge is +2.02e-28, not 0: it lies strictly inside Silverado Canyon, off Irvine. GEOS agrees
    (ST_Relate in PostGIS: '0F2FF1FF2' for Silverado Canyon, 'FF2FF10F2' = exterior for Irvine), and so
    does GridIndex. ST_Covers, though, answers points in polygons with PostGIS's own non-robust
    point-in-polygon shortcut, whose double determinant rounds to 0.0: it says BOTH cover it and the tie
    rule picks "irvine". Such a point is within ~1e-16° (nanometres) of an edge; PostGIS is not
    followed there, because its answer is not the covering polygon. The test therefore requires every
    disagreement to be one where GEOS (in the same PostGIS) says our polygon covers the point and
    PostGIS's choice does not - and fails on any other.
    """
    x, y = edge_probe_points(la_layer.polygons, eps=1e-9)
    load_points(conn, x, y)
    truth = postgis_codes(conn, covering_layer, {})
    bad = disagreements(la_layer, x, y, truth)
    unexplained = []
    for px, py, ours, theirs in bad:
        rel_ours = geos_relation(conn, ours, px, py) if ours else "FF2FF1FF2"
        rel_theirs = geos_relation(conn, theirs, px, py) if theirs else "FF2FF1FF2"
        covers_ours = rel_ours[0] != "F" or rel_ours[3] != "F"  # point meets our interior or boundary
        covers_theirs = rel_theirs[0] != "F" or rel_theirs[3] != "F"
        if not (covers_ours and not covers_theirs):
            unexplained.append((px, py, ours, theirs, rel_ours, rel_theirs))
    assert not unexplained, (
        f"{len(unexplained)} of {len(x)} edge probes disagree with PostGIS: {unexplained[:5]}"
    )
    # the known case above (the same midpoint appears once per polygon sharing the edge); more means
    # something new to investigate
    assert len({(px, py) for px, py, *_ in bad}) <= 1, bad
