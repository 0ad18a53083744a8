"""SQL for generations: the active one, the one valid at a moment, listing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_grid.repository import scope as scope_rules


@dataclass(frozen=True, slots=True)
class Generation:
    """A set of boundaries valid together (draft → active → retired), as stored."""

    id: int
    subdistrict_code: str
    status: str
    based_on: int | None
    note: str | None
    created_by: str
    created_at: datetime
    activated_by: str | None
    activated_at: datetime | None
    retired_at: datetime | None


_COLUMNS = """id, subdistrict_code, status, based_on, note, created_by, created_at, activated_by,
              activated_at, retired_at"""


def _one(session: Session, sql: str, params: dict[str, Any]) -> Generation | None:
    row = session.execute(text(sql), params).first()
    return Generation(**row._mapping) if row is not None else None


def active(session: Session, subdistrict: str) -> Generation | None:
    sql = f"SELECT {_COLUMNS} FROM generations WHERE subdistrict_code = :sub AND status = 'active' LIMIT 1"
    return _one(session, sql, {"sub": subdistrict})


def all_active(session: Session) -> list[Generation]:
    """Every subdistrict's active generation, by subdistrict code."""
    sql = f"SELECT {_COLUMNS} FROM generations WHERE status = 'active' ORDER BY subdistrict_code"
    return [Generation(**r._mapping) for r in session.execute(text(sql))]


def at(session: Session, moment: datetime, subdistrict: str) -> Generation | None:
    """The generation that was active at `moment` (activated before it, not yet retired)."""
    sql = f"""SELECT {_COLUMNS} FROM generations
              WHERE subdistrict_code = :sub AND status IN ('active', 'retired') AND activated_at <= :moment
                    AND (retired_at IS NULL OR retired_at > :moment)
              ORDER BY activated_at DESC LIMIT 1"""
    return _one(session, sql, {"sub": subdistrict, "moment": moment})


def get(session: Session, generation_id: int) -> Generation | None:
    return _one(session, f"SELECT {_COLUMNS} FROM generations WHERE id = :id", {"id": generation_id})


def lock(session: Session, generation_id: int, exclusive: bool = False) -> Generation | None:
    """The generation, row-locked until the transaction ends: edits take a share lock, activation an
    exclusive one, so an edit never lands in a draft while it is being activated."""
    mode = "UPDATE" if exclusive else "SHARE"
    sql = f"SELECT {_COLUMNS} FROM generations WHERE id = :id FOR {mode}"
    return _one(session, sql, {"id": generation_id})


def list_in(session: Session, access: scope_rules.Scope, drafts: bool = True) -> list[Generation]:
    """The generations in a caller's scope (repository/scope.py), every subdistrict's for the district;
    drafts only when `drafts` (scope.reads_drafts)."""
    within = scope_rules.generations_readable(access, drafts)
    sql = f"SELECT {_COLUMNS} FROM generations g WHERE {within.sql} ORDER BY id"
    return [Generation(**r._mapping) for r in session.execute(text(sql), within.params)]


def list_all(session: Session, subdistrict: str) -> list[Generation]:
    sql = f"SELECT {_COLUMNS} FROM generations WHERE subdistrict_code = :sub ORDER BY id"
    return [Generation(**r._mapping) for r in session.execute(text(sql), {"sub": subdistrict})]
