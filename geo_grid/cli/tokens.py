"""`geo-grid token create`: issue an API token (printed once; only its hash is stored)."""

from __future__ import annotations

import typer

from geo_grid.cli import app
from geo_grid.cli.common import database, session_for
from geo_grid.errors import GeoGridError
from geo_grid.services.auth import create_token
from geo_grid.settings import Settings

token_app = typer.Typer(help="API tokens for dispatchers, planners and admins.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("create")
def create(
    role: str = typer.Option(..., help="dispatcher | planner | admin"),
    name: str = typer.Option(..., help="who uses the token (recorded in audit logs)"),
) -> None:
    """Create a token and print it once; store it safely, it cannot be shown again."""
    with database(Settings()) as (url, _):
        try:
            with session_for(url) as session:
                token = create_token(session, role, name)
        except GeoGridError as exc:
            typer.secho(f"error: {exc.message}", fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from exc
    typer.echo(token)
