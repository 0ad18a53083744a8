"""SQL for a generation's edit stamp: a cheap value that changes whenever the generation's grids change."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def grid_stamp(session: Session, generation_id: int) -> tuple[object, ...]:
    """(rows, sum of versions, newest updated_at, newest audit entry) of a generation's grids: every edit
    bumps a version or updated_at, inserts or deletes rows, or writes an audit entry (a rename), so two
    equal stamps mean the same grids — also when another process made the edit."""
    row = session.execute(
        text("""SELECT count(*) AS n, coalesce(sum(version), 0) AS versions, max(updated_at) AS updated,
                       (SELECT max(id) FROM audit_log WHERE generation_id = :gen) AS audit
                FROM grids WHERE generation_id = :gen"""),
        {"gen": generation_id},
    ).one()
    return (row.n, row.versions, row.updated, row.audit)
