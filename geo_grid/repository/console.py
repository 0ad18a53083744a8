"""What the dispatcher's console asks the database itself: the newest reports, for its event stream
(GET /console/events polls these once a second: an index-only look at the primary key)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def newest_report_id(session: Session) -> int:
    """The highest report id (0 when there is none)."""
    return int(session.execute(text("SELECT coalesce(max(id), 0) FROM reports")).scalar_one())


def report_ids_after(session: Session, after_id: int, limit: int = 100) -> list[int]:
    """Ids of the reports created after `after_id` (ids grow), oldest first, at most `limit`."""
    rows = session.execute(
        text("SELECT id FROM reports WHERE id > :after ORDER BY id LIMIT :limit"),
        {"after": after_id, "limit": limit},
    )
    return [int(r) for r in rows.scalars()]
