"""SQL for the tiled coverage map's search box: grids of one generation by code or part of the name."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class GridHit:
    """A grid found by the search: its bounds (south, west, north, east) and a point inside it (lat, lon)."""

    code: str
    name: str
    level: str
    bounds: tuple[float, float, float, float]
    point: tuple[float, float]


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(session: Session, generation_id: int, q: str, code: str, limit: int) -> list[GridHit]:
    """The grid whose code is `code` first, then grids whose code starts with `q` or whose name contains
    it, tertiary before micro, by code (the embedded page's search box picks them in the same order)."""
    sql = """
        SELECT code, name, level, ST_YMin(geom) AS s, ST_XMin(geom) AS w, ST_YMax(geom) AS n,
               ST_XMax(geom) AS e, ST_Y(ST_PointOnSurface(geom)) AS py, ST_X(ST_PointOnSurface(geom)) AS px
        FROM grids
        WHERE generation_id = :gen AND level IN ('tertiary', 'micro') AND geom IS NOT NULL
          AND (code = :code OR code LIKE :prefix ESCAPE '\\' OR name LIKE :part ESCAPE '\\')
        ORDER BY code = :code DESC, level = 'tertiary' DESC, code
        LIMIT :limit"""
    params = {
        "gen": generation_id,
        "code": code,
        "prefix": _like(q) + "%",
        "part": "%" + _like(q) + "%",
        "limit": limit,
    }
    return [
        GridHit(r.code, r.name, r.level, (r.s, r.w, r.n, r.e), (r.py, r.px))
        for r in session.execute(text(sql), params)
    ]


@dataclass(frozen=True)
class GridLabel:
    """Where a grid's label goes (a point inside it) and what it says; `parent_name` is the tertiary
    grid's name of a micro-grid (the label drops it: 康复社区第1网格第1微网格 → 第1微网格)."""

    code: str
    name: str
    parent_name: str | None
    lat: float
    lon: float


def labels(
    session: Session,
    generation_id: int,
    level: str,
    bbox: tuple[float, float, float, float],
    limit: int,
) -> list[GridLabel]:
    """The labels of the grids of `level` whose label point lies in bbox (min_lon, min_lat, max_lon,
    max_lat), by code, at most `limit`."""
    sql = """
        WITH pts AS (
          SELECT g.code, g.name, g.parent_code, ST_PointOnSurface(g.geom) AS pt
          FROM grids g
          WHERE g.generation_id = :gen AND g.level = :level AND g.geom IS NOT NULL
            AND g.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326))
        SELECT pts.code, pts.name, p.name AS parent_name, ST_Y(pts.pt) AS lat, ST_X(pts.pt) AS lon
        FROM pts LEFT JOIN grids p ON p.generation_id = :gen AND p.code = pts.parent_code
        WHERE pts.pt && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)
        ORDER BY pts.code
        LIMIT :limit"""
    x0, y0, x1, y1 = bbox
    params = {"gen": generation_id, "level": level, "x0": x0, "y0": y0, "x1": x1, "y1": y1, "limit": limit}
    return [
        GridLabel(r.code, r.name, r.parent_name, r.lat, r.lon) for r in session.execute(text(sql), params)
    ]


@dataclass(frozen=True)
class DutyArea:
    """A road segment (路段) or courtyard (楼院) with the names of its chiefs (路段长 / 楼院长)."""

    id: str
    name: str
    micro_code: str | None
    tertiary_code: str | None
    chiefs: tuple[str, ...]


# kind → (table, id column, name column, micro column or NULL, the chiefs' role)
_DUTY = {
    "road_segments": ("road_segments", "segment_id", "road_name", "NULL", "road_section_chief"),
    "courtyards": ("courtyards", "courtyard_id", "name", "t.micro_code", "courtyard_chief"),
}
DUTY_KINDS = tuple(_DUTY)


def duty_area(session: Session, kind: str, area_id: str) -> DutyArea | None:
    """One road segment or courtyard by id, its chiefs by person_id (as repository/maps.py lists them)."""
    table, key, name, micro, role = _DUTY[kind]
    sql = f"""
        SELECT t.{key} AS id, t.{name} AS name, {micro} AS micro_code, t.tertiary_code,
               coalesce((SELECT array_agg(p.name ORDER BY p.person_id) FROM roles ro
                         JOIN people p ON p.id = ro.person_id
                         WHERE ro.role = :role AND ro.target_id = t.{key}), '{{}}') AS chiefs
        FROM {table} t WHERE t.{key} = :id"""
    r = session.execute(text(sql), {"role": role, "id": area_id}).first()
    if r is None:
        return None
    return DutyArea(r.id, r.name, r.micro_code, r.tertiary_code, tuple(r.chiefs))
