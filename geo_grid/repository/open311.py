"""SQL the Open311 GeoReport v2 interface needs besides the report queries: a report by its tracking
code (the GeoReport `token`) and the last note of each report's status history (`status_notes`)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def report_for_tracking_hash(session: Session, code_hash: str) -> int | None:
    sql = "SELECT id FROM reports WHERE tracking_code_hash = :h"
    value = session.execute(text(sql), {"h": code_hash}).scalar_one_or_none()
    return int(value) if value is not None else None


def last_status_notes(session: Session, report_ids: list[int]) -> dict[int, str | None]:
    """report id → the note of its latest status change (None: no note)."""
    sql = """SELECT DISTINCT ON (report_id) report_id, note FROM report_events
             WHERE report_id = ANY(:ids) AND to_status IS NOT NULL
             ORDER BY report_id, at DESC, id DESC"""
    return {int(r.report_id): r.note for r in session.execute(text(sql), {"ids": report_ids})}
