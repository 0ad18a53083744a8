"""SQL for boundary generations: drafts and activation, a generation's grids (load, bulk insert, delete),
the reads of validation, the audit log, grid history and diffs. A planner's edits of single grids (locks,
updates with versions): repository/grid_edits.py."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_grid.models import METRIC_SRID
from geo_grid.repository.rules import covering_micro, is_open

GRID_COLUMNS = """g.code, g.level, g.name, g.parent_code, g.community_code, g.version, g.in_draft,
                   g.updated_by, g.updated_at, ST_AsBinary(g.geom) AS wkb"""


# ---------------------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class DraftGrid:
    """A stored grid with its WKB geometry (for validation, export and edits)."""

    code: str
    level: str
    name: str
    parent_code: str
    community_code: str
    version: int
    in_draft: bool
    updated_by: str | None
    updated_at: datetime | None
    wkb: bytes


@dataclass(frozen=True, slots=True)
class NewGrid:
    """A grid to insert into a draft; `version` None takes the insert's default."""

    code: str
    level: str
    name: str
    parent_code: str
    community_code: str
    wkb: bytes
    version: int | None = None


@dataclass(frozen=True, slots=True)
class GridAuditEntry:
    """An audit entry about a generation or grid."""

    id: int
    at: datetime
    actor: str
    action: str
    generation_id: int | None
    grid_code: str | None
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class GridVersion:
    """A grid as one generation holds it, with the generation's validity interval."""

    generation: int
    status: str
    valid_from: datetime | None
    valid_to: datetime | None
    name: str
    level: str
    parent_code: str
    community_code: str
    version: int
    updated_by: str | None
    updated_at: datetime | None
    area_m2: float
    geom_hash: str
    geometry: dict[str, Any]


@dataclass(frozen=True, slots=True)
class GridPair:
    """A code in generation a and/or b, compared (a row of diff_grids)."""

    code: str
    level: str
    in_a: bool
    in_b: bool
    parent_a: str | None
    parent_b: str | None
    name_a: str | None
    name_b: str | None
    same_shape: bool
    area_a: float | None
    area_b: float | None


@dataclass(frozen=True, slots=True)
class Move:
    """A report, facility or address whose micro-grid differs between two generations."""

    id: str
    ref: str | None
    from_code: str | None
    to_code: str | None


def _rows(session: Session, sql: str, params: dict[str, Any]) -> list[Any]:
    return list(session.execute(text(sql), params))


def draft_grid(row: Any) -> DraftGrid:
    return DraftGrid(**{**row._mapping, "wkb": bytes(row.wkb)})


# ------------------------------------------------------------------------------------ generations


def open_draft(session: Session, subdistrict: str, based_on: int, actor: str, note: str | None) -> int:
    """A new draft generation holding a copy of `based_on`'s grids (versions kept, in_draft set)."""
    gen_id: int = session.execute(
        text("""INSERT INTO generations (subdistrict_code, status, based_on, note, created_by)
                VALUES (:sub, 'draft', :based_on, :note, :actor) RETURNING id"""),
        {"sub": subdistrict, "based_on": based_on, "note": note, "actor": actor},
    ).scalar_one()
    session.execute(
        text("""INSERT INTO grids (generation_id, code, level, name, parent_code, community_code, geom, version,
                                   in_draft, updated_by, updated_at)
                SELECT :gen, code, level, name, parent_code, community_code, geom, version, true, updated_by,
                       updated_at
                FROM grids WHERE generation_id = :based_on"""),
        {"gen": gen_id, "based_on": based_on},
    )
    return gen_id


def open_empty_draft(session: Session, subdistrict: str, actor: str, note: str | None) -> int:
    """A new draft without grids (a subdistrict's first boundaries come by import)."""
    sql = """INSERT INTO generations (subdistrict_code, status, note, created_by)
             VALUES (:sub, 'draft', :note, :actor) RETURNING id"""
    return int(session.execute(text(sql), {"sub": subdistrict, "note": note, "actor": actor}).scalar_one())


def activate(session: Session, draft_id: int, previous_id: int | None, actor: str) -> None:
    """Retire the previous generation and activate the draft at the same instant (transaction time), so
    every moment belongs to exactly one generation. Clearing in_draft re-checks ST_IsValid in the database."""
    if previous_id is not None:
        session.execute(
            text("UPDATE generations SET status = 'retired', retired_at = geo_grid_now() WHERE id = :id"),
            {"id": previous_id},
        )
    session.execute(
        text("""UPDATE generations SET status = 'active', activated_at = geo_grid_now(), activated_by = :actor
                WHERE id = :id"""),
        {"id": draft_id, "actor": actor},
    )
    session.execute(text("UPDATE grids SET in_draft = false WHERE generation_id = :id"), {"id": draft_id})


def discard_draft(session: Session, draft_id: int) -> None:
    """A discarded draft is kept (its audit log refers to it) as retired without ever being active."""
    session.execute(
        text("UPDATE generations SET status = 'retired', retired_at = geo_grid_now() WHERE id = :id"),
        {"id": draft_id},
    )


def summary(session: Session, generation_id: int) -> dict[str, int]:
    sql = "SELECT level, count(*) AS n FROM grids WHERE generation_id = :gen GROUP BY level"
    return {r.level: r.n for r in _rows(session, sql, {"gen": generation_id})}


# ------------------------------------------------------------------------------------------ grids


def load_grids(session: Session, generation_id: int, level: str | None = None) -> list[DraftGrid]:
    """Every grid of a generation with its WKB geometry (for validation, export, edits)."""
    where = " AND g.level = :level" if level else ""
    sql = f"SELECT {GRID_COLUMNS} FROM grids g WHERE g.generation_id = :gen{where} ORDER BY g.code"
    return [draft_grid(r) for r in _rows(session, sql, {"gen": generation_id, "level": level})]


def insert_grids(
    session: Session, generation_id: int, grids: list[NewGrid], actor: str, version: int = 1
) -> None:
    if not grids:
        return
    sql = """INSERT INTO grids (generation_id, code, level, name, parent_code, community_code, geom, version,
                                in_draft, updated_by)
             VALUES (:gen, :code, :level, :name, :parent_code, :community_code,
                     ST_Multi(ST_GeomFromWKB(:wkb, 4326)), :version, true, :actor)"""
    session.execute(
        text(sql),
        [
            {
                "gen": generation_id,
                "actor": actor,
                "version": g.version if g.version is not None else version,
                "code": g.code,
                "level": g.level,
                "name": g.name,
                "parent_code": g.parent_code,
                "community_code": g.community_code,
                "wkb": g.wkb,
            }
            for g in grids
        ],
    )


def delete_level(session: Session, generation_id: int, level: str) -> int:
    sql = "DELETE FROM grids WHERE generation_id = :gen AND level = :level"
    result: Any = session.execute(text(sql), {"gen": generation_id, "level": level})
    return int(result.rowcount)


def community_geometries(session: Session, subdistrict: str | None = None) -> dict[str, bytes | None]:
    """Each community's outline (of one subdistrict when named)."""
    where = "" if subdistrict is None else "WHERE subdistrict_code = :sub "
    sql = f"SELECT code, ST_AsBinary(geom) AS wkb FROM communities {where}ORDER BY code"
    rows = _rows(session, sql, {"sub": subdistrict})
    return {r.code: (bytes(r.wkb) if r.wkb is not None else None) for r in rows}


@dataclass(frozen=True, slots=True)
class NeighbourGrid:
    """An active micro-grid of another subdistrict near a generation's grids."""

    subdistrict_code: str
    code: str
    wkb: bytes


def neighbour_grids(session: Session, generation_id: int, margin_deg: float) -> list[NeighbourGrid]:
    """The active micro-grids of the other subdistricts within `margin_deg` of the generation's extent."""
    sql = """WITH own AS (SELECT subdistrict_code FROM generations WHERE id = :gen),
                  box AS (SELECT ST_Expand(ST_Extent(geom)::geometry, :margin) AS geom
                          FROM grids WHERE generation_id = :gen AND level = 'micro')
             SELECT gen.subdistrict_code, g.code, ST_AsBinary(g.geom) AS wkb
             FROM grids g JOIN generations gen ON gen.id = g.generation_id, own, box
             WHERE gen.status = 'active' AND gen.subdistrict_code <> own.subdistrict_code
               AND g.level = 'micro' AND g.geom && box.geom
             ORDER BY gen.subdistrict_code, g.code"""
    rows = _rows(session, sql, {"gen": generation_id, "margin": margin_deg})
    return [NeighbourGrid(r.subdistrict_code, r.code, bytes(r.wkb)) for r in rows]


def leaders(session: Session) -> dict[str, set[str]]:
    """grid code → the roles held on it (to find grids without a 网格长 / 微网格长)."""
    out: dict[str, set[str]] = {}
    for r in _rows(session, "SELECT DISTINCT grid_code, role FROM roles WHERE grid_code IS NOT NULL", {}):
        out.setdefault(r.grid_code, set()).add(r.role)
    return out


# -------------------------------------------------------------------------------------- audit log


def audit(
    session: Session,
    actor: str,
    action: str,
    generation_id: int | None,
    grid_code: str | None,
    detail: dict[str, Any],
) -> None:
    sql = """INSERT INTO audit_log (actor, action, generation_id, grid_code, detail)
             VALUES (:actor, :action, :gen, :code, CAST(:detail AS jsonb))"""
    params = {"actor": actor, "action": action, "gen": generation_id, "code": grid_code}
    session.execute(text(sql), {**params, "detail": json.dumps(detail, ensure_ascii=False, default=str)})


def audit_entries(
    session: Session, generation_id: int | None = None, grid_code: str | None = None
) -> list[GridAuditEntry]:
    where: list[str] = []
    params: dict[str, Any] = {}
    if generation_id is not None:
        where.append("generation_id = :gen")
        params["gen"] = generation_id
    if grid_code is not None:
        where.append("(grid_code = :code OR detail -> 'codes' ? :code)")
        params["code"] = grid_code
    sql = "SELECT id, at, actor, action, generation_id, grid_code, detail FROM audit_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return [GridAuditEntry(**r._mapping) for r in _rows(session, sql + " ORDER BY id", params)]


# ---------------------------------------------------------------------------------- history, diff


def history(session: Session, code: str) -> list[GridVersion]:
    """Every stored version of a grid: one row per generation that holds the code, oldest first."""
    sql = f"""SELECT ge.id AS generation, ge.status, ge.activated_at AS valid_from, ge.retired_at AS valid_to,
                     g.name, g.level, g.parent_code, g.community_code, g.version, g.updated_by, g.updated_at,
                     round(ST_Area(ST_Transform(g.geom, {METRIC_SRID}))::numeric, 1)::float AS area_m2,
                     md5(ST_AsBinary(g.geom)) AS geom_hash, ST_AsGeoJSON(g.geom, 7)::json AS geometry
              FROM grids g JOIN generations ge ON ge.id = g.generation_id
              WHERE g.code = :code ORDER BY ge.id"""
    return [GridVersion(**r._mapping) for r in _rows(session, sql, {"code": code})]


def diff_grids(session: Session, a: int, b: int) -> list[GridPair]:
    """Grids only in a (retired), only in b (added), or in both with another shape/parent/name."""
    sql = f"""SELECT coalesce(ga.code, gb.code) AS code, coalesce(gb.level, ga.level) AS level,
                     ga.code IS NOT NULL AS in_a, gb.code IS NOT NULL AS in_b,
                     ga.parent_code AS parent_a, gb.parent_code AS parent_b, ga.name AS name_a, gb.name AS name_b,
                     CASE WHEN ga.geom IS NULL OR gb.geom IS NULL THEN false
                          WHEN ST_AsBinary(ga.geom) = ST_AsBinary(gb.geom) THEN true
                          -- same point set with rings in another order/orientation (a Shapefile round trip)
                          WHEN ST_IsValid(ga.geom) AND ST_IsValid(gb.geom) THEN ST_Equals(ga.geom, gb.geom)
                          ELSE false END AS same_shape,
                     ST_Area(ST_Transform(ga.geom, {METRIC_SRID})) AS area_a,
                     ST_Area(ST_Transform(gb.geom, {METRIC_SRID})) AS area_b
              FROM (SELECT * FROM grids WHERE generation_id = :a) ga
              FULL OUTER JOIN (SELECT * FROM grids WHERE generation_id = :b) gb ON ga.code = gb.code
              ORDER BY 1"""
    return [GridPair(**r._mapping) for r in _rows(session, sql, {"a": a, "b": b})]


def moves(session: Session, a: int, b: int) -> dict[str, list[Move]]:
    """Open reports, point facilities and addresses of `b`'s subdistrict (or in no grid) whose micro-grid
    under `a` differs from under `b`."""
    specs = {
        "reports": (
            "reports r",
            "r.id::text AS id, r.external_id AS ref",
            f"r.geom IS NOT NULL AND {is_open('r')}",
        ),
        "facilities": ("facilities r", "r.id::text AS id, r.name AS ref", "GeometryType(r.geom) = 'POINT'"),
        "addresses": ("addresses r", "r.address_id AS id, r.address AS ref", "true"),
    }
    out: dict[str, list[Move]] = {}
    for key, (table, cols, cond) in specs.items():
        sql = f"""SELECT {cols}, ma.code AS from_code, mb.code AS to_code FROM {table}
                  LEFT JOIN LATERAL ({covering_micro("r.geom", gen="a")}) ma ON true
                  LEFT JOIN LATERAL ({covering_micro("r.geom", gen="b")}) mb ON true
                  WHERE {cond} AND ma.code IS DISTINCT FROM mb.code
                    AND (r.subdistrict_code = (SELECT subdistrict_code FROM generations WHERE id = :b)
                         OR r.micro_code IS NULL)
                  ORDER BY 1"""
        out[key] = [Move(**r._mapping) for r in _rows(session, sql, {"a": a, "b": b})]
    return out
