"""SQL for communities."""

from __future__ import annotations

from dataclasses import asdict, dataclass
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
    subdistrict_code: str

    def properties(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "area_m2": self.area_m2,
            "subdistrict_code": self.subdistrict_code,
        }


def list_communities(session: Session, subdistrict: str | None = None) -> list[Community]:
    """The communities of one subdistrict, or of every subdistrict (None), by code."""
    where = "WHERE c.subdistrict_code = :sub" if subdistrict is not None else ""
    sql = f"""SELECT c.code, c.name,
                     round(ST_Area(ST_Transform(c.geom, {METRIC_SRID}))::numeric, 1)::float AS area_m2,
                     ST_AsGeoJSON(c.geom, 7)::json AS geometry, c.subdistrict_code
              FROM communities c {where} ORDER BY c.code"""
    return [Community(**r._mapping) for r in session.execute(text(sql), {"sub": subdistrict})]


def names(session: Session) -> dict[str, str]:
    return {r.code: r.name for r in session.execute(text("SELECT code, name FROM communities"))}


@dataclass(frozen=True, slots=True)
class NewCommunity:
    """A community to insert or update: its outline as WKB (WGS84) and its subdistrict."""

    code: str
    name: str
    wkb: bytes
    subdistrict_code: str


def upsert(session: Session, rows: list[NewCommunity]) -> int:
    """Insert or update by code; returns how many existed before."""
    codes = [r.code for r in rows]
    existing = session.execute(
        text("SELECT count(*) FROM communities WHERE code = ANY(:c)"), {"c": codes}
    ).scalar_one()
    if rows:
        session.execute(
            text(
                """INSERT INTO communities (code, name, geom, subdistrict_code)
                   VALUES (:code, :name, ST_Multi(ST_GeomFromWKB(:wkb, 4326)), :subdistrict_code)
                   ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, geom = EXCLUDED.geom"""
            ),
            [asdict(r) for r in rows],
        )
    return int(existing)
