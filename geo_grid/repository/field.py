"""SQL of the grid worker's phone pages (网格手机终端): the grids where a user's person holds a role, and the
open tasks of those grids (reports dispatched to the grid team), nearest first or newest first."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_grid.models import SRID

# Open tasks of a grid worker: dispatched to the grid team, not yet reported back (办结反馈).
TASK_STATUSES = ("dispatched", "in_progress")


@dataclass(frozen=True, slots=True)
class TaskRow:
    """One open task: its report id and, when a position was given, its distance from it (metres)."""

    report_id: int
    distance_m: float | None


def person_of_user(session: Session, user_id: int) -> int | None:
    """The roster person (people.id) a console user is linked to, or None."""
    row = session.execute(text("SELECT person_id FROM users WHERE id = :id"), {"id": user_id}).first()
    return None if row is None or row.person_id is None else int(row.person_id)


def grid_codes_of_person(session: Session, person_pk: int) -> list[str]:
    """The grid codes (any level) where the person holds a role (微网格长, 网格员, 网格长 …), sorted."""
    sql = "SELECT DISTINCT grid_code FROM roles WHERE person_id = :p AND grid_code IS NOT NULL ORDER BY 1"
    return [str(c) for c in session.execute(text(sql), {"p": person_pk}).scalars()]


def open_tasks(
    session: Session,
    codes: list[str],
    exclude_categories: list[str],
    lon: float | None,
    lat: float | None,
    limit: int,
) -> list[TaskRow]:
    """Reports dispatched to the team of one of `codes` (micro-grid or tertiary grid) and still open there;
    nearest first (metres on the ellipsoid) when a position is given, else newest first."""
    params: dict[str, object] = {"codes": codes, "statuses": list(TASK_STATUSES), "limit": limit,
                                 "exclude": exclude_categories}  # fmt: skip
    if lon is not None and lat is not None:
        distance = f"ST_Distance(r.geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), {SRID})::geography)"
        params.update(lon=lon, lat=lat)
        order = "distance_m NULLS LAST, r.created_at DESC, r.id DESC"
    else:
        distance = "NULL::float8"
        order = "r.created_at DESC, r.id DESC"
    sql = f"""SELECT r.id, {distance} AS distance_m FROM reports r
              WHERE r.status = ANY(:statuses) AND r.dispatch_kind = 'grid_team'
                AND (r.micro_code = ANY(:codes) OR r.tertiary_code = ANY(:codes))
                AND NOT (r.category = ANY(:exclude))
              ORDER BY {order} LIMIT :limit"""
    rows = session.execute(text(sql), params)
    return [TaskRow(int(r.id), None if r.distance_m is None else float(r.distance_m)) for r in rows]


def reports_filed_by(
    session: Session, user_id: int | None, token_id: int | None, exclude_categories: list[str], limit: int
) -> list[int]:
    """The reports a console user (or an API token) filed, newest first (`reports.filed_by_*`, written
    with the report; migration 0011_report_filer)."""
    if user_id is None and token_id is None:
        return []
    who = "r.filed_by_user_id = :user" if user_id is not None else "r.filed_by_token_id = :token"
    sql = f"""SELECT r.id FROM reports r WHERE {who} AND NOT (r.category = ANY(:exclude))
              ORDER BY r.created_at DESC, r.id DESC LIMIT :limit"""
    params = {"user": user_id, "token": token_id, "exclude": exclude_categories, "limit": limit}
    return [int(i) for i in session.execute(text(sql), params).scalars()]
