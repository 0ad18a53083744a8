"""`geo-grid maps coverage|incidents|editor -o FILE`: write a map page as a standalone HTML file."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from sqlalchemy.orm import Session

from geo_grid import clock
from geo_grid.cli import app
from geo_grid.cli.common import database, fail, session_for
from geo_grid.errors import GeoGridError
from geo_grid.render import assets
from geo_grid.services import incident_maps
from geo_grid.services import maps as map_service
from geo_grid.settings import Settings

if TYPE_CHECKING:  # folium loads when a page is drawn, not with every `geo-grid` command
    import folium

maps_app = typer.Typer(
    help="Map pages as HTML files (the API serves the same pages under /maps/).", no_args_is_help=True
)
app.add_typer(maps_app, name="maps")

OutOption = typer.Option(..., "-o", "--output", help="HTML file to write, e.g. maps/coverage.html")
AssetsOption = typer.Option(
    None,
    "--assets-url",
    help="where the page loads its JS/CSS; default: maps/node_modules relative to the file",
)
ApiOption = typer.Option(
    "http://127.0.0.1:8000", "--api-url", help="the API the page links to (report details)"
)
PersonalOption = typer.Option(
    False, "--unmasked", help="show full phone numbers (only for a dispatcher's own use)"
)
SubdistrictOption = typer.Option(
    None,
    "--subdistrict",
    help="whose map (a subdistrict's code); default: the only one, else the whole district",
)


def _write(
    output: Path,
    assets_url: str | None,
    build: Callable[[Session, map_service.Page], folium.Map],
    api_url: str = "",
) -> None:
    assets.check_installed()
    output.parent.mkdir(parents=True, exist_ok=True)
    # A file opened from disk finds the assets next to it through a relative path.
    url = assets_url or Path(os.path.relpath(assets.ASSET_DIR, output.resolve().parent)).as_posix()
    settings = Settings()
    with database(settings) as (db_url, _):
        try:
            with session_for(db_url) as session:
                html = assets.html_of(build(session, map_service.Page(url, api_url)))
        except GeoGridError as exc:
            raise fail(exc) from exc
    output.write_text(html, encoding="utf-8")
    typer.echo(f"wrote {output} ({len(html.encode()) / 1e6:.2f} MB)")


@maps_app.command("coverage")
def coverage(
    output: Path = OutOption,
    generation: int | None = typer.Option(None, help="a generation id (a draft also shows its problems)"),
    grid: str | None = typer.Option(None, help="open zoomed on this grid code"),
    unmasked: bool = PersonalOption,
    assets_url: str | None = AssetsOption,
    subdistrict: str | None = SubdistrictOption,
) -> None:
    """The coverage map: grids in distinct colours, people, facilities, road segments, courtyards."""
    basemap = map_service.basemap_of(Settings())
    _write(
        output,
        assets_url,
        lambda s, page: map_service.coverage_map(
            s,
            basemap,
            unmasked,
            generation,
            grid,
            page,
            subdistrict=map_service.page_subdistrict(s, subdistrict, None),
        ),  # fmt: skip
    )


@maps_app.command("incidents")
def incidents(
    output: Path = OutOption,
    status: list[str] = typer.Option([], help="report status (repeatable)"),
    category: list[str] = typer.Option([], help="report category (repeatable)"),
    since: datetime | None = typer.Option(None, help="created at or after"),
    until: datetime | None = typer.Option(None, help="created before"),
    grid: str | None = typer.Option(None, help="a grid code, any level"),
    include_closed: bool = typer.Option(False, help="also show reports closed more than 30 days ago"),
    unmasked: bool = PersonalOption,
    assets_url: str | None = AssetsOption,
    api_url: str = ApiOption,
    subdistrict: str | None = SubdistrictOption,
) -> None:
    """The incident map: reports by state (overdue marked), heat map, open reports per micro-grid."""
    basemap = map_service.basemap_of(Settings())
    f = incident_maps.IncidentFilter(
        status or None, category or None, since, until, grid, include_closed, subdistrict=subdistrict
    )
    _write(
        output,
        assets_url,
        lambda s, page: incident_maps.incident_map(s, basemap, unmasked, f, clock.now(), page),
        api_url,
    )


@maps_app.command("editor")
def editor(
    output: Path = OutOption,
    generation: int | None = typer.Option(None, help="the draft (default: the current draft)"),
    assets_url: str | None = AssetsOption,
    api_url: str = ApiOption,
) -> None:
    """The planner's editor page for a draft (it submits edits to the API at --api-url)."""
    basemap = map_service.basemap_of(Settings())
    _write(output, assets_url, lambda s, page: map_service.editor_map(s, basemap, generation, page), api_url)
