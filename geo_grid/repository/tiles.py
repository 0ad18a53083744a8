"""SQL for Mapbox vector tiles (ST_AsMVT): one layer of one tile, built by PostGIS.

Grids come from the generations asked for (one, or every subdistrict's active one); communities, facilities,
road segments and courtyards are not versioned: those of the subdistricts asked for (maps.of_subdistricts, the
embedded page's rule); reports (the incident map of a district or city) go by the incident page's filter,
the caller's scope and the privacy policy.
Geometries are clipped to the tile with a 64-unit buffer (of 4096) so that outlines join seamlessly
across tiles.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_grid.repository import maps as map_repo
from geo_grid.repository import reports as report_repo

EXTENT, BUFFER = 4096, 64

# Whether a micro-grid has a 微网格长 (the coverage map's 无微网格长 layer); a flag, no personal data.
_HAS_LEADER = (
    "EXISTS (SELECT 1 FROM roles r WHERE r.grid_code = src.code AND r.role = 'micro_grid_leader')"
    " AS has_leader"
)
# layer → (its rows, the properties kept: columns of src or SQL expressions over it); :gens are the generations.
_SOURCES = {
    "micro_grids": ("grids WHERE generation_id = ANY(:gens) AND level = 'micro'",
                    ("src.code", "src.name", "src.level", "src.parent_code", "src.community_code", _HAS_LEADER)),
    "tertiary_grids": ("grids WHERE generation_id = ANY(:gens) AND level = 'tertiary'",
                       ("src.code", "src.name", "src.level", "src.parent_code", "src.community_code")),
    "communities": ("communities WHERE geom IS NOT NULL", ("src.code", "src.name")),
    "facilities": ("facilities WHERE geom IS NOT NULL",
                   ("src.facility_id", "src.kind", "src.name", "src.micro_code")),
    # The coverage map's 路段长负责路段 and 楼院长负责楼院 (their chiefs come with the popup, not the tile).
    "road_segments": ("road_segments WHERE geom IS NOT NULL",
                      ("src.segment_id AS id", "src.road_name AS name", "src.tertiary_code")),
    "courtyards": ("courtyards WHERE geom IS NOT NULL",
                   ("src.courtyard_id AS id", "src.name", "src.micro_code", "src.tertiary_code")),
}  # fmt: skip
LAYERS = tuple(_SOURCES)
VERSIONED = frozenset({"micro_grids", "tertiary_grids"})  # by generation; the others by subdistrict


def tile(
    session: Session,
    layer: str,
    z: int,
    x: int,
    y: int,
    generation_ids: Collection[int],
    subdistricts: Collection[str] | None = None,
) -> bytes:
    """The tile (z, x, y) of `layer` as MVT bytes (empty when nothing lies in it); grids of the
    generations `generation_ids`, the other layers (not versioned) of `subdistricts` (None: every one's)."""
    rows, columns = _SOURCES[layer]
    within, params = map_repo.of_subdistricts(subdistricts, "subdistrict_code")
    if layer not in VERSIONED:
        rows = f"{rows} AND {within}"
    sql = f"""
        WITH env AS (SELECT ST_TileEnvelope(:z, :x, :y) AS merc),
             src AS (SELECT * FROM {rows}),
             feats AS (
               SELECT ST_AsMVTGeom(ST_Transform(src.geom, 3857), env.merc, {EXTENT}, {BUFFER}, true) AS geom,
                      {", ".join(columns)}
               FROM src, env
               WHERE src.geom && ST_Transform(ST_Expand(env.merc, (ST_XMax(env.merc) - ST_XMin(env.merc))
                                                              * {BUFFER} / {EXTENT}), 4326))
        SELECT ST_AsMVT(feats.*, :layer, {EXTENT}, 'geom') FROM feats WHERE geom IS NOT NULL"""
    params.update(z=z, x=x, y=y, layer=layer, gens=list(generation_ids))
    value = session.execute(text(sql), params).scalar()
    return bytes(value) if value is not None else b""


# ------------------------------------------------------------------ reports (the incident map, tiled)
# Below this zoom a reports tile carries counts per cell of CLUSTER_CELL × CLUSTER_CELL tile units (1024 of
# 4096: 64 px on a 256-px tile), from it on one point per report.
REPORT_SINGLE_MIN_ZOOM = 17
CLUSTER_CELL = 1024
# A report's position in a tile: exact, or rounded to `decimals` places (privacy.coarse, for the public),
# rounded before tiling so that no zoom shows more than the policy allows.
_EXACT = "r.geom"
_ROUNDED = (
    "ST_SetSRID(ST_MakePoint(round(ST_X(r.geom)::numeric, :decimals)::float8, "
    "round(ST_Y(r.geom)::numeric, :decimals)::float8), 4326)"
)


@dataclass(frozen=True, slots=True)
class ReportSummary:
    """What the tiled incident page states of the reports its tiles draw (title, legend)."""

    total: int
    overdue: int
    red: int  # in a stage past its deadline (红灯)
    statuses: tuple[str, ...]  # the states present, in no particular order


def reports_summary(session: Session, f: report_repo.ReportFilter, now: datetime) -> ReportSummary:
    """Counts over the reports `f` selects (those with a point), one query."""
    where, params = report_repo.filter_where(replace(f, has_point=True), now)
    sql = f"""SELECT count(*) AS total, count(*) FILTER (WHERE {report_repo.OVERDUE}) AS overdue,
                     count(*) FILTER (WHERE {report_repo.LIGHT} = 'red') AS red,
                     coalesce(array_agg(DISTINCT r.status), '{{}}') AS statuses
              FROM reports r {report_repo.SLA_JOIN} WHERE {where}"""
    row = session.execute(text(sql), params).one()
    return ReportSummary(int(row.total), int(row.overdue), int(row.red), tuple(row.statuses))


@dataclass(frozen=True, slots=True)
class ReportTile:
    """One tile of the incident map: its MVT bytes and the ids of the reports of the named categories it
    draws (as points zoomed in, inside a cell's count and position zoomed out), for the audit log."""

    body: bytes
    named_ids: tuple[int, ...]


def report_tile(
    session: Session,
    f: report_repo.ReportFilter,
    now: datetime,
    z: int,
    x: int,
    y: int,
    decimals: int | None,
    named_categories: Collection[str] = (),
) -> ReportTile:
    """The tile (z, x, y) of the reports `f` selects as MVT bytes (layer `reports`): below
    REPORT_SINGLE_MIN_ZOOM one point per occupied cell with `count`, `overdue` and `red` (how many of its
    reports are overdue, in a red stage); from it one point per report with `id`, `status`, `category`,
    `overdue` and `light`. Never free text or a contact. Positions rounded to `decimals` places if given.
    With it, in the same query, the ids of the reports in the tile whose category is in `named_categories`."""
    where, params = report_repo.filter_where(replace(f, has_point=True), now)
    position = _EXACT if decimals is None else _ROUNDED
    # Reports whose (rounded) position may lie in the tile: the index finds them by their stored point,
    # within the rounding's reach of the tile; ST_AsMVTGeom then keeps exactly those inside it.
    reach = 0.0 if decimals is None else 0.6 * 10.0**-decimals
    points = f"""
        WITH env AS (SELECT ST_TileEnvelope(:z, :x, :y) AS merc),
             pts AS (
               SELECT ST_AsMVTGeom(ST_Transform({position}, 3857), env.merc, {EXTENT}, 0, true) AS geom,
                      r.id, r.status, r.category, {report_repo.OVERDUE} AS overdue, {report_repo.LIGHT} AS light
               FROM reports r {report_repo.SLA_JOIN}, env
               WHERE r.geom && ST_Expand(ST_Transform(env.merc, 4326), :reach) AND {where})"""
    if z >= REPORT_SINGLE_MIN_ZOOM:
        ctes = points
        feats = (
            "SELECT geom, id, status, category, overdue, light FROM pts WHERE geom IS NOT NULL ORDER BY id"
        )
    else:
        ctes = f"""{points},
             cells AS (
               SELECT count(*) AS n, count(*) FILTER (WHERE overdue) AS overdue,
                      count(*) FILTER (WHERE light = 'red') AS red, avg(ST_X(geom)) AS cx, avg(ST_Y(geom)) AS cy
               FROM pts WHERE geom IS NOT NULL
               GROUP BY floor(ST_X(geom) / {CLUSTER_CELL}), floor(ST_Y(geom) / {CLUSTER_CELL}))"""
        feats = "SELECT ST_MakePoint(round(cx), round(cy)) AS geom, n AS count, overdue, red FROM cells ORDER BY n DESC"
    sql = f"""{ctes}
        SELECT (SELECT ST_AsMVT(feats.*, 'reports', {EXTENT}, 'geom') FROM ({feats}) feats) AS body,
               (SELECT coalesce(array_agg(id ORDER BY id), '{{}}') FROM pts
                WHERE geom IS NOT NULL AND category = ANY(CAST(:named AS text[]))) AS named"""
    params.update(z=z, x=x, y=y, reach=reach, decimals=decimals, named=sorted(named_categories))
    row = session.execute(text(sql), params).one()
    return ReportTile(bytes(row.body) if row.body is not None else b"", tuple(int(i) for i in row.named))
