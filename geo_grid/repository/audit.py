"""SQL for the audit log: who changed what and when (every write), who read unmasked personal data.

The actor is the token's id (`actor_token_id`, the principal) or the console user's id (`actor_user_id`, a
browser session) with its name kept for reading; CLI actions carry `cli:<os user>` and neither id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from geo_grid.models import AuditEntry as AuditRow


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit log entry as read back."""

    id: int
    at: datetime
    actor: str
    actor_token_id: int | None
    actor_user_id: int | None
    action: str
    subject: str | None
    generation_id: int | None
    grid_code: str | None
    detail: dict[str, Any]


def add(
    session: Session,
    actor: str,
    action: str,
    detail: dict[str, Any],
    grid_code: str | None = None,
    *,
    actor_token_id: int | None = None,
    actor_user_id: int | None = None,
    subject: str | None = None,
) -> None:
    add_many(
        session,
        [{"actor": actor, "action": action, "detail": detail, "grid_code": grid_code,
          "actor_token_id": actor_token_id, "actor_user_id": actor_user_id, "subject": subject}],
    )  # fmt: skip


def add_many(session: Session, rows: list[dict[str, Any]]) -> None:
    """Many entries in one INSERT (keys: actor, action, detail and optionally grid_code, actor_token_id,
    actor_user_id, subject, at)."""
    if not rows:
        return
    defaults: dict[str, Any] = {
        "grid_code": None,
        "actor_token_id": None,
        "actor_user_id": None,
        "subject": None,
        "detail": {},
    }
    full = [{**defaults, **r} for r in rows]
    with_at = [r for r in full if r.get("at") is not None]
    without = [{k: v for k, v in r.items() if k != "at"} for r in full if r.get("at") is None]
    for batch in (with_at, without):
        if batch:
            session.execute(insert(AuditRow), batch)


_FROM_JSON_SQL = text(
    """INSERT INTO audit_log (at, actor, actor_token_id, actor_user_id, action, subject, grid_code, detail)
       SELECT coalesce(r.at, geo_grid_now()), r.actor, r.actor_token_id, r.actor_user_id, r.action, r.subject,
              r.grid_code, coalesce(r.detail, '{}')
       FROM ROWS FROM (jsonb_to_recordset(CAST(:rows AS jsonb)) AS (
            at timestamptz, actor text, actor_token_id integer, actor_user_id integer, action text,
            subject text, grid_code text, detail jsonb))
            WITH ORDINALITY AS r(at, actor, actor_token_id, actor_user_id, action, subject, grid_code, detail, n)
       ORDER BY r.n"""
)


def add_many_json(session: Session, rows: list[dict[str, Any]]) -> None:
    """Many entries in one INSERT of one JSON document (the same rows as `add_many`, at a fraction of its
    CPU in this process: one orjson.dumps, no per-row parameter processing; PostgreSQL unpacks it). The
    background audit writer (services/audit.py). Keys as `add_many`; no `at`: the database's clock."""
    if rows:
        payload = orjson.dumps(rows, option=orjson.OPT_NON_STR_KEYS).decode()
        session.execute(_FROM_JSON_SQL, {"rows": payload})


def entries(
    session: Session,
    *,
    actor_token_id: int | None = None,
    actor_user_id: int | None = None,
    subject: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    limit: int = 1000,
) -> list[AuditEntry]:
    """Entries, newest first, filtered by token, subject, action (prefix) and time."""
    where: list[str] = ["true"]
    params: dict[str, Any] = {"limit": limit}
    if actor_token_id is not None:
        where.append("actor_token_id = :tid")
        params["tid"] = actor_token_id
    if actor_user_id is not None:
        where.append("actor_user_id = :uid")
        params["uid"] = actor_user_id
    if subject is not None:
        where.append("subject = :subject")
        params["subject"] = subject
    if action is not None:
        where.append("action LIKE :action")
        params["action"] = action.replace("%", r"\%") + "%"
    if since is not None:
        where.append("at >= :since")
        params["since"] = since
    sql = f"""SELECT id, at, actor, actor_token_id, actor_user_id, action, subject, generation_id, grid_code, detail
              FROM audit_log WHERE {" AND ".join(where)} ORDER BY at DESC, id DESC LIMIT :limit"""
    return [AuditEntry(**r._mapping) for r in session.execute(text(sql), params)]
