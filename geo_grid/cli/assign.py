"""`geo-grid assign INPUT -o OUTPUT`: add micro/tertiary/community codes to every row of a point table."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from geo_grid.cli import app
from geo_grid.cli.common import database
from geo_grid.db import make_engine, make_session_factory
from geo_grid.errors import GeoGridError, InvalidInput
from geo_grid.services import lookup as lookup_service
from geo_grid.services.directory import GridDirectory, load_active
from geo_grid.settings import Settings


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(2)


def _active_directory() -> GridDirectory:
    """The active generation's grids and index, built once; the database is not needed afterwards."""
    with database(Settings()) as (url, _):
        engine = make_engine(url, pool_size=1)
        try:
            return lookup_service.require(load_active(make_session_factory(engine)))
        finally:
            engine.dispose()


@app.command("assign")
def assign(
    input_file: Path = typer.Argument(
        ...,
        exists=True,
        help="CSV, Parquet, GeoJSON or GeoPackage (with --dask also a folder of Parquet files)",
    ),
    output: Path = typer.Option(..., "-o", "--output", help="file to write, same format family as the input"),
    lon_col: str = typer.Option(
        "lon", "--lon-col", help="longitude column (geo files: else the point geometry)"
    ),
    lat_col: str = typer.Option(
        "lat", "--lat-col", help="latitude column (geo files: else the point geometry)"
    ),
    crs_name: str = typer.Option(
        "wgs84", "--crs", help="wgs84, cgcs2000, gcj02 (Amap/Tencent) or bd09 (Baidu)"
    ),
    chunk_rows: int = typer.Option(250_000, "--chunk-rows", min=1_000, help="rows per chunk (bounds memory)"),
    dask: str = typer.Option(
        None,
        "--dask",
        help="run on a Dask cluster: a scheduler address (tcp://host:8786) or local[:N] for a LocalCluster "
        "of N processes; input Parquet/GeoParquet (file or folder) or CSV, OUTPUT is a folder of partitions",
    ),
    index_store: Path = typer.Option(
        None,
        "--index-store",
        help="with --dask: where the index is published for the workers to load (a path every worker can "
        "read, e.g. a shared filesystem; default <data_dir>/lookup); a worker that cannot read it makes "
        "the run send the pickled index instead",
    ),
    scatter_index: bool = typer.Option(
        False, "--scatter-index", help="with --dask: send the pickled index to every worker, publish nothing"
    ),
) -> None:
    """Add micro_code, tertiary_code, community_code, outside and error to every row, streaming the file in
    chunks (any size). Rows with missing or invalid coordinates are kept, with `error` saying why; the
    output has the input's rows in the input's order. Grids: the active generation in the database."""
    # The readers/writers (pandas, pyarrow, pyogrio) load with this command, not with every `geo-grid`
    # command (`geo-grid up` serves the API in the same process).
    from geo_grid.io.points import PointReader, PointWriter, detect_format
    from geo_grid.services.assign import COLUMNS, Assigner

    if dask:
        store = None if scatter_index else (index_store or Settings().data_dir / "lookup")
        _assign_on_dask(input_file, output, lon_col, lat_col, crs_name, dask, store)
        return
    try:
        fmt_in, fmt_out = detect_format(input_file), detect_format(output)
        if fmt_in != fmt_out:
            raise InvalidInput(f"the output must have the input's format ({fmt_in}), not {fmt_out}")
        if output.resolve() == input_file.resolve():
            raise InvalidInput("the output must be a different file from the input")
        reader = PointReader(input_file, lon_col, lat_col, chunk_rows)
        clash = [c for c in COLUMNS if c in reader.columns]
        if clash:
            raise InvalidInput(f"{input_file.name} already has the output column(s) {', '.join(clash)}")
        assigner = Assigner(_active_directory(), crs_name)
    except (GeoGridError, ValueError) as exc:
        raise _fail(getattr(exc, "message", str(exc))) from exc

    console = Console(stderr=True)
    columns = [
        TextColumn("assigning"),
        BarColumn(),
        MofNCompleteColumn() if fmt_in != "csv" else TextColumn(""),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    ]
    counts = {"rows": 0, "inside": 0, "outside": 0, "errors": 0}
    writer = PointWriter(output, crs=getattr(reader, "crs", None))
    try:
        with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
            task = progress.add_task("assign", total=reader.total)
            for chunk in reader:
                added = assigner.assign(chunk.lon, chunk.lat, chunk.problem)
                writer.write(chunk, added)
                counts["rows"] += len(added["error"])
                counts["errors"] += int((added["error"] != None).sum())  # noqa: E711
                counts["outside"] += int((added["outside"] == True).sum())  # noqa: E712
                progress.update(task, completed=chunk.position)
    except GeoGridError as exc:
        raise _fail(exc.message) from exc
    finally:
        writer.close()
    counts["inside"] = counts["rows"] - counts["outside"] - counts["errors"]
    typer.echo(f"wrote {output}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()), file=sys.stdout)


def _assign_on_dask(input_file: Path, output: Path, lon_col: str, lat_col: str, crs_name: str,
                    scheduler: str, store: Path | None) -> None:  # fmt: skip
    """`--dask`: the same assignment, partition by partition on a Dask cluster (services/assign_dask.py);
    the index published to `store` for the workers to load (None: pickled and sent to them)."""
    from geo_grid.io.points import detect_format
    from geo_grid.services import assign_dask
    from geo_grid.services.assign import Assigner

    try:
        fmt = "parquet" if input_file.is_dir() else detect_format(input_file)
        if output.resolve() == input_file.resolve():
            raise InvalidInput("the output must be a different file from the input")
        directory = _active_directory()
        assigner = Assigner(directory, crs_name)
        published = None
        if store is not None:
            try:
                published = assign_dask.publish(directory.index, store)
            except OSError as exc:  # a read-only or full disk: the workers get the pickled index
                typer.secho(f"warning: index not published to {store}: {exc}", err=True)
        with assign_dask.client_for(scheduler) as client:
            counts = assign_dask.assign(
                client, assigner, input_file, output, lon_col, lat_col, fmt, published=published
            )
    except (GeoGridError, ValueError) as exc:
        raise _fail(getattr(exc, "message", str(exc))) from exc
    if counts.index_problem:
        typer.secho(
            f"warning: published index not readable by every worker: {counts.index_problem}", err=True
        )
    how = (
        f"loaded by each worker from {published.path}"
        if counts.index_via == "published" and published is not None
        else "sent to each worker (pickled)"
    )
    typer.echo(f"index: {how}")
    typer.echo(
        f"wrote {output} ({counts.partitions} partitions): rows {counts.rows:,}, inside {counts.inside:,}, "
        f"outside {counts.outside:,}, errors {counts.errors:,}"
    )
