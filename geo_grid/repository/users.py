"""SQL for console users and their browser sessions (migration 0006_accounts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from geo_grid.models import User as UserRow
from geo_grid.models import WebSession as WebSessionRow


@dataclass(frozen=True, slots=True)
class User:
    """A console user as stored (the password hash stays in the repository and services/accounts.py)."""

    id: int
    login: str
    display_name: str
    role: str
    person_id: int | None
    password_hash: str
    disabled: bool
    failed_attempts: int
    last_failed_at: datetime | None
    locked_until: datetime | None
    created_at: datetime
    password_changed_at: datetime
    subdistrict_code: str | None  # None: district/city level (repository/scope.py)


@dataclass(frozen=True, slots=True)
class WebSession:
    id: str
    user_id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None


_USER_COLUMNS = [getattr(UserRow, f) for f in User.__dataclass_fields__]
_SESSION_COLUMNS = [getattr(WebSessionRow, f) for f in WebSession.__dataclass_fields__]


def _user(row: Any) -> User:
    return User(**row._mapping)


def add_user(
    session: Session,
    login: str,
    display_name: str,
    role: str,
    password_hash: str,
    person_id: int | None,
    now: datetime,
    subdistrict_code: str | None = None,
) -> User:
    stmt = (
        insert(UserRow)
        .values(login=login, display_name=display_name, role=role, password_hash=password_hash,
                person_id=person_id, created_at=now, password_changed_at=now,
                subdistrict_code=subdistrict_code)
        .returning(*_USER_COLUMNS)
    )  # fmt: skip
    return _user(session.execute(stmt).one())


def by_login(session: Session, login: str, *, for_update: bool = False) -> User | None:
    stmt = select(*_USER_COLUMNS).where(UserRow.login == login)
    if for_update:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).first()
    return None if row is None else _user(row)


def by_id(session: Session, user_id: int) -> User | None:
    row = session.execute(select(*_USER_COLUMNS).where(UserRow.id == user_id)).first()
    return None if row is None else _user(row)


def list_all(session: Session) -> list[User]:
    return [_user(r) for r in session.execute(select(*_USER_COLUMNS).order_by(UserRow.id))]


def update_user(session: Session, user_id: int, **values: Any) -> None:
    session.execute(update(UserRow).where(UserRow.id == user_id).values(**values))


def person_exists(session: Session, person_id: int) -> bool:
    from geo_grid.models import Person

    return session.execute(select(Person.id).where(Person.id == person_id)).first() is not None


# ------------------------------------------------------------------------------------------- sessions


def add_session(
    session: Session,
    session_id: str,
    user_id: int,
    now: datetime,
    expires_at: datetime,
    ip: str | None,
    user_agent: str | None,
) -> None:
    session.execute(
        insert(WebSessionRow).values(
            id=session_id, user_id=user_id, created_at=now, last_seen_at=now, expires_at=expires_at,
            ip=ip, user_agent=user_agent,
        )
    )  # fmt: skip


def session_with_user(session: Session, session_id: str) -> tuple[WebSession, User] | None:
    stmt = (
        select(*_SESSION_COLUMNS, *[c.label(f"u_{c.key}") for c in _USER_COLUMNS])
        .join(UserRow, UserRow.id == WebSessionRow.user_id)
        .where(WebSessionRow.id == session_id)
    )
    row = session.execute(stmt).first()
    if row is None:
        return None
    m = row._mapping
    ws = WebSession(**{f: m[f] for f in WebSession.__dataclass_fields__})
    user = User(**{f: m[f"u_{f}"] for f in User.__dataclass_fields__})
    return ws, user


def touch_session(session: Session, session_id: str, now: datetime) -> None:
    session.execute(update(WebSessionRow).where(WebSessionRow.id == session_id).values(last_seen_at=now))


def delete_session(session: Session, session_id: str) -> bool:
    result = session.execute(delete(WebSessionRow).where(WebSessionRow.id == session_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def delete_sessions_of(session: Session, user_id: int) -> int:
    result = session.execute(delete(WebSessionRow).where(WebSessionRow.user_id == user_id))
    return int(result.rowcount)  # type: ignore[attr-defined]


def delete_expired(session: Session, now: datetime, idle_before: datetime) -> int:
    stmt = delete(WebSessionRow).where(
        (WebSessionRow.expires_at <= now) | (WebSessionRow.last_seen_at <= idle_before)
    )
    return int(session.execute(stmt).rowcount)  # type: ignore[attr-defined]
