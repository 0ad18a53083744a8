"""SQL for the monthly assessment (考核): the counts of geo_grid.assessment.UnitCounts per unit for a period,
from reports, report_stages, report_events and supervision_orders, four grouped scans.

Units (`by`): a grid level (the report's current grid; reports outside every grid have unit None),
`department` (the case's department dispatch; a return counts for the department that returned it, a
dispatch for the department it went to) or `person` (the 微网格长 of the report's micro-grid, the smallest
person id when a grid has several). The definitions of the counts are in geo_grid/assessment.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_grid.assessment import UnitCounts
from geo_grid.repository import rules
from geo_grid.repository import scope as scope_rules
from geo_grid.repository.report_stats import HANDLED, RATED, RESPONDED_IN_TIME, SATISFIED, SOLVED
from geo_grid.repository.reports import DUE, SLA_JOIN

UNIT_KINDS = ("subdistrict", "community", "tertiary", "micro", "department", "person")
GRID_LEVELS = ("subdistrict", "community", "tertiary", "micro")

# The person a report's micro-grid answers to: its 微网格长.
PERSON_ROLE = "micro_grid_leader"
_LEADERS = f"""leaders AS (
  SELECT DISTINCT ON (ro.grid_code) ro.grid_code, p.person_id
  FROM roles ro JOIN people p ON p.id = ro.person_id
  WHERE ro.role = '{PERSON_ROLE}' AND ro.grid_code IS NOT NULL
  ORDER BY ro.grid_code, p.id)"""

# The case's unit, as an SQL expression on `r` (person: on the joined `ldr`).
_CASE_UNIT = {
    # The case's subdistrict; a case of none (no place) is the assessed subdistrict's, or — assessing the
    # whole district (`:subdistrict` NULL) — a unit of its own (None).
    "subdistrict": "coalesce(r.subdistrict_code, CAST(:subdistrict AS text))",
    "community": "r.community_code",
    "tertiary": "r.tertiary_code",
    "micro": "r.micro_code",
    "department": "CASE WHEN r.dispatch_kind = 'department' THEN r.dispatch_target END",
    "person": "ldr.person_id",
}
_PERSON_JOIN = "LEFT JOIN leaders ldr ON ldr.grid_code = r.micro_code"

# Statuses a case without a register stage row (imported history) has only once it was registered (立案):
# such a case counts as registered when it was accepted.
_PAST_REGISTERED = rules.sql_list(("dispatched", "in_progress", "feedback", "verified", "closed", "parked"))

# 挂账: the cases parked at some moment of the period (a `parked` event before its end whose following
# `unparked` — if any — came after its start). They leave every on-time figure and 应结案数.
_PARKED = """SELECT DISTINCT report_id FROM (
    SELECT report_id, kind, at, lead(at) OVER (PARTITION BY report_id ORDER BY at, id) AS next_at
    FROM report_events WHERE kind IN ('parked', 'unparked')) x
  WHERE kind = 'parked' AND at < :end AND (next_at IS NULL OR next_at > :start)"""
# The queries below take that set as an array (found once per period, joined by hash).
_PARKED_JOIN = "LEFT JOIN unnest(CAST(:parked AS bigint[])) AS pk(report_id) ON pk.report_id = {id}"

_IN = "{col} >= :start AND {col} < :end"

# 应结案数: its assessment moment — the close deadline, or the closing time when that came first — is in
# the period; cases to handle only, not 自办自结, not parked (geo_grid/assessment.py).
_MOMENT = f"CASE WHEN r.status = 'closed' THEN LEAST({DUE}, r.closed_at) ELSE {DUE} END"
_DUE = (
    f"{HANDLED} AND NOT r.self_resolved AND pk.report_id IS NULL AND {_MOMENT} >= :start AND {_MOMENT} < :end"
)
_CREATED = _IN.format(col="r.created_at")

# A report counts in the period only if one of its moments is at or after the start (each is before the end
# when it counts): the rest of the table never reaches the aggregates.
_RELEVANT = f"r.created_at >= :start OR r.accepted_at >= :start OR r.closed_at >= :start OR {DUE} >= :start"

_REPORTS_SQL = f"""
SELECT {{unit}} AS unit,
  count(*) FILTER (WHERE {_CREATED}) AS cases,
  count(*) FILTER (WHERE {_IN.format(col="r.accepted_at")}) AS received,
  count(*) FILTER (WHERE r.self_resolved AND {_IN.format(col="r.closed_at")}) AS self_resolved,
  count(*) FILTER (WHERE {_IN.format(col="r.accepted_at")} AND NOT r.self_resolved
                     AND r.status IN {_PAST_REGISTERED}
                     AND NOT EXISTS (SELECT 1 FROM report_stages s
                                     WHERE s.report_id = r.id AND s.stage = 'register')) AS registered,
  count(*) FILTER (WHERE {_DUE}) AS due,
  count(*) FILTER (WHERE {_DUE} AND r.status = 'closed' AND r.closed_at < :end) AS closed,
  count(*) FILTER (WHERE {_DUE} AND r.status = 'closed' AND r.closed_at <= {DUE}) AS closed_on_time,
  count(*) FILTER (WHERE {_CREATED} AND {HANDLED}) AS to_handle,
  count(*) FILTER (WHERE {_CREATED} AND {RESPONDED_IN_TIME}) AS responded_in_time,
  count(*) FILTER (WHERE {_CREATED} AND {SOLVED}) AS solved,
  count(*) FILTER (WHERE {_CREATED} AND {RATED}) AS rated,
  count(*) FILTER (WHERE {_CREATED} AND {SATISFIED}) AS satisfied
FROM reports r {SLA_JOIN} {{join}}
{_PARKED_JOIN.format(id="r.id")}
WHERE r.created_at < :end AND ({_RELEVANT}) AND {{within}}
GROUP BY 1"""

# 立案数 from the stages: the register stage ended in the period and the case was registered (not refused
# or a repeat, not 自办自结); 处置: handle stages ended in the period, on time or not, 挂账 cases left out.
_STAGES_SQL = f"""
SELECT {{unit}} AS unit,
  count(DISTINCT s.report_id) FILTER (WHERE s.stage = 'register' AND {HANDLED} AND NOT r.self_resolved)
    AS registered,
  count(*) FILTER (WHERE s.stage = 'handle' AND pk.report_id IS NULL) AS handle_ended,
  count(*) FILTER (WHERE s.stage = 'handle' AND pk.report_id IS NULL AND s.on_time) AS handled_on_time
FROM report_stages s JOIN reports r ON r.id = s.report_id {{join}}
{_PARKED_JOIN.format(id="s.report_id")}
WHERE s.stage IN ('register', 'handle') AND {_IN.format(col="s.ended_at")} AND {{within}}
GROUP BY 1"""

_DISPATCH = "((e.kind = 'transition' AND e.to_status = 'dispatched') OR e.kind = 'redispatch')"
_EVENTS_SQL = f"""
SELECT {{unit}} AS unit,
  count(*) FILTER (WHERE e.kind = 'rework') AS reworks,
  count(*) FILTER (WHERE e.kind = 'extension_approved') AS extensions,
  count(*) FILTER (WHERE e.kind = 'returned') AS returns,
  count(*) FILTER (WHERE {_DISPATCH}) AS dispatches
FROM report_events e JOIN reports r ON r.id = e.report_id {{join}}
WHERE (e.kind IN ('rework', 'extension_approved', 'returned', 'redispatch')
       OR (e.kind = 'transition' AND e.to_status = 'dispatched'))
  AND {_IN.format(col="e.at")} AND {{within}}
GROUP BY 1"""
# By department, an event counts for the department it names: a return for the one that returned the case,
# a dispatch for the one it was sent to.
_EVENT_DEPARTMENT = f"""CASE WHEN e.kind = 'returned' THEN e.data->>'department'
  WHEN {_DISPATCH} THEN CASE WHEN e.data->>'kind' = 'department' THEN e.data->>'target' END
  ELSE {_CASE_UNIT["department"]} END"""

_ORDERS_SQL = f"""
SELECT {{unit}} AS unit,
  count(*) FILTER (WHERE o.kind = 'supervise') AS supervisions,
  count(*) FILTER (WHERE o.kind = 'urge') AS urges
FROM supervision_orders o JOIN reports r ON r.id = o.report_id {{join}}
WHERE {_IN.format(col="o.issued_at")} AND {{within}}
GROUP BY 1"""


@dataclass(frozen=True, slots=True)
class UnitCountsRow:
    """One unit's counts in the period (unit None: reports outside every grid, by grid level)."""

    unit: str | None
    counts: UnitCounts


@dataclass(frozen=True, slots=True)
class UnitName:
    code: str
    name: str


def _with(*ctes: str) -> str:
    return "WITH " + ",\n".join(ctes) + "\n"


def counts(
    session: Session,
    by: str,
    start: datetime,
    end: datetime,
    subdistrict: str | None,
    access: scope_rules.Scope = scope_rules.EVERYTHING,
) -> list[UnitCountsRow]:
    """Every unit's counts for [start, end), units without any count left out, ordered by unit; `subdistrict`
    is the code of the subdistrict unit (None: the whole district); only the reports in the caller's scope
    count (repository/scope.py)."""
    if by not in UNIT_KINDS:
        raise ValueError(f"unknown unit kind {by!r}")
    unit = _CASE_UNIT[by]
    join = _PERSON_JOIN if by == "person" else ""
    ctes = [_LEADERS] if by == "person" else []
    within = scope_rules.reports_in(access)
    params: dict[str, Any] = {"start": start, "end": end, "subdistrict": subdistrict, **within.params}
    # Just-in-time compilation costs seconds on these few scans (their cost estimate is high) and buys
    # nothing: off for the rest of this transaction.
    session.execute(text("SET LOCAL jit = off"))
    found: dict[str | None, dict[str, int]] = {}
    params["parked"] = list(session.execute(text(_PARKED), params).scalars())
    head = _with(*ctes) if ctes else ""
    event_unit = _EVENT_DEPARTMENT if by == "department" else unit
    queries = (
        head + _REPORTS_SQL.format(unit=unit, join=join, within=within.sql),
        head + _STAGES_SQL.format(unit=unit, join=join, within=within.sql),
        head + _EVENTS_SQL.format(unit=event_unit, join=join, within=within.sql),
        head + _ORDERS_SQL.format(unit=unit, join=join, within=within.sql),
    )
    for sql in queries:
        for row in session.execute(text(sql), params):
            m = row._mapping
            into = found.setdefault(m["unit"], {})
            for key, value in m.items():
                if key != "unit":
                    into[key] = into.get(key, 0) + int(value)
    rows = [UnitCountsRow(u, UnitCounts(**c)) for u, c in found.items() if any(c.values())]
    return sorted(rows, key=lambda r: (r.unit is None, r.unit or ""))


_OF_SUB = "(CAST(:subdistrict AS text) IS NULL OR {col} = CAST(:subdistrict AS text))"


def unit_names(session: Session, by: str, subdistrict: str | None) -> list[UnitName]:
    """Every unit of a kind, also those without a case: the subdistricts, the active generation's grids of
    a level, the communities, the departments (the categories' and any a case was dispatched to), the
    微网格长 — of the subdistrict (None: of the whole district)."""
    if by == "subdistrict":
        sql = f"SELECT code, name FROM subdistricts WHERE {_OF_SUB.format(col='code')} ORDER BY code"
    elif by == "community":
        sql = (
            f"SELECT code, name FROM communities WHERE {_OF_SUB.format(col='subdistrict_code')} ORDER BY code"
        )
    elif by in ("tertiary", "micro"):
        sql = f"""SELECT g.code, g.name FROM grids g JOIN generations gen ON gen.id = g.generation_id
                 WHERE gen.status = 'active' AND {_OF_SUB.format(col="gen.subdistrict_code")}
                   AND g.level = :level
                 ORDER BY g.code"""
    elif by == "department":
        sql = """SELECT d AS code, d AS name FROM (
                   SELECT department AS d FROM categories
                   UNION SELECT dispatch_target FROM reports WHERE dispatch_kind = 'department'
                 ) x WHERE d IS NOT NULL ORDER BY d"""
    elif by == "person":
        sql = f"""WITH {_LEADERS}
                  SELECT l.person_id AS code, p.name || '（' || coalesce(g.name, l.grid_code) || '）' AS name
                  FROM (SELECT DISTINCT person_id, min(grid_code) OVER (PARTITION BY person_id) AS grid_code
                        FROM leaders) l
                  JOIN people p ON p.person_id = l.person_id
                  LEFT JOIN grids g ON g.code = l.grid_code AND g.generation_id IN
                    (SELECT id FROM generations WHERE status = 'active' AND subdistrict_code = left(l.grid_code, 9))
                  WHERE {_OF_SUB.format(col="left(l.grid_code, 9)")}
                  ORDER BY l.person_id"""
    else:
        raise ValueError(f"unknown unit kind {by!r}")
    return [
        UnitName(str(r.code), str(r.name))
        for r in session.execute(text(sql), {"level": by, "subdistrict": subdistrict})
    ]
