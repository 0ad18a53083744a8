"""`geo-grid categories import|export FILE`, `geo-grid calendar import FILE | export`, `geo-grid sweep`:
the case categories and the work calendar as data, and the sweep of lights and parked cases
(README "Case handling (数字城管)")."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

import typer

from geo_grid import clock
from geo_grid.cli import app
from geo_grid.cli.common import database, fail, session_for
from geo_grid.errors import GeoGridError
from geo_grid.services import categories as category_service
from geo_grid.services import stages as stage_service
from geo_grid.settings import Settings

categories_app = typer.Typer(help="Case categories (GB/T 30428.2 shape) as CSV.", no_args_is_help=True)
calendar_app = typer.Typer(help="The work calendar: holidays and 调休 working days.", no_args_is_help=True)
app.add_typer(categories_app, name="categories")
app.add_typer(calendar_app, name="calendar")


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


@categories_app.command("export")
def export_categories(file: Path = typer.Argument(..., help="CSV file to write (UTF-8 with BOM)")) -> None:
    """Write every category (one column per stage limit value and unit) to FILE."""
    with (
        database(Settings()) as (url, _),
        session_for(url, commit=False) as session,
        file.open("w", newline="", encoding="utf-8") as fh,
    ):
        n = category_service.export_categories(session, fh)
    typer.echo(f"exported {n} categories to {file}")


@categories_app.command("import")
def import_categories(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV in the export's columns"),
    commit: bool = typer.Option(True, "--commit/--dry-run", help="--dry-run: check everything, keep nothing"),
) -> None:
    """Add or replace categories from FILE: every row is checked first; one bad row and nothing changes.
    Audited. Cases keep the limits in force when they entered each stage."""
    with database(Settings()) as (url, _):
        try:
            with session_for(url, commit=commit) as session:
                summary = category_service.import_categories(session, file, _actor())
        except GeoGridError as exc:
            raise fail(exc) from exc
    typer.echo(json.dumps(summary, ensure_ascii=False))


@calendar_app.command("export")
def export_calendar(
    file: Path | None = typer.Argument(None, help="CSV file to write (default: standard output)"),
) -> None:
    """Write the calendar's days (day,is_workday,name): holidays and 调休 working days."""
    with database(Settings()) as (url, _), session_for(url, commit=False) as session:
        if file is None:
            n = category_service.export_calendar(session, sys.stdout)
            return
        with file.open("w", newline="", encoding="utf-8") as fh:
            n = category_service.export_calendar(session, fh)
    typer.echo(f"exported {n} days to {file}")


@calendar_app.command("import")
def import_calendar(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV: day,is_workday,name"),
) -> None:
    """Upsert the days of FILE (e.g. next year's State Council notice), whole or not at all. Audited."""
    with database(Settings()) as (url, _):
        try:
            with session_for(url) as session:
                summary = category_service.import_calendar(session, file, _actor())
        except GeoGridError as exc:
            raise fail(exc) from exc
    typer.echo(json.dumps(summary, ensure_ascii=False))


@app.command("sweep")
def sweep() -> None:
    """Record red lights (each with an automatic 催办, once per stage) and bring back parked cases whose
    review date has come. The running service does this on its own every few seconds."""
    with database(Settings()) as (url, _), session_for(url) as session:
        result = stage_service.sweep(session, clock.now())
    typer.echo(json.dumps({"red": result.red, "unparked": result.unparked}))
