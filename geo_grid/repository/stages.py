"""SQL for case handling: the stage rows of a case (report_stages), supervision orders (督办 / 催办), the
extension requests (events), and what the sweep looks for (stages past their deadline, parked cases due)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from geo_grid.repository import scope as scope_rules


@dataclass(frozen=True, slots=True)
class StageRow:
    """One stage a case entered, with the limit that was in force then."""

    id: int
    report_id: int
    stage: str
    started_at: datetime
    due_at: datetime
    yellow_at: datetime
    limit_value: float
    limit_unit: str
    ended_at: datetime | None
    on_time: bool | None
    extended: bool
    unit_kind: str | None
    unit_code: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


STAGE_FIELDS = tuple(f.name for f in fields(StageRow))


def _stage(row: Any) -> StageRow:
    m = dict(row._mapping)
    m["limit_value"] = float(m["limit_value"]) if isinstance(m["limit_value"], Decimal) else m["limit_value"]
    return StageRow(**m)


@dataclass(frozen=True, slots=True)
class NewStage:
    report_id: int
    stage: str
    started_at: datetime
    due_at: datetime
    yellow_at: datetime
    limit_value: float
    limit_unit: str
    unit_kind: str | None
    unit_code: str | None


def insert_stages(session: Session, stages: list[NewStage], update_reports: bool = True) -> None:
    """New stage rows, and each report's current stage columns set to them (one report per row; new
    reports are stored with them already: update_reports=False)."""
    if not stages:
        return
    rows = [asdict(s) for s in stages]
    session.execute(
        text(
            """INSERT INTO report_stages (report_id, stage, started_at, due_at, yellow_at, limit_value,
                                          limit_unit, unit_kind, unit_code)
               VALUES (:report_id, :stage, :started_at, :due_at, :yellow_at, :limit_value, :limit_unit,
                       :unit_kind, :unit_code)"""
        ),
        rows,
    )
    if not update_reports:
        return
    session.execute(
        text(
            """UPDATE reports SET stage = :stage, stage_due_at = :due_at, stage_yellow_at = :yellow_at
               WHERE id = :report_id"""
        ),
        rows,
    )


def end_open(
    session: Session, report_id: int, at: datetime, *, count_on_time: bool = True
) -> StageRow | None:
    """End the report's open stage at `at` (on_time = ended by its deadline; left NULL when the stage does
    not count, e.g. it was parked) and clear the report's current stage; returns the ended row."""
    row = session.execute(
        text(
            f"""UPDATE report_stages SET ended_at = :at,
                       on_time = CASE WHEN :count THEN :at <= due_at ELSE NULL END
                WHERE report_id = :id AND ended_at IS NULL RETURNING {", ".join(STAGE_FIELDS)}"""
        ),
        {"id": report_id, "at": at, "count": count_on_time},
    ).first()
    session.execute(
        text("UPDATE reports SET stage = NULL, stage_due_at = NULL, stage_yellow_at = NULL WHERE id = :id"),
        {"id": report_id},
    )
    return _stage(row) if row else None


def open_stage(session: Session, report_id: int) -> StageRow | None:
    sql = f"""SELECT {", ".join(STAGE_FIELDS)} FROM report_stages WHERE report_id = :id AND ended_at IS NULL
              ORDER BY id DESC LIMIT 1"""
    row = session.execute(text(sql), {"id": report_id}).first()
    return _stage(row) if row else None


def stages(session: Session, report_id: int) -> list[StageRow]:
    sql = f"SELECT {', '.join(STAGE_FIELDS)} FROM report_stages WHERE report_id = :id ORDER BY started_at, id"
    return [_stage(r) for r in session.execute(text(sql), {"id": report_id})]


def move_deadline(session: Session, stage_id: int, due_at: datetime, yellow_at: datetime) -> None:
    """An approved extension: the stage's deadline moves (and the report's current one with it)."""
    session.execute(
        text("UPDATE report_stages SET due_at = :due, yellow_at = :yellow, extended = true WHERE id = :id"),
        {"id": stage_id, "due": due_at, "yellow": yellow_at},
    )
    session.execute(
        text(
            """UPDATE reports r SET stage_due_at = :due, stage_yellow_at = :yellow
               FROM report_stages s WHERE s.id = :id AND r.id = s.report_id"""
        ),
        {"id": stage_id, "due": due_at, "yellow": yellow_at},
    )


# ---------------------------------------------------------------------------------------- events
@dataclass(frozen=True, slots=True)
class EventRow:
    id: int
    report_id: int
    kind: str
    actor: str
    note: str | None
    data: dict[str, Any]
    at: datetime


def event(session: Session, event_id: int) -> EventRow | None:
    sql = "SELECT id, report_id, kind, actor, note, data, at FROM report_events WHERE id = :id"
    row = session.execute(text(sql), {"id": event_id}).first()
    return EventRow(**row._mapping) if row else None


def add_event(
    session: Session, report_id: int, kind: str, actor: str, note: str | None, data: dict[str, Any],
    from_status: str | None = None, to_status: str | None = None,
) -> int:  # fmt: skip
    """One history event; returns its id (extension requests are named by it)."""
    stmt = text(
        """INSERT INTO report_events (report_id, kind, from_status, to_status, actor, note, data)
           VALUES (:report_id, :kind, :from_status, :to_status, :actor, :note, :data) RETURNING id"""
    ).bindparams(bindparam("data", type_=JSONB))
    params = {"report_id": report_id, "kind": kind, "from_status": from_status, "to_status": to_status,
              "actor": actor, "note": note, "data": data}  # fmt: skip
    return int(session.execute(stmt, params).scalar_one())


def decided(session: Session, report_id: int, request_id: int) -> bool:
    """Whether the extension request `request_id` was already approved or refused."""
    sql = """SELECT 1 FROM report_events WHERE report_id = :rid
             AND kind IN ('extension_approved', 'extension_refused') AND (data->>'request_id')::bigint = :eid"""
    return session.execute(text(sql), {"rid": report_id, "eid": request_id}).first() is not None


def pending_extension(session: Session, report_id: int) -> int | None:
    """The id of the report's extension request still awaiting a decision, if any."""
    sql = """SELECT q.id FROM report_events q WHERE q.report_id = :rid AND q.kind = 'extension_requested'
             AND NOT EXISTS (SELECT 1 FROM report_events d WHERE d.report_id = :rid
                             AND d.kind IN ('extension_approved', 'extension_refused')
                             AND (d.data->>'request_id')::bigint = q.id)
             ORDER BY q.id LIMIT 1"""
    value = session.execute(text(sql), {"rid": report_id}).scalar_one_or_none()
    return int(value) if value is not None else None


# ------------------------------------------------------------------------------------ supervision
@dataclass(frozen=True, slots=True)
class SupervisionOrder:
    id: int
    report_id: int
    kind: str
    automatic: bool
    issued_by: str
    target: str
    reason: str
    issued_at: datetime
    due_at: datetime | None
    outcome: str | None
    resolved_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


ORDER_FIELDS = tuple(f.name for f in fields(SupervisionOrder))


def add_order(
    session: Session, report_id: int, kind: str, issued_by: str, target: str, reason: str,
    due_at: datetime | None, automatic: bool = False,
) -> SupervisionOrder:  # fmt: skip
    sql = f"""INSERT INTO supervision_orders (report_id, kind, automatic, issued_by, target, reason, due_at)
              VALUES (:rid, :kind, :auto, :by, :target, :reason, :due) RETURNING {", ".join(ORDER_FIELDS)}"""
    params = {"rid": report_id, "kind": kind, "auto": automatic, "by": issued_by, "target": target,
              "reason": reason, "due": due_at}  # fmt: skip
    return SupervisionOrder(**session.execute(text(sql), params).one()._mapping)


def order(session: Session, order_id: int) -> SupervisionOrder | None:
    sql = f"SELECT {', '.join(ORDER_FIELDS)} FROM supervision_orders WHERE id = :id"
    row = session.execute(text(sql), {"id": order_id}).first()
    return SupervisionOrder(**row._mapping) if row else None


def orders(
    session: Session,
    report_id: int | None = None,
    open_only: bool = False,
    limit: int = 1000,
    access: scope_rules.Scope = scope_rules.EVERYTHING,
) -> list[SupervisionOrder]:
    """Supervision orders (of one report, or all), those of reports in the caller's scope only."""
    where = ["true"]
    params: dict[str, Any] = {"rid": report_id, "limit": limit}
    if report_id is not None:
        where.append("report_id = :rid")
    if open_only:
        where.append("resolved_at IS NULL")
    if not access.everything:
        within = scope_rules.reports_in(access)
        where.append(
            f"EXISTS (SELECT 1 FROM reports r WHERE r.id = supervision_orders.report_id AND {within.sql})"
        )
        params.update(within.params)
    sql = f"""SELECT {", ".join(ORDER_FIELDS)} FROM supervision_orders WHERE {" AND ".join(where)}
              ORDER BY issued_at, id LIMIT :limit"""
    return [SupervisionOrder(**r._mapping) for r in session.execute(text(sql), params)]


def resolve_order(session: Session, order_id: int, outcome: str) -> None:
    sql = "UPDATE supervision_orders SET outcome = :outcome, resolved_at = geo_grid_now() WHERE id = :id"
    session.execute(text(sql), {"id": order_id, "outcome": outcome})


# ------------------------------------------------------------------------------------------ sweep
@dataclass(frozen=True, slots=True)
class LateStage:
    """An open stage past its deadline that has no red_light event yet (the sweep urges it once)."""

    stage_id: int
    report_id: int
    stage: str
    due_at: datetime
    unit_kind: str | None
    unit_code: str | None
    tertiary_code: str | None


# One sweep at a time across every process (API workers, `geo-grid sweep`): a transaction-scoped advisory
# lock; a sweep that does not get it leaves the work to the one that has it.
SWEEP_LOCK = 0x6767_5357  # "ggSW"


def try_sweep_lock(session: Session) -> bool:
    return bool(session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": SWEEP_LOCK}).scalar_one())


def late_stages(session: Session, now: datetime, limit: int = 5000) -> list[LateStage]:
    sql = """SELECT s.id AS stage_id, s.report_id, s.stage, s.due_at, s.unit_kind, s.unit_code, r.tertiary_code
             FROM report_stages s JOIN reports r ON r.id = s.report_id
             WHERE s.ended_at IS NULL AND s.due_at < :now AND r.status <> 'parked'
               AND NOT EXISTS (SELECT 1 FROM report_events e WHERE e.report_id = s.report_id
                               AND e.kind = 'red_light' AND (e.data->>'stage_id')::bigint = s.id)
             ORDER BY s.due_at, s.id LIMIT :limit"""
    return [LateStage(**r._mapping) for r in session.execute(text(sql), {"now": now, "limit": limit})]


def parked_due(session: Session, today: date) -> list[int]:
    """Parked cases whose review date has come, locked for the unpark."""
    sql = (
        """SELECT id FROM reports WHERE status = 'parked' AND parked_until <= :today ORDER BY id FOR UPDATE"""
    )
    return [int(r.id) for r in session.execute(text(sql), {"today": today})]


@dataclass(frozen=True, slots=True)
class Undated:
    """A report stored without deadlines (bulk-loaded)."""

    id: int
    category: str
    status: str
    created_at: datetime
    accepted_at: datetime | None
    dispatch_kind: str | None
    dispatch_target: str | None
    micro_code: str | None
    subdistrict_code: str | None


def without_deadlines(session: Session) -> list[Undated]:
    sql = f"""SELECT {", ".join(f.name for f in fields(Undated))} FROM reports WHERE due_at IS NULL ORDER BY id"""
    return [Undated(**r._mapping) for r in session.execute(text(sql))]


def set_deadlines(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(
            text(
                """UPDATE reports SET due_at = :due_at, stage = :stage, stage_due_at = :stage_due_at,
                          stage_yellow_at = :stage_yellow_at WHERE id = :id"""
            ),
            rows,
        )
