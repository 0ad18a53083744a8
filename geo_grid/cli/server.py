"""`geo-grid up`: migrate, load the sample when empty, serve the API; Ctrl-C stops everything."""

from __future__ import annotations

import typer
import uvicorn

from geo_grid.cli import app
from geo_grid.cli.common import database, load_sample_if_empty
from geo_grid.settings import Settings


@app.command()
def up(
    host: str = typer.Option(None, help="address to listen on (default 127.0.0.1)"),
    port: int = typer.Option(None, help="port to listen on (default 8000)"),
) -> None:
    """Serve the API. Without GEO_GRID_DATABASE_URL, starts (and at exit stops) the embedded PostGIS."""
    from geo_grid.api.app import create_app
    from geo_grid.api.header_timeout import protocol_class

    settings = Settings()
    with database(settings) as (url, cluster):
        if cluster is not None:
            typer.echo(f"embedded PostGIS running on 127.0.0.1:{cluster.port} (data in {cluster.pgdata})")
        if settings.load_sample:
            counts = load_sample_if_empty(url, settings)
            if counts:
                typer.echo("sample data loaded: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        settings = settings.model_copy(update={"database_url": url})
        host, port = host or settings.host, port or settings.port
        typer.echo(f"geo_grid API on http://{host}:{port} (docs at /docs); Ctrl-C stops it")
        # http=: uvicorn's own protocol plus a request-header timeout (api/header_timeout.py); no `server`
        # header (it would name the software and its version)
        http = protocol_class(settings.header_timeout_s)
        uvicorn.run(
            create_app(settings), host=host, port=port, log_level="info", http=http, server_header=False
        )
    typer.echo("stopped")
