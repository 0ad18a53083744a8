"""`geo-grid import boundaries`, `geo-grid export` and `geo-grid generations …`: boundary files and drafts."""

from __future__ import annotations

import getpass
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer

from geo_grid.cli import app, import_app
from geo_grid.cli.common import database, fail, session_for
from geo_grid.errors import GeoGridError
from geo_grid.io import boundaries as boundary_io
from geo_grid.io import uploads
from geo_grid.services import communities as community_service
from geo_grid.services import generation_diff, generation_files, validation
from geo_grid.services import generations as generation_service
from geo_grid.settings import Settings

generations_app = typer.Typer(
    help="Boundary generations: list, open a draft, validate, activate.", no_args_is_help=True
)
app.add_typer(generations_app, name="generations")


# Which subdistrict a command is about: needed only when the database holds several.
_SUBDISTRICT: Any = typer.Option(
    None, "--subdistrict", help="subdistrict code (9 digits); needed when the database holds several"
)


def _actor(actor: str | None) -> str:
    return actor or f"cli:{getpass.getuser()}"


@import_app.command("boundaries")
def import_boundaries(
    file: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        help="GeoJSON, GeoPackage or zipped Shapefile (checked by content; anything else is refused)",
    ),
    level: str = typer.Option(..., help="micro | tertiary: the level the file replaces in the draft"),
    code_field: str = typer.Option("code", help="field holding the grid code"),
    name_field: str = typer.Option("name", help="field holding the grid name"),
    parent_field: str | None = typer.Option(
        None, help="field holding the parent code (default: parent_code)"
    ),
    parent_code: str | None = typer.Option(
        None, help="one parent code for every feature without a parent field"
    ),
    crs: str | None = typer.Option(
        None, help="gcj02 | bd09 (map-app offsets), or EPSG:<n> for an undeclared CRS"
    ),
    generation: int | None = typer.Option(
        None, help="import into this open draft instead of opening a new one"
    ),
    subdistrict: str | None = _SUBDISTRICT,
    commit: bool = typer.Option(
        True, "--commit/--dry-run", help="--dry-run: check everything, say what would change, then roll back"
    ),
    actor: str | None = typer.Option(None, help="name recorded in the audit log (default cli:<user>)"),
) -> None:
    """Read a boundary layer into a draft (the active boundaries with this level replaced).

    The draft is itself the preview (nothing goes live before activation). With --dry-run everything is
    read, checked and stored in a transaction that is then rolled back, and the command says what it would
    do and what the validation report would show."""
    try:
        # The same checks as an upload (geo_grid.io.uploads): a VRT, a crs link or a zip bomb is refused.
        limits = uploads.Limits.for_upload_bound(Settings().max_upload_bytes)
        layer = boundary_io.read_layer(
            file, level, code_field, name_field, parent_field, parent_code, crs, limits=limits
        )
    except GeoGridError as exc:
        raise fail(exc) from exc
    with database(Settings()) as (url, _):
        outcome: dict[str, object] = {}
        try:
            with session_for(url, commit=commit) as session:
                result = generation_files.import_layer(
                    session, layer, _actor(actor), generation, file.name, subdistrict
                )
                report = validation.report(session, result.generation)
                outcome = {**asdict(result), "validation": report.counts, "by_kind": report.by_kind}
        except GeoGridError as exc:
            raise fail(exc) from exc
    verb = "imported" if commit else "would import (dry run, nothing changed)"
    typer.echo(
        f"{verb}: {outcome['features']} {level} grids from {file.name} into draft "
        f"{outcome['generation'] if commit else '(new)' if generation is None else generation}, "
        f"replacing {outcome['replaced']}"
    )
    if layer.shifted_from:
        typer.echo(f"coordinates shifted from {layer.shifted_from} to WGS84")
    typer.echo(f"validation: {json.dumps(outcome['validation'])} {json.dumps(outcome['by_kind'])}")


@import_app.command("communities")
def import_communities(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="GeoJSON, GeoPackage or zipped Shapefile of community outlines"
    ),
    subdistrict: str | None = _SUBDISTRICT,
    code_field: str = typer.Option("code", help="field holding the 12-digit community code"),
    name_field: str = typer.Option("name", help="field holding the community name"),
    crs: str | None = typer.Option(None, help="gcj02 | bd09, or EPSG:<n> for an undeclared CRS"),
    actor: str | None = typer.Option(None, help="name recorded in the audit log (default cli:<user>)"),
) -> None:
    """Insert or update a subdistrict's communities (社区) and their outlines: every code must lie under
    the subdistrict's code; one bad feature and nothing changes."""
    try:
        limits = uploads.Limits.for_upload_bound(Settings().max_upload_bytes)
        # Read like a boundary layer whose parent is the subdistrict (the same content checks).
        layer = boundary_io.read_layer(
            file, "tertiary", code_field, name_field, None, subdistrict or "-", crs, limits=limits
        )
    except GeoGridError as exc:
        raise fail(exc) from exc
    with database(Settings()) as (url, _):
        try:
            with session_for(url) as session:
                result = community_service.import_layer(session, layer, _actor(actor), subdistrict)
        except GeoGridError as exc:
            raise fail(exc) from exc
    typer.echo(json.dumps(asdict(result), ensure_ascii=False))


@app.command("export")
def export(
    generation: int = typer.Option(..., help="generation id (geo-grid generations list)"),
    format: str = typer.Option("geojson", "--format", help="geojson | gpkg | shp (a zip)"),
    output: Path = typer.Option(..., "-o", "--output", help="file to write"),
    level: str | None = typer.Option(None, help="only micro or only tertiary grids"),
) -> None:
    """Write a generation's grids with code, name, level, parent_code (and community_code)."""
    with database(Settings()) as (url, _):
        try:
            with session_for(url) as session:
                generation_files.export(session, generation, format, output, level)
        except GeoGridError as exc:
            raise fail(exc) from exc
    typer.echo(f"wrote {output}")


@generations_app.command("list")
def list_generations(subdistrict: str | None = _SUBDISTRICT) -> None:
    """Every generation (of every subdistrict unless one is named): id, subdistrict, status, who opened
    and activated it, when."""
    with database(Settings()) as (url, _):
        try:
            with session_for(url) as session:
                rows = generation_service.list_generations(session, subdistrict)
        except GeoGridError as exc:
            raise fail(exc) from exc
    for g in rows:
        typer.echo(
            f"{g.id:>4}  {g.subdistrict_code}  {g.status:<8} created {g.created_at:%Y-%m-%d %H:%M} by {g.created_by}"
            f"  activated {g.activated_at or '-'}  retired {g.retired_at or '-'}  {g.counts}"
        )


@generations_app.command("open")
def open_draft(
    note: str | None = typer.Option(None),
    actor: str | None = typer.Option(None),
    subdistrict: str | None = _SUBDISTRICT,
) -> None:
    """Open a draft of a subdistrict: a copy of its active boundaries."""
    with database(Settings()) as (url, _):
        try:
            with session_for(url) as session:
                gen = generation_service.open_draft(session, _actor(actor), note, subdistrict)
        except GeoGridError as exc:
            raise fail(exc) from exc
    typer.echo(f"opened draft {gen.id}")


@generations_app.command("validate")
def validate(generation: int = typer.Argument(...), output: Path | None = typer.Option(None, "-o")) -> None:
    """Print the validation counts; -o writes the problems as GeoJSON."""
    with database(Settings()) as (url, _):
        try:
            with session_for(url) as session:
                report = validation.report(session, generation)
        except GeoGridError as exc:
            raise fail(exc) from exc
    for p in report.problems[:50]:
        typer.echo(f"{p.severity:<7} {p.kind:<20} {p.message}")
    typer.echo(json.dumps({"counts": report.counts, "by_kind": report.by_kind}))
    if output:
        output.write_text(json.dumps(report.geojson, ensure_ascii=False, default=str), encoding="utf-8")


@generations_app.command("activate")
def activate(
    generation: int = typer.Argument(...),
    commit: bool = typer.Option(
        False, "--commit", help="activate; without it only validate and say what would move"
    ),
    actor: str | None = typer.Option(None),
) -> None:
    """Validate a draft and make it the active generation (a running API swaps to it within GEO_GRID_GENERATION_POLL_S)."""
    with database(Settings()) as (url, _):
        try:
            with session_for(url) as session:
                if commit:
                    near_m = Settings().near_boundary_m
                    result: dict[str, Any] = asdict(
                        generation_service.activate(session, generation, _actor(actor), near_m)
                    )
                else:
                    draft = generation_service.get(session, generation)
                    active = generation_service.active(session, draft.subdistrict_code)
                    report = validation.report(session, generation)
                    moves = generation_diff.diff(session, active.id, generation).counts if active else {}
                    result = {"would_activate": generation, "validation": report.counts, "changes": moves}
        except GeoGridError as exc:
            raise fail(exc) from exc
    typer.echo(json.dumps(result, ensure_ascii=False, default=str))
