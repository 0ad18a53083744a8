"""SQL for reports and their events: reads with SLA-derived deadlines, filters, duplicates, stats."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from geo_grid import reporting
from geo_grid.models import METRIC_SRID, SRID
from geo_grid.models import Report as ReportModel
from geo_grid.models import ReportEvent as ReportEventModel
from geo_grid.repository import rules
from geo_grid.repository import scope as scope_rules
from geo_grid.repository.report_records import (
    REPORT_EVENT_FIELDS,
    REPORT_SELECTED,
    NewReportRow,
    Report,
    ReportEvent,
    Volunteer,
)

_TERMINAL = rules.TERMINAL[1:-1]  # for `NOT IN ({_TERMINAL})`
# Effective deadlines: the overall due_at stored at intake (services/stages.py: every stage's limit in
# turn over the work calendar); rows stored without one get 72 hours. The response deadline (响应率) is the
# 受理 limit of the category, counted in natural hours (the 24-hour centre; services/categories.py).
DUE = "coalesce(r.due_at, r.created_at + interval '72 hours')"
RESPONSE_DUE = "r.created_at + make_interval(secs => coalesce((cat.stage_limits->'accept'->>'value')::float8, 24) * 3600)"
# A parked case (挂账) is excluded from the on-time figures: never overdue while parked.
OVERDUE = f"(r.status NOT IN ({_TERMINAL}) AND r.status <> 'parked' AND {DUE} < :now)"
# The light of the current stage at :now: red past its deadline, yellow from its yellow mark.
LIGHT = """(CASE WHEN r.stage IS NULL OR r.stage_due_at IS NULL THEN NULL
                 WHEN :now > r.stage_due_at THEN 'red'
                 WHEN :now >= coalesce(r.stage_yellow_at, r.stage_due_at) THEN 'yellow'
                 ELSE 'green' END)"""

# Joined wherever DUE / OVERDUE are selected (reports here, the incident map in repository/maps.py).
SLA_JOIN = "LEFT JOIN categories cat ON cat.code = r.category"

_FROM = f"""FROM reports r {SLA_JOIN}
LEFT JOIN people cp ON cp.id = r.claimed_by"""
# Reads of whole reports add the open stage row (its unit; ix_report_stages_report_id finds it).
_SELECT_FROM = f"""{_FROM}
LEFT JOIN LATERAL (SELECT s.limit_unit FROM report_stages s WHERE s.report_id = r.id AND s.ended_at IS NULL
                   ORDER BY s.id DESC LIMIT 1) cs ON true"""

# How each field of the Report record is selected (default: the column of that name). The SELECT list is
# built from the record's fields, so the record (repository/report_records.py) is the one list of them.
_EXPRESSIONS = {
    "lon": "ST_X(r.geom)",
    "lat": "ST_Y(r.geom)",
    "claimed_by": "cp.person_id",
    "claimed_by_name": "cp.name",
    "due_at": DUE,
    "response_due_at": RESPONSE_DUE,
    "overdue": OVERDUE,
    "light": LIGHT,
    "stage_unit": "cs.limit_unit",
    "category_label": "coalesce(cat.name, r.category)",
}
_COLUMNS = ", ".join(f"{_EXPRESSIONS.get(f, f'r.{f}')} AS {f}" for f in REPORT_SELECTED)


@dataclass(frozen=True)
class ReportFilter:
    status: list[str] | None = None
    category: list[str] | None = None
    channel: list[str] | None = None
    grid: str | None = None  # any level: 9, 12, 15 or 18 digits
    since: datetime | None = None
    until: datetime | None = None
    bbox: tuple[float, float, float, float] | None = None
    overdue: bool | None = None
    near_boundary: bool | None = None
    outside: bool | None = None
    dispatch_kind: str | None = None
    claimable: bool | None = None
    # Categories left out whatever else is asked (the privacy policy's sensitive ones, for the public).
    exclude_categories: tuple[str, ...] | list[str] = ()
    has_point: bool | None = None
    # Terminal reports (rejected, duplicate, closed) closed before this moment are left out (maps).
    closed_since: datetime | None = None
    # The current stage's light at `now` (green | yellow | red) and the current stage (accept … close).
    light: Sequence[str] | None = None
    stage: Sequence[str] | None = None
    self_resolved: bool | None = None
    # The caller's access scope (repository/scope.py): a subdistrict's principal sees its reports only.
    access: scope_rules.Scope = scope_rules.EVERYTHING


def scope(code: str | None, params: dict[str, Any], where: list[str]) -> None:
    """Restrict to a grid code at any level (the code's length says which). A subdistrict's reports are
    those of its `subdistrict_code`, and those of none (no place: every subdistrict's, as in its inbox)."""
    level = reporting.level_of_code(code) if code else None
    column = {"community": "community_code", "tertiary": "tertiary_code", "micro": "micro_code"}.get(
        level or ""
    )
    if level == "subdistrict":
        where.append("(r.subdistrict_code = :scope OR r.subdistrict_code IS NULL)")
        params["scope"] = code
    elif column:
        where.append(f"r.{column} = :scope")
        params["scope"] = code


def filter_where(f: ReportFilter, now: datetime) -> tuple[str, dict[str, Any]]:
    """The SQL condition (on `r`, with SLA_JOIN) and parameters of the reports `f` selects: the one rule
    of every report listing, map layer, tile and count."""
    where: list[str] = ["true"]
    params: dict[str, Any] = {"now": now}
    for name in ("status", "category", "channel"):
        values = getattr(f, name)
        if values:
            where.append(f"r.{name} = ANY(:{name})")
            params[name] = list(values)
    if f.exclude_categories:
        where.append("NOT (r.category = ANY(:exclude_categories))")
        params["exclude_categories"] = list(f.exclude_categories)
    scope(f.grid, params, where)
    if not f.access.everything:
        access = scope_rules.reports_in(f.access)
        where.append(access.sql)
        params.update(access.params)
    if f.since:
        where.append("r.created_at >= :since")
        params["since"] = f.since
    if f.until:
        where.append("r.created_at < :until")
        params["until"] = f.until
    if f.bbox:
        # ST_Intersects, not && alone: index boxes are float4, so && is only approximate at the edges.
        where.append(f"ST_Intersects(r.geom, ST_MakeEnvelope(:x0, :y0, :x1, :y1, {SRID}))")
        params.update(x0=f.bbox[0], y0=f.bbox[1], x1=f.bbox[2], y1=f.bbox[3])
    if f.overdue is not None:
        where.append(OVERDUE if f.overdue else f"NOT {OVERDUE}")
    for name in ("near_boundary", "outside"):
        value = getattr(f, name)
        if value is not None:
            where.append(f"r.{name} = :{name}")
            params[name] = value
    if f.dispatch_kind:
        where.append("r.dispatch_kind = :dispatch_kind")
        params["dispatch_kind"] = f.dispatch_kind
    if f.claimable is not None:
        cond = "(r.dispatch_kind = 'volunteer' AND r.status = 'dispatched' AND r.claimed_by IS NULL)"
        where.append(cond if f.claimable else f"NOT {cond}")
    if f.has_point is not None:
        where.append("r.geom IS NOT NULL" if f.has_point else "r.geom IS NULL")
    if f.light:
        where.append(f"{LIGHT} = ANY(:light)")
        params["light"] = list(f.light)
    if f.stage:
        where.append("r.stage = ANY(:stage)")
        params["stage"] = list(f.stage)
    if f.self_resolved is not None:
        where.append("r.self_resolved = :self_resolved")
        params["self_resolved"] = f.self_resolved
    if f.closed_since is not None:
        where.append(
            f"(r.status NOT IN ({_TERMINAL}) OR coalesce(r.closed_at, r.updated_at) >= :closed_since)"
        )
        params["closed_since"] = f.closed_since
    return " AND ".join(where), params


def list_reports(
    session: Session, f: ReportFilter, now: datetime, limit: int | None, offset: int
) -> tuple[list[Report], int]:
    """A page of the reports `f` selects (newest first) and how many it selects in all."""
    where, params = filter_where(f, now)
    total = session.execute(text(f"SELECT count(*) {_FROM} WHERE {where}"), params).scalar_one()
    return select(session, f, now, limit, offset), int(total)


def select(
    session: Session,
    f: ReportFilter,
    now: datetime,
    limit: int | None = None,
    offset: int = 0,
    oldest_first: bool = False,
) -> list[Report]:
    """The reports `f` selects, newest first (or oldest first: the incident map draws them in that order)."""
    where, params = filter_where(f, now)
    order = "ASC" if oldest_first else "DESC"
    sql = f"SELECT {_COLUMNS} {_SELECT_FROM} WHERE {where} ORDER BY r.created_at {order}, r.id {order} OFFSET :offset"
    params["offset"] = offset
    if limit is not None:
        sql += " LIMIT :limit"
        params["limit"] = limit
    return [Report.from_row(r) for r in session.execute(text(sql), params)]


def get(session: Session, report_id: int, now: datetime, lock: bool = False) -> Report | None:
    if lock:  # serialise concurrent transitions of one report
        session.execute(text("SELECT id FROM reports WHERE id = :id FOR UPDATE"), {"id": report_id})
    row = session.execute(
        text(f"SELECT {_COLUMNS} {_SELECT_FROM} WHERE r.id = :id"), {"id": report_id, "now": now}
    ).first()
    return Report.from_row(row) if row else None


def insert_many(session: Session, rows: list[NewReportRow]) -> list[int]:
    """Insert reports; returns their ids in input order (one batched INSERT … RETURNING)."""
    values = [
        {**row.columns(),
         "geom": None if row.lon is None else f"SRID={SRID};POINT({row.lon!r} {row.lat!r})"}
        for row in rows
    ]  # fmt: skip
    stmt = insert(ReportModel).returning(ReportModel.id, sort_by_parameter_order=True)
    return [int(i) for i in session.scalars(stmt, values)]


def tracking_code_hash(session: Session, report_id: int) -> str | None:
    """The stored SHA-256 of a report's tracking code (never selected with the report itself)."""
    sql = "SELECT tracking_code_hash FROM reports WHERE id = :id"
    value = session.execute(text(sql), {"id": report_id}).scalar_one_or_none()
    return str(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to insert with others (imports)."""

    report_id: int
    kind: str
    actor: str
    to_status: str | None
    data: dict[str, Any]
    at: datetime


def add_events(session: Session, events: list[NewEvent]) -> None:
    """Many events at once."""
    if events:
        session.execute(insert(ReportEventModel), [asdict(e) for e in events])


def existing_external_ids(session: Session, external_ids: list[str]) -> set[str]:
    sql = "SELECT external_id FROM reports WHERE external_id = ANY(:ids)"
    return {r.external_id for r in session.execute(text(sql), {"ids": external_ids})}


# A box in degrees that holds every point within :radius_m (a degree of longitude shrinks with cos(lat)),
# so that the GiST index on reports.geom narrows the candidates before the exact geography distance.
_DEGREES = "(:radius_m / (110000.0 * greatest(cos(radians(ST_Y({point}))), 0.01)))"


def suggest_duplicates(session: Session, report_ids: list[int], radius_m: float, window_h: float) -> int:
    """Set-based duplicate suggestion for a batch (the rule of duplicate_candidate, for each open report)."""
    sql = f"""
    UPDATE reports r SET possible_duplicate_of = d.id
    FROM reports n CROSS JOIN LATERAL (
        SELECT o.id FROM reports o
        WHERE o.category = n.category AND o.id <> n.id AND o.geom IS NOT NULL AND o.status NOT IN ({_TERMINAL})
          AND o.created_at BETWEEN n.created_at - make_interval(secs => :window_h * 3600) AND n.created_at
          AND (o.created_at < n.created_at OR o.id < n.id)
          AND o.geom && ST_Expand(n.geom, {_DEGREES.format(point="n.geom")})
          AND ST_DWithin(o.geom::geography, n.geom::geography, :radius_m)
        ORDER BY ST_Distance(o.geom::geography, n.geom::geography), o.id LIMIT 1) d
    WHERE r.id = n.id AND n.id = ANY(:ids) AND n.geom IS NOT NULL AND n.status NOT IN ({_TERMINAL})"""
    params = {"ids": report_ids, "radius_m": radius_m, "window_h": window_h}
    return int(session.execute(text(sql), params).rowcount)  # type: ignore[attr-defined]


def flag_near_boundary(session: Session, generation_id: int, near_m: float, only_open: bool = False) -> int:
    """Set near_boundary for every placed report (or only the open ones, after a boundary change: closed
    reports keep the grid they were handled by): within near_m metres (EPSG:4547) of its micro-grid's edge."""
    open_only = f" AND r.status NOT IN ({_TERMINAL})" if only_open else ""
    sql = f"""UPDATE reports r SET near_boundary = ST_Distance(
                  ST_Transform(ST_Boundary(g.geom), {METRIC_SRID}), ST_Transform(r.geom, {METRIC_SRID})) <= :m
              FROM grids g WHERE g.generation_id = :gen AND g.code = r.micro_code AND r.geom IS NOT NULL{open_only}"""
    return int(session.execute(text(sql), {"gen": generation_id, "m": near_m}).rowcount)  # type: ignore[attr-defined]


def update(session: Session, report_id: int, **fields: Any) -> None:
    sets = ", ".join(f"{k} = :{k}" for k in fields)
    session.execute(
        text(f"UPDATE reports SET {sets}, updated_at = geo_grid_now() WHERE id = :id"),
        {"id": report_id, **fields},
    )


def set_point(session: Session, report_id: int, lon: float, lat: float, **fields: Any) -> None:
    sets = "".join(f", {k} = :{k}" for k in fields)
    session.execute(
        text(
            f"UPDATE reports SET geom = ST_SetSRID(ST_MakePoint(:lon, :lat), {SRID}){sets}, updated_at = geo_grid_now() "
            "WHERE id = :id"
        ),
        {"id": report_id, "lon": lon, "lat": lat, **fields},
    )


def add_event(
    session: Session,
    report_id: int,
    kind: str,
    actor: str,
    note: str | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    stmt = text(
        """INSERT INTO report_events (report_id, kind, from_status, to_status, actor, note, data, at)
           VALUES (:report_id, :kind, :from_status, :to_status, :actor, :note, :data, coalesce(:at, geo_grid_now()))"""
    ).bindparams(bindparam("data", type_=JSONB))
    session.execute(
        stmt,
        {
            "report_id": report_id,
            "kind": kind,
            "from_status": from_status,
            "to_status": to_status,
            "actor": actor,
            "note": note,
            "data": data or {},
            "at": at,
        },
    )


def events(session: Session, report_id: int) -> list[ReportEvent]:
    sql = f"""SELECT {", ".join(REPORT_EVENT_FIELDS)} FROM report_events WHERE report_id = :id ORDER BY at, id"""
    return [ReportEvent(**r._mapping) for r in session.execute(text(sql), {"id": report_id})]


# Duplicates: distances on the geography type (metres on the ellipsoid): it equals the EPSG:4547 distance
# within millimetres at 50 m here, and stays defined for points far outside the projection's zone.
_POINT = f"ST_SetSRID(ST_MakePoint(:lon, :lat), {SRID})"
_DUPLICATE = f"""
SELECT o.id FROM reports o
WHERE o.category = :category AND o.id <> :id AND o.geom IS NOT NULL
  AND o.status NOT IN ({_TERMINAL})
  AND o.created_at BETWEEN :created_at - make_interval(secs => :window_h * 3600) AND :created_at
  AND o.geom && ST_Expand({_POINT}, {_DEGREES.format(point=_POINT)})
  AND ST_DWithin(o.geom::geography, {_POINT}::geography, :radius_m)
ORDER BY ST_Distance(o.geom::geography, {_POINT}::geography), o.id
LIMIT 1
"""


def duplicate_candidate(
    session: Session,
    report_id: int,
    category: str,
    lon: float,
    lat: float,
    created_at: datetime,
    radius_m: float,
    window_h: float,
) -> int | None:
    """The nearest open report of the same category within radius_m and the window_h hours before."""
    params = {"id": report_id, "category": category, "lon": lon, "lat": lat, "created_at": created_at,
              "radius_m": radius_m, "window_h": window_h}  # fmt: skip
    value = session.execute(text(_DUPLICATE), params).scalar_one_or_none()
    return int(value) if value is not None else None


def volunteer(session: Session, person_id: str) -> Volunteer | None:
    """A 双报到 volunteer (role `volunteer`) and the community they registered in."""
    sql = """SELECT p.id, p.person_id, p.name, r.community_code FROM people p
             JOIN roles r ON r.person_id = p.id AND r.role = 'volunteer' WHERE p.person_id = :pid LIMIT 1"""
    row = session.execute(text(sql), {"pid": person_id}).first()
    return Volunteer(**row._mapping) if row else None


def subdistricts_of(session: Session, report_ids: list[int]) -> dict[int, str | None]:
    """report id → the subdistrict it belongs to (None: the district level)."""
    sql = "SELECT id, subdistrict_code FROM reports WHERE id = ANY(:ids)"
    return {int(r.id): r.subdistrict_code for r in session.execute(text(sql), {"ids": report_ids})}
