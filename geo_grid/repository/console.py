"""What the dispatcher's console asks the database itself: the newest reports, for its event stream
(GET /console/events polls these once a second: an index-only look at the primary key)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_grid.repository import scope as scope_rules


def newest_report_id(session: Session) -> int:
    """The highest report id (0 when there is none)."""
    return int(session.execute(text("SELECT coalesce(max(id), 0) FROM reports")).scalar_one())


def report_ids_after(
    session: Session, after_id: int, limit: int = 100, access: scope_rules.Scope = scope_rules.EVERYTHING
) -> list[int]:
    """Ids of the reports created after `after_id` (ids grow), oldest first, at most `limit`; only those in
    the caller's scope (repository/scope.py)."""
    within = scope_rules.reports_in(access)
    rows = session.execute(
        text(f"SELECT id FROM reports r WHERE r.id > :after AND {within.sql} ORDER BY r.id LIMIT :limit"),
        {"after": after_id, "limit": limit, **within.params},
    )
    return [int(r) for r in rows.scalars()]
