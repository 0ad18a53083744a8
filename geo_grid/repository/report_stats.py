"""SQL for report statistics of a grid at any level: counts, median time to close, overdue, the three rates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_grid import reporting
from geo_grid.repository import rules
from geo_grid.repository.reports import _FROM, OVERDUE, RESPONSE_DUE, ReportFilter, filter_where

# The rates, each as numerator / denominator (definitions in the README, "Reports"):
# 响应率 response:     of the reports to be handled (not rejected, not duplicate), accepted by the response deadline
# 解决率 resolution:   of the same reports, closed as solved
# 满意率 satisfaction: of the rated reports, rated 4 or 5
# Each rate's conditions on `r` (with SLA_JOIN), also counted by the assessment (repository/assessment.py).
HANDLED = f"r.status NOT IN {rules.NOT_HANDLED}"
RESPONDED_IN_TIME = f"{HANDLED} AND r.accepted_at IS NOT NULL AND r.accepted_at <= {RESPONSE_DUE}"
SOLVED = f"{HANDLED} AND r.status = 'closed' AND r.solved"
RATED = "r.rating IS NOT NULL"
SATISFIED = f"r.rating >= {reporting.SATISFIED_FROM}"
_AGGREGATES = f"""
count(*) AS total,
count(*) FILTER (WHERE {OVERDUE}) AS overdue,
percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r.closed_at - r.created_at) / 3600.0)
    FILTER (WHERE r.status = 'closed' AND r.closed_at IS NOT NULL) AS median_hours_to_close,
count(*) FILTER (WHERE {HANDLED}) AS handled,
count(*) FILTER (WHERE {RESPONDED_IN_TIME}) AS responded_in_time,
count(*) FILTER (WHERE {SOLVED}) AS solved,
count(*) FILTER (WHERE {RATED}) AS rated,
count(*) FILTER (WHERE {SATISFIED}) AS satisfied
"""

# The level below each level, by the column that names it (roll-up: micro → tertiary → community → subdistrict
# → the whole district).
CHILD_COLUMN = {
    "district": "subdistrict_code",
    "subdistrict": "community_code",
    "community": "tertiary_code",
    "tertiary": "micro_code",
}


@dataclass(frozen=True, slots=True)
class Aggregates:
    """The figures of one grid (child: the child grid's code; None for the grid itself or outside)."""

    child: str | None
    total: int
    overdue: int
    median_hours_to_close: float | None
    handled: int
    responded_in_time: int
    solved: int
    rated: int
    satisfied: int

    @classmethod
    def from_row(cls, row: Any) -> Aggregates:
        m = row._mapping
        median = m["median_hours_to_close"]
        return cls(
            child=m["child"],
            median_hours_to_close=float(median) if median is not None else None,
            **{k: int(m[k]) for k in _COUNTS},
        )


_COUNTS = ("total", "overdue", "handled", "responded_in_time", "solved", "rated", "satisfied")


def aggregates(
    session: Session, code: str | None, since: datetime | None, until: datetime | None, now: datetime
) -> tuple[Aggregates, list[Aggregates]]:
    """The grid's aggregates and the same for each of its children (one GROUPING SETS query); code None:
    the whole district (every report), its children the subdistricts."""
    level = reporting.level_of_code(code) or "" if code is not None else "district"
    where, params = filter_where(ReportFilter(grid=code, since=since, until=until), now)
    child = CHILD_COLUMN.get(level)
    if child is None:
        sql = f"SELECT NULL AS child, {_AGGREGATES} {_FROM} WHERE {where}"
        return Aggregates.from_row(session.execute(text(sql), params).one()), []
    sql = f"""SELECT r.{child} AS child, grouping(r.{child}) AS is_total, {_AGGREGATES} {_FROM} WHERE {where}
              GROUP BY GROUPING SETS ((), (r.{child})) ORDER BY is_total DESC, child NULLS LAST"""
    rows = list(session.execute(text(sql), params))
    total = next((Aggregates.from_row(r) for r in rows if r.is_total), None)
    children = [Aggregates.from_row(r) for r in rows if not r.is_total]
    if total is None:  # no rows at all: GROUPING SETS still yields the () row, but be safe
        sql = f"SELECT NULL AS child, {_AGGREGATES} {_FROM} WHERE {where}"
        total = Aggregates.from_row(session.execute(text(sql), params).one())
    return total, children


def counts_by(
    session: Session,
    column: str,
    code: str | None,
    since: datetime | None,
    until: datetime | None,
    now: datetime,
) -> dict[str, int]:
    assert column in ("status", "category", "channel")
    where, params = filter_where(ReportFilter(grid=code, since=since, until=until), now)
    sql = f"SELECT r.{column} AS key, count(*) AS n {_FROM} WHERE {where} GROUP BY r.{column} ORDER BY r.{column}"
    return {r.key: int(r.n) for r in session.execute(text(sql), params)}
