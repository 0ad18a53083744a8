"""`geo-grid assessment --period 2026-10 -o 2026-10.xlsx`: the monthly assessment (考核) as an Excel workbook."""

from __future__ import annotations

from pathlib import Path

import typer

from geo_grid.cli import app
from geo_grid.cli.common import database, fail, session_for
from geo_grid.errors import GeoGridError
from geo_grid.services import assessment as assessment_service
from geo_grid.settings import Settings


@app.command("assessment")
def assessment_command(
    period: str = typer.Option(..., "--period", help="the month, YYYY-MM (Beijing time)"),
    output: Path = typer.Option(..., "-o", "--output", dir_okay=False, help="the .xlsx file to write"),
    by: list[str] = typer.Option(
        [], "--by", help="only these unit kinds (repeatable): " + ", ".join(assessment_service.UNIT_KINDS)
    ),
    subdistrict: str | None = typer.Option(
        None,
        "--subdistrict",
        help="the subdistrict code (default: the only one; with several, the whole district)",
    ),
) -> None:
    """Write the month's assessment as an Excel workbook in Chinese: a sheet of definitions, then one sheet
    per unit kind (街道, 社区, 三级网格, 微网格, 职能部门, 微网格长) with its 12-month trend chart, its
    ranking chart and every unit's indicators (weights and the ranking minimum: GEO_GRID_ASSESSMENT_*)."""
    settings = Settings()
    kinds = tuple(by) or assessment_service.UNIT_KINDS
    with database(settings) as (url, _):
        try:
            with session_for(url, commit=False) as session:
                body = assessment_service.workbook(
                    session, period, settings.assessment_weights, settings.assessment_min_cases, kinds,
                    subdistrict=subdistrict,
                )  # fmt: skip
        except GeoGridError as exc:
            raise fail(exc) from exc
    output.write_bytes(body)
    typer.echo(f"{output}: {len(kinds)} sheets of units, period {period}")
