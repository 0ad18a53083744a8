"""SQL for a planner's edits of a draft's grids (services/boundary_edits.py): one grid at full precision,
row locks, same-level neighbours, geometry, parent and name updates with versions, single inserts and
retirements, and the codes ever given out (a code is never given out twice)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_grid.models import METRIC_SRID
from geo_grid.repository.boundaries import GRID_COLUMNS, DraftGrid, NewGrid, draft_grid, insert_grids


@dataclass(frozen=True, slots=True)
class GridFeature:
    """One grid of a generation at full precision, with who changed it last (the editor's read)."""

    code: str
    name: str
    level: str
    parent_code: str
    community_code: str
    version: int
    generation_id: int
    updated_by: str | None
    updated_at: datetime | None
    area_m2: float
    geometry: dict[str, Any]


def _rows(session: Session, sql: str, params: dict[str, Any]) -> list[Any]:
    return list(session.execute(text(sql), params))


def grid_feature(session: Session, generation_id: int, code: str) -> GridFeature | None:
    """One grid with its geometry at full precision (an editor must get shared vertices back exactly)."""
    sql = f"""SELECT g.code, g.name, g.level, g.parent_code, g.community_code, g.version, g.generation_id,
                     g.updated_by, g.updated_at,
                     round(ST_Area(ST_Transform(g.geom, {METRIC_SRID}))::numeric, 1)::float AS area_m2,
                     ST_AsGeoJSON(g.geom, 15)::json AS geometry
              FROM grids g WHERE g.generation_id = :gen AND g.code = :code"""
    rows = _rows(session, sql, {"gen": generation_id, "code": code})
    return GridFeature(**rows[0]._mapping) if rows else None


def lock_grids(session: Session, generation_id: int, codes: list[str]) -> dict[str, DraftGrid]:
    """The named grids of a generation, row-locked until the transaction ends (in code order: no deadlock)."""
    sql = f"""SELECT {GRID_COLUMNS} FROM grids g WHERE g.generation_id = :gen AND g.code = ANY(:codes)
              ORDER BY g.code FOR UPDATE"""
    return {r.code: draft_grid(r) for r in _rows(session, sql, {"gen": generation_id, "codes": codes})}


def neighbours(session: Session, generation_id: int, code: str, level: str, wkb: bytes) -> list[str]:
    """Codes of same-level grids whose geometry touches or intersects `wkb`."""
    sql = """SELECT code FROM grids WHERE generation_id = :gen AND level = :level AND code <> :code
             AND geom && ST_Expand(ST_GeomFromWKB(:wkb, 4326), 1e-7) ORDER BY code"""
    params = {"gen": generation_id, "level": level, "code": code, "wkb": wkb}
    return [r.code for r in _rows(session, sql, params)]


def update_geometry(session: Session, generation_id: int, code: str, wkb: bytes, actor: str) -> int:
    sql = """UPDATE grids SET geom = ST_Multi(ST_GeomFromWKB(:wkb, 4326)), version = version + 1,
                              updated_by = :actor, updated_at = geo_grid_now()
             WHERE generation_id = :gen AND code = :code RETURNING version"""
    version: int = session.execute(
        text(sql), {"gen": generation_id, "code": code, "wkb": wkb, "actor": actor}
    ).scalar_one()
    return version


def update_parent(
    session: Session, generation_id: int, code: str, parent_code: str, community_code: str, actor: str
) -> int:
    sql = """UPDATE grids SET parent_code = :parent, community_code = :community, version = version + 1,
                              updated_by = :actor, updated_at = geo_grid_now()
             WHERE generation_id = :gen AND code = :code RETURNING version"""
    params = {
        "gen": generation_id,
        "code": code,
        "parent": parent_code,
        "community": community_code,
        "actor": actor,
    }
    version: int = session.execute(text(sql), params).scalar_one()
    return version


def rename(session: Session, generation_id: int, code: str, name: str) -> None:
    sql = "UPDATE grids SET name = :name WHERE generation_id = :gen AND code = :code"
    session.execute(text(sql), {"gen": generation_id, "code": code, "name": name})


def insert_grid(session: Session, generation_id: int, grid: NewGrid, actor: str, version: int = 1) -> None:
    """Insert one grid into a draft."""
    insert_grids(session, generation_id, [grid], actor, version)


def delete_grids(session: Session, generation_id: int, codes: list[str]) -> None:
    sql = "DELETE FROM grids WHERE generation_id = :gen AND code = ANY(:codes)"
    session.execute(text(sql), {"gen": generation_id, "codes": codes})


def codes_ever_used(session: Session, prefix: str) -> set[str]:
    """Every code starting with `prefix` in any generation or the audit log (a grid created and retired
    within a draft): a code once given out is never given out again."""
    sql = """SELECT code FROM grids WHERE code LIKE :prefix
             UNION SELECT grid_code FROM audit_log WHERE grid_code LIKE :prefix
             UNION SELECT jsonb_array_elements_text(detail -> 'codes') FROM audit_log
                   WHERE jsonb_typeof(detail -> 'codes') = 'array'"""
    prefix = prefix.replace("%", "")
    return {r.code for r in _rows(session, sql, {"prefix": prefix + "%"}) if r.code.startswith(prefix)}


def last_version(session: Session, code: str) -> int | None:
    """The newest stored version of a code in any generation (to version a grid that is re-created)."""
    sql = "SELECT max(version) AS version FROM grids WHERE code = :code"
    version: int | None = session.execute(text(sql), {"code": code}).scalar_one()
    return version
