"""SQL for facilities (points and polygons) and their overlap with the grids, areas in EPSG:4547."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from geo_grid.models import METRIC_SRID, SRID

_SELECT = f"""
SELECT f.id, f.facility_id, f.kind, f.name, f.attributes, f.micro_code, GeometryType(f.geom) AS geometry_type,
       CASE WHEN GeometryType(f.geom) = 'POINT' THEN NULL
            ELSE round(ST_Area(ST_Transform(f.geom, {METRIC_SRID}))::numeric, 1)::float END AS area_m2,
       f.created_at, f.updated_at, ST_AsGeoJSON(f.geom, 7)::json AS geometry
FROM facilities f
"""


@dataclass(frozen=True, slots=True)
class Facility:
    """One facility row; `geometry` is GeoJSON (WGS84, 7 decimals), `area_m2` None for points."""

    id: int
    facility_id: str | None
    kind: str
    name: str
    attributes: dict[str, Any]
    micro_code: str | None
    geometry_type: str
    area_m2: float | None
    created_at: datetime
    updated_at: datetime
    geometry: dict[str, Any]


@dataclass(frozen=True, slots=True)
class GridOverlap:
    """A micro-grid a polygon facility overlaps: area in m² (EPSG:4547), share of the facility's area."""

    code: str
    name: str
    parent_code: str
    community_code: str
    area_m2: float
    share: float | None


def _rows(session: Session, sql: str, params: dict[str, Any]) -> list[Facility]:
    return [Facility(**r._mapping) for r in session.execute(text(sql), params)]


def list_facilities(session: Session, kind: str | None = None) -> list[Facility]:
    where = " WHERE f.kind = :kind" if kind else ""
    return _rows(session, _SELECT + where + " ORDER BY f.id", {"kind": kind})


def get(session: Session, ref: str) -> Facility | None:
    """By numeric id or by facility_id (F001 …)."""
    numeric = ref.isascii() and ref.isdigit()  # "²".isdigit() is True, int("²") fails
    cond = "f.id = :id" if numeric else "f.facility_id = :fid"
    params = {"id": int(ref)} if numeric and int(ref) < 2**31 else {"id": -1, "fid": ref}
    rows = _rows(session, _SELECT + f" WHERE {cond}", params)
    return rows[0] if rows else None


def facility_id_taken(session: Session, facility_id: str) -> bool:
    sql = "SELECT 1 FROM facilities WHERE facility_id = :fid"
    return session.execute(text(sql), {"fid": facility_id}).first() is not None


def insert(session: Session, facility_id: str | None, kind: str, name: str, geometry: dict[str, Any],
           attributes: dict[str, Any]) -> int:  # fmt: skip
    stmt = text(
        f"""INSERT INTO facilities (facility_id, kind, name, geom, attributes)
            VALUES (:fid, :kind, :name, ST_SetSRID(ST_GeomFromGeoJSON(:geom), {SRID}), :attributes)
            RETURNING id"""
    ).bindparams(bindparam("attributes", type_=JSONB))
    params = {
        "fid": facility_id,
        "kind": kind,
        "name": name,
        "geom": json.dumps(geometry),
        "attributes": attributes,
    }
    new_id = int(session.execute(stmt, params).scalar_one())
    if facility_id is None:  # a readable id like the sample's F001
        session.execute(text("UPDATE facilities SET facility_id = 'F' || lpad(id::text, 3, '0') WHERE id = :id"),
                        {"id": new_id})  # fmt: skip
    return new_id


def update(session: Session, facility_pk: int, fields: dict[str, Any]) -> None:
    sets: list[str] = []
    params: dict[str, Any] = {"id": facility_pk}
    for key, value in fields.items():
        if key == "geometry":
            sets.append(f"geom = ST_SetSRID(ST_GeomFromGeoJSON(:geom), {SRID})")
            params["geom"] = json.dumps(value)
        else:
            sets.append(f"{key} = :{key}")
            params[key] = value
    stmt = text(f"UPDATE facilities SET {', '.join(sets)}, updated_at = geo_grid_now() WHERE id = :id")
    if "attributes" in fields:
        stmt = stmt.bindparams(bindparam("attributes", type_=JSONB))
    session.execute(stmt, params)


def delete(session: Session, facility_pk: int) -> None:
    session.execute(text("DELETE FROM facilities WHERE id = :id"), {"id": facility_pk})


def overlaps(session: Session, generation_id: int | Sequence[int], facility_pk: int) -> list[GridOverlap]:
    """Every micro-grid (of the generation, or generations: one per subdistrict) a polygon facility
    overlaps: the overlap area (m², EPSG:4547) and its share of the facility's area, largest first."""
    sql = f"""
    WITH f AS (SELECT geom, ST_Area(ST_Transform(geom, {METRIC_SRID})) AS area FROM facilities WHERE id = :id),
    o AS (
      SELECT g.code, g.name, g.parent_code, g.community_code,
             ST_Area(ST_Transform(ST_Intersection(g.geom, f.geom), {METRIC_SRID})) AS area_m2, f.area
      FROM grids g, f
      WHERE g.generation_id = ANY(:gens) AND g.level = 'micro' AND ST_Intersects(g.geom, f.geom))
    SELECT code, name, parent_code, community_code, round(area_m2::numeric, 1)::float AS area_m2,
           CASE WHEN area > 0 THEN area_m2 / area END AS share
    FROM o WHERE area_m2 > 0 ORDER BY area_m2 DESC, code"""
    params = {"id": facility_pk, "gens": _ids(generation_id)}
    return [GridOverlap(**r._mapping) for r in session.execute(text(sql), params)]


def assign_polygon_primaries(session: Session, generation_id: int) -> int:
    """Set micro_code of every polygon facility of the generation's subdistrict to its primary grid: the
    micro-grid of the largest overlap."""
    sql = f"""UPDATE facilities f SET micro_code = (
                SELECT g.code FROM grids g
                WHERE g.generation_id = :gen AND g.level = 'micro' AND ST_Intersects(g.geom, f.geom)
                ORDER BY ST_Area(ST_Transform(ST_Intersection(g.geom, f.geom), {METRIC_SRID})) DESC, g.code LIMIT 1)
              WHERE GeometryType(f.geom) <> 'POINT'
                AND f.subdistrict_code = (SELECT subdistrict_code FROM generations WHERE id = :gen)"""
    return int(session.execute(text(sql), {"gen": generation_id}).rowcount)  # type: ignore[attr-defined]


def _ids(generation_id: int | Sequence[int]) -> list[int]:
    return [generation_id] if isinstance(generation_id, int) else list(generation_id)


def in_grid(session: Session, generation_id: int | Sequence[int], code: str) -> list[Facility]:
    """Facilities in a grid at any level: points by their micro-grid (codes are hierarchical, so a prefix
    names every level), polygons by a positive-area overlap with a micro-grid under that code."""
    sql = (
        _SELECT
        + f"""WHERE (GeometryType(f.geom) = 'POINT' AND f.micro_code LIKE :prefix)
        OR (GeometryType(f.geom) <> 'POINT' AND EXISTS (
              SELECT 1 FROM grids g WHERE g.generation_id = ANY(:gens) AND g.level = 'micro' AND g.code LIKE :prefix
                AND ST_Intersects(g.geom, f.geom)
                AND ST_Area(ST_Transform(ST_Intersection(g.geom, f.geom), {METRIC_SRID})) > 0))
        ORDER BY f.id"""
    )
    return _rows(session, sql, {"gens": _ids(generation_id), "prefix": code + "%"})
