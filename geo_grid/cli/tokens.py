"""`geo-grid token create`: issue an API token (printed once; only its hash is stored)."""

from __future__ import annotations

import getpass

import typer

from geo_grid.cli import app
from geo_grid.cli.common import database, fail, session_for
from geo_grid.cli.users import subdistrict_choice
from geo_grid.errors import GeoGridError
from geo_grid.services import auth
from geo_grid.services.auth import create_token
from geo_grid.settings import Settings

token_app = typer.Typer(help="API tokens for dispatchers, planners and admins.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("create")
def create(
    role: str = typer.Option(..., help="dispatcher | planner | admin"),
    name: str = typer.Option(..., help="who uses the token (recorded in audit logs)"),
    subdistrict: str | None = typer.Option(
        None, help="the subdistrict (街道, 9-digit code) it acts for; default: the served one (admin: none)"
    ),
    district: bool = typer.Option(
        False, "--district", help="district/city level: reads every subdistrict, changes nothing unless admin"
    ),
) -> None:
    """Create a token and print it once; store it safely, it cannot be shown again."""
    with database(Settings()) as (url, _):
        try:
            with session_for(url) as session:
                token = create_token(session, role, name, actor=f"cli:{getpass.getuser()}",
                                     subdistrict=subdistrict_choice(subdistrict, district))  # fmt: skip
        except GeoGridError as exc:
            raise fail(exc) from exc
    typer.echo(token)


@token_app.command("list")
def list_tokens() -> None:
    """List tokens (id, role, name, created, revoked, subdistrict or `district`); the tokens themselves are
    never stored."""
    with database(Settings()) as (url, _), session_for(url) as session:
        rows = auth.list_tokens(session)
    for t in rows:
        revoked = f"revoked {t['revoked_at']:%Y-%m-%d %H:%M}" if t["revoked_at"] else "active"
        scope = t["subdistrict_code"] or "district"
        created = f"{t['created_at']:%Y-%m-%d %H:%M}"
        typer.echo(f"{t['id']}\t{t['role']}\t{t['name']}\t{created}\t{revoked}\t{scope}")


@token_app.command("revoke")
def revoke(token_id: int = typer.Argument(..., help="the id shown by `geo-grid token list`")) -> None:
    """Revoke a token (audited). Running services refuse it within GEO_GRID_TOKEN_CACHE_TTL_S (5 s)."""
    with database(Settings()) as (url, _):
        try:
            with session_for(url) as session:
                auth.revoke_token(session, token_id, actor=f"cli:{getpass.getuser()}")
        except GeoGridError as exc:
            raise fail(exc) from exc
    typer.echo(f"token {token_id} revoked")
