"""`geo-grid import reports FILE`: CSV or GeoJSON reports, all-or-nothing, with a progress bar."""

from __future__ import annotations

import getpass
import json
from dataclasses import replace
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from geo_grid.cli import import_app
from geo_grid.cli.common import database, fail, session_for
from geo_grid.errors import GeoGridError, ServiceUnavailable
from geo_grid.io.reports import ReadOptions, read_reports
from geo_grid.services import categories as category_service
from geo_grid.services import directory as directory_service
from geo_grid.services.report_import import import_reports
from geo_grid.settings import Settings


def _pairs(values: list[str], what: str, allow_empty: bool = False) -> dict[str, str]:
    out = {}
    for value in values:
        key, sep, target = value.partition("=")
        if not sep or not key.strip() or not (target.strip() or allow_empty):
            raise typer.BadParameter(f"{what} must look like A=B, not {value!r}")
        out[key.strip()] = target.strip()
    return out


@import_app.command("reports")
def import_reports_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="reports .csv or .geojson"),
    commit: bool = typer.Option(
        True, "--commit/--dry-run", help="--dry-run: check everything, say what would change, then roll back"
    ),
    column: list[str] = typer.Option(
        [], "--column", help="our_field=file_column, e.g. created_at=createddate; status= ignores a column"
    ),
    category_map: list[str] = typer.Option([], "--category-map", help="file_value=our_category (repeatable)"),
    default_category: str | None = typer.Option(None, help="category for values the map does not know"),
    default_channel: str | None = typer.Option(None, help="channel for rows without a known one"),
    crs: str = typer.Option("wgs84", help="crs of lon/lat: wgs84 | cgcs2000 | gcj02 | bd09"),
    tz: str = typer.Option("Asia/Shanghai", help="time zone of times written without an offset"),
    allow_missing_point: bool = typer.Option(
        False, help="take rows without coordinates unlocated (flagged outside, routed to 街道中心)"
    ),
    actor: str | None = typer.Option(None, help="name recorded in the history (default cli:<user>)"),
    source: str | None = typer.Option(
        None,
        "--source",
        help="the rows are orders of this system (e.g. 12345): idempotent on (source, report_id)",
    ),
) -> None:
    """Import reports: each is placed in its micro-grid (or flagged outside), near-boundary and duplicate
    flags are set, and its deadlines follow the categories table. One bad row and nothing is imported; the error
    names the row. With --dry-run everything is checked and stored in a transaction that is then rolled
    back."""
    options = ReadOptions(
        columns=_pairs(column, "--column", allow_empty=True),
        category_map=_pairs(category_map, "--category-map"),
        default_category=default_category,
        default_channel=default_channel,
        crs=crs,
        tz=tz,
        allow_missing_point=allow_missing_point,
    )
    settings = Settings()
    who = actor or f"cli:{getpass.getuser()}"
    with database(settings) as (url, _):
        try:
            with session_for(url, commit=commit) as session:
                known = category_service.table(session).codes  # the categories table's codes
                rows = read_reports(file, replace(options, categories=known))
                # Every subdistrict's active boundaries: a report goes to the subdistrict whose grid covers it.
                directory = directory_service.build_active(session)
                if directory is None:
                    raise ServiceUnavailable("no active boundaries: load them first (geo-grid load-sample)")
                with Progress(
                    TextColumn("[bold]placing reports"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                ) as bar:
                    task = bar.add_task("reports", total=len(rows))
                    summary = import_reports(
                        session,
                        directory,
                        settings,
                        rows,
                        who,
                        file.name,
                        lambda n: bar.advance(task, n),
                        order_source=source,
                    )
        except GeoGridError as exc:
            raise fail(exc) from exc
    verb = "imported" if commit else "would import (dry run, nothing changed)"
    typer.echo(f"{verb}: {summary.imported} reports from {file.name}")
    typer.echo(json.dumps(summary.as_dict(), ensure_ascii=False))
