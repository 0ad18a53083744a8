"""SQL for the map layers: grids with geometry, communities, facilities, road segments, courtyards, reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_grid import clock
from geo_grid.repository import reports as report_repo


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


@dataclass(frozen=True)
class ReportQuery:
    """Which reports a map shows. `closed_since`: terminal reports closed before it are left out."""

    statuses: list[str] | None = None
    categories: list[str] | None = None
    since: datetime | None = None
    until: datetime | None = None
    grid: str | None = None  # a community, tertiary or micro code
    terminal: tuple[str, ...] = ()
    closed_since: datetime | None = None
    now: datetime | None = None  # the moment `overdue` is judged at (default: the clock's now)


def reports(session: Session, q: ReportQuery) -> list[dict[str, Any]]:
    """The reports a map shows, with `due_at` and `overdue` by the one rule of repository/reports.py."""
    where = ["r.geom IS NOT NULL"]
    params: dict[str, Any] = {"now": q.now or clock.now()}
    if q.statuses:
        where.append("r.status = ANY(:statuses)")
        params["statuses"] = q.statuses
    if q.categories:
        where.append("r.category = ANY(:categories)")
        params["categories"] = q.categories
    if q.since:
        where.append("r.created_at >= :since")
        params["since"] = q.since
    if q.until:
        where.append("r.created_at < :until")
        params["until"] = q.until
    # By the stored grid columns of each level, not by code prefix: a reparented micro-grid keeps its code.
    report_repo.scope(q.grid, params, where)
    if q.closed_since is not None and q.terminal:
        where.append(
            "(NOT (r.status = ANY(:terminal)) OR coalesce(r.closed_at, r.updated_at) >= :closed_since)"
        )
        params.update(terminal=list(q.terminal), closed_since=q.closed_since)
    sql = f"""SELECT r.id, r.external_id, r.category, r.status, r.created_at, {report_repo.DUE} AS due_at,
                     {report_repo.OVERDUE} AS overdue, r.closed_at, r.micro_code, r.tertiary_code,
                     r.community_code, ST_X(r.geom) AS lon, ST_Y(r.geom) AS lat
              FROM reports r {report_repo.SLA_JOIN}
              WHERE {" AND ".join(where)} ORDER BY r.created_at, r.id"""
    return _rows(session, sql, params)


def open_counts(session: Session, terminal: tuple[str, ...]) -> dict[str, int]:
    """Open reports per micro-grid (for the choropleth), over all open reports whatever the filter."""
    sql = """SELECT micro_code, count(*) AS n FROM reports
             WHERE micro_code IS NOT NULL AND NOT (status = ANY(:terminal)) GROUP BY micro_code"""
    return {r["micro_code"]: r["n"] for r in _rows(session, sql, {"terminal": list(terminal)})}
