"""SQL for the map layers: grids with geometry, communities, facilities, road segments, courtyards, reports."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_grid.repository import reports as report_repo
from geo_grid.repository.report_records import Report


def _rows(session: Session, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in session.execute(text(sql), params or {})]


def grids(session: Session, generation_id: int) -> list[dict[str, Any]]:
    sql = """SELECT code, name, level, parent_code, community_code, ST_AsBinary(geom) AS wkb
             FROM grids WHERE generation_id = :gen ORDER BY level DESC, code"""
    return _rows(session, sql, {"gen": generation_id})


def communities(session: Session) -> list[dict[str, Any]]:
    return _rows(session, "SELECT code, name, ST_AsBinary(geom) AS wkb FROM communities ORDER BY code")


def facilities(session: Session) -> list[dict[str, Any]]:
    sql = """SELECT facility_id, kind, name, attributes, micro_code, ST_AsBinary(geom) AS wkb
             FROM facilities ORDER BY facility_id"""
    return _rows(session, sql)


def _chiefs(role: str, key: str) -> str:
    # Chiefs are tied to their segment/courtyard by roles.target_id (people.csv target_id). Constants only.
    return (
        "coalesce((SELECT array_agg(p.name ORDER BY p.person_id) FROM roles ro JOIN people p ON p.id = ro.person_id"
        f" WHERE ro.role = '{role}' AND ro.target_id = t.{key}), '{{}}') AS chiefs"
    )


def road_segments(session: Session) -> list[dict[str, Any]]:
    sql = f"""SELECT t.segment_id, t.road_name, t.tertiary_code, t.community_code, ST_AsBinary(t.geom) AS wkb,
                     {_chiefs("road_section_chief", "segment_id")}
              FROM road_segments t ORDER BY t.segment_id"""
    return _rows(session, sql)


def courtyards(session: Session) -> list[dict[str, Any]]:
    sql = f"""SELECT t.courtyard_id, t.name, t.micro_code, t.tertiary_code, t.community_code, ST_AsBinary(t.geom) AS wkb,
                     {_chiefs("courtyard_chief", "courtyard_id")}
              FROM courtyards t ORDER BY t.courtyard_id"""
    return _rows(session, sql)


def micro_leaders(session: Session) -> dict[str, list[dict[str, Any]]]:
    """micro code → its 微网格长 (name, phone), the people a report's popup names as responsible."""
    sql = """SELECT r.grid_code, p.name, p.phone FROM roles r JOIN people p ON p.id = r.person_id
             WHERE r.role = 'micro_grid_leader' ORDER BY r.grid_code, p.person_id"""
    out: dict[str, list[dict[str, Any]]] = {}
    for row in _rows(session, sql):
        out.setdefault(row["grid_code"], []).append(row)
    return out


def reports(session: Session, f: report_repo.ReportFilter, now: datetime) -> list[Report]:
    """The reports a map shows: those `f` selects that have a point, oldest first; the filter, `due_at`
    and `overdue` are the one rule of repository/reports.py."""
    return report_repo.select(session, replace(f, has_point=True), now, oldest_first=True)


def open_counts(session: Session, terminal: tuple[str, ...]) -> dict[str, int]:
    """Open reports per micro-grid (for the choropleth), over all open reports whatever the filter."""
    sql = """SELECT micro_code, count(*) AS n FROM reports
             WHERE micro_code IS NOT NULL AND NOT (status = ANY(:terminal)) GROUP BY micro_code"""
    return {r["micro_code"]: r["n"] for r in _rows(session, sql, {"terminal": list(terminal)})}
