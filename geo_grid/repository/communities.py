"""SQL for communities."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session


def list_communities(session: Session) -> list[dict[str, Any]]:
    sql = """SELECT c.code, c.name,
                    round(ST_Area(ST_Transform(c.geom, 4547))::numeric, 1)::float AS area_m2,
                    ST_AsGeoJSON(c.geom, 7)::json AS geometry
             FROM communities c ORDER BY c.code"""
    return [dict(r._mapping) for r in session.execute(text(sql))]


def names(session: Session) -> dict[str, str]:
    return {r.code: r.name for r in session.execute(text("SELECT code, name FROM communities"))}
