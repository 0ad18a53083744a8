"""Bulk inserts of many rows into one table (sample loading): one multi-row INSERT per batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from geo_grid.models import Base, Generation, Person


def is_empty(session: Session) -> bool:
    return session.query(Generation.id).first() is None


def add_generation(session: Session, **fields: Any) -> Generation:
    gen = Generation(**fields)
    session.add(gen)
    session.flush()
    return gen


def insert_rows(session: Session, model: type[Base], rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(model), list(rows))


def insert_people(session: Session, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert people; returns person_id (e.g. P00001) → primary key, for their roles."""
    stmt = insert(Person).returning(Person.id, Person.person_id, sort_by_parameter_order=True)
    return {person_id: pk for pk, person_id in session.execute(stmt, list(rows)).all()}
