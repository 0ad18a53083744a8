"""Engine and session factories, and running the Alembic migrations to head."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic.config import Config
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from geo_grid.settings import PROJECT_ROOT


def make_engine(url: str, pool_size: int = 10, connect_timeout_s: int = 3) -> Engine:
    # pre_ping lets the pool drop connections that died while PostgreSQL restarted, so the service
    # recovers by itself; the short connect timeout keeps /health quick while the database is down.
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={"connect_timeout": connect_timeout_s, "application_name": "geo_grid"},
    )


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
        return conn.execute(text("SELECT count(*) FROM generations")).scalar_one() == 0
