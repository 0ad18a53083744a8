"""`geo-grid import addresses FILE` and `geo-grid geocode INPUT -o OUTPUT` (standard address table)."""

from __future__ import annotations

import csv
import getpass
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import typer

from geo_grid import privacy
from geo_grid.cli import app, import_app
from geo_grid.cli.common import database, fail, session_for
from geo_grid.db import make_engine, make_session_factory, transaction
from geo_grid.errors import GeoGridError, InvalidInput
from geo_grid.io import csvfile
from geo_grid.services import addresses as address_service
from geo_grid.services import audit as audit_service
from geo_grid.services import lookup as lookup_service
from geo_grid.services.directory import load_active
from geo_grid.settings import Settings


@import_app.command("addresses")
def import_addresses(
    file: Path = typer.Argument(
        ..., help="CSV: address_id,address,road,number,courtyard,building,unit,lon,lat[,community_code]"
    ),
    commit: bool = typer.Option(
        True, "--commit/--dry-run", help="--dry-run: check everything, say what would change, then roll back"
    ),
    replace: bool = typer.Option(
        False, "--replace", help="the file is the whole table: delete addresses not in it"
    ),
    subdistrict: str | None = typer.Option(
        None, "--subdistrict", help="the subdistrict the file is for (needed when the database holds several)"
    ),
) -> None:
    """Import standard addresses (WGS84 lon/lat): rows replace those with the same address_id, new ones are
    added, and every point is assigned to its micro-grid in PostGIS. One bad row and nothing changes; the
    error names the row. With --dry-run: checked, stored, rolled back. A running server
    picks the new table up within GEO_GRID_GENERATION_POLL_S (or at once: `POST /lookup/address/reload`)."""
    try:
        rows = address_service.read_csv(file)
    except GeoGridError as exc:
        raise fail(exc) from exc
    with database(Settings()) as (url, _):
        try:
            with session_for(url, commit=commit) as session:
                summary = address_service.import_rows(
                    session,
                    rows,
                    replace_all=replace,
                    actor=f"cli:{getpass.getuser()}",
                    subdistrict=subdistrict,
                )
        except GeoGridError as exc:
            raise fail(exc) from exc
    counts = ", ".join(f"{k} {v}" for k, v in asdict(summary).items())
    if commit:
        typer.echo(f"imported {file.name}: {counts}")
    else:
        typer.echo(f"dry run, nothing changed ({file.name}: {counts})")


@app.command("geocode")
def geocode(
    input_file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV with an address column"),
    output: Path = typer.Option(..., "-o", "--output", help="CSV to write"),
    column: str = typer.Option("address", help="the column holding the address text"),
    with_phones: bool = typer.Option(
        False, "--with-phones", help="also write the leaders' phone numbers (personal data; off by default)"
    ),
) -> None:
    """Match each row's address against the standard table and add status, level, confidence, address_id,
    the matched address, lon/lat, micro/tertiary/community codes and the names of 微网格长, 网格长, 楼院长 and
    路段长. Rows that do not match are kept, flagged by `status` (ambiguous / not_found) with suggestions."""
    with open(input_file, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        rows = list(reader)
    try:
        if column not in header:
            raise InvalidInput(f"{input_file.name} has no column {column!r} (columns: {', '.join(header)})")
        added = list(address_service.GEOCODE_COLUMNS)
        if with_phones:
            added += [f"{role}_phone" for role in address_service.ANSWER_ROLES]
        clash = [c for c in added if c in header]
        if clash:
            raise InvalidInput(f"{input_file.name} already has the output column(s) {', '.join(clash)}")
        with database(Settings()) as (url, _):
            engine = make_engine(url, pool_size=1)
            try:
                factory = make_session_factory(engine)
                book = address_service.load(factory)
                directory = lookup_service.require(load_active(factory))
                if privacy.sees_personal_data(privacy.role_for(with_phones)):
                    # Unmasked phones leave the service in a file: that read is on record.
                    with transaction(factory) as session:
                        audit_service.record(session, f"cli:{getpass.getuser()}", "read_personal",
                                             f"geocode:{output.name}", {"input": str(input_file),
                                             "rows": len(rows), "columns": "phones"})  # fmt: skip
            finally:
                engine.dispose()
    except GeoGridError as exc:
        raise fail(exc) from exc
    counts = {"matched": 0, "ambiguous": 0, "not_found": 0}
    columns = header + added

    def records() -> Iterator[list[str]]:
        for row in rows:
            res = address_service.resolve(book, directory, row.get(column) or "")
            counts[res.result.status] += 1
            out = row | address_service.flat_record(res, with_phones)
            yield [out.get(c) or "" for c in columns]

    with open(output, "w", encoding="utf-8", newline="") as fh:
        csvfile.write_rows(fh, columns, records())  # UTF-8 BOM, formula-like cells neutralised
    typer.echo(f"wrote {output}: {len(rows)} rows, " + ", ".join(f"{k} {v}" for k, v in counts.items()))
