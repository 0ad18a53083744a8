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
def load_sample(
    keep_times: bool = typer.Option(
        False,
        "--keep-times",
        help="keep the files' report times (default: move them by whole days so that the newest report "
        "is of the last 24 hours; also GEO_GRID_SAMPLE_KEEP_TIMES)",
    ),
) -> None:
    """Load the generated sample data of sample_boundaries/ (only into an empty database)."""
    settings = Settings()
    if keep_times:
        settings = settings.model_copy(update={"sample_keep_times": True})
    with database(settings) as (url, _):
        counts = load_sample_if_empty(url, settings)
    if counts is None:
        typer.echo("the database already holds data; nothing loaded")
        raise typer.Exit(1)
    typer.echo("loaded: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
