"""Set-based point → micro-grid assignment in PostGIS, with the one lookup rule of geo_grid.lookup:
the micro-grid whose polygon covers the point (ST_Covers, boundary included), ties to the smallest code."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

COVERING_MICRO = """
SELECT g.code, g.parent_code, g.community_code FROM grids g
WHERE g.generation_id = :gen AND g.level = 'micro' AND ST_Covers(g.geom, {point})
ORDER BY g.code LIMIT 1
"""


def assign_addresses(session: Session, generation_id: int) -> int:
    sql = f"""UPDATE addresses a SET micro_code = m.code
              FROM addresses a2 LEFT JOIN LATERAL ({COVERING_MICRO.format(point="a2.geom")}) m ON true
              WHERE a.id = a2.id"""
    return session.execute(text(sql), {"gen": generation_id}).rowcount  # type: ignore[attr-defined]


def assign_reports(session: Session, generation_id: int, only_unassigned: bool = False) -> int:
    """(Re)assign every report with a point; a point outside every grid is flagged `outside`."""
    extra = " AND r2.micro_code IS NULL" if only_unassigned else ""
    sql = f"""UPDATE reports r SET micro_code = m.code, tertiary_code = m.parent_code,
                     community_code = m.community_code, outside = (m.code IS NULL)
              FROM reports r2 LEFT JOIN LATERAL ({COVERING_MICRO.format(point="r2.geom")}) m ON true
              WHERE r.id = r2.id AND r2.geom IS NOT NULL{extra}"""
    return session.execute(text(sql), {"gen": generation_id}).rowcount  # type: ignore[attr-defined]


def assign_point_facilities(session: Session, generation_id: int) -> int:
    sql = f"""UPDATE facilities f SET micro_code = m.code
              FROM facilities f2 LEFT JOIN LATERAL ({COVERING_MICRO.format(point="f2.geom")}) m ON true
              WHERE f.id = f2.id AND GeometryType(f2.geom) = 'POINT'"""
    return session.execute(text(sql), {"gen": generation_id}).rowcount  # type: ignore[attr-defined]
