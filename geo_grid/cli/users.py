"""`geo-grid user create|list|disable|reset-password|move`: console users (passwords stored as argon2 hashes)."""

from __future__ import annotations

import getpass

import typer

from geo_grid.cli import app
from geo_grid.cli.common import database, fail, session_for
from geo_grid.errors import GeoGridError
from geo_grid.models import USER_ROLES
from geo_grid.services import accounts
from geo_grid.services.auth import SERVED, SubdistrictChoice
from geo_grid.settings import Settings

user_app = typer.Typer(help="Users of the web console (log in at /login).", no_args_is_help=True)
app.add_typer(user_app, name="user")


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def subdistrict_choice(subdistrict: str | None, district: bool) -> SubdistrictChoice:
    """`--subdistrict CODE` / `--district` (district/city level) / neither: the served subdistrict."""
    if subdistrict is not None and district:
        raise typer.BadParameter("--subdistrict 与 --district 只能选一个")
    if district:
        return None
    return SERVED if subdistrict is None else subdistrict


def _password(given: str | None) -> str:
    if given is not None:
        return given
    value: str = typer.prompt("密码 (password)", hide_input=True, confirmation_prompt=True)
    return value


@user_app.command("create")
def create(
    login: str = typer.Option(..., help="login name (no spaces)"),
    name: str = typer.Option(..., help="display name, e.g. 张三"),
    role: str = typer.Option(..., help=" | ".join(USER_ROLES)),
    person: int | None = typer.Option(None, help="id of the person in the roster (people.id), optional"),
    subdistrict: str | None = typer.Option(
        None,
        help="the subdistrict (街道, 9-digit code) the user works for; default: the served one (admin: none)",
    ),
    district: bool = typer.Option(
        False, "--district", help="district/city level: reads every subdistrict, changes nothing unless admin"
    ),
    password: str | None = typer.Option(
        None, help="the password (default: asked twice, hidden; prefer that: a command line is visible)"
    ),
) -> None:
    """Create a user (audited). The first admin: `geo-grid user create --login admin --name 管理员 --role admin`."""
    choice = subdistrict_choice(subdistrict, district)
    secret = _password(password)
    with database(Settings()) as (url, _):
        try:
            with session_for(url) as session:
                user = accounts.create_user(
                    session, login, name, role, secret, person, actor=_actor(), subdistrict=choice
                )
        except GeoGridError as exc:
            raise fail(exc) from exc
    scope = user.subdistrict_code or "district"
    typer.echo(f"user {user.id} {user.login} ({user.role}, {scope}) created")


@user_app.command("list")
def list_users() -> None:
    """List users: id, login, role, name, person, state (active / disabled / locked until …), subdistrict
    (its code, or `district` for the district/city level)."""
    from geo_grid import clock

    with database(Settings()) as (url, _), session_for(url) as session:
        users = accounts.list_users(session)
    now = clock.now()
    for u in users:
        if u.disabled:
            state = "disabled"
        elif u.locked_until is not None and u.locked_until > now:
            state = f"locked until {u.locked_until:%Y-%m-%d %H:%M}"
        else:
            state = "active"
        person = "" if u.person_id is None else str(u.person_id)
        scope = u.subdistrict_code or "district"
        typer.echo(f"{u.id}\t{u.login}\t{u.role}\t{u.display_name}\t{person}\t{state}\t{scope}")


@user_app.command("disable")
def disable(login: str = typer.Argument(..., help="the user's login name")) -> None:
    """Disable a user; their sessions end at once (audited)."""
    with database(Settings()) as (url, _):
        try:
            with session_for(url) as session:
                accounts.disable_user(session, login, actor=_actor())
        except GeoGridError as exc:
            raise fail(exc) from exc
    typer.echo(f"user {login} disabled")


@user_app.command("reset-password")
def reset_password(
    login: str = typer.Argument(..., help="the user's login name"),
    password: str | None = typer.Option(None, help="the new password (default: asked twice, hidden)"),
) -> None:
    """Set a new password; lifts a lockout and ends the user's sessions (audited)."""
    secret = _password(password)
    with database(Settings()) as (url, _):
        try:
            with session_for(url) as session:
                accounts.reset_password(session, login, secret, actor=_actor())
        except GeoGridError as exc:
            raise fail(exc) from exc
    typer.echo(f"password of {login} reset")


@user_app.command("move")
def move(
    login: str = typer.Argument(..., help="the user's login name"),
    subdistrict: str | None = typer.Option(
        None, help="the subdistrict (9-digit code) the user now works for"
    ),
    district: bool = typer.Option(
        False, "--district", help="to the district/city level (read-only unless admin)"
    ),
) -> None:
    """Move a user to another subdistrict or to the district/city level; ends their sessions (audited)."""
    if (subdistrict is None) == (not district):
        raise typer.BadParameter("请指明 --subdistrict 编码 或 --district（二选一）")
    with database(Settings()) as (url, _):
        try:
            with session_for(url) as session:
                user = accounts.move_user(session, login, subdistrict, actor=_actor())
        except GeoGridError as exc:
            raise fail(exc) from exc
    typer.echo(f"user {login} now belongs to {user.subdistrict_code or 'district'}")
