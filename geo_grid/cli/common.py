"""What several commands share: settings and a database to talk to (embedded or configured)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlalchemy.orm import Session

from geo_grid import clock, db
from geo_grid.embedded import EmbeddedCluster, EmbeddedError, cluster_from_settings
from geo_grid.errors import GeoGridError
from geo_grid.settings import Settings


@contextmanager
def database(settings: Settings, migrate: bool = True) -> Iterator[tuple[str, EmbeddedCluster | None]]:
    """Yield the database URL: the configured one, or the embedded cluster's (started for the duration
    of the command if it was not already running, and stopped again afterwards)."""
    cluster = None
    started_here = False
    try:
        if settings.database_url:
            url = settings.database_url
        else:
            cluster = cluster_from_settings(settings)
            started_here = not (cluster.initialised() and cluster.running())
            cluster.start()
            url = cluster.ensure_database(settings.database_name)
        if migrate:
            db.upgrade(url)
        yield url, cluster
    except EmbeddedError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    finally:
        if cluster is not None and started_here:
            cluster.stop()


@contextmanager
def session_for(url: str, commit: bool = True) -> Iterator[Session]:
    """One transaction on `url`: committed whole on success, rolled back on error — and always rolled
    back when `commit` is False (a dry run: everything is checked and written, then nothing is kept)."""
    engine = db.make_engine(url, pool_size=2)
    try:
        with db.make_session_factory(engine)() as session, session.begin() as tx:
            yield session
            if not commit:
                tx.rollback()
    finally:
        engine.dispose()


def fail(exc: GeoGridError) -> typer.Exit:
    """Print a domain error (message, then its detail) on stderr; the command exits with status 2."""
    typer.secho(f"error: {exc.message}", fg=typer.colors.RED, err=True)
    errors = exc.detail.get("errors") if isinstance(exc.detail, dict) else None
    if errors and all(isinstance(e, str) for e in errors):
        for line in errors[1:]:  # the first is in the message already
            typer.secho(f"  {line}", err=True)
    elif exc.detail:
        typer.echo(json.dumps(exc.detail, ensure_ascii=False, default=str)[:4000], err=True)
    return typer.Exit(2)


def load_sample_if_empty(url: str, settings: Settings) -> dict[str, int] | None:
    from geo_grid.services.sample import load_sample

    engine = db.make_engine(url, pool_size=1)
    try:
        if not db.database_is_empty(engine):
            return None
        with db.transaction(db.make_session_factory(engine)) as session:
            now = None if settings.sample_keep_times else clock.now()
            return load_sample(session, settings.sample_dir, settings.near_boundary_m, now)
    finally:
        engine.dispose()
