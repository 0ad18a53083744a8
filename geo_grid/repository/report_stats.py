"""SQL for report statistics of a grid at any level: counts, median time to close, overdue, the three rates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_grid import reporting
from geo_grid.repository import rules
from geo_grid.repository.reports import _FROM, OVERDUE, RESPONSE_DUE, ReportFilter, _where

# The rates, each as numerator / denominator (definitions in the README, "Reports"):
# 响应率 response:     of the reports to be handled (not rejected, not duplicate), accepted by the response deadline
# 解决率 resolution:   of the same reports, closed as solved
# 满意率 satisfaction: of the rated reports, rated 4 or 5
_HANDLED = f"r.status NOT IN {rules.NOT_HANDLED}"
_AGGREGATES = f"""
count(*) AS total,
count(*) FILTER (WHERE {OVERDUE}) AS overdue,
percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r.closed_at - r.created_at) / 3600.0)
    FILTER (WHERE r.status = 'closed' AND r.closed_at IS NOT NULL) AS median_hours_to_close,
count(*) FILTER (WHERE {_HANDLED}) AS handled,
count(*) FILTER (WHERE {_HANDLED} AND r.accepted_at IS NOT NULL AND r.accepted_at <= {RESPONSE_DUE})
    AS responded_in_time,
count(*) FILTER (WHERE {_HANDLED} AND r.status = 'closed' AND r.solved) AS solved,
count(*) FILTER (WHERE r.rating IS NOT NULL) AS rated,
count(*) FILTER (WHERE r.rating >= {reporting.SATISFIED_FROM}) AS satisfied
"""

# The level below each level, by the column that names it (roll-up: micro → tertiary → community → subdistrict).
CHILD_COLUMN = {"subdistrict": "community_code", "community": "tertiary_code", "tertiary": "micro_code"}


def aggregates(
    session: Session, code: str, since: datetime | None, until: datetime | None, now: datetime
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The grid's aggregates and the same for each of its children (one GROUPING SETS query)."""
    level = reporting.level_of_code(code) or ""
    where, params = _where(ReportFilter(grid=code, since=since, until=until), now)
    child = CHILD_COLUMN.get(level)
    if child is None:
        sql = f"SELECT NULL AS child, {_AGGREGATES} {_FROM} WHERE {where}"
        return dict(session.execute(text(sql), params).one()._mapping), []
    sql = f"""SELECT r.{child} AS child, grouping(r.{child}) AS is_total, {_AGGREGATES} {_FROM} WHERE {where}
              GROUP BY GROUPING SETS ((), (r.{child})) ORDER BY is_total DESC, child NULLS LAST"""
    rows = [dict(r._mapping) for r in session.execute(text(sql), params)]
    total = next((r for r in rows if r["is_total"]), None)
    children = [r for r in rows if not r["is_total"]]
    if total is None:  # no rows at all: GROUPING SETS still yields the () row, but be safe
        total = dict(
            session.execute(text(f"SELECT {_AGGREGATES} {_FROM} WHERE {where}"), params).one()._mapping
        )
    return total, children


def counts_by(
    session: Session, column: str, code: str, since: datetime | None, until: datetime | None, now: datetime
) -> dict[str, int]:
    assert column in ("status", "category", "channel")
    where, params = _where(ReportFilter(grid=code, since=since, until=until), now)
    sql = f"SELECT r.{column} AS key, count(*) AS n {_FROM} WHERE {where} GROUP BY r.{column} ORDER BY r.{column}"
    return {r.key: int(r.n) for r in session.execute(text(sql), params)}
