"""Engine and session factories, and running the Alembic migrations to head."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg2.extensions
from alembic.config import Config
from psycopg2.extensions import ISQLQuote, register_adapter
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from geo_grid import clock
from geo_grid.settings import PROJECT_ROOT


def _utc_datetimes() -> None:
    """Send aware datetimes to PostgreSQL in UTC. An ISO 8601 offset may legally be up to ±23:59, but
    PostgreSQL refuses offsets beyond ±15:59; in UTC every instant is representable. Idempotent."""
    key = (datetime, ISQLQuote)
    original = psycopg2.extensions.adapters[key]
    if getattr(original, "geo_grid_utc", False):
        return

    def adapt_utc(value: datetime) -> Any:
        return original(value.astimezone(UTC) if value.tzinfo is not None else value)

    adapt_utc.geo_grid_utc = True  # type: ignore[attr-defined]
    register_adapter(datetime, adapt_utc)


def make_engine(url: str, pool_size: int = 10, connect_timeout_s: int = 3) -> Engine:
    _utc_datetimes()
    # pre_ping lets the pool drop connections that died while PostgreSQL restarted, so the service
    # recovers by itself; the short connect timeout keeps /health quick while the database is down.
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={"connect_timeout": connect_timeout_s, "application_name": "geo_grid"},
    )
    event.listen(engine, "checkout", _set_clock)
    return engine


def _set_clock(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
    """Tell the connection the clock's offset (read by SQL `geo_grid_now()`), only when it changed:
    a pooled connection normally pays nothing."""
    offset = clock.sql_offset()
    if record.info.get("clock_offset") != offset:
        with dbapi_conn.cursor() as cur:
            cur.execute("SELECT set_config('geo_grid.clock_offset', %s, false)", (offset,))
        dbapi_conn.commit()
        record.info["clock_offset"] = offset


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed whole on success, rolled back whole on any error."""
    with factory() as session, session.begin():
        yield session


def alembic_config(url: str) -> Config:

    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Run the Alembic migrations (the only way the schema is created) up to `revision`."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def database_is_empty(engine: Engine) -> bool:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM generations")).scalar_one()) == 0
