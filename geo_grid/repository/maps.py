"""SQL for the map layers: grids with geometry, communities, facilities, road segments, courtyards, reports.
A page's layers are those of the subdistricts it is of (`of_subdistricts`: the subdistricts of the
generations it draws); its report counts are those of the reports its markers' filter selects."""

from __future__ import annotations

from collections.abc import Collection
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


def of_subdistricts(
    codes: Collection[str] | None, column: str = "t.subdistrict_code"
) -> tuple[str, dict[str, Any]]:
    """The condition that keeps the rows of the subdistricts `codes` (a page's: those of the generations it
    draws), None: of every subdistrict (the whole district). The one rule of the map layers that are not
    versioned (communities, facilities, road segments, courtyards), embedded or as vector tiles."""
    if codes is None:
        return "true", {}
    return f"{column} = ANY(CAST(:subdistricts AS text[]))", {"subdistricts": sorted(codes)}


def _layer(session: Session, sql: str, codes: Collection[str] | None, order: str) -> list[dict[str, Any]]:
    where, params = of_subdistricts(codes)
    return _rows(session, f"{sql} WHERE {where} ORDER BY {order}", params)


def communities(session: Session, subdistricts: Collection[str] | None) -> list[dict[str, Any]]:
    """The communities of `subdistricts` (None: every one's)."""
    return _layer(
        session,
        "SELECT t.code, t.name, ST_AsBinary(t.geom) AS wkb FROM communities t",
        subdistricts,
        "t.code",
    )


def facilities(session: Session, subdistricts: Collection[str] | None) -> list[dict[str, Any]]:
    """The facilities of `subdistricts` (None: every one's)."""
    sql = """SELECT t.facility_id, t.kind, t.name, t.attributes, t.micro_code, ST_AsBinary(t.geom) AS wkb
             FROM facilities t"""
    return _layer(session, sql, subdistricts, "t.facility_id")


def _chiefs(role: str, key: str) -> str:
    # Chiefs are tied to their segment/courtyard by roles.target_id (people.csv target_id). Constants only.
    return (
        "coalesce((SELECT array_agg(p.name ORDER BY p.person_id) FROM roles ro JOIN people p ON p.id = ro.person_id"
        f" WHERE ro.role = '{role}' AND ro.target_id = t.{key}), '{{}}') AS chiefs"
    )


def road_segments(session: Session, subdistricts: Collection[str] | None) -> list[dict[str, Any]]:
    """The road segments of `subdistricts` (None: every one's) with their 路段长's names."""
    sql = f"""SELECT t.segment_id, t.road_name, t.tertiary_code, t.community_code, ST_AsBinary(t.geom) AS wkb,
                     {_chiefs("road_section_chief", "segment_id")}
              FROM road_segments t"""
    return _layer(session, sql, subdistricts, "t.segment_id")


def courtyards(session: Session, subdistricts: Collection[str] | None) -> list[dict[str, Any]]:
    """The courtyards of `subdistricts` (None: every one's) with their 楼院长's names."""
    sql = f"""SELECT t.courtyard_id, t.name, t.micro_code, t.tertiary_code, t.community_code, ST_AsBinary(t.geom) AS wkb,
                     {_chiefs("courtyard_chief", "courtyard_id")}
              FROM courtyards t"""
    return _layer(session, sql, subdistricts, "t.courtyard_id")


# kind (a duty popup's: road segments, courtyards) → its table and id column. Constants only.
_DUTY_TABLES = {
    "road_segments": ("road_segments", "segment_id"),
    "courtyards": ("courtyards", "courtyard_id"),
}


def duty_area_in(session: Session, kind: str, area_id: str, subdistricts: Collection[str] | None) -> bool:
    """Whether the road segment or courtyard `area_id` exists and is of `subdistricts` (None: of any;
    `of_subdistricts`, the map layers' rule): a duty popup shows no place outside them."""
    table, key = _DUTY_TABLES[kind]
    where, params = of_subdistricts(subdistricts)
    sql = f"SELECT EXISTS (SELECT 1 FROM {table} t WHERE t.{key} = :id AND {where})"
    return bool(session.execute(text(sql), {**params, "id": area_id}).scalar_one())


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


def open_counts(
    session: Session, f: report_repo.ReportFilter, now: datetime, terminal: tuple[str, ...]
) -> dict[str, int]:
    """Open reports per micro-grid (the choropleth) among those `f` selects: the filter of the page's
    markers (status, category, time, grid, the caller's scope: repository/reports.py's one rule), so that
    a caller learns no count of a report it may not see."""
    where, params = report_repo.filter_where(f, now)
    sql = f"""SELECT r.micro_code, count(*) AS n FROM reports r {report_repo.SLA_JOIN}
              WHERE {where} AND r.micro_code IS NOT NULL AND NOT (r.status = ANY(:terminal))
              GROUP BY r.micro_code"""
    params["terminal"] = list(terminal)
    return {r["micro_code"]: r["n"] for r in _rows(session, sql, params)}
