"""`geo-grid db upgrade` and `geo-grid load-sample`."""

from __future__ import annotations

from dataclasses import asdict

import typer

from geo_grid.cli import app
from geo_grid.cli.common import database, fail, load_sample_if_empty, session_for
from geo_grid.errors import GeoGridError
from geo_grid.services import synthetic_district as synthetic_service
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
    synthetic_district: int | None = typer.Option(
        None,
        "--synthetic-district",
        min=1,
        max=999,
        help="instead of the sample: a generated district of N subdistricts tiled exactly, with people, "
        "addresses and reports (tests, demos, benchmarks)",
    ),
    micro_per_subdistrict: int = typer.Option(
        1000, min=4, help="with --synthetic-district: about how many micro-grids each subdistrict has"
    ),
    reports_per_subdistrict: int = typer.Option(20, min=0, help="with --synthetic-district: reports of each"),
) -> None:
    """Load the generated sample data of sample_boundaries/ (only into an empty database); or, with
    --synthetic-district N, a generated district of N subdistricts."""
    settings = Settings()
    if synthetic_district is not None:
        with database(settings) as (url, _):
            try:
                with session_for(url) as session:
                    loaded = synthetic_service.load(
                        session,
                        synthetic_district,
                        micro_per_subdistrict,
                        reports_per_subdistrict,
                        settings.near_boundary_m,
                    )
            except GeoGridError as exc:
                raise fail(exc) from exc
        typer.echo("loaded: " + ", ".join(f"{k} {v}" for k, v in asdict(loaded).items()))
        return
    if keep_times:
        settings = settings.model_copy(update={"sample_keep_times": True})
    with database(settings) as (url, _):
        counts = load_sample_if_empty(url, settings)
    if counts is None:
        typer.echo("the database already holds data; nothing loaded")
        raise typer.Exit(1)
    typer.echo("loaded: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
