"""`geo-grid db upgrade` and `geo-grid load-sample`."""

from __future__ import annotations

import typer

from geo_grid.cli import app
from geo_grid.cli.common import database, load_sample_if_empty
from geo_grid.settings import Settings

db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def upgrade() -> None:
    """Run the Alembic migrations to head (creates the schema on an empty database)."""
    with database(Settings()) as (url, _):
        typer.echo(f"schema is at head: {url.split('@')[-1]}")


@app.command("load-sample")
def load_sample() -> None:
    """Load the generated sample data of sample_boundaries/ (only into an empty database)."""
    settings = Settings()
    with database(settings) as (url, _):
        counts = load_sample_if_empty(url, settings)
    if counts is None:
        typer.echo("the database already holds data; nothing loaded")
        raise typer.Exit(1)
    typer.echo("loaded: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
