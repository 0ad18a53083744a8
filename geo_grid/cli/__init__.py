"""The `geo-grid` command line (typer). Each command family lives in its own module."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="geo_grid — 未来路街道网格化基层治理: grids, lookups, reports and maps on PostGIS.",
    no_args_is_help=True,
    add_completion=False,
)

# `geo-grid import …` (boundaries, reports, addresses): each command family adds its own command here.
import_app = typer.Typer(
    help="Import data files; each import commits whole or changes nothing.", no_args_is_help=True
)
app.add_typer(import_app, name="import")


@app.callback()
def _configure() -> None:
    """Runs before every command: the one clock follows GEO_GRID_NOW (geo_grid/clock.py)."""
    from geo_grid import clock
    from geo_grid.settings import Settings

    clock.configure(Settings().now)


def _register() -> None:
    # Imported for their side effect of adding commands to `app`.
    from geo_grid.cli import (  # noqa: F401
        addresses,
        assessment,
        assign,
        boundaries,
        cases,
        database,
        exchange,
        maps,
        reports,
        server,
        subdistricts,
        tokens,
        users,
    )


_register()
