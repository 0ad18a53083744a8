"""`geo-grid up`: migrate, load the sample when empty, serve the API; Ctrl-C (or SIGTERM: systemd, docker
stop, kill) stops everything."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING

import typer
import uvicorn

from geo_grid.cli import app
from geo_grid.cli.common import database, load_sample_if_empty
from geo_grid.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI


@app.command()
def up(
    host: str = typer.Option(None, help="address to listen on (default 127.0.0.1)"),
    port: int = typer.Option(None, help="port to listen on (default 8000)"),
    workers: int = typer.Option(
        None, min=1, max=64, help="API processes on the one port (default GEO_GRID_WORKERS, 1)"
    ),
) -> None:
    """Serve the API. Without GEO_GRID_DATABASE_URL, starts (and at exit stops) the embedded PostGIS."""
    from geo_grid.api.app import create_app

    signal.signal(signal.SIGTERM, _stop_as_ctrl_c)
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
        workers = workers or settings.workers
        typer.echo(
            f"geo_grid API on http://{host}:{port} (docs at /docs), {workers} process(es); Ctrl-C stops it"
        )
        serve(
            lambda: create_app(settings),
            "geo_grid.api.app:app_from_environment",
            settings,
            host,
            port,
            workers,
        )
    typer.echo("stopped")


def _stop_as_ctrl_c(signum: int, frame: object) -> None:
    """SIGTERM stops `geo-grid up` as Ctrl-C does. uvicorn shuts the server down gracefully on either
    signal and then raises it again; with SIGTERM's default action the process would die there, before
    the embedded PostgreSQL it started is stopped (left running, holding the data directory)."""
    raise KeyboardInterrupt


def serve(
    make_app: Callable[[], FastAPI], factory: str, settings: Settings, host: str, port: int, workers: int
) -> None:
    """Serve an app as `geo-grid up` does (benchmarks/lookup_http.py serves its baseline with it too):
    one process runs `make_app()`; N worker processes each build theirs by the import string `factory`
    (`module:function`, from the GEO_GRID_ environment, with this run's database URL)."""
    from geo_grid.api.header_timeout import protocol_class

    # http=: uvicorn's own protocol plus a request-header timeout and one write per response
    # (api/header_timeout.py); no `server` header (it would name the software and its version); uvicorn's
    # access log off: the app's own (api/access_log.py) is off the event loop and has no query strings.
    if workers == 1:
        uvicorn.run(
            make_app(),
            host=host,
            port=port,
            log_level="info",
            access_log=False,
            http=protocol_class(settings.header_timeout_s),
            server_header=False,
        )
        return
    # uvicorn shares the listening socket and restarts a worker that dies.
    os.environ["GEO_GRID_DATABASE_URL"] = settings.database_url or ""
    uvicorn.run(
        factory,
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
        access_log=False,
        http="geo_grid.api.header_timeout:FromEnvironment",
        server_header=False,
        # A worker answers uvicorn's health ping from a thread; while it imports and builds its snapshots
        # (seconds on a busy machine) the answer may be late: don't kill it for that.
        timeout_worker_healthcheck=60,
    )
