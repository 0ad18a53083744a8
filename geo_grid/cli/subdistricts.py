"""`geo-grid subdistricts import|export|list`: the subdistricts (街道) as rows, in and out as CSV."""

from __future__ import annotations

import getpass
from pathlib import Path

import typer

from geo_grid.cli import app
from geo_grid.cli.common import database, fail, session_for
from geo_grid.errors import GeoGridError
from geo_grid.repository import subdistricts as subdistrict_repo
from geo_grid.services import audit as audit_service
from geo_grid.services import subdistricts as subdistrict_service
from geo_grid.settings import Settings

subdistricts_app = typer.Typer(
    help="Subdistricts (街道) with their district, city and province codes.", no_args_is_help=True
)
app.add_typer(subdistricts_app, name="subdistricts")


@subdistricts_app.command("import")
def import_subdistricts(
    file: Path = typer.Argument(..., help="CSV: " + ",".join(subdistrict_repo.COLUMNS)),
) -> None:
    """Insert or update subdistricts by code; one bad row and nothing changes (the error names the row)."""
    content = file.read_text(encoding="utf-8")
    with database(Settings()) as (url, _):
        try:
            with session_for(url) as session:
                count = subdistrict_service.import_csv(session, content)
                audit_service.record(session, f"cli:{getpass.getuser()}", "import_subdistricts", str(file),
                                     {"rows": count})  # fmt: skip
        except GeoGridError as exc:
            raise fail(exc) from exc
    typer.echo(f"{count} subdistrict(s) imported")


@subdistricts_app.command("export")
def export_subdistricts(file: Path = typer.Argument(..., help="CSV file to write")) -> None:
    """Write every subdistrict as CSV (UTF-8 with BOM, the import's columns)."""
    with database(Settings()) as (url, _), session_for(url, commit=False) as session:
        content = subdistrict_service.export_csv(session)
    file.write_text(content, encoding="utf-8", newline="")
    typer.echo(f"{content.count(chr(10)) - 1} subdistrict(s) written to {file}")


@subdistricts_app.command("list")
def list_subdistricts() -> None:
    """One line per subdistrict: code, name, district, city, province."""
    with database(Settings()) as (url, _), session_for(url, commit=False) as session:
        rows = subdistrict_repo.list_all(session)
    for s in rows:
        typer.echo(f"{s.code}\t{s.name}\t{s.district_name}\t{s.city_name}\t{s.province_name}")
