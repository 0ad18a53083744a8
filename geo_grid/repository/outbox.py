"""SQL for the outbox: messages to the source systems' webhooks (enqueued by the trigger of migration
0005 on report_events, in the transaction of the change), claimed in order per report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.orm import Session

OutboxState = Literal["pending", "delivered", "failed", "all"]


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One message and its delivery state."""

    id: int
    source: str
    report_id: int
    event_id: int | None
    payload: dict[str, Any]
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_error: str | None
    failed_for_good: bool

    @property
    def state(self) -> str:
        if self.delivered_at is not None:
            return "delivered"
        return "failed" if self.failed_for_good else "pending"


@dataclass(frozen=True, slots=True)
class Due:
    """A message due for delivery, with where it goes and the key that signs it."""

    message: OutboxMessage
    webhook_url: str
    secret: str


_COLUMNS = (
    "o.id, o.source, o.report_id, o.event_id, o.payload, o.created_at, o.attempts, o.next_attempt_at, "
    "o.delivered_at, o.last_error, o.failed_for_good"
)
_STATE = {
    "pending": "o.delivered_at IS NULL AND NOT o.failed_for_good",
    "delivered": "o.delivered_at IS NOT NULL",
    "failed": "o.delivered_at IS NULL AND o.failed_for_good",
    "all": "true",
}


def _message(row: Any) -> OutboxMessage:
    return OutboxMessage(**{k: row._mapping[k] for k in OutboxMessage.__dataclass_fields__})


def claim_due(session: Session, limit: int, skip: list[int] | None = None) -> list[Due]:
    """The messages due now, each the oldest undelivered one of its report (a later message never
    overtakes an earlier one, even one that failed for good), of an active source with a webhook; locked
    until the transaction ends (other workers skip them). `skip`: ids already tried in this pass."""
    sql = f"""
    SELECT {_COLUMNS}, s.webhook_url, s.secret
    FROM outbox o JOIN exchange_sources s ON s.name = o.source
    WHERE o.delivered_at IS NULL AND NOT o.failed_for_good AND o.next_attempt_at <= geo_grid_now()
      AND s.active AND s.webhook_url IS NOT NULL AND NOT (o.id = ANY(:skip))
      AND NOT EXISTS (SELECT 1 FROM outbox e
                      WHERE e.report_id = o.report_id AND e.id < o.id AND e.delivered_at IS NULL)
    ORDER BY o.next_attempt_at, o.id
    LIMIT :limit
    FOR UPDATE OF o SKIP LOCKED"""
    rows = session.execute(text(sql), {"limit": limit, "skip": skip or []})
    return [Due(_message(r), r.webhook_url, r.secret) for r in rows]


def mark_delivered(session: Session, message_id: int) -> None:
    sql = """UPDATE outbox SET delivered_at = geo_grid_now(), attempts = attempts + 1, last_error = NULL
             WHERE id = :id"""
    session.execute(text(sql), {"id": message_id})


def mark_failed(session: Session, message_id: int, error: str, retry_in: timedelta | None) -> None:
    """One more failed attempt: retry after `retry_in`, or (None) give up until an admin re-delivers it."""
    sql = """UPDATE outbox SET attempts = attempts + 1, last_error = :error,
                 next_attempt_at = geo_grid_now() + make_interval(secs => :secs),
                 failed_for_good = :gave_up
             WHERE id = :id"""
    secs = retry_in.total_seconds() if retry_in is not None else 0.0
    session.execute(
        text(sql), {"id": message_id, "error": error[:2000], "secs": secs, "gave_up": retry_in is None}
    )


def redeliver(session: Session, message_ids: list[int] | None, source: str | None = None) -> int:
    """Send failed messages again (the given ones, or every failed one [of `source`]): attempts start
    over, due at once. Returns how many."""
    where = ["delivered_at IS NULL", "failed_for_good"]
    params: dict[str, Any] = {}
    if message_ids is not None:
        where.append("id = ANY(:ids)")
        params["ids"] = message_ids
    if source is not None:
        where.append("source = :source")
        params["source"] = source
    sql = f"""UPDATE outbox SET failed_for_good = false, attempts = 0, next_attempt_at = geo_grid_now()
              WHERE {" AND ".join(where)}"""
    return int(session.execute(text(sql), params).rowcount)  # type: ignore[attr-defined]


def messages(
    session: Session,
    state: OutboxState = "all",
    source: str | None = None,
    report_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[OutboxMessage], int]:
    """A page of messages (oldest first) and how many match."""
    where = [_STATE[state]]
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if source is not None:
        where.append("o.source = :source")
        params["source"] = source
    if report_id is not None:
        where.append("o.report_id = :report_id")
        params["report_id"] = report_id
    cond = " AND ".join(where)
    total = session.execute(text(f"SELECT count(*) FROM outbox o WHERE {cond}"), params).scalar_one()
    sql = f"SELECT {_COLUMNS} FROM outbox o WHERE {cond} ORDER BY o.id LIMIT :limit OFFSET :offset"
    return [_message(r) for r in session.execute(text(sql), params)], int(total)


def counts(session: Session) -> dict[str, int]:
    """How many messages are pending, delivered and failed for good."""
    sql = """SELECT count(*) FILTER (WHERE delivered_at IS NULL AND NOT failed_for_good) AS pending,
                    count(*) FILTER (WHERE delivered_at IS NOT NULL) AS delivered,
                    count(*) FILTER (WHERE delivered_at IS NULL AND failed_for_good) AS failed
             FROM outbox"""
    row = session.execute(text(sql)).one()
    return {"pending": int(row.pending), "delivered": int(row.delivered), "failed": int(row.failed)}
