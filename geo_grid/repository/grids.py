"""SQL for grids: GeoJSON-ready reads with areas computed in EPSG:4547, and index snapshots."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_grid.models import METRIC_SRID


@dataclass(frozen=True, slots=True)
class Grid:
    """One grid of a generation as the API shows it: metadata, area (m², EPSG:4547) and GeoJSON geometry."""

    code: str
    name: str
    level: str
    parent_code: str
    community_code: str
    version: int
    generation_id: int
    area_m2: float
    geometry: dict[str, Any]

    def properties(self) -> dict[str, Any]:
        """The GeoJSON feature properties (every field but the geometry)."""
        return {
            "code": self.code,
            "name": self.name,
            "level": self.level,
            "parent_code": self.parent_code,
            "community_code": self.community_code,
            "version": self.version,
            "generation_id": self.generation_id,
            "area_m2": self.area_m2,
        }


@dataclass(frozen=True, slots=True)
class GridRef:
    """A grid named by code, name and level (a parent or a child)."""

    code: str
    name: str
    level: str


_SELECT = f"""
SELECT g.code, g.name, g.level, g.parent_code, g.community_code, g.version, g.generation_id,
       round(ST_Area(ST_Transform(g.geom, {METRIC_SRID}))::numeric, 1)::float AS area_m2,
       ST_AsGeoJSON(g.geom, 7)::json AS geometry
FROM grids g
"""


def _grids(session: Session, sql: str, params: dict[str, Any]) -> list[Grid]:
    return [Grid(**r._mapping) for r in session.execute(text(sql), params)]


def list_grids(
    session: Session,
    generation_id: int | Sequence[int],
    level: str | None = None,
    community: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[Grid]:
    return _grids(session, *_list_query(generation_id, level, community, bbox, limit, offset))


def iter_grids(
    session: Session,
    generation_id: int | Sequence[int],
    level: str | None = None,
    community: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> Iterator[Grid]:
    """The grids of list_grids (no limit), fetched from a server-side cursor a few hundred at a time:
    memory stays flat however many grids a district or city has."""
    sql, params = _list_query(generation_id, level, community, bbox, None, 0)
    for row in session.execute(text(sql).execution_options(yield_per=500), params):
        yield Grid(**row._mapping)


def _list_query(
    generation_id: int | Sequence[int],
    level: str | None,
    community: str | None,
    bbox: tuple[float, float, float, float] | None,
    limit: int | None,
    offset: int,
) -> tuple[str, dict[str, Any]]:
    # One generation, or several (the whole district: every subdistrict's).
    params: dict[str, Any] = {"offset": offset}
    if isinstance(generation_id, int):
        where, params["gen"] = ["g.generation_id = :gen"], generation_id
    else:
        where, params["gen"] = ["g.generation_id = ANY(:gen)"], list(generation_id)
    if level:
        where.append("g.level = :level")
        params["level"] = level
    if community:
        where.append("g.community_code = :community")
        params["community"] = community
    if bbox:
        where.append("ST_Intersects(g.geom, ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326))")
        params.update(x0=bbox[0], y0=bbox[1], x1=bbox[2], y1=bbox[3])
    sql = _SELECT + " WHERE " + " AND ".join(where) + " ORDER BY g.level DESC, g.code OFFSET :offset"
    if limit is not None:
        sql += " LIMIT :limit"
        params["limit"] = limit
    return sql, params


def get_grid(session: Session, generation_id: int, code: str) -> Grid | None:
    rows = _grids(
        session,
        _SELECT + " WHERE g.generation_id = :gen AND g.code = :code",
        {"gen": generation_id, "code": code},
    )
    return rows[0] if rows else None


def children(session: Session, generation_id: int, code: str) -> list[GridRef]:
    sql = (
        "SELECT code, name, level FROM grids WHERE generation_id = :gen AND parent_code = :code ORDER BY code"
    )
    return [
        GridRef(r.code, r.name, r.level)
        for r in session.execute(text(sql), {"gen": generation_id, "code": code})
    ]


def names(session: Session, generation_id: int, codes: list[str]) -> dict[str, str]:
    sql = "SELECT code, name FROM grids WHERE generation_id = :gen AND code = ANY(:codes)"
    return {r.code: r.name for r in session.execute(text(sql), {"gen": generation_id, "codes": codes})}


def counts(session: Session, generation_id: int) -> dict[str, int]:
    sql = "SELECT level, count(*) AS n FROM grids WHERE generation_id = :gen GROUP BY level"
    return {r.level: r.n for r in session.execute(text(sql), {"gen": generation_id})}


@dataclass(frozen=True, slots=True)
class GridRecord:
    """One grid as the in-memory lookup needs it: metadata and WKB geometry."""

    code: str
    name: str
    level: str
    parent_code: str
    community_code: str
    wkb: bytes


def records(session: Session, generation_id: int) -> list[GridRecord]:
    sql = """SELECT code, name, level, parent_code, community_code, ST_AsBinary(geom) AS wkb
             FROM grids WHERE generation_id = :gen ORDER BY code"""
    return [
        GridRecord(r.code, r.name, r.level, r.parent_code, r.community_code, bytes(r.wkb))
        for r in session.execute(text(sql), {"gen": generation_id})
    ]
