"""Reading (and setting up) a test database directly, behind the API: rows, single values, a statement."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from geo_grid import db


def query(url: str, sql: str, **params: Any) -> list[Any]:
    """The rows of one SQL statement, on a connection of its own."""
    engine = db.make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params))
    finally:
        engine.dispose()


def scalar(url: str, sql: str, **params: Any) -> Any:
    """The first column of the first row (None when there is none)."""
    rows = query(url, sql, **params)
    return rows[0][0] if rows else None


def execute(url: str, sql: str, **params: Any) -> None:
    """One statement in a transaction of its own (a test's set-up the API has no route for)."""
    engine = db.make_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params)
    finally:
        engine.dispose()
