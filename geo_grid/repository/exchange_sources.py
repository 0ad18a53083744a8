"""SQL for the systems that exchange orders with geo_grid (exchange_sources) and their orders' identity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class ExchangeSource:
    """A configured source system; `secret` signs its webhook messages (never shown after creation)."""

    name: str
    webhook_url: str | None
    secret: str
    api_key_hash: str | None
    active: bool
    created_at: datetime


_COLUMNS = "name, webhook_url, secret, api_key_hash, active, created_at"


def add(
    session: Session, name: str, webhook_url: str | None, secret: str, api_key_hash: str
) -> ExchangeSource:
    sql = f"""INSERT INTO exchange_sources (name, webhook_url, secret, api_key_hash)
              VALUES (:name, :url, :secret, :key) RETURNING {_COLUMNS}"""
    row = session.execute(
        text(sql), {"name": name, "url": webhook_url, "secret": secret, "key": api_key_hash}
    )
    return ExchangeSource(**row.one()._mapping)


def get(session: Session, name: str) -> ExchangeSource | None:
    row = session.execute(
        text(f"SELECT {_COLUMNS} FROM exchange_sources WHERE name = :n"), {"n": name}
    ).first()
    return ExchangeSource(**row._mapping) if row else None


def by_api_key_hash(session: Session, key_hash: str) -> ExchangeSource | None:
    sql = f"SELECT {_COLUMNS} FROM exchange_sources WHERE api_key_hash = :h AND active"
    row = session.execute(text(sql), {"h": key_hash}).first()
    return ExchangeSource(**row._mapping) if row else None


def all_sources(session: Session) -> list[ExchangeSource]:
    return [
        ExchangeSource(**r._mapping)
        for r in session.execute(text(f"SELECT {_COLUMNS} FROM exchange_sources ORDER BY name"))
    ]


def update(session: Session, name: str, *, webhook_url: str | None = None, active: bool | None = None,
           secret: str | None = None, api_key_hash: str | None = None) -> ExchangeSource | None:  # fmt: skip
    """Change the given fields (None: unchanged)."""
    values = {"webhook_url": webhook_url, "active": active, "secret": secret, "api_key_hash": api_key_hash}
    sets = [f"{k} = :{k}" for k, v in values.items() if v is not None]
    if sets:
        sql = f"UPDATE exchange_sources SET {', '.join(sets)} WHERE name = :name"
        session.execute(text(sql), {"name": name, **{k: v for k, v in values.items() if v is not None}})
    return get(session, name)


def lock_order(session: Session, source: str, external_id: str) -> None:
    """Serialise intakes of one order (until the transaction ends): the same order sent twice at once
    is still one report."""
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 14))"),
        {"key": f"{source}\x1f{external_id}"},
    )


def find_order(session: Session, source: str, external_id: str) -> int | None:
    """The report of an order of `source`, or None."""
    sql = "SELECT id FROM reports WHERE source = :s AND external_id = :e"
    value = session.execute(text(sql), {"s": source, "e": external_id}).scalar_one_or_none()
    return int(value) if value is not None else None


def orders(session: Session, source: str, external_ids: list[str]) -> dict[str, int]:
    """external_id → report id of the orders of `source` among `external_ids`."""
    sql = "SELECT external_id, id FROM reports WHERE source = :s AND external_id = ANY(:ids)"
    return {r.external_id: int(r.id) for r in session.execute(text(sql), {"s": source, "ids": external_ids})}


def source_of(session: Session, report_id: int) -> tuple[str | None, str | None]:
    """(source, external_id) of a report."""
    row = session.execute(
        text("SELECT source, external_id FROM reports WHERE id = :id"), {"id": report_id}
    ).first()
    return (row.source, row.external_id) if row else (None, None)
