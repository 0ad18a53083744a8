"""SQL for communities."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_grid.models import METRIC_SRID


@dataclass(frozen=True, slots=True)
class Community:
    """A community (社区) with its area (m², EPSG:4547) and GeoJSON outline (None when not loaded)."""

    code: str
    name: str
    area_m2: float | None
    geometry: dict[str, Any] | None

    def properties(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "area_m2": self.area_m2}


def list_communities(session: Session) -> list[Community]:
    sql = f"""SELECT c.code, c.name,
                     round(ST_Area(ST_Transform(c.geom, {METRIC_SRID}))::numeric, 1)::float AS area_m2,
                     ST_AsGeoJSON(c.geom, 7)::json AS geometry
              FROM communities c ORDER BY c.code"""
    return [Community(**r._mapping) for r in session.execute(text(sql))]


def names(session: Session) -> dict[str, str]:
    return {r.code: r.name for r in session.execute(text("SELECT code, name FROM communities"))}
