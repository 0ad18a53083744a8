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
