"""Set-based point → micro-grid assignment in PostGIS, with the one lookup rule of geo_grid.lookup:
the micro-grid whose polygon covers the point (ST_Covers, boundary included), ties to the smallest code.

Every function works on one generation, so on one subdistrict (issue 15): it touches the rows of that
subdistrict, and rows of no grid (outside every grid) that the generation's grids now cover, which then
become the subdistrict's. Rows of another subdistrict are never touched."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_grid.repository.rules import covering_micro, is_open

# The generation's subdistrict, in SQL.
_SUB = "(SELECT subdistrict_code FROM generations WHERE id = :gen)"


def _scoped(alias: str, micro_column: str = "micro_code") -> str:
    """The rows an assignment in generation :gen may touch: its subdistrict's, and rows in no grid that
    one of its micro-grids (the lateral `m`) covers."""
    return f"({alias}.subdistrict_code = {_SUB} OR ({alias}.{micro_column} IS NULL AND m.code IS NOT NULL))"


def _subdistrict(alias: str) -> str:
    """The subdistrict a row ends with: the generation's when one of its grids covers it, else its own."""
    return f"CASE WHEN m.code IS NOT NULL THEN {_SUB} ELSE {alias}.subdistrict_code END"


def assign_addresses(session: Session, generation_id: int) -> int:
    sql = f"""UPDATE addresses a SET micro_code = m.code, subdistrict_code = {_subdistrict("a2")}
              FROM addresses a2 LEFT JOIN LATERAL ({covering_micro("a2.geom")}) m ON true
              WHERE a.id = a2.id AND {_scoped("a2")}"""
    return int(session.execute(text(sql), {"gen": generation_id}).rowcount)  # type: ignore[attr-defined]


def assign_reports(session: Session, generation_id: int, only_unassigned: bool = False) -> int:
    """(Re)assign every report with a point; a point outside every grid is flagged `outside`."""
    extra = " AND r2.micro_code IS NULL" if only_unassigned else ""
    sql = f"""UPDATE reports r SET micro_code = m.code, tertiary_code = m.parent_code,
                     community_code = m.community_code, outside = (m.code IS NULL),
                     subdistrict_code = {_subdistrict("r2")}
              FROM reports r2 LEFT JOIN LATERAL ({covering_micro("r2.geom")}) m ON true
              WHERE r.id = r2.id AND r2.geom IS NOT NULL AND {_scoped("r2")}{extra}"""
    return int(session.execute(text(sql), {"gen": generation_id}).rowcount)  # type: ignore[attr-defined]


def assign_point_facilities(session: Session, generation_id: int) -> int:
    sql = f"""UPDATE facilities f SET micro_code = m.code, subdistrict_code = {_subdistrict("f2")}
              FROM facilities f2 LEFT JOIN LATERAL ({covering_micro("f2.geom")}) m ON true
              WHERE f.id = f2.id AND GeometryType(f2.geom) = 'POINT' AND {_scoped("f2")}"""
    return int(session.execute(text(sql), {"gen": generation_id}).rowcount)  # type: ignore[attr-defined]


def reassign_open_reports(session: Session, generation_id: int, actor: str) -> int:
    """On activation only what moved is rewritten, so the counts say how much a boundary change touched.
    Reports no longer open (closed, rejected, duplicate) keep the grid that handled them.

    Move open reports to the grid of `generation_id`, recording a `reassign` event per moved report."""
    sql = f"""
    WITH moved AS (
        SELECT r.id, r.micro_code AS old_micro, r.tertiary_code AS old_tertiary,
               m.code, m.parent_code, m.community_code, {_subdistrict("r")} AS subdistrict_code
        FROM reports r LEFT JOIN LATERAL ({covering_micro("r.geom")}) m ON true
        WHERE r.geom IS NOT NULL AND {is_open("r")} AND {_scoped("r")}
          AND (r.micro_code IS DISTINCT FROM m.code OR r.tertiary_code IS DISTINCT FROM m.parent_code)
    ), upd AS (
        UPDATE reports r SET micro_code = moved.code, tertiary_code = moved.parent_code,
               community_code = coalesce(moved.community_code, r.community_code),
               subdistrict_code = moved.subdistrict_code,
               outside = (moved.code IS NULL), updated_at = geo_grid_now()
        FROM moved WHERE r.id = moved.id RETURNING r.id
    )
    INSERT INTO report_events (report_id, kind, actor, note, data)
    SELECT moved.id, 'reassign', :actor, :note,
           jsonb_build_object('from_micro', old_micro, 'to_micro', code, 'from_tertiary', old_tertiary,
                              'to_tertiary', parent_code, 'generation', :gen)
    FROM moved JOIN upd ON upd.id = moved.id"""
    params = {"gen": generation_id, "actor": actor, "note": f"boundary generation {generation_id} activated"}
    return int(session.execute(text(sql), params).rowcount)  # type: ignore[attr-defined]


def reassign_addresses(session: Session, generation_id: int) -> int:
    """Point every address at its micro-grid in `generation_id`; returns how many moved."""
    sql = f"""UPDATE addresses a SET micro_code = m.code, subdistrict_code = {_subdistrict("a2")}
              FROM addresses a2 LEFT JOIN LATERAL ({covering_micro("a2.geom")}) m ON true
              WHERE a.id = a2.id AND {_scoped("a2")} AND a2.micro_code IS DISTINCT FROM m.code"""
    return int(session.execute(text(sql), {"gen": generation_id}).rowcount)  # type: ignore[attr-defined]


def reassign_point_facilities(session: Session, generation_id: int) -> int:
    """Point every point facility at its micro-grid in `generation_id`; returns how many moved."""
    sql = f"""UPDATE facilities f SET micro_code = m.code, subdistrict_code = {_subdistrict("f2")},
                     updated_at = geo_grid_now()
              FROM facilities f2 LEFT JOIN LATERAL ({covering_micro("f2.geom")}) m ON true
              WHERE f.id = f2.id AND GeometryType(f2.geom) = 'POINT' AND {_scoped("f2")}
                AND f2.micro_code IS DISTINCT FROM m.code"""
    return int(session.execute(text(sql), {"gen": generation_id}).rowcount)  # type: ignore[attr-defined]
